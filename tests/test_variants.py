"""PyTorch build variants (-cu126, -cpu, -rocm6.2) from a PyTorch-style index on 127.0.0.1.

The variant index is laid out like download.pytorch.org/whl/<variant>/<name>/ and holds
stand-in wheels built here, named and described as the real ones are (local version labels,
torch's Requires-Dist on triton for CUDA x86_64 builds only, none for CPU builds,
pytorch-triton-rocm for ROCm), trimmed to one dependency (filelock, from the recorded index).
It serves no .metadata files, so METADATA is read with range requests, as from the real one.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from helpers import pip_constrained_install, read_toml, tripin
from indexserver import IndexServer, build_wheel
from packaging.pylock import PackageVcs, PackageWheel, Pylock

from tripin.targets import parse_target

CU_X86, CU_ARM, CPU_X86 = "linux-x86_64-cp312-cu126", "linux-aarch64-cp312-cu126", "linux-x86_64-cp312-cpu"


def _lock(
    index: IndexServer,
    pytorch: IndexServer,
    capsys: pytest.CaptureFixture[str],
    *targets: str,
    extra: tuple[str, ...] = (),
) -> object:
    args = ["lock", "torch==2.6.0", "--index-url", index.simple_url, "--pytorch-index-url", pytorch.url, *extra]
    for target in targets:
        args += ["--target", target]
    return tripin(capsys, *args)


@pytest.fixture
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TRIPIN_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path


def test_cuda_and_cpu_builds_in_one_lock(
    index: IndexServer, pytorch: IndexServer, work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = _lock(index, pytorch, capsys, CU_X86, CU_ARM, CPU_X86)
    assert run.code == 0, run.err  # type: ignore[attr-defined]
    data = read_toml(work / "pylock.toml")
    lock = Pylock.from_dict(data)
    assert data["extras"] == ["cpu", "cu126"]
    for package in data["packages"]:
        if package["name"] in ("torch", "triton") and "index" in package:
            assert package["index"].startswith(pytorch.url + "/"), package  # never PyPI, never another index

    def select(target: str, extra: str) -> dict[str, object]:
        t = parse_target(target)
        return {p.name: d for p, d in lock.select(environment=t.environment(), tags=t.tags, extras=[extra])}

    cuda = select(CU_X86, "cu126")
    assert isinstance(cuda["torch"], PackageWheel) and "+cu126" in str(cuda["torch"].name)
    assert isinstance(cuda["triton"], PackageWheel)
    cpu = select(CPU_X86, "cpu")
    assert isinstance(cpu["torch"], PackageWheel) and "+cpu" in str(cpu["torch"].name) and "triton" not in cpu
    arm = select(CU_ARM, "cu126")
    assert isinstance(arm["triton"], PackageVcs)  # no aarch64 Triton wheel on that index: the rule's build
    assert arm["triton"].commit_id == "9641643da6c52000c807b5eeed05edaec4402a67"

    files = {p.name for p in work.glob("constraints*.txt")}
    assert files == {"constraints-cu126.txt", "constraints-cpu.txt"}
    cpu_text = (work / "constraints-cpu.txt").read_text()
    assert "torch==2.6.0+cpu\n" in cpu_text and "triton" not in cpu_text and "extras" not in cpu_text
    cu_text = (work / "constraints-cu126.txt").read_text()
    assert re.search(r"^torch==2\.6\.0\+cu126  # rule torch-2\.6\.0/", cu_text, re.M)
    assert "triton==3.2.0+git9641643d ; " in cu_text and 'platform_machine == "aarch64"' in cu_text
    assert tripin(capsys, "check", "pylock.toml").code == 0
    # each build's constraints file is judged for its own targets (its header names them), as the
    # pre-commit hook passes them all at once
    run = tripin(capsys, "check", "pylock.toml", "constraints-cu126.txt", "constraints-cpu.txt")
    assert (run.code, run.out) == (0, ""), run.out


def test_rocm_takes_pytorch_triton_rocm_and_warns(
    index: IndexServer, pytorch: IndexServer, work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = _lock(index, pytorch, capsys, "linux-x86_64-cp312-rocm6.2")
    assert run.code == 0, run.err  # type: ignore[attr-defined]
    assert "no rule for the rocm6.2 builds (status unknown)" in run.err  # type: ignore[attr-defined]
    names = {p["name"]: p for p in read_toml(work / "pylock.toml")["packages"]}
    assert "pytorch-triton-rocm" in names and "triton" not in names
    assert names["torch"]["version"] == "2.6.0+rocm6.2.4"
    summary = run.out  # type: ignore[attr-defined]
    assert "torch 2.6.0+rocm6.2.4 (wheel), pytorch-triton-rocm 3.2.0 (wheel)" in summary and "no Triton" not in summary
    # the build plan's install line: pytorch-triton-rocm 3.2.0 has no local label, so pip, given the
    # default index too, could take a namesake from there (torchtriton, 2022): tripin install instead
    plan = tripin(capsys, "build-plan", "--target", "linux-x86_64-cp312-rocm6.2")
    assert plan.code == 0, plan.err
    assert f"could take 'pytorch-triton-rocm' '3.2.0' from another of them than '{pytorch.url}/rocm6.2'" in plan.err
    assert plan.out.endswith(" && tripin install --target linux-x86_64-cp312-rocm6.2 --wheelhouse wheelhouse\n")


def test_the_impostor_index_loses(
    index: IndexServer,
    pytorch: IndexServer,
    make_index: object,
    work: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    impostor: IndexServer = make_index()  # type: ignore[operator]
    evil = tmp_path / "evil"
    impostor.publish(
        build_wheel(evil, "torch", "2.6.0", "cp312-cp312-manylinux_2_28_x86_64", requires_dist=["triton==99.0"])
    )
    impostor.publish(build_wheel(evil, "triton", "99.0", "cp312-cp312-manylinux_2_28_x86_64"))
    run = _lock(index, pytorch, capsys, CU_X86, extra=("--extra-index-url", impostor.simple_url))
    assert run.code == 0, run.err  # type: ignore[attr-defined]
    lock = read_toml(work / "pylock.toml")
    assert "99.0" not in (work / "pylock.toml").read_text()
    assert not [p for p in lock["packages"] if impostor.url in p["index"]]
    # named only where the lock records the command line, as pip-compile's header names its indexes
    assert lock["tool"]["tripin"]["given"]["extra-index-urls"] == [impostor.simple_url]
    assert not [r for r in impostor.requests if "torch" in r.path or "triton" in r.path]


def test_placeholder_names_are_never_taken_from_pypi(
    index: IndexServer, make_index: object, work: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pypi_like: IndexServer = make_index()  # type: ignore[operator]
    pypi_like.publish(build_wheel(tmp_path / "p", "pytorch-triton", "0.0.1", "py3-none-any"))
    run = tripin(capsys, "lock", "pytorch-triton", "-t", "linux-x86_64-cp312", "-i", pypi_like.simple_url)
    assert run.code == 1
    assert "pytorch-triton is wanted from PyPI, where it is a placeholder" in run.err


def test_pip_accepts_the_variant_constraints(
    index: IndexServer, pytorch: IndexServer, work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _lock(index, pytorch, capsys, CU_X86, CPU_X86).code == 0  # type: ignore[attr-defined]
    index.advertise_metadata = True
    for name in ("constraints-cpu.txt", "constraints-cu126.txt"):
        assert pip_constrained_install(index.simple_url, work, name)


def test_a_nightly_takes_the_pytorch_triton_of_its_date(
    index: IndexServer, make_index: object, work: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    server: IndexServer = make_index()  # type: ignore[operator]
    wheels = tmp_path / "nightly"
    x86 = "cp312-cp312-manylinux_2_28_x86_64"
    for version, triton in (
        ("2.7.0.dev20250301+cu126", "3.2.0+git4b3bb1f8"),
        ("2.7.0.dev20250302+cu126", "3.2.0+git4b3bb1f8"),
    ):
        wheel = build_wheel(
            wheels,
            "torch",
            version,
            x86,
            requires_dist=[
                "filelock",
                f'pytorch-triton=={triton}; platform_system == "Linux" and platform_machine == "x86_64"',
            ],
        )
        server.add_variant_wheel("nightly/cu126", wheel)
    server.add_variant_wheel("nightly/cu126", build_wheel(wheels, "pytorch-triton", "3.2.0+git4b3bb1f8", x86))
    run = tripin(
        capsys,
        "lock",
        "torch>=2.7.0.dev0",
        "-t",
        "linux-x86_64-cp312-cu126",
        "--nightly",
        "--index-url",
        index.simple_url,
        "--pytorch-index-url",
        server.url,
    )
    assert run.code == 0, run.err
    names = {p["name"]: p["version"] for p in read_toml(work / "pylock.toml")["packages"]}
    assert names["torch"] == "2.7.0.dev20250302+cu126" and names["pytorch-triton"] == "3.2.0+git4b3bb1f8"
    assert "no nightly rule covers torch 2.7.0.dev20250302+cu126" in run.err
    recorded = read_toml(work / "pylock.toml")["tool"]["tripin"]["warnings"]
    assert any("no nightly rule covers torch 2.7.0.dev20250302+cu126" in w for w in recorded)  # the lock says so
    checked = tripin(capsys, "check", "pylock.toml")
    assert checked.code == 0 and checked.out == ""  # nothing to judge it by: a warning, not a failure
    assert "TP008 no nightly rule covers torch 2.7.0.dev20250302+cu126" in checked.err


def test_companion_of_another_build_is_caught(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lock = work / "pylock.toml"
    lock.write_text(
        'lock-version = "1.0"\ncreated-by = "x"\n\n[[packages]]\nname = "torch"\nversion = "2.6.0+cu126"\n\n'
        '[[packages]]\nname = "torchvision"\nversion = "0.21.0+cpu"\n'
    )
    run = tripin(capsys, "check", "pylock.toml", "--target", "linux-x86_64-cp312-cu126")
    assert run.code == 1
    assert "TP004 torchvision 0.21.0+cpu is another PyTorch build than torch 2.6.0+cu126" in run.out


def test_auto_picks_the_hosts_variant(
    index: IndexServer,
    pytorch: IndexServer,
    work: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    smi = bin_dir / "nvidia-smi"  # what the real one prints in its header
    # 12.7: no PyTorch build is cu127; the newest the driver runs is cu126
    smi.write_text("#!/bin/sh\necho '| NVIDIA-SMI 565.57.01    Driver Version: 565.57.01    CUDA Version: 12.7 |'\n")
    smi.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    run = _lock(index, pytorch, capsys, "linux-x86_64-cp312-auto")
    assert run.code == 0, run.err  # type: ignore[attr-defined]
    assert "-auto is -cu126: nvidia-smi reports CUDA 12.7: the newest PyTorch CUDA build it runs" in run.err  # type: ignore[attr-defined]
    names = {p["name"]: p["version"] for p in read_toml(work / "pylock.toml")["packages"]}
    assert names["torch"] == "2.6.0+cu126"


@pytest.mark.skipif(Path("/opt/rocm").exists(), reason="this machine has ROCm")
def test_auto_without_a_gpu_is_cpu(
    index: IndexServer,
    pytorch: IndexServer,
    work: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    import shutil as sh

    if sh.which("nvidia-smi"):
        pytest.skip("this machine has an NVIDIA driver")
    run = _lock(index, pytorch, capsys, "linux-x86_64-cp312-auto")
    assert run.code == 0 and "-auto is -cpu" in run.err  # type: ignore[attr-defined]


def test_a_companion_from_torchs_own_variant_index_passes_whatever_its_label(
    index: IndexServer, pytorch: IndexServer, work: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """PyTorch's cu126 index serves x86_64's torchvision as 0.21.0+cu126 and aarch64's as plain
    0.21.0: lock took both (they are that index's builds for its torch), and check called the
    aarch64 one another PyTorch build (TP004), failing the lock it had just written."""
    wheels = tmp_path / "companions"
    x86, arm = "cp312-cp312-manylinux_2_28_x86_64", "cp312-cp312-manylinux_2_28_aarch64"
    vision = build_wheel(wheels, "torchvision", "0.21.0+cu126", x86, requires_dist=["torch==2.6.0+cu126"])
    pytorch.add_variant_wheel("cu126", vision)
    plain = build_wheel(wheels, "torchvision", "0.21.0", arm, requires_dist=["torch==2.6.0"])
    pytorch.add_variant_wheel("cu126", plain)
    run = _lock(index, pytorch, capsys, CU_X86, CU_ARM, extra=("torchvision",))
    assert run.code == 0, run.err  # type: ignore[attr-defined]
    versions = {p["name"] + " " + p["version"] for p in read_toml(work / "pylock.toml")["packages"] if "version" in p}
    assert {"torchvision 0.21.0+cu126", "torchvision 0.21.0"} <= versions
    check = tripin(capsys, "check")
    assert (check.code, check.out) == (0, ""), check.out


@pytest.mark.parametrize(
    ("target", "needle"),
    [
        (CPU_X86, "(cpu) runs no Triton: nothing to build [cpu]"),
        ("linux-x86_64-cp312-rocm6.2", "(rocm6.2) runs pytorch-triton-rocm, not a build the rules give"),
    ],
)
def test_build_plan_for_a_variant_without_the_release_triton(
    work: Path, capsys: pytest.CaptureFixture[str], target: str, needle: str
) -> None:
    """rules/variants.toml: a CPU build runs no Triton and a ROCm build its own; a script that
    builds NVIDIA's Triton for them (an hour of LLVM) would leave two Tritons or a useless one."""
    run = tripin(capsys, "build-plan", "--torch", "2.6.0", "--target", target, "-o", "b.sh")
    assert run.code == 2 and needle in run.err and len(run.err.splitlines()) == 1, run.err
    assert not (work / "b.sh").exists()
    assert tripin(capsys, "build-plan", "--torch", "2.6.0", "--target", CU_ARM, "-o", "b.sh").code == 0


@pytest.mark.parametrize(
    ("driver", "variant"), [("13.1", "cu130"), ("12.5", "cu124"), ("12.8", "cu128"), ("11.4", "cpu")]
)
def test_auto_takes_the_newest_cuda_build_the_driver_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, driver: str, variant: str
) -> None:
    from tripin.host import detect_variant

    smi = tmp_path / "nvidia-smi"
    smi.write_text(f"#!/bin/sh\necho '| NVIDIA-SMI 1.2.3    Driver Version: 1.2.3    CUDA Version: {driver} |'\n")
    smi.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}:/usr/bin:/bin")
    assert detect_variant()[0] == variant


def test_build_plan_without_a_rule_says_where_the_rules_give_one(
    work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """torch 2.3's metadata names Triton for Python < 3.12 only: the refusal says so."""
    run = tripin(capsys, "build-plan", "--torch", "2.3.0", "--target", "linux-x86_64-cp312", "-o", "b.sh")
    assert run.code == 2 and len(run.err.splitlines()) == 1
    assert (
        'torch-2.3.0/metadata (platform_system == "Linux" and platform_machine == "x86_64" and python_version < "3.12")'
        in run.err
    )


def test_constraints_files_a_lock_no_longer_writes_are_removed(
    index: IndexServer, pytorch: IndexServer, work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """constraints.txt stays behind once cpu targets join (constraints-cu126.txt and -cpu.txt
    are written): `pip install -c constraints.txt` would install its old pins and `check` fails
    on it. A file of that name tripin did not write with this lock is left alone."""
    assert _lock(index, pytorch, capsys, CU_X86).code == 0  # type: ignore[attr-defined]
    assert (work / "constraints.txt").is_file()
    (work / "constraints-mine.txt").write_text("numpy<2\n")
    assert _lock(index, pytorch, capsys, CU_X86, extra=("--check",)).code == 0  # type: ignore[attr-defined]
    both = _lock(index, pytorch, capsys, CU_X86, CPU_X86)
    assert both.code == 0, both.err  # type: ignore[attr-defined]
    assert "removed constraints.txt: this lock no longer writes it" in both.err  # type: ignore[attr-defined]
    files = sorted(p.name for p in work.glob("constraints*.txt"))
    assert files == ["constraints-cpu.txt", "constraints-cu126.txt", "constraints-mine.txt"]
    assert tripin(capsys, "check").code == 0
    (work / "constraints-cpu.txt").touch()  # the cpu targets go: lock --check names the file, lock removes it
    assert _lock(index, pytorch, capsys, CU_X86, extra=("--check",)).code == 1  # type: ignore[attr-defined]
    assert _lock(index, pytorch, capsys, CU_X86).code == 0  # type: ignore[attr-defined]
    assert sorted(p.name for p in work.glob("constraints*.txt")) == ["constraints-mine.txt", "constraints.txt"]

"""`tripin lock` and `tripin build-plan` end to end, against the recorded index on 127.0.0.1."""

from __future__ import annotations

import re
import stat
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from helpers import lock_args, read_toml, recorded_file, tripin
from indexserver import IndexServer, build_wheel
from packaging.pylock import PackageVcs, PackageWheel, Pylock

from tripin.targets import parse_target

X86, ARM = "linux-x86_64-cp312", "linux-aarch64-cp312"
ARM_CU = "linux-aarch64-cp312-cu126"  # CUDA torch for aarch64: PyTorch's index (a stand-in here)
TRITON_320 = "triton-3.2.0-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"
COMMIT_320 = "9641643da6c52000c807b5eeed05edaec4402a67"


@pytest.fixture
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _select(lock: Pylock, target: str) -> dict[str, object]:
    t = parse_target(target)
    return {pkg.name: dist for pkg, dist in lock.select(environment=t.environment(), tags=t.tags)}


def test_torch_26_x86_wheel_and_aarch64_cuda_source_build(
    index: IndexServer, pytorch: IndexServer, work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    extra = ["torch==2.6.0", "--pytorch-index-url", pytorch.url]
    run = tripin(capsys, *lock_args(index.simple_url, work / "cache", X86, ARM_CU, extra=extra))
    assert run.code == 0, run.err
    data = read_toml(work / "pylock.toml")
    lock = Pylock.from_dict(data)  # packaging's own PEP 751 validation
    x86, arm = _select(lock, X86), _select(lock, ARM_CU)

    wheel = x86["triton"]
    assert isinstance(wheel, PackageWheel) and wheel.name == TRITON_320
    assert dict(wheel.hashes) == recorded_file("triton", TRITON_320)["hashes"]
    assert isinstance(x86["torch"], PackageWheel) and "nvidia-cudnn-cu12" in x86

    vcs = arm["triton"]  # the CUDA index has no aarch64 Triton 3.2.0 wheel: the rule's commit, built
    assert isinstance(vcs, PackageVcs)
    assert (vcs.type, vcs.url, vcs.commit_id, vcs.subdirectory) == (
        "git",
        "https://github.com/triton-lang/triton",
        COMMIT_320,
        "python",
    )
    triton_entries = [p for p in data["packages"] if p["name"] == "triton"]
    build = next(p for p in triton_entries if "vcs" in p)["tool"]["tripin"]
    assert [r["id"] for r in build["rules"]] == ["torch-2.6.0/linux-aarch64"]
    assert build["build"]["version"] == "3.2.0+git9641643d" and build["build"]["status"] == "matched"
    assert data["tool"]["tripin"]["ruleset-digest"].startswith("sha256:")

    constraints = (work / "constraints.txt").read_text().splitlines()
    arm_line = next(line for line in constraints if line.startswith("triton==3.2.0+git9641643d ; "))
    assert 'platform_machine == "aarch64"' in arm_line and f"tripin build-plan --target {ARM_CU}" in arm_line
    x86_line = next(line for line in constraints if line.startswith("triton===3.2.0 ; "))
    assert 'platform_machine == "x86_64"' in x86_line
    assert f"source build needed on {ARM_CU}" in run.out
    # the summary judges the source build as `check` would: the wheel's own commit
    assert "triton 3.2.0+git9641643d (source build; ok: the PyPI wheel's commit for triton 3.2.0" in run.out

    plan = tripin(capsys, "build-plan", "--target", ARM_CU)
    assert plan.code == 0, plan.err
    script = work / f"build-{ARM_CU}.sh"
    text = script.read_text()
    assert script.stat().st_mode & stat.S_IXUSR
    assert f'git -C "$src" fetch --depth 1 https://github.com/triton-lang/triton {COMMIT_320}' in text
    assert "TRITON_WHEEL_VERSION_SUFFIX=+git9641643d" in text and '"$src"/python' in text
    assert "triton-3.2.0+git9641643d-" in text
    subprocess.run(["sh", "-n", str(script)], check=True)
    # torch from its CUDA index, the built Triton named by its exact version: a constraints file never adds it
    then = next(line for line in plan.out.splitlines() if line.startswith("then: "))
    assert then == (
        f"then: sh build-{ARM_CU}.sh wheelhouse && pip install --index-url {index.simple_url} "
        f"--extra-index-url {pytorch.url}/cu126 --find-links wheelhouse -c constraints.txt "
        "torch==2.6.0 triton==3.2.0+git9641643d"
    )


def test_pypi_aarch64_torch_is_a_cpu_build_and_gets_no_triton(
    index: IndexServer, work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """PyPI's aarch64 torch 2.6.0 and 2.9.0 require nvidia-* on x86_64 only: CPU builds, which
    never import Triton. The lock has none, and the summary, the lock and explain say why."""
    for torch in ("2.6.0", "2.9.0"):
        run = tripin(capsys, *lock_args(index.simple_url, work / "cache", X86, ARM, extra=[f"torch=={torch}"]))
        assert run.code == 0, run.err
        data = read_toml(work / "pylock.toml")
        lock = Pylock.from_dict(data)
        assert "triton" not in _select(lock, ARM) and "triton" in _select(lock, X86)
        assert f"torch {torch} from PyPI is a CPU build on aarch64" in run.out
        assert f"{ARM}-cu126" in run.out and f"{ARM}-auto" in run.out
        assert [n.split(":")[0] for n in data["tool"]["tripin"]["notes"]] == [ARM]
        assert "source build" not in run.out
        why = tripin(capsys, "explain", "triton", "--target", ARM)
        assert why.code == 0 and why.out.startswith(f"{ARM}: no Triton: torch {torch} from PyPI is a CPU build")
        checked = tripin(capsys, "check", "pylock.toml", "constraints.txt")
        assert (checked.code, checked.out) == (0, ""), checked.out  # no TP001: a CPU build needs no Triton


def test_build_script_refuses_at_a_wrong_commit(
    index: IndexServer, pytorch: IndexServer, work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The script checks what it checked out; run it with a `git` that fetches another commit."""
    extra = ["torch==2.6.0", "--pytorch-index-url", pytorch.url]
    assert tripin(capsys, *lock_args(index.simple_url, work / "cache", ARM_CU, extra=extra)).code == 0
    assert tripin(capsys, "build-plan", "-o", "build.sh").code == 0
    fake = work / "bin"
    fake.mkdir()
    (fake / "git").write_text(
        '#!/bin/sh\ncase "$*" in *rev-parse*) echo 0000000000000000000000000000000000000000;; esac\nexit 0\n'
    )
    (fake / "git").chmod(0o755)
    (fake / "uname").write_text("#!/bin/sh\necho aarch64\n")
    (fake / "uname").chmod(0o755)
    (fake / "python3").write_text("#!/bin/sh\necho 3.12\n")
    (fake / "python3").chmod(0o755)
    result = subprocess.run(
        ["sh", "build.sh", str(work / "wh")], capture_output=True, text=True, env={"PATH": f"{fake}:/usr/bin:/bin"}
    )
    assert result.returncode == 1
    assert f"checkout is not commit {COMMIT_320}" in result.stderr


def test_range_resolves_one_consistent_pair_per_target(
    index: IndexServer, work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = tripin(
        capsys, *lock_args(index.simple_url, work / "cache", X86, ARM, "macos-arm64-cp312", extra=["torch>=2.5,<2.7"])
    )
    assert run.code == 0, run.err
    lock = Pylock.from_dict(read_toml(work / "pylock.toml"))
    versions = {}
    for target in (X86, ARM, "macos-arm64-cp312"):
        chosen = {
            p.name: p.version
            for p, _ in lock.select(environment=parse_target(target).environment(), tags=parse_target(target).tags)
        }
        versions[target] = (str(chosen["torch"]), str(chosen.get("triton")))
    assert versions[X86] == ("2.6.0", "3.2.0")
    assert versions["macos-arm64-cp312"] == ("2.6.0", "None")
    assert versions[ARM] == ("2.6.0", "None")  # PyPI's aarch64 torch: a CPU build


def test_reads_pyproject_when_no_requirement_is_given(
    index: IndexServer, work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (work / "pyproject.toml").write_text(
        '[project]\nname = "app"\nversion = "0"\ndependencies = ["torch==2.6.0"]\n\n'
        f'[tool.tripin]\ntargets = ["{X86}"]\nindex-url = "{index.simple_url}"\nlock = "out/pylock.toml"\n'
    )
    (work / "out").mkdir()
    run = tripin(capsys, "lock", "--cache-dir", str(work / "cache"))
    assert run.code == 0, run.err
    data = read_toml(work / "out" / "pylock.toml")
    assert data["tool"]["tripin"]["requirements"] == ["torch==2.6.0"]
    assert [t["name"] for t in data["tool"]["tripin"]["targets"]] == [X86]


def test_second_run_makes_no_request(index: IndexServer, work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    index.cache_control = "max-age=600, public"
    args = lock_args(index.simple_url, work / "cache", X86, ARM, extra=["torch==2.6.0"])
    assert tripin(capsys, *args).code == 0
    first = (work / "pylock.toml").read_text()
    assert index.requests, "the first run must fetch"
    index.reset()
    (work / "pylock.toml").unlink()  # else nothing is resolved at all (tests/test_preferences.py)
    assert tripin(capsys, *args).code == 0
    assert index.requests == []
    assert (work / "pylock.toml").read_text() == first
    assert tripin(capsys, *args, "--offline").code == 0


def test_stale_pages_are_revalidated_not_refetched(
    index: IndexServer, work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = lock_args(index.simple_url, work / "cache", X86, extra=["torch==2.6.0"])
    assert tripin(capsys, *args).code == 0
    index.reset()
    (work / "pylock.toml").unlink()  # else nothing is resolved at all (tests/test_preferences.py)
    assert tripin(capsys, *args).code == 0
    pages = [r for r in index.requests if r.route.startswith("/simple/")]
    assert pages and all(r.status == 304 for r in pages)
    assert not [r for r in index.requests if r.route.endswith(".metadata")]


def test_a_304_without_cache_control_keeps_the_page_fresh_for_its_max_age(
    index: IndexServer, work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The test index's 304 carries ETag and Last-Modified only; the page's max-age stays (RFC
    9111 4.3.4), where before every run after a revalidation asked again."""
    index.cache_control = "max-age=600, public"
    args = lock_args(index.simple_url, work / "cache", X86, extra=["torch==2.6.0"])
    assert tripin(capsys, *args).code == 0
    index.reset()
    assert tripin(capsys, *args, "--refresh").code == 0
    assert {r.status for r in index.requests if r.route.startswith("/simple/")} == {304}
    index.reset()
    (work / "pylock.toml").unlink()  # a lock resolved again, reading the pages the cache holds
    assert tripin(capsys, *args).code == 0
    assert not [r for r in index.requests if r.route.startswith("/simple/")]


def test_offline_with_an_empty_cache_says_what_is_missing(
    index: IndexServer, work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = tripin(capsys, *lock_args(index.simple_url, work / "cache", X86, extra=["torch==2.6.0", "--offline"]))
    assert run.code == 3
    assert "offline: no cached project page for 'torch'" in run.err
    assert index.requests == []


def test_an_html_only_index_locks_the_same(index: IndexServer, work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["torch==2.6.0", "--no-cache"]
    assert tripin(capsys, *lock_args(index.simple_url, work / "c", X86, ARM, extra=args)).code == 0
    from_json = (work / "pylock.toml").read_text()
    index.html_only = True
    index.reset()
    assert tripin(capsys, *lock_args(index.simple_url, work / "c", X86, ARM, extra=args)).code == 0
    assert "size = " in from_json and "size = " not in (work / "pylock.toml").read_text()  # HTML has no sizes
    # HTML pages carry no size or upload time: those two keys may differ, nothing else
    strip = re.compile(r", (size|upload-time) = [^,}]+")
    assert strip.sub("", (work / "pylock.toml").read_text()) == strip.sub("", from_json)


def test_verbose_levels(index: IndexServer, work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = lock_args(index.simple_url, work / "cache", X86, extra=["torch==2.6.0", "-q"])
    one = tripin(capsys, *args, "-v")
    assert f"tripin: torch: from {index.simple_url}" in one.err
    assert "torch 2.6.0: triton ==3.2.0 (metadata) by rule torch-2.6.0/metadata" in one.err
    assert "GET " not in one.err
    (work / "pylock.toml").unlink()  # else nothing is resolved at all (tests/test_preferences.py)
    two = tripin(capsys, *args, "-vv")
    assert "metadata from the cache" in two.err and "candidate(s) for" in two.err
    assert tripin(capsys, *args).err == ""


def test_build_plan_for_a_torch_release_needs_no_lock(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """What check and doctor send users to: no constraints file exists in this mode, so the line
    names none; it installs the built Triton alone into the environment that has torch."""
    plan = tripin(capsys, "build-plan", "--torch", "2.6.0", "--target", ARM_CU)
    assert plan.code == 0, plan.err
    then = next(line for line in plan.out.splitlines() if line.startswith("then: "))
    assert then == (
        f"then: sh build-{ARM_CU}.sh wheelhouse && "
        "pip install --no-deps --find-links wheelhouse triton==3.2.0+git9641643d"
    )
    script = (work / f"build-{ARM_CU}.sh").read_text()
    assert "-c " not in script.split("install with:")[1]


def test_torch_211_aarch64_is_a_cuda_build_with_the_triton_its_metadata_names(
    make_index: object, work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """From 2.11 PyPI's aarch64 torch is a CUDA build. The stand-in carries the real requirement
    lines of torch-2.11.0-cp312-cp312-manylinux_2_28_aarch64.whl.metadata on PyPI that matter here."""
    from indexserver import build_wheel

    server: IndexServer = make_index()  # type: ignore[operator]
    wheels = work / "w"
    server.publish(
        build_wheel(
            wheels,
            "torch",
            "2.11.0",
            "cp312-cp312-manylinux_2_28_aarch64",
            requires_dist=[
                "filelock",
                'nvidia-cudnn-cu13==9.19.0.56; platform_system == "Linux"',
                'triton==3.6.0; platform_system == "Linux"',
            ],
        )
    )
    server.publish(build_wheel(wheels, "filelock", "3.19.1"))
    server.publish(build_wheel(wheels, "nvidia-cudnn-cu13", "9.19.0.56", "py3-none-manylinux_2_27_aarch64"))
    server.publish(build_wheel(wheels, "triton", "3.6.0", "cp312-cp312-manylinux_2_27_aarch64.manylinux_2_28_aarch64"))
    run = tripin(capsys, *lock_args(server.simple_url, work / "cache", ARM, extra=["torch==2.11.0"]))
    assert run.code == 0, run.err
    assert f"{ARM}: torch 2.11.0 (wheel), triton 3.6.0 (wheel)" in run.out and "CPU build" not in run.out
    triton = next(p for p in read_toml(work / "pylock.toml")["packages"] if p["name"] == "triton")
    assert [r["id"] for r in triton["tool"]["tripin"]["rules"]] == ["torch-2.11.0/metadata"]


def test_one_metadata_read_per_release_and_platform_except_torchs_family(
    index: IndexServer, work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """numpy's wheels declare the same requirements for every Python of one platform: one
    METADATA read serves the x86_64 targets of cp311 and cp312, another the aarch64 one (a
    release's platforms may differ: tensorflow 2.15.1's Windows wheel requires tensorflow-intel,
    its macOS wheel does not). torch's differ per build (CUDA wheels on x86_64, a CPU build on
    aarch64), so each target reads its own wheel's."""
    x86_311 = "linux-x86_64-cp311"
    run = tripin(
        capsys, *lock_args(index.simple_url, work / "cache", X86, x86_311, ARM, extra=["torch==2.6.0", "numpy"])
    )
    assert run.code == 0, run.err
    numpy = {r.route.rsplit("/", 1)[1].split(".whl")[0] for r in index.requests_for("/files/numpy-*")}
    torch = {r.route.rsplit("/", 1)[1].split(".whl")[0] for r in index.requests_for("/files/torch-*")}
    assert len(numpy) == 2 and any("aarch64" in n for n in numpy) and any("x86_64" in n for n in numpy), numpy
    assert len(torch) == 3 and sum("x86_64" in t for t in torch) == 2, torch
    lock = Pylock.from_dict(read_toml(work / "pylock.toml"))
    assert all("numpy" in _select(lock, t) for t in (X86, x86_311, ARM))


def test_a_triton_others_require_next_to_a_cpu_torch_is_the_rules(
    index: IndexServer, work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """PyPI's aarch64 torch 2.6.0 is a CPU build and needs no Triton; but a package that
    requires `triton` (here the requirement itself, as liger-kernel does on PyPI) must not get
    the newest one (3.5.0 has an aarch64 wheel): torch imports whatever Triton is there. It gets
    the rule's, here a source build, and `check` accepts the lock it wrote."""
    run = tripin(capsys, *lock_args(index.simple_url, work / "cache", ARM, extra=["torch==2.6.0", "triton"]))
    assert run.code == 0, run.err
    arm = _select(Pylock.from_dict(read_toml(work / "pylock.toml")), ARM)
    vcs = arm["triton"]
    assert isinstance(vcs, PackageVcs) and vcs.commit_id == COMMIT_320
    assert "is a CPU build, but the requirements require triton" in run.out
    assert "no Triton" not in run.out
    assert tripin(capsys, "check").code == 0


def test_the_summary_names_a_lock_given_on_the_command_line(
    index: IndexServer, pytorch: IndexServer, work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`run: tripin build-plan --target T` after `lock --lock pylock.gpu.toml` failed as
    printed ("pylock.toml: cannot read"): it names the lock, on a run that resolved, on one
    that found nothing to resolve, and in `lock --check`'s "run tripin lock"."""
    extra = ["torch==2.6.0", "--pytorch-index-url", pytorch.url, "--lock", "pylock.gpu.toml"]
    args = lock_args(index.simple_url, work / "cache", ARM_CU, extra=extra)
    for _ in range(2):  # the second run finds nothing to resolve
        run = tripin(capsys, *args)
        assert run.code == 0, run.err
        line = next(line for line in run.out.splitlines() if "source build needed" in line)
        printed = line.split("; run: ", 1)[1]
        assert printed == f"tripin build-plan --target {ARM_CU} --lock pylock.gpu.toml", line
        assert tripin(capsys, *printed.split()[1:], "-o", "-").code == 0
    (work / "pylock.gpu.toml").write_text((work / "pylock.gpu.toml").read_text() + "\n")
    run = tripin(capsys, *args, "--check")
    assert run.code == 1 and "run tripin lock --lock pylock.gpu.toml" in run.err, run.err


def test_a_platform_whose_wheel_declares_other_requirements_reads_its_own(
    make_index: Callable[..., IndexServer], work: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """tensorflow 2.15.1's Windows wheel is a stub that requires tensorflow-intel, where its
    Linux and macOS wheels hold the code and name no such package. Reading the first wheel by
    name (the macOS one) for every target, as uv does in a universal resolution, left
    tensorflow-intel out of the Windows lock: a tensorflow that cannot be imported."""
    server = make_index()
    win = "linux-x86_64-cp312", "windows-x86_64-cp312"
    server.publish(build_wheel(tmp_path / "w", "tf", "2.15.1", "cp312-cp312-macosx_10_15_x86_64", ["tf-core"]))
    server.publish(build_wheel(tmp_path / "w", "tf", "2.15.1", "cp312-cp312-manylinux_2_17_x86_64", ["tf-core"]))
    server.publish(build_wheel(tmp_path / "w", "tf", "2.15.1", "cp312-cp312-win_amd64", ['tf-intel; os_name == "nt"']))
    server.publish(build_wheel(tmp_path / "w", "tf-core", "1.0"))
    server.publish(build_wheel(tmp_path / "w", "tf-intel", "2.15.1"))
    run = tripin(capsys, *lock_args(server.simple_url, work / "cache", *win, extra=["tf"]))
    assert run.code == 0, run.err
    lock = Pylock.from_dict(read_toml(work / "pylock.toml"))
    assert set(_select(lock, win[0])) == {"tf", "tf-core"}
    assert set(_select(lock, win[1])) == {"tf", "tf-intel"}


def test_platforms_share_one_metadata_read_where_the_index_hashes_show_one_file(
    make_index: Callable[..., IndexServer], work: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Where the index gives each wheel's core-metadata hash (PEP 714, as PyPI's JSON API does)
    and the hashes are equal, every platform reads the first wheel's METADATA once; where they
    differ (the tensorflow case), each platform reads its own."""
    server = make_index()
    for tag in ("cp312-cp312-manylinux_2_17_x86_64", "cp312-cp312-win_amd64", "cp312-cp312-manylinux_2_17_aarch64"):
        server.publish(build_wheel(tmp_path / "w", "u", "1.0", tag, ["dep"]), core_metadata=True)
        server.publish(
            build_wheel(tmp_path / "w", "v", "1.0", tag, [f"dep; platform_machine != '{tag[-5:]}'"]), core_metadata=True
        )
    server.publish(build_wheel(tmp_path / "w", "dep", "1.0"))
    targets = ("linux-x86_64-cp312", "windows-x86_64-cp312", "linux-aarch64-cp312")
    run = tripin(capsys, *lock_args(server.simple_url, work / "cache", *targets, extra=["u", "v"]))
    assert run.code == 0, run.err
    assert len({r.route for r in server.requests_for("/files/u-*.metadata")}) == 1
    assert len({r.route for r in server.requests_for("/files/v-*.metadata")}) == 3

"""`tripin lock` and `tripin build-plan` end to end, against the recorded index on 127.0.0.1."""

from __future__ import annotations

import re
import stat
import subprocess
from pathlib import Path

import pytest
from helpers import lock_args, read_toml, recorded_file, tripin
from indexserver import IndexServer
from packaging.pylock import PackageVcs, PackageWheel, Pylock

from tripin.targets import parse_target

X86, ARM = "linux-x86_64-cp312", "linux-aarch64-cp312"
TRITON_320 = "triton-3.2.0-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"
COMMIT_320 = "9641643da6c52000c807b5eeed05edaec4402a67"


@pytest.fixture
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _select(lock: Pylock, target: str) -> dict[str, object]:
    t = parse_target(target)
    return {pkg.name: dist for pkg, dist in lock.select(environment=t.environment(), tags=t.tags)}


def test_torch_26_x86_wheel_and_aarch64_source_build(
    index: IndexServer, work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = tripin(capsys, *lock_args(index.simple_url, work / "cache", X86, ARM, extra=["torch==2.6.0"]))
    assert run.code == 0, run.err
    data = read_toml(work / "pylock.toml")
    lock = Pylock.from_dict(data)  # packaging's own PEP 751 validation
    x86, arm = _select(lock, X86), _select(lock, ARM)

    wheel = x86["triton"]
    assert isinstance(wheel, PackageWheel) and wheel.name == TRITON_320
    assert dict(wheel.hashes) == recorded_file("triton", TRITON_320)["hashes"]
    assert isinstance(x86["torch"], PackageWheel) and "nvidia-cudnn-cu12" in x86

    vcs = arm["triton"]
    assert isinstance(vcs, PackageVcs)
    assert (vcs.type, vcs.url, vcs.commit_id, vcs.subdirectory) == (
        "git",
        "https://github.com/triton-lang/triton",
        COMMIT_320,
        "python",
    )
    assert "nvidia-cudnn-cu12" not in arm
    triton_entries = [p for p in data["packages"] if p["name"] == "triton"]
    build = next(p for p in triton_entries if "vcs" in p)["tool"]["tripin"]
    assert [r["id"] for r in build["rules"]] == ["torch-2.6.0/linux-aarch64"]
    assert build["build"]["version"] == "3.2.0+git9641643d" and build["build"]["status"] == "matched"
    assert data["tool"]["tripin"]["ruleset-digest"].startswith("sha256:")

    constraints = (work / "constraints.txt").read_text().splitlines()
    torch_line = next(line for line in constraints if line.startswith("torch==2.6.0  # "))
    assert "rule torch-2.6.0/metadata" in torch_line and "rule torch-2.6.0/linux-aarch64" in torch_line
    arm_line = next(line for line in constraints if line.startswith("triton==3.2.0+git9641643d ; "))
    assert 'platform_machine == "aarch64"' in arm_line and "tripin build-plan --target linux-aarch64-cp312" in arm_line
    x86_line = next(line for line in constraints if line.startswith("triton==3.2.0 ; "))
    assert 'platform_machine == "x86_64"' in x86_line
    assert "source build needed on linux-aarch64-cp312" in run.out

    plan = tripin(capsys, "build-plan", "--target", ARM)
    assert plan.code == 0, plan.err
    script = work / "build-linux-aarch64-cp312.sh"
    text = script.read_text()
    assert script.stat().st_mode & stat.S_IXUSR
    assert f'git -C "$src" fetch --depth 1 https://github.com/triton-lang/triton {COMMIT_320}' in text
    assert "TRITON_WHEEL_VERSION_SUFFIX=+git9641643d" in text and '"$src"/python' in text
    assert "triton-3.2.0+git9641643d-" in text
    subprocess.run(["sh", "-n", str(script)], check=True)
    assert "pip install --find-links wheelhouse -c constraints.txt torch==2.6.0" in plan.out


def test_build_script_refuses_at_a_wrong_commit(
    index: IndexServer, work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The script checks what it checked out; run it with a `git` that fetches another commit."""
    assert tripin(capsys, *lock_args(index.simple_url, work / "cache", ARM, extra=["torch==2.6.0"])).code == 0
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


def test_torch_29_aarch64_gets_the_wheel_its_metadata_omits(
    index: IndexServer, work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert tripin(capsys, *lock_args(index.simple_url, work / "cache", ARM, extra=["torch==2.9.0"])).code == 0
    lock = Pylock.from_dict(read_toml(work / "pylock.toml"))
    triton = _select(lock, ARM)["triton"]
    assert isinstance(triton, PackageWheel)
    assert triton.name == "triton-3.5.0-cp312-cp312-manylinux_2_27_aarch64.manylinux_2_28_aarch64.whl"
    entry = next(p for p in read_toml(work / "pylock.toml")["packages"] if p["name"] == "triton")
    assert [r["id"] for r in entry["tool"]["tripin"]["rules"]] == ["torch-2.9.0/linux-aarch64"]


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
    arm_triton = next(p for p in lock.packages if p.name == "triton" and p.vcs is not None)
    assert arm_triton.vcs is not None and arm_triton.vcs.commit_id == COMMIT_320


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
    args = lock_args(index.simple_url, work / "cache", ARM, extra=["torch==2.6.0", "-q"])
    one = tripin(capsys, *args, "-v")
    assert f"tripin: torch: from {index.simple_url}" in one.err
    assert "torch 2.6.0: triton ==3.2.0 (source-build) by rule torch-2.6.0/linux-aarch64" in one.err
    assert "GET " not in one.err
    (work / "pylock.toml").unlink()  # else nothing is resolved at all (tests/test_preferences.py)
    two = tripin(capsys, *args, "-vv")
    assert "metadata from the cache" in two.err and "candidate(s) for" in two.err
    assert tripin(capsys, *args).err == ""

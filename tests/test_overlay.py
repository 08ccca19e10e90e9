"""A project's rules over the shipped ones: [tool.tripin] rules = [...] or --overlay."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from helpers import lock_args, read_toml, tripin
from indexserver import IndexServer

ARM = "linux-aarch64-cp312"
ARM_CU = "linux-aarch64-cp312-cu126"
FORK = "1111111111111111111111111111111111111111"
OVERLAY = Path(__file__).parent / "rules" / "overlay-internal-fork.toml"


@pytest.fixture
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TRIPIN_CACHE_DIR", str(tmp_path / "cache"))
    shutil.copy(OVERLAY, tmp_path / "internal.toml")
    return tmp_path


def test_lock_builds_the_fork(
    index: IndexServer, pytorch: IndexServer, work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (work / "pyproject.toml").write_text(
        f'[project]\nname = "a"\nversion = "0"\ndependencies = ["torch==2.6.0"]\n[tool.tripin]\n'
        f'targets = ["{ARM_CU}"]\nindex-url = "{index.simple_url}"\npytorch-index-url = "{pytorch.url}"\n'
        'rules = ["internal.toml"]\n'
    )
    locked = tripin(capsys, "lock")
    assert locked.code == 0
    # the fork's build is the overlay's rule, not what PyPI's wheel was built from
    assert "ok: the commit of build rule internal-triton-3.2.0 for triton 3.2.0" in locked.out, locked.out
    assert "PyPI wheel" not in locked.out
    triton = next(p for p in read_toml(work / "pylock.toml")["packages"] if p["name"] == "triton")
    assert triton["vcs"]["url"] == "https://git.example.org/ml/triton" and triton["vcs"]["commit-id"] == FORK
    assert triton["tool"]["tripin"]["build"]["version"] == "3.2.0+git11111111"
    assert "git11111111" in (work / "constraints.txt").read_text()
    assert tripin(capsys, "check").code == 0  # judged with the same overlay, read from pyproject.toml


def test_check_with_and_without_the_overlay(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (work / "c.txt").write_text("torch==2.6.0\ntriton==3.2.0+git11111111\n")
    assert tripin(capsys, "check", "c.txt", "--target", ARM, "--overlay", "internal.toml").code == 0
    without = tripin(capsys, "check", "c.txt", "--target", ARM)
    assert without.code == 1 and "TP002" in without.out


def test_a_broken_overlay_names_its_file_and_line(
    index: IndexServer, work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (work / "bad.toml").write_text('schema = 1\n\n[[build]]\nid = "x"\ncommit = "nope"\n')
    run = tripin(capsys, *lock_args(index.simple_url, work / "c", ARM, extra=["torch==2.6.0", "--overlay", "bad.toml"]))
    assert run.code == 2 and "bad.toml:3:" in run.err


def test_doctor_and_build_plan_read_the_projects_overlay(
    work: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """[tool.tripin] rules is honoured by doctor and build-plan --torch as by lock and check."""
    from test_doctor import _target, _torch, _triton, _venv

    python = _venv(tmp_path, _torch(tmp_path / "t", "2.6.0"), _triton(tmp_path / "f", "3.2.0+git11111111", attrs=True))
    assert tripin(capsys, "doctor", "--python", str(python)).code == (1 if _target().startswith("linux-") else 0)
    (work / "pyproject.toml").write_text(
        '[project]\nname = "a"\nversion = "0"\n[tool.tripin]\nrules = ["internal.toml"]\n'
    )
    healthy = tripin(capsys, "doctor", "--python", str(python))
    assert healthy.code == 0, healthy.out
    plan = tripin(capsys, "build-plan", "--torch", "2.6.0", "--target", "linux-aarch64-cp312-cu126", "-o", "-")
    assert plan.code == 0 and f"https://git.example.org/ml/triton {FORK}" in plan.out


def test_one_overlay_changes_every_commands_answer(
    index: IndexServer, pytorch: IndexServer, work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """[tool.tripin] rules = ["internal.toml"] (a fork at 1111...): lock, check, doctor, explain and
    build-plan --torch all read it from the one settings model, and all change their answer with it."""
    from test_doctor import _torch, _triton, _venv

    pyproject = (
        f'[project]\nname = "a"\nversion = "0"\ndependencies = ["torch==2.6.0"]\n[tool.tripin]\n'
        f'targets = ["{ARM_CU}"]\nindex-url = "{index.simple_url}"\npytorch-index-url = "{pytorch.url}"\n'
    )
    (work / "pyproject.toml").write_text(pyproject + 'rules = ["internal.toml"]\n')
    (work / "c.txt").write_text("torch==2.6.0\ntriton==3.2.0+git11111111\n")
    python = _venv(work, _torch(work, "2.6.0+cu126"), _triton(work, "3.2.0+git11111111", attrs=True))

    def answers() -> dict[str, object]:
        lock = tripin(capsys, "lock", "-U")
        assert lock.code == 0, lock.err
        triton = next(p for p in read_toml(work / "pylock.toml")["packages"] if p["name"] == "triton")
        return {
            "lock": triton["vcs"]["commit-id"],
            "check": tripin(capsys, "check", "c.txt", "--target", ARM_CU).code,
            "doctor": tripin(capsys, "doctor", "--python", str(python)).code,
            "explain": FORK in tripin(capsys, "explain", "triton", "--target", ARM_CU).out,
            "build-plan": FORK in tripin(capsys, "build-plan", "--torch", "2.6.0", "--target", ARM_CU, "-o", "-").out,
            "config": "internal.toml" in tripin(capsys, "config").out,
        }

    assert answers() == {"lock": FORK, "check": 0, "doctor": 0, "explain": True, "build-plan": True, "config": True}
    (work / "pyproject.toml").write_text(pyproject)  # the same project without its overlay
    assert answers() == {
        "lock": "9641643da6c52000c807b5eeed05edaec4402a67",
        "check": 1,
        "doctor": 1,
        "explain": False,
        "build-plan": False,
        "config": False,
    }


def test_an_overlay_variant_rule_holds_over_the_shipped_one(
    index: IndexServer, pytorch: IndexServer, work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An overlay's variant rule with its own id replaces the shipped rule that matches the same
    variant, as its pins and builds do: the first match holds, and the shipped `cu*` came first."""
    (work / "variant.toml").write_text(
        'schema = 1\n[[variant]]\nid = "cuda-internal"\nmatch = "cu126"\npackage = "none"\napplies = "none"\n'
        'status = "verified"\nsource = "https://example.org/x"\nnote = "our cu126 builds run no Triton"\n'
    )
    args = lock_args(index.simple_url, work / "c", ARM_CU, extra=["torch==2.6.0", "--pytorch-index-url", pytorch.url])
    assert tripin(capsys, *args).code == 0
    assert any(p["name"] == "triton" for p in read_toml(work / "pylock.toml")["packages"])  # the shipped rule
    assert tripin(capsys, *args, "--overlay", "variant.toml").code == 0
    assert not any(p["name"] == "triton" for p in read_toml(work / "pylock.toml")["packages"])


def test_build_plan_without_the_lock_s_overlay_says_so(
    index: IndexServer, pytorch: IndexServer, work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The fork's build is refused without the overlay that gave it; `--torch` would build the
    shipped commit instead, so the message names the overlay as the way on."""
    args = lock_args(index.simple_url, work / "c", ARM_CU, extra=["torch==2.6.0", "--pytorch-index-url", pytorch.url])
    assert tripin(capsys, *args, "--overlay", "internal.toml").code == 0
    run = tripin(capsys, "build-plan", "--target", ARM_CU, "-o", "b.sh")
    assert run.code == 2 and "the lock was made with other rules" in run.err and "pass the same --overlay" in run.err
    assert tripin(capsys, "build-plan", "--target", ARM_CU, "-o", "b.sh", "--overlay", "internal.toml").code == 0


def test_check_from_the_root_judges_each_project_by_its_own_overlays(
    index: IndexServer, work: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The hook runs at the repository's root, whose pyproject.toml has no overlay: a
    subproject's lock, written with its overlay, was TP005 "another ruleset", and its fork's
    build was judged by rules that do not know it (TP002). A sibling without the overlay
    keeps the shipped rules."""
    tool = f'[tool.tripin]\ntargets = ["{ARM}"]\nindex-url = "{index.simple_url}"\n'
    pair = "torch==2.6.0\ntriton==3.2.0+git11111111\n"
    for name, rules in (("api", 'rules = ["internal.toml"]\n'), ("web", "")):
        folder = work / "services" / name
        folder.mkdir(parents=True)
        shutil.copy(OVERLAY, folder / "internal.toml")
        (folder / "pyproject.toml").write_text(
            f'[project]\nname = "{name}"\nversion = "0"\ndependencies = ["filelock"]\n{tool}{rules}'
        )
        (folder / "requirements.txt").write_text(pair)
        monkeypatch.chdir(folder)
        assert tripin(capsys, "lock", "-q").code == 0
        assert (tripin(capsys, "check", "requirements.txt", "pyproject.toml").code == 0) is (name == "api")
    monkeypatch.chdir(work)
    (work / "pyproject.toml").write_text('[project]\nname = "root"\nversion = "0"\n')
    api = ["services/api/pyproject.toml", "services/api/requirements.txt"]
    run = tripin(capsys, "check", *api)
    assert (run.code, run.out) == (0, ""), run.out
    run = tripin(capsys, "check", *api, "services/web/pyproject.toml", "services/web/requirements.txt")
    assert run.code == 1 and {line.split(" ")[0] for line in run.out.splitlines()} == {
        "services/web/requirements.txt:2:"
    }, run.out
    assert "TP002" in run.out
    # the subproject's overlay is part of the answer a repeated check replays
    fork = work / "services" / "api" / "internal.toml"
    fork.write_text(fork.read_text().replace('status = "verified"', 'status = "candidate"'))
    run = tripin(capsys, "check", *api)
    assert run.code == 1 and "TP005 the lock was written with another ruleset" in run.out, run.out
    # --overlay on the command line is for every file named
    run = tripin(capsys, "check", "--overlay", "internal.toml", "services/web/requirements.txt")
    assert run.code == 0, run.out

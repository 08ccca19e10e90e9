"""TP005's fix (tripin/remake.py), run as printed by a real shell, makes a lock `check` passes.

Before it is run, each test compares the printed command with what it has to be: a wrong fix
would lock from PyPI, and tests never reach the internet.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from helpers import read_toml, tripin
from indexserver import IndexServer, build_wheel

X86 = "linux-x86_64-cp312"
ALL_ENV = ("PIP_", "UV_", "TRIPIN_")


@pytest.fixture
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A repository root; `bin/tripin` runs this tripin, as the printed command names it."""
    (tmp_path / "repo").mkdir()
    monkeypatch.chdir(tmp_path / "repo")
    for key in [k for k in os.environ if k.startswith(ALL_ENV)]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("TRIPIN_CACHE_DIR", str(tmp_path / "cache"))
    launcher = tmp_path / "bin" / "tripin"
    launcher.parent.mkdir()
    launcher.write_text(f'#!/bin/sh\nexec {shlex.quote(sys.executable)} -m tripin "$@"\n')
    launcher.chmod(0o755)
    monkeypatch.setenv("PATH", f"{launcher.parent}{os.pathsep}{os.environ['PATH']}")
    return tmp_path / "repo"


def _project(folder: Path, tool: str, deps: str = '"filelock"') -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    pyproject = folder / "pyproject.toml"
    pyproject.write_text(f'[project]\nname = "p"\nversion = "0"\ndependencies = [{deps}]\n[tool.tripin]\n{tool}')
    return pyproject


def _edit(pyproject: Path) -> None:
    pyproject.write_text(pyproject.read_text().replace('"filelock"', '"filelock", "markupsafe"'))


def _fix(capsys: pytest.CaptureFixture[str], *files: str) -> str:
    run = tripin(capsys, "check", *files)
    assert run.code == 1 and run.out.count("\n") == 1 and " TP005 " in run.out, run.out
    return run.out.rstrip("\n").split("; fix: ", 1)[1]


def _run_printed(fix: str) -> None:
    """The fix by sh, as a user pastes it; it must then leave nothing for `check` to say."""
    done = subprocess.run(["sh", "-c", fix], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr


def _indexes(lock: Path) -> set[str]:
    return {p["index"] for p in read_toml(lock)["packages"]}


def _as_older_tripin(lock: Path) -> None:
    """The lock as a tripin before [tool.tripin.given] wrote it: the fix still reads it."""
    text = lock.read_text()
    lock.write_text(text[: text.index("\n[tool.tripin.given]\n")] + "\n")
    assert "given" not in read_toml(lock)["tool"]["tripin"]


def test_a_lock_keeps_the_index_and_exclude_newer_it_was_made_with(
    index: IndexServer, work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The project configures no index: the fix said `tripin lock`, which moved every package
    to PyPI and dropped --exclude-newer."""
    pyproject = _project(work, f'targets = ["{X86}"]\n')
    lock = ["lock", "-q", "--index-url", index.simple_url, "--exclude-newer", "2030-01-01"]
    assert tripin(capsys, *lock).code == 0
    _edit(pyproject)
    fix = _fix(capsys)
    newer = "2030-01-01T23:59:59.999999+00:00"
    assert fix == f"tripin lock --exclude-newer {newer} --index-url {index.simple_url}"
    _run_printed(fix)
    assert tripin(capsys, "check").code == 0
    data = read_toml(work / "pylock.toml")
    assert data["tool"]["tripin"]["exclude-newer"] == newer
    assert {p["name"] for p in data["packages"]} == {"filelock", "markupsafe"}
    assert _indexes(work / "pylock.toml") == {index.simple_url}


def test_configured_options_are_left_to_the_project(
    index: IndexServer, work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """What [tool.tripin] configures is read again by the fix (an edit there included), and an
    index TP016 reports is not carried into it: the re-lock takes the project's own."""
    tool = f'targets = ["{X86}"]\nindex-url = "{index.simple_url}"\nexclude-newer = "2030-01-01"\n'
    pyproject = _project(work, tool)
    assert tripin(capsys, "lock", "-q").code == 0
    _edit(pyproject)
    assert _fix(capsys) == "tripin lock"
    lock = work / "pylock.toml"
    lock.write_text(lock.read_text().replace(f'index = "{index.simple_url}"', 'index = "https://evil.example.com/s"'))
    run = tripin(capsys, "check")
    assert "TP016" in run.out and run.out.count("TP005") == 1 and "fix: tripin lock\n" in run.out, run.out


def test_targets_given_on_the_command_line_are_named(
    index: IndexServer, work: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """No [tool.tripin] targets: the fix `tripin lock` failed with "no target given"."""
    pyproject = _project(work, f'index-url = "{index.simple_url}"\n')
    assert tripin(capsys, "lock", "-q", "-t", X86).code == 0
    monkeypatch.setenv("TRIPIN_TARGETS", "linux-aarch64-cp312")  # lock's environment, not check's
    _edit(pyproject)
    monkeypatch.delenv("TRIPIN_TARGETS")
    fix = _fix(capsys)
    assert fix == f"tripin lock -t {X86}"
    _run_printed(fix)
    assert tripin(capsys, "check").code == 0
    assert {p["name"] for p in read_toml(work / "pylock.toml")["packages"]} == {"filelock", "markupsafe"}


@pytest.mark.parametrize("folder", ["services/api", "services/my api/$(touch pwned)'`touch pwned`", "-x"])
def test_a_subproject_is_locked_in_its_own_folder(
    index: IndexServer, work: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, folder: str
) -> None:
    """The hook runs at the repository's root: `tripin lock --lock services/api/pylock.api.toml`
    locked the root's pyproject.toml into the subproject's lock. The folder is quoted for a
    shell, whatever its name."""
    tool = f'targets = ["{X86}"]\nindex-url = "{index.simple_url}"\n'
    _project(work, tool, '"markupsafe"')
    pyproject = _project(work / folder, tool + 'lock = "pylock.api.toml"\n')
    assert tripin(capsys, "lock", "-q").code == 0
    monkeypatch.chdir(work / folder)
    assert tripin(capsys, "lock", "-q").code == 0
    monkeypatch.chdir(work)
    root_lock = (work / "pylock.toml").read_bytes()
    _edit(pyproject)
    fix = _fix(capsys, "--", f"{folder}/pyproject.toml")
    shown = folder if not folder.startswith("-") else f"./{folder}"
    assert fix == f"cd {shlex.quote(shown)} && tripin lock", fix
    _run_printed(fix)
    assert not list(work.rglob("pwned"))
    assert tripin(capsys, "check", "pyproject.toml", "--", f"{folder}/pyproject.toml").code == 0
    assert (work / "pylock.toml").read_bytes() == root_lock
    names = {p["name"] for p in read_toml(work / folder / "pylock.api.toml")["packages"]}
    assert names == {"filelock", "markupsafe"}


def test_a_lock_of_another_name_than_the_projects_names_its_file(
    index: IndexServer, work: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    pyproject = _project(work / "app", f'targets = ["{X86}"]\nindex-url = "{index.simple_url}"\n')
    monkeypatch.chdir(work / "app")
    assert tripin(capsys, "lock", "-q", "--lock", "pylock.gpu.toml").code == 0
    monkeypatch.chdir(work)
    _edit(pyproject)
    fix = _fix(capsys, "app/pylock.gpu.toml")
    assert fix == "cd app && tripin lock --lock pylock.gpu.toml"
    _run_printed(fix)
    assert tripin(capsys, "check", "app/pylock.gpu.toml").code == 0


@pytest.mark.parametrize(
    ("indexes", "said"),
    [
        (["https://a.example.org/simple", "https://b.example.org/simple"], "does not record which was --index-url"),
        (["https://user:****@a.example.org/simple"], "not a plain URL without credentials"),
        (["https://a.example.org/simple\\n$(x)"], "not a plain URL without credentials"),
    ],
)
def test_indexes_no_command_line_can_name_are_said_to_be_so(
    index: IndexServer, work: Path, capsys: pytest.CaptureFixture[str], indexes: list[str], said: str
) -> None:
    """A lock an older tripin wrote: two indexes of which it does not record the --index-url, a
    URL whose credentials were masked, or a hostile one: the fix says to give the index
    options, and names none."""
    pyproject = _project(work, f'targets = ["{X86}"]\n', '"filelock", "markupsafe"')
    assert tripin(capsys, "lock", "-q", "--index-url", index.simple_url).code == 0
    lock = work / "pylock.toml"
    text = lock.read_text()
    for n, url in enumerate(indexes):
        text = text.replace(f'index = "{index.simple_url}"', f'index = "{url}"', 1 if n < len(indexes) - 1 else -1)
    lock.write_text(text)
    _as_older_tripin(lock)  # a newer one records which was --index-url (below)
    pyproject.write_text(pyproject.read_text().replace('"markupsafe"', '"markupsafe>=1"'))
    fix = _fix(capsys)
    assert fix.startswith("tripin lock with the index options it was made with (") and said in fix, fix
    assert "****" not in fix and "$(x)" not in fix and "\\x0a" not in fix


def test_a_variant_lock_keeps_the_pytorch_index_it_was_made_with(
    index: IndexServer, pytorch: IndexServer, work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A -cu126 target's torch came from `--pytorch-index-url URL`/cu126: the fix names URL."""
    pyproject = _project(work, f'targets = ["{X86}-cu126"]\n', '"torch==2.6.0", "filelock"')
    args = ["lock", "-q", "--index-url", index.simple_url, "--pytorch-index-url", pytorch.url]
    assert tripin(capsys, *args).code == 0
    _edit(pyproject)
    fix = _fix(capsys)
    assert fix == f"tripin lock --index-url {index.simple_url} --pytorch-index-url {pytorch.url}", fix
    _run_printed(fix)
    assert tripin(capsys, "check").code == 0
    assert _indexes(work / "pylock.toml") == {index.simple_url, f"{pytorch.url}/cu126"}


def test_a_nightly_lock_is_made_again_from_the_nightly_index(
    index: IndexServer, make_index: Callable[..., IndexServer], work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Its torch came from URL/nightly/cu126: without --nightly the fix would move it to a release."""
    server = make_index()
    wheels, x86 = work.parent / "nightly", "cp312-cp312-manylinux_2_28_x86_64"
    triton = 'pytorch-triton==3.2.0+git4b3bb1f8; platform_system == "Linux" and platform_machine == "x86_64"'
    torch = build_wheel(wheels, "torch", "2.7.0.dev20250301+cu126", x86, requires_dist=["filelock", triton])
    server.add_variant_wheel("nightly/cu126", torch)
    server.add_variant_wheel("nightly/cu126", build_wheel(wheels, "pytorch-triton", "3.2.0+git4b3bb1f8", x86))
    pyproject = _project(work, f'targets = ["{X86}-cu126"]\n', '"torch>=2.7.0.dev0", "filelock"')
    args = ["lock", "-q", "--nightly", "--index-url", index.simple_url, "--pytorch-index-url", server.url]
    assert tripin(capsys, *args).code == 0
    _edit(pyproject)
    fix = _fix(capsys)
    assert fix == f"tripin lock --index-url {index.simple_url} --pytorch-index-url {server.url} --nightly", fix
    _run_printed(fix)
    assert tripin(capsys, "check").code == 0
    assert f"{server.url}/nightly/cu126" in _indexes(work / "pylock.toml")


def _in_subfolder(work: Path, index: IndexServer, pytorch: IndexServer) -> Path:
    """`svc` locks into svc/locks/ for a CPU and a CUDA build (two constraints files)."""
    tool = (
        f'targets = ["{X86}-cpu", "{X86}-cu126"]\nindex-url = "{index.simple_url}"\n'
        f'pytorch-index-url = "{pytorch.url}"\nlock = "locks/pylock.svc.toml"\n'
    )
    (work / "svc/locks").mkdir(parents=True)
    return _project(work / "svc", tool, '"torch==2.6.0", "filelock"')


@pytest.mark.parametrize("where", [".", "svc"])
def test_a_lock_in_a_subfolder_of_its_project_is_judged_by_that_project(
    index: IndexServer,
    pytorch: IndexServer,
    work: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    where: str,
) -> None:
    """[tool.tripin] lock = "locks/pylock.svc.toml": check looked for a pyproject.toml in
    locks/, so an edited project (TP005) and a forged index (TP016) passed, build-plan wrote
    the forged index into its install line, and from the root the constraints files, whose
    header names `locks/pylock.svc.toml`, were compared with the other build's target (TP007)."""
    pyproject = _in_subfolder(work, index, pytorch)
    monkeypatch.chdir(work / "svc")
    assert tripin(capsys, "lock", "-q").code == 0
    monkeypatch.chdir(work / where)
    prefix = "" if where == "svc" else "svc/"
    files = [f"{prefix}locks/{n}" for n in ("pylock.svc.toml", "constraints.svc-cpu.txt", "constraints.svc-cu126.txt")]
    run = tripin(capsys, "check", *files)
    assert run.code == 0, run.out
    _edit(pyproject)
    lock = work / "svc/locks/pylock.svc.toml"
    lock.write_text(lock.read_text().replace(f'index = "{index.simple_url}"', 'index = "https://evil.example/s"', 1))
    run = tripin(capsys, "check", *files)
    assert " TP016 " in run.out and run.out.count(" TP005 ") == 1, run.out
    fix = next(line for line in run.out.splitlines() if " TP005 " in line).split("; fix: ", 1)[1]
    assert fix == ("tripin lock" if where == "svc" else "cd svc && tripin lock"), fix
    # TP016's fix is the same command: a bare `tripin lock` from the root fails there
    assert "TP016 filelock: index 'https://evil.example/s' is not one the project configures" in run.out
    assert all(line.endswith(f"; fix: {fix}") for line in run.out.splitlines()), run.out
    plan = tripin(capsys, "build-plan", "--lock", files[0], "--target", f"{X86}-cpu", "-o", "-")
    assert plan.code != 0 and "evil.example" not in plan.out and "TP016" in plan.err, plan.err
    _run_printed(fix)
    assert tripin(capsys, "check", *files).code == 0
    assert "markupsafe" in {p["name"] for p in read_toml(lock)["packages"]}


def test_a_constraints_file_that_disagrees_with_its_lock_is_fixed_in_the_lock_folder(
    index: IndexServer, work: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """TP007's fix was a bare `tripin lock`: from the root, "no requirements given and no
    pyproject.toml here", or, where the root has a project, a lock of the wrong one."""
    _project(work / "app", f'targets = ["{X86}"]\nindex-url = "{index.simple_url}"\n')
    monkeypatch.chdir(work / "app")
    assert tripin(capsys, "lock", "-q").code == 0
    monkeypatch.chdir(work)
    constraints = work / "app/constraints.txt"
    locked = next(p["version"] for p in read_toml(work / "app/pylock.toml")["packages"] if p["name"] == "filelock")
    constraints.write_text(constraints.read_text().replace(f"filelock=={locked}", "filelock==0.1"))
    run = tripin(capsys, "check", "app/pylock.toml", "app/constraints.txt")
    assert run.code == 1 and run.out.startswith("app/constraints.txt:4: TP007 filelock==0.1"), run.out
    fix = run.out.rstrip("\n").split("; fix: ", 1)[1]
    assert fix == "cd app && tripin lock", fix
    _run_printed(fix)
    assert tripin(capsys, "check", "app/pylock.toml", "app/constraints.txt").code == 0


def test_targets_that_override_the_configured_ones_are_named(
    index: IndexServer, work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`lock -t a -t b` over [tool.tripin] targets = [a]: the fix `tripin lock` dropped b."""
    arm = "linux-aarch64-cp312"
    pyproject = _project(work, f'targets = ["{X86}"]\nindex-url = "{index.simple_url}"\n')
    assert tripin(capsys, "lock", "-q", "-t", X86, "-t", arm).code == 0
    _edit(pyproject)
    fix = _fix(capsys)
    assert fix == f"tripin lock -t {X86} -t {arm}", fix
    _run_printed(fix)
    assert tripin(capsys, "check").code == 0
    assert [t["name"] for t in read_toml(work / "pylock.toml")["tool"]["tripin"]["targets"]] == [X86, arm]


def test_check_s_own_overlay_is_in_the_fix(
    index: IndexServer, pytorch: IndexServer, work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`check --overlay F` judged the lock by the fork's rules; the fix re-locked without them,
    replaced the fork's Triton, and check kept failing. It names F (absolute: it may `cd`)."""
    overlay = Path(__file__).parent / "rules" / "overlay-internal-fork.toml"
    (work / "internal.toml").write_text(overlay.read_text())
    tool = f'targets = ["linux-aarch64-cp312-cu126"]\nindex-url = "{index.simple_url}"\n'
    tool += f'pytorch-index-url = "{pytorch.url}"\n'
    pyproject = _project(work, tool, '"torch==2.6.0", "filelock"')
    assert tripin(capsys, "lock", "-q", "--overlay", "internal.toml").code == 0
    fork = {p["name"]: p for p in read_toml(work / "pylock.toml")["packages"]}["triton"]
    _edit(pyproject)
    run = tripin(capsys, "check", "--overlay", "internal.toml")
    assert run.code == 1 and " TP005 " in run.out, run.out
    fix = run.out.rstrip("\n").split("; fix: ", 1)[1]
    assert fix == f"tripin lock --overlay {work / 'internal.toml'}", fix
    _run_printed(fix)
    assert tripin(capsys, "check", "--overlay", "internal.toml").code == 0
    assert {p["name"]: p for p in read_toml(work / "pylock.toml")["packages"]}["triton"] == fork


def test_an_extra_index_is_named_as_one(
    index: IndexServer, make_index: Callable[..., IndexServer], work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The lock records which indexes were extra ones: the fix names them --extra-index-url.
    Without that it could not tell them from --index-url (it said so, or named the only one
    it saw as --index-url, which left out the index a new dependency is on)."""
    private = make_index()
    private.publish(build_wheel(work.parent / "wheels", "mypriv", "1.0", "py3-none-any"))
    pyproject = _project(work, f'targets = ["{X86}"]\n', '"mypriv", "markupsafe"')
    lock = ["lock", "-q", "--index-url", index.simple_url, "--extra-index-url", private.simple_url]
    assert tripin(capsys, *lock).code == 0
    assert read_toml(work / "pylock.toml")["tool"]["tripin"]["extra-index-urls"] == [private.simple_url]
    pyproject.write_text(pyproject.read_text().replace('"markupsafe"', '"markupsafe", "filelock"'))
    fix = _fix(capsys)
    assert fix == f"tripin lock --index-url {index.simple_url} --extra-index-url {private.simple_url}", fix
    _run_printed(fix)
    assert tripin(capsys, "check").code == 0
    indexes = {p["name"]: p["index"] for p in read_toml(work / "pylock.toml")["packages"]}
    assert indexes["mypriv"] == private.simple_url and indexes["filelock"] == index.simple_url


def test_the_command_line_s_settings_are_given_again(
    index: IndexServer, make_index: Callable[..., IndexServer], work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--manylinux, --musllinux, --macos, --pre, -c FILE and --constraints PATH: the fix dropped
    them, so the re-lock took a pre-release's final release, a version `-c` forbade, wrote
    constraints.txt and left out.txt stale. The original command, run after the fix, finds
    nothing to change (`lock --check`)."""
    private = make_index()
    wheels = work.parent / "wheels"
    for version in ("1.0", "2.0rc1"):
        private.publish(build_wheel(wheels, "newpkg", version, "py3-none-any"))
    pyproject = _project(work, f'targets = ["{X86}"]\n')
    (work / "c.txt").write_text("markupsafe<3.0.3\n")
    made = ["--index-url", index.simple_url, "--extra-index-url", private.simple_url]
    made += ["--manylinux", "2.17", "--musllinux", "1.1", "--macos", "13.0", "--pre", "-c", "c.txt"]
    made += ["--constraints", "out.txt"]
    assert tripin(capsys, "lock", "-q", *made).code == 0
    pyproject.write_text(pyproject.read_text().replace('"filelock"', '"filelock", "markupsafe", "newpkg"'))
    fix = _fix(capsys)
    assert fix == shlex.join(["tripin", "lock", *made]), fix
    _run_printed(fix)
    assert tripin(capsys, "check").code == 0
    versions = {p["name"]: p["version"] for p in read_toml(work / "pylock.toml")["packages"]}
    assert versions["newpkg"] == "2.0rc1" and versions["markupsafe"] == "3.0.2", versions
    assert "newpkg==2.0rc1" in (work / "out.txt").read_text() and not (work / "constraints.txt").exists()
    run = tripin(capsys, "lock", "--check", *made)
    assert run.code == 0, run.out + run.err


@pytest.mark.parametrize("where", ["pyproject", "environment"])
def test_only_the_settings_pyproject_did_not_give_are_put_back(
    index: IndexServer,
    work: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    where: str,
) -> None:
    """index-url and exclude-newer removed from [tool.tripin] after the lock: the fix put them
    back from the lock. Given by the environment when the lock was made, it names them."""
    tool = f'targets = ["{X86}"]\nindex-url = "{index.simple_url}"\nexclude-newer = "2030-01-01"\n'
    _project(work, tool if where == "pyproject" else f'targets = ["{X86}"]\n')
    if where == "environment":
        monkeypatch.setenv("UV_INDEX_URL", index.simple_url)
        monkeypatch.setenv("TRIPIN_EXCLUDE_NEWER", "2030-01-01")
    assert tripin(capsys, "lock", "-q").code == 0
    monkeypatch.delenv("UV_INDEX_URL", raising=False)
    monkeypatch.delenv("TRIPIN_EXCLUDE_NEWER", raising=False)
    _project(work, f'targets = ["{X86}"]\n', '"filelock", "markupsafe"')  # both settings gone
    fix = _fix(capsys)
    newer = "2030-01-01T23:59:59.999999+00:00"
    if where == "environment":
        assert fix == f"tripin lock --exclude-newer {newer} --index-url {index.simple_url}", fix
        return
    assert fix == "tripin lock", fix
    monkeypatch.setenv("PIP_INDEX_URL", index.simple_url)  # this machine's index, as the project now says nothing
    _run_printed(fix)
    assert tripin(capsys, "check").code == 0
    assert "exclude-newer" not in read_toml(work / "pylock.toml")["tool"]["tripin"]


@pytest.mark.parametrize("older", [False, True])
def test_groups_pyproject_configures_are_left_to_it(
    index: IndexServer, work: Path, capsys: pytest.CaptureFixture[str], older: bool
) -> None:
    """[tool.tripin] groups = ["dev"]: the fix said `--group dev` again (it reads them anyway);
    `--group test` given on the command line stays."""
    deps = '"filelock"]\n[project.optional-dependencies]\ndev = ["markupsafe"]\ntest = ["jinja2"'
    tool = f'targets = ["{X86}"]\nindex-url = "{index.simple_url}"\ngroups = ["dev"]\n'
    pyproject = _project(work, tool, deps)
    assert tripin(capsys, "lock", "-q", "--group", "test").code == 0
    if older:
        _as_older_tripin(work / "pylock.toml")
    pyproject.write_text(pyproject.read_text().replace('"filelock"', '"filelock", "mpmath"'))
    fix = _fix(capsys)
    assert fix == "tripin lock --group test", fix
    _run_printed(fix)
    assert tripin(capsys, "check").code == 0


_AGAIN = "lock again with the inputs pylock.toml was made from (tripin lock)"
_NOT_PLAIN = "the lock names an index that is not a plain URL without credentials"


@pytest.mark.parametrize(
    ("edit", "said"),
    [
        ('manylinux = "2.17 && touch pwned"', _AGAIN),
        ('constraint-files = ["c.txt\\n$(touch pwned)"]', _AGAIN),
        ('groups = ["dev; touch pwned"]', _AGAIN),
        ('constraint-files = ["-r.txt"]', "tripin lock -c ./-r.txt"),
        (
            'constraints = "../.bashrc"',
            "tripin lock with the --constraints it was made with (the lock names no .txt file in its project's folder)",
        ),
        (
            'index-url = "https://user:****@a.example.org/simple"',
            f"tripin lock with the index options it was made with (--index-url: {_NOT_PLAIN})",
        ),
        (
            'extra-index-urls = ["https://a.example.org/s\\n$(x)"]',
            f"tripin lock with the index options it was made with (--extra-index-url: {_NOT_PLAIN})",
        ),
        ("prerelease = 1", "tripin lock"),
    ],
)
def test_a_hostile_given_table_is_checked_before_it_is_quoted(
    index: IndexServer, work: Path, capsys: pytest.CaptureFixture[str], edit: str, said: str
) -> None:
    """A lock from a pull request may say anything in [tool.tripin.given]: each value is
    checked for what it is (a level is MAJOR.MINOR, a file name printable, a --constraints a
    .txt file in the project), and what is not is said in words, never quoted."""
    pyproject = _project(work, f'targets = ["{X86}"]\n')
    assert tripin(capsys, "lock", "-q", "--index-url", index.simple_url).code == 0
    lock = work / "pylock.toml"
    text = lock.read_text()
    lock.write_text(text[: text.index("\n[tool.tripin.given]\n")] + f"\n[tool.tripin.given]\n{edit}\n")
    _edit(pyproject)
    fix = _fix(capsys)
    assert fix == said, fix
    assert "pwned" not in fix and "****" not in fix and ".bashrc" not in fix and "$(x)" not in fix

"""Remedies that remedy: every fix tripin prints, run exactly as printed with real pip and real uv
in venvs made here, leaves an environment `doctor` passes.

The x86_64 incident: torch 2.6 with `triton 3.2.0+git23753f4f` (a main-branch build without
`AttrsDescriptor`). `pip install 'triton==3.2.0'` answers "Requirement already satisfied" there
(PEP 440 local-version matching), so the fix must replace the build. The stand-in wheels are
small real wheels built here; the wheelhouse holds a stand-in `triton 3.2.0` that has the API.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from helpers import python_for, read_toml, tripin
from indexserver import IndexServer, build_wheel
from test_doctor import _target, _torch, _triton

BAD = "3.2.0+git23753f4f"
UV = shutil.which("uv")
pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="venv layout and rules are Linux's")


def _env(wheelhouse: Path, bin_dir: Path) -> dict[str, str]:
    """pip and uv offline, against the wheelhouse only, with this machine's configuration ignored."""
    (wheelhouse.parent / "empty-index").mkdir(exist_ok=True)
    return {
        **os.environ,
        "PATH": f"{bin_dir}:{Path(UV).parent if UV else ''}:/usr/bin:/bin",
        "PIP_CONFIG_FILE": os.devnull,
        "PIP_NO_INDEX": "1",
        "PIP_FIND_LINKS": str(wheelhouse),
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        # uv has no environment variable for --no-index: offline, with an empty default index
        "UV_OFFLINE": "1",
        "UV_DEFAULT_INDEX": (wheelhouse.parent / "empty-index").as_uri(),
        "UV_FIND_LINKS": str(wheelhouse),
        "UV_NO_CONFIG": "1",
        "UV_CACHE_DIR": str(wheelhouse.parent / "uv-cache"),
        "UV_PYTHON_DOWNLOADS": "never",
    }


def _venv(tmp_path: Path, *, with_pip: bool) -> Path:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", *([] if with_pip else ["--without-pip"]), str(venv)], check=True)
    return venv / "bin" / "python"


def _install(python: Path, *wheels: Path) -> None:
    pip = [sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--isolated", "--no-index"]
    subprocess.run(
        [*pip, "--no-deps", *map(str, wheels)],
        check=True,
        env={**os.environ, "PIP_CONFIG_FILE": os.devnull},
    )


def _installed(python: Path, name: str) -> str:
    return subprocess.run(
        [str(python), "-c", f"import importlib.metadata as m; print(m.version({name!r}))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


@pytest.fixture
def incident(tmp_path: Path, request: pytest.FixtureRequest) -> tuple[Path, Path]:
    """(python, wheelhouse): a venv holding torch 2.6 and the bad Triton; a wheelhouse with triton 3.2.0."""
    with_pip = request.param == "pip"  # "uv": no pip, uv on PATH; "none": neither
    if request.param == "uv" and UV is None:
        pytest.skip("uv is not installed")
    if not _target().startswith("linux-x86_64"):
        pytest.skip("the x86_64 incident: PyPI's triton 3.2.0 wheel is x86_64's")
    python = _venv(tmp_path, with_pip=with_pip)
    _install(python, _torch(tmp_path / "t", "2.6.0"), _triton(tmp_path / "bad", BAD, attrs=False))
    wheelhouse = tmp_path / "wheelhouse"
    _triton(wheelhouse, "3.2.0", attrs=True)
    return python, wheelhouse


@pytest.mark.parametrize("incident", ["pip", "uv", "none"], indirect=True)
def test_the_doctor_fix_run_as_printed_heals(
    incident: tuple[Path, Path],
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    python, wheelhouse = incident
    neither = request.node.callspec.params["incident"] == "none"
    if neither:  # no pip in the venv, no uv on PATH: the pip beside tripin, told which interpreter
        monkeypatch.setenv("PATH", "/usr/bin:/bin")
    sick = json.loads(tripin(capsys, "doctor", "--python", str(python), "--format", "json").out)
    assert sick["healthy"] is False
    argvs = {tuple(f["fix"]["argv"]) for f in sick["findings"] if f["fix"]["argv"]}
    assert len(argvs) == 1, argvs  # one command, whatever the finding
    argv = list(argvs.pop())
    if argv[0] == "uv":  # a venv without pip: uv, told which interpreter
        assert argv[:5] == ["uv", "pip", "install", "--python", str(python)]
    elif neither:
        assert argv[:5] == [sys.executable, "-m", "pip", "--python", str(python)]
    else:
        assert argv[:3] == [str(python), "-m", "pip"]
    assert argv[-3:] == ["--force-reinstall", "--no-deps", "triton===3.2.0"]
    # the naive fix keeps the bad build: pip says "already satisfied", uv changes nothing
    naive = [*argv[: argv.index("--force-reinstall")], "triton==3.2.0"]
    subprocess.run(naive, check=True, capture_output=True, env=_env(wheelhouse, python.parent))
    assert _installed(python, "triton") == BAD
    subprocess.run(argv, check=True, capture_output=True, env=_env(wheelhouse, python.parent))
    assert _installed(python, "triton") == "3.2.0"
    healed = tripin(capsys, "doctor", "--python", str(python), "--probe")
    assert healed.code == 0, healed.out
    assert "probe torch-2.6-attrsdescriptor: ok" in healed.out


def _run_line(out: str) -> str:
    """The first `run:` line, as a user copies it into a shell."""
    return next(line.removeprefix("  run: ") for line in out.splitlines() if line.startswith("  run: "))


@pytest.mark.parametrize("installer", ["pip", "uv", "none"])
@pytest.mark.parametrize("state", ["pytorch-triton", "both", "missing-files"])
def test_a_wrong_triton_distribution_is_replaced_by_the_printed_line(
    installer: str, state: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """torch 2.6 with pytorch-triton where it needs triton; both (after installing triton beside
    it); triton with files missing (after uninstalling pytorch-triton: its RECORD lists the
    `triton/` files too). The first `run:` line, run verbatim by sh, must heal in one go: it
    used to install triton beside pytorch-triton, then uninstall pytorch-triton and leave doctor
    saying `healthy` over a triton whose files were gone."""
    if installer == "uv" and UV is None:
        pytest.skip("uv is not installed")
    if not _target().startswith("linux-x86_64"):
        pytest.skip("x86_64 rules: PyPI's torch 2.6.0 names triton 3.2.0 there")
    if installer == "none":  # no pip in the venv, no uv on PATH: the pip beside tripin
        monkeypatch.setenv("PATH", "/usr/bin:/bin")
    python = _venv(tmp_path, with_pip=installer == "pip")
    stray = _triton(tmp_path / "p", "3.2.0+git35c6c7c6", attrs=True, name="pytorch-triton")
    _install(python, _torch(tmp_path / "t", "2.6.0"), stray)
    wheelhouse = tmp_path / "wheelhouse"
    if state != "pytorch-triton":
        _install(python, _triton(wheelhouse, "3.2.0", attrs=True))
    if state == "missing-files":
        subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "uninstall", "-yq", "pytorch-triton"])
    _triton(wheelhouse, "3.2.0", attrs=True)
    sick = tripin(capsys, "doctor", "--python", str(python))
    assert sick.code == 1 and "healthy" not in sick.out, sick.out
    line = _run_line(sick.out)
    if installer == "uv":
        assert "-y" not in line.split() and line.startswith("uv pip ")
    subprocess.run(["sh", "-c", line], check=True, capture_output=True, env=_env(wheelhouse, python.parent))
    healed = tripin(capsys, "doctor", "--python", str(python), "--probe")
    assert healed.code == 0 and "probe import triton: ok" in healed.out, (line, healed.out)
    assert "pytorch-triton" not in healed.out and _installed(python, "triton") == "3.2.0"
    data = json.loads(tripin(capsys, "doctor", "--python", str(python), "--format", "json").out)
    assert data["healthy"] is True and [t["name"] for t in data["tritons"]] == ["triton"]


@pytest.mark.parametrize("installer", ["pip", "uv"])
def test_the_json_fix_is_argv_then_each_of_then(
    installer: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`fix.argv`, then each of `fix.then`: the same commands as the `run:` line."""
    if installer == "uv" and UV is None:
        pytest.skip("uv is not installed")
    if not _target().startswith("linux-x86_64"):
        pytest.skip("x86_64 rules")
    python = _venv(tmp_path, with_pip=installer == "pip")
    _install(python, _torch(tmp_path / "t", "2.6.0"))
    _install(python, _triton(tmp_path / "p", "3.2.0+git35c6c7c6", attrs=True, name="pytorch-triton"))
    _install(python, _triton(tmp_path / "wheelhouse", "3.2.0", attrs=True))
    data = json.loads(tripin(capsys, "doctor", "--python", str(python), "--format", "json").out)
    assert [f["code"] for f in data["findings"]] == ["TP009"], data["findings"]
    fix = data["findings"][0]["fix"]
    assert fix["argv"][-1] == "pytorch-triton" and "uninstall" in fix["argv"]
    assert [argv[-3:] for argv in fix["then"]] == [["--force-reinstall", "--no-deps", "triton===3.2.0"]]
    assert "then reinstall triton 3.2.0 (the one torch 2.6.0 needs)" in fix["text"]
    for argv in [fix["argv"], *fix["then"]]:
        subprocess.run(argv, check=True, capture_output=True, env=_env(tmp_path / "wheelhouse", python.parent))
    assert tripin(capsys, "doctor", "--python", str(python), "--probe").code == 0


@pytest.mark.parametrize("incident", ["pip"], indirect=True)
def test_the_check_fix_runs_in_the_activated_venv(
    incident: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A file's finding is fixed in the file: `check`'s argv is `tripin check --fix FILE` (it
    was `pip install ...`, which changed the venv and left the file, and the check, failing);
    the constraints file it writes then installs the pin in the activated venv."""
    python, wheelhouse = incident
    monkeypatch.chdir(tmp_path)
    (tmp_path / "c.txt").write_text(f"torch==2.6.0\ntriton=={BAD}\n")
    data = json.loads(tripin(capsys, "check", "c.txt", "--target", _target(), "--format", "json").out)
    argv = next(v["fix"]["argv"] for v in data["violations"] if v["code"] == "TP002")
    assert argv == ["tripin", "check", "--fix", "--target", _target(), "c.txt"]  # check's own target
    assert tripin(capsys, *argv[1:]).code == 0
    assert tripin(capsys, "check", "c.txt", "--target", _target()).code == 0
    pip = [str(python), "-m", "pip", "install", "-c", "c.txt", "triton"]
    subprocess.run(pip, check=True, capture_output=True, env=_env(wheelhouse, python.parent))
    assert tripin(capsys, "doctor", "--python", str(python)).code == 0


@pytest.mark.parametrize("installer", ["pip", "uv"])
def test_check_fix_pins_exclude_other_local_versions(
    installer: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`check --fix` writes `===3.2.0`: with `==3.2.0`, `install -c` keeps 3.2.0+git23753f4f."""
    if installer == "uv" and UV is None:
        pytest.skip("uv is not installed")
    if not _target().startswith("linux-x86_64"):
        pytest.skip("x86_64 rules")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "constraints.txt").write_text(f"torch==2.6.0\ntriton=={BAD}\n")
    run = tripin(capsys, "check", "--fix", "constraints.txt", "--target", _target())
    assert run.code == 0, run.out + run.err
    assert (tmp_path / "constraints.txt").read_text() == "torch==2.6.0\ntriton===3.2.0\n"
    python = _venv(tmp_path, with_pip=installer == "pip")
    _install(python, _torch(tmp_path / "t", "2.6.0"), _triton(tmp_path / "bad", BAD, attrs=False))
    wheelhouse = tmp_path / "wheelhouse"
    _triton(wheelhouse, "3.2.0", attrs=True)
    head = (
        [str(python), "-m", "pip", "install"]
        if installer == "pip"
        else ["uv", "pip", "install", "--python", str(python)]
    )
    subprocess.run([*head, "-c", "constraints.txt", "triton"], check=True, env=_env(wheelhouse, python.parent))
    assert _installed(python, "triton") == "3.2.0"
    assert tripin(capsys, "doctor", "--python", str(python)).code == 0


@pytest.fixture
def standin_index(make_index: object, tmp_path: Path) -> IndexServer:
    """An index serving stand-in torch 2.6.0 (its metadata names triton, as PyPI's x86_64 one),
    triton 3.2.0 and filelock as real files, so pip and uv can install from it."""
    server: IndexServer = make_index()  # type: ignore[operator]
    wheels = tmp_path / "standin"
    torch = build_wheel(
        wheels,
        "torch",
        "2.6.0",
        requires_dist=["filelock", 'triton==3.2.0; platform_system == "Linux" and platform_machine == "x86_64"'],
        files={"torch/version.py": "cuda = '12.6'\nhip = None\n", "torch/__init__.py": ""},
    )
    server.publish(torch)
    server.publish(_triton(wheels / "good", "3.2.0", attrs=True))
    server.publish(build_wheel(wheels, "filelock", "3.19.1"))
    return server


def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, installer: str = "pip") -> None:
    """tripin, pip and uv in tmp_path, with this machine's configuration and wheels ignored; a
    test of `installer` uv is skipped where uv is not installed."""
    if installer == "uv" and UV is None:
        pytest.skip("uv is not installed")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TRIPIN_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("UV_NO_CONFIG", "1")
    monkeypatch.setenv("UV_CACHE_DIR", str(tmp_path / "uv-cache"))
    monkeypatch.delenv("PIP_FIND_LINKS", raising=False)  # this machine's own wheel directory
    if UV:
        monkeypatch.setenv("PATH", f"{Path(UV).parent}:/usr/bin:/bin")


@pytest.mark.parametrize("installer", ["pip", "uv"])
def test_install_replaces_the_wrong_triton(
    installer: str,
    standin_index: IndexServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    if not _target().startswith("linux-x86_64"):
        pytest.skip("x86_64 rules")
    _isolated(tmp_path, monkeypatch, installer)
    locked = tripin(capsys, "lock", "torch==2.6.0", "-t", _target(), "-i", standin_index.simple_url)
    assert locked.code == 0, locked.err
    python = _venv(tmp_path, with_pip=installer == "pip")
    _install(python, _triton(tmp_path / "bad", BAD, attrs=False))
    plan = tripin(capsys, "install", "--python", str(python), "--dry-run")
    assert plan.code == 0, plan.err
    assert f"target {_target()} into {python} with {installer}" in plan.out
    command = plan.out.splitlines()[-1].removeprefix("would run: ")
    assert "'triton @ " in command and "/triton-3.2.0-py3-none-any.whl#sha256=" in command and "'torch @ " in command
    assert "--no-deps" in command and "#sha256=" in command and "index-url" not in command
    assert _installed(python, "triton") == BAD  # a dry run changes nothing
    run = tripin(capsys, "install", "--python", str(python))
    assert run.code == 0, run.err
    assert f"tripin: running: {command}" in run.err
    assert _installed(python, "triton") == "3.2.0" and _installed(python, "filelock") == "3.19.1"
    assert tripin(capsys, "doctor", "--python", str(python)).code == 0


def test_doctor_takes_a_relative_python(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    python = _venv(tmp_path, with_pip=False)
    monkeypatch.chdir(tmp_path)
    run = tripin(capsys, "doctor", "--python", os.path.relpath(python, tmp_path))
    assert run.code == 0, run.err
    assert f"python: {python} " in run.out
    # with torch and a Triton there, --probe runs the interpreter too (from a temporary directory)
    _install(python, _torch(tmp_path / "t", "2.6.0"), _triton(tmp_path / "good", "3.2.0", attrs=True))
    run = tripin(capsys, "doctor", "--python", os.path.relpath(python, tmp_path), "--probe")
    assert "probe import triton: ok" in run.out, run.out + run.err


@pytest.mark.parametrize("installer", ["pip", "uv"])
def test_install_takes_the_locked_file_not_a_namesake_from_another_index(
    installer: str,
    make_index: Callable[..., IndexServer],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Dependency confusion at install time: the lock takes confpkg 1.0 from the internal index,
    and the public one serves a confpkg 1.0 of its own. `--index-url/--extra-index-url` let pip
    (and uv, which reads extra indexes first) take either file; the locked file by URL and hash
    is the one installed."""
    _isolated(tmp_path, monkeypatch, installer)
    internal, public = make_index(), make_index()
    internal.publish(build_wheel(tmp_path / "i", "confpkg", "1.0", files={"confpkg/__init__.py": "WHO = 'internal'\n"}))
    public.publish(build_wheel(tmp_path / "p", "confpkg", "1.0", files={"confpkg/__init__.py": "WHO = 'public'\n"}))
    public.publish(build_wheel(tmp_path / "p", "six", "1.17.0"))
    urls = ["--index-url", public.simple_url, "--extra-index-url", internal.simple_url]
    assert tripin(capsys, "lock", "confpkg", "six", "-t", _target(), *urls).code == 0
    confpkg = next(p for p in read_toml(tmp_path / "pylock.toml")["packages"] if p["name"] == "confpkg")
    assert confpkg["index"] == internal.simple_url
    python = _venv(tmp_path, with_pip=installer == "pip")
    run = tripin(capsys, "install", "--python", str(python), "--installer", installer)
    assert run.code == 0, run.err
    who = subprocess.run([str(python), "-c", "import confpkg; print(confpkg.WHO)"], capture_output=True, text=True)
    assert who.stdout.strip() == "internal"
    assert _installed(python, "six") == "1.17.0"


def _glibc() -> tuple[int, int] | None:
    try:
        text = os.confstr("CS_GNU_LIBC_VERSION") or ""
    except (AttributeError, ValueError, OSError):
        return None
    major, _, minor = text.removeprefix("glibc ").partition(".")
    return (int(major), int(minor)) if major.isdigit() and minor.isdigit() else None


@pytest.mark.skipif((_glibc() or (0, 0)) < (2, 31), reason="needs glibc 2.31 or newer")
def test_install_takes_the_wheels_of_the_machine_s_glibc(
    make_index: Callable[..., IndexServer],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A lock made with `--manylinux 2.31` holds wheels the default 2.28 level does not take
    (llguidance 1.7's manylinux_2_31 ones under vllm): `tripin install` refused such a lock, "the
    lock has no wheel for" the target, on a machine whose glibc takes them, as pip does. A wheel
    for a newer glibc than the machine's is refused, saying which each needs."""
    _isolated(tmp_path, monkeypatch)
    server = make_index()
    server.publish(build_wheel(tmp_path / "w", "newlibc", "1.0", "py3-none-manylinux_2_31_x86_64"))
    server.publish(build_wheel(tmp_path / "w", "futurelibc", "1.0", "py3-none-manylinux_2_99_x86_64"))
    if not _target().startswith("linux-x86_64"):
        pytest.skip("x86_64 wheels")
    lock = ["lock", "-t", _target(), "-i", server.simple_url]
    assert tripin(capsys, *lock, "newlibc", "--manylinux", "2.31").code == 0
    python = _venv(tmp_path, with_pip=True)
    run = tripin(capsys, "install", "--python", str(python))
    assert run.code == 0, run.err
    assert _installed(python, "newlibc") == "1.0"
    assert tripin(capsys, *lock, "futurelibc", "--manylinux", "2.99", "--lock", "pylock.future.toml").code == 0
    glibc = _glibc()
    assert glibc is not None
    refused = tripin(capsys, "install", "--python", str(python), "--lock", "pylock.future.toml", "--dry-run")
    assert refused.code == 2 and refused.err == (
        f"tripin: error: futurelibc 1.0: the lock's wheels for {_target()} need glibc 2.99 or newer, "
        f"and this machine has {glibc[0]}.{glibc[1]}\n"
    )


def test_the_build_plan_line_is_tripin_install_where_pip_would_merge_indexes(
    make_index: Callable[..., IndexServer],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """build-plan's install line: pip merges `--index-url` and `--extra-index-url`, so the public
    index's confpkg 1.0 could stand in for the internal one the lock takes. The line printed (and
    the script's own) is `tripin install`, and run as printed, in the activated venv, it installs
    the internal file."""
    _isolated(tmp_path, monkeypatch)
    internal, public = make_index(), make_index()
    internal.publish(build_wheel(tmp_path / "i", "confpkg", "1.0", files={"confpkg/__init__.py": "WHO = 'internal'\n"}))
    public.publish(build_wheel(tmp_path / "p", "confpkg", "1.0", files={"confpkg/__init__.py": "WHO = 'public'\n"}))
    public.publish(build_wheel(tmp_path / "p", "six", "1.17.0"))
    urls = ["--index-url", public.simple_url, "--extra-index-url", internal.simple_url]
    assert tripin(capsys, "lock", "confpkg", "six", "-t", _target(), *urls).code == 0
    plan = tripin(capsys, "build-plan", "--target", _target())
    assert plan.code == 0, plan.err
    assert f"could take 'confpkg' '1.0' and 1 more from another of them than '{internal.simple_url}'" in plan.err
    then = next(line for line in plan.out.splitlines() if line.startswith("then: "))
    build, install = then.removeprefix("then: ").split(" && ")
    assert install == f"tripin install --target {_target()} --wheelhouse wheelhouse"
    python = _venv(tmp_path, with_pip=True)
    script = subprocess.run(
        shlex.split(build), cwd=tmp_path, env={**os.environ, "PYTHON": str(python)}, capture_output=True, text=True
    )
    assert script.returncode == 0, script.stderr
    assert (
        script.stdout.splitlines()[-1] == f"  tripin install --target {_target()} --wheelhouse '{tmp_path}/wheelhouse'"
    )
    monkeypatch.setenv("VIRTUAL_ENV", str(python.parent.parent))  # the venv activated, as a user's
    run = tripin(capsys, *shlex.split(install)[1:])
    assert run.code == 0, run.err
    who = subprocess.run([str(python), "-c", "import confpkg; print(confpkg.WHO)"], capture_output=True, text=True)
    assert who.stdout.strip() == "internal" and _installed(python, "six") == "1.17.0"


@pytest.mark.parametrize("installer", ["pip", "uv"])
def test_a_lock_too_long_for_a_command_line_installs_from_a_requirements_file(
    installer: str,
    make_index: Callable[..., IndexServer],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """120 packages as `name @ url#sha256=...` arguments: a command line longer than Windows'
    32,767 characters, where CreateProcess fails. Above 30,000 they go in a requirements file, on
    every platform, each line still the locked URL and hash."""
    _isolated(tmp_path, monkeypatch, installer)
    server = make_index()
    names = [f"a-package-whose-name-is-long-enough-to-fill-a-windows-command-line-{i:03d}" for i in range(120)]
    for name in names:
        server.publish(build_wheel(tmp_path / "w", name, "1.0"))
    assert tripin(capsys, "lock", *names, "-t", _target(), "-i", server.simple_url).code == 0
    python = _venv(tmp_path, with_pip=installer == "pip")
    plan = tripin(capsys, "install", "--python", str(python), "--installer", installer, "--dry-run")
    assert plan.code == 0, plan.err
    command = plan.out.splitlines()[-1]
    assert "--no-deps -r " in command and "/requirements.txt (a temporary file of the 120 packages" in command
    assert "and Windows takes 32,767)" in command and "#sha256=" not in command
    run = tripin(capsys, "install", "--python", str(python), "--installer", installer)
    assert run.code == 0, run.err
    listed = subprocess.run(
        [str(python), "-c", "import importlib.metadata as m; print(*sorted(d.name for d in m.distributions()))"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert [n for n in listed.stdout.split() if n.startswith("a-package")] == names
    tampered = (tmp_path / "pylock.toml").read_text().replace("/files/a_package", "/files/${HOME}/a_package", 1)
    (tmp_path / "pylock.toml").write_text(tampered)
    refused = tripin(capsys, "install", "--python", str(python), "--installer", installer, "--dry-run")
    assert refused.code == 2 and "its wheel URL has a `$`, which pip and uv fill in" in refused.err


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ('.whl", upload', ".whl ; python_version < '0'\", upload", "not an http(s) wheel URL"),  # a marker in a URL
        ('.whl", upload', '.whl#egg=six", upload', "not an http(s) wheel URL"),
        ('url = "http://', 'url = "file:///etc/', "not an http(s) wheel URL"),
        ("sha256 = ", 'md5 = "0", x = ', "no sha256 hash"),
    ],
)
def test_install_refuses_a_tampered_wheel_entry(
    index: IndexServer, work: Path, capsys: pytest.CaptureFixture[str], old: str, new: str, message: str
) -> None:
    """A lock may come from a hostile pull request: what reaches pip's command line is checked."""
    assert tripin(capsys, "lock", "filelock", "-t", "linux-x86_64-cp312", "-i", index.simple_url).code == 0
    lock = work / "pylock.toml"
    lock.write_text(lock.read_text().replace(old, new, 1))
    python = str(python_for(work, "linux-x86_64-cp312"))
    run = tripin(capsys, "install", "--dry-run", "--target", "linux-x86_64-cp312", "--python", python)
    assert run.code != 0 and message in run.err and len(run.err.splitlines()) == 1, run.err


def test_install_refuses_another_interpreters_target(
    index: IndexServer, work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """pip would download every wheel and then refuse the first; pure-Python wheels it would
    install for the wrong platform. A dry run refuses too: the command it prints names this
    interpreter, and run verbatim it must not install another platform's packages."""
    other = "linux-aarch64-cp312" if _target() != "linux-aarch64-cp312" else "linux-x86_64-cp312"
    assert tripin(capsys, "lock", "filelock", "-t", other, "-t", _target(), "-i", index.simple_url).code == 0
    for dry_run in ((), ("--dry-run",)):
        run = tripin(capsys, "install", "--target", other, "--python", sys.executable, *dry_run)
        assert run.code == 2 and f"target {other} is not {sys.executable}'s ({_target()})" in run.err
        assert len(run.err.splitlines()) == 1 and "would run" not in run.out, run.out + run.err


def _run_lines(out: str) -> list[str]:
    return [line.removeprefix("  run: ") for line in out.splitlines() if line.startswith("  run: ")]


@pytest.mark.parametrize("installer", ["pip", "uv"])
@pytest.mark.parametrize("state", ["bad-missing-files", "bad-beside-pytorch-triton", "bad-both"])
def test_every_run_line_in_order_heals(
    installer: str, state: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The known-bad main build, with files missing, beside a stray pytorch-triton, or both: each
    `run:` line doctor prints, run in order as a user would, ends `healthy`. TP014's and TP009's
    lines used to reinstall `triton===3.2.0+git23753f4f` after TP002/TP003 had replaced it: that
    put the bad build back, or failed, as no index serves a local version."""
    if installer == "uv" and UV is None:
        pytest.skip("uv is not installed")
    if not _target().startswith("linux-x86_64"):
        pytest.skip("the x86_64 incident: PyPI's triton 3.2.0 wheel is x86_64's")
    python = _venv(tmp_path, with_pip=installer == "pip")
    wheels = [_torch(tmp_path / "t", "2.6.0")]
    if state != "bad-missing-files":
        wheels.append(_triton(tmp_path / "p", "3.2.0+git35c6c7c6", attrs=True, name="pytorch-triton"))
    _install(python, *wheels, _triton(tmp_path / "bad", BAD, attrs=False))
    if state != "bad-beside-pytorch-triton":
        compiler = next(python.parent.parent.glob("lib/python*/site-packages/triton/compiler/compiler.py"))
        compiler.unlink()
    wheelhouse = tmp_path / "wheelhouse"
    _triton(wheelhouse, "3.2.0", attrs=True)
    _triton(wheelhouse, BAD, attrs=False)  # where it was built: a line reinstalling it would put it back
    sick = tripin(capsys, "doctor", "--python", str(python), "--probe")
    lines = _run_lines(sick.out)
    assert sick.code == 1 and lines, sick.out
    for line in lines:
        subprocess.run(["sh", "-c", line], check=True, capture_output=True, env=_env(wheelhouse, python.parent))
    healed = tripin(capsys, "doctor", "--python", str(python), "--probe")
    assert healed.code == 0 and healed.out.rstrip().endswith("healthy"), (lines, healed.out)
    assert _installed(python, "triton") == "3.2.0"
    assert not any(BAD in line for line in lines), lines  # not even put back on the way


@pytest.mark.parametrize("state", ["missing-files", "beside-pytorch-triton"])
def test_a_build_of_its_own_gets_no_run_line_that_cannot_work(
    state: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The right commit built here (3.2.0+git9641643d), with files missing or beside a stray
    pytorch-triton: no index serves a local version, so `install triton===3.2.0+git9641643d`
    fails. No `run:` line then; the advice names the wheelhouse, and followed, it heals."""
    if not _target().startswith("linux-x86_64"):
        pytest.skip("x86_64 rules")
    own = "3.2.0+git9641643d"
    python = _venv(tmp_path, with_pip=True)
    wheelhouse = tmp_path / "wheelhouse"
    stray = [_triton(tmp_path / "p", "3.2.0+git35c6c7c6", attrs=True, name="pytorch-triton")]
    _install(python, _torch(tmp_path / "t", "2.6.0"), *(stray if state != "missing-files" else []))
    _install(python, _triton(wheelhouse, own, attrs=True))
    if state == "missing-files":
        next(python.parent.parent.glob("lib/python*/site-packages/triton/__init__.py")).unlink()
    sick = tripin(capsys, "doctor", "--python", str(python))
    assert sick.code == 1 and not _run_lines(sick.out), sick.out
    fix = next(line for line in sick.out.splitlines() if line.startswith("  fix: "))
    assert f"tripin build-plan --torch 2.6.0 --target {_target()}" in fix, fix
    command = fix[fix.index("pip install ") : fix.index(", or build it again")]
    assert command == f"pip install --force-reinstall --no-deps --find-links WHEELHOUSE 'triton==={own}'"
    if state != "missing-files":
        command = f"pip uninstall -y pytorch-triton && {command}"
    command = command.replace("pip ", f"{python} -m pip ").replace("WHEELHOUSE", str(wheelhouse))
    subprocess.run(["sh", "-c", command], check=True, capture_output=True, env=_env(wheelhouse, python.parent))
    healed = tripin(capsys, "doctor", "--python", str(python), "--probe")
    assert healed.code == 0 and _installed(python, "triton") == own, healed.out

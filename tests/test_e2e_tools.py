"""Real pip and real uv read what tripin writes, against the same local index."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import lock_args, pip_constrained_install, tripin
from indexserver import IndexServer

X86, ARM = "linux-x86_64-cp312", "linux-aarch64-cp312"


def _uv() -> str:
    from uv import find_uv_bin

    return find_uv_bin()


def _env(tmp_path: Path) -> dict[str, str]:
    # no user or machine configuration may leak into these runs (pip.conf, uv.toml, caches)
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "SYSTEMROOT", "TMPDIR", "LANG")}
    return {
        **keep,
        "UV_NO_CONFIG": "1",
        "UV_CACHE_DIR": str(tmp_path / "uv-cache"),
        "PIP_CONFIG_FILE": os.devnull,
        "UV_PYTHON_DOWNLOADS": "never",
        "PIP_NO_INPUT": "1",
    }


@pytest.fixture
def locked(
    index: IndexServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Path:
    monkeypatch.chdir(tmp_path)
    assert tripin(capsys, *lock_args(index.simple_url, tmp_path / "cache", X86, ARM, extra=["torch==2.6.0"])).code == 0
    return tmp_path


def uv_dry_install(directory: Path, *extra: str) -> str:
    """Real uv reading directory/pylock.toml for x86_64 CPython 3.12, offline: what it would install."""
    env = _env(directory)
    if not (directory / "venv").exists():
        subprocess.run([_uv(), "venv", "-q", str(directory / "venv"), "--python", sys.executable], check=True, env=env)
    result = subprocess.run(
        [
            _uv(),
            "pip",
            "install",
            "--dry-run",
            "--preview-features",
            "pylock",
            "-r",
            "pylock.toml",
            *extra,
            "--python",
            str(directory / "venv"),
            "--python-platform",
            "x86_64-manylinux_2_28",
            "--python-version",
            "3.12",
            "--offline",
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=directory,
    )
    assert result.returncode == 0, result.stderr
    return result.stderr


def test_uv_installs_from_the_pylock(locked: Path) -> None:
    result = uv_dry_install(locked)
    assert " + triton==3.2.0" in result and " + torch==2.6.0" in result
    assert "nvidia-cudnn-cu12" in result


def test_uv_compile_agrees_with_the_constraints(index: IndexServer, locked: Path) -> None:
    """uv, resolving torch==2.6.0 for x86_64 under our constraints, picks exactly our pins."""
    index.advertise_metadata = True  # uv reads metadata only where an index advertises it
    (locked / "in.txt").write_text("torch==2.6.0\n")
    result = subprocess.run(
        [
            _uv(),
            "pip",
            "compile",
            "in.txt",
            "-c",
            "constraints.txt",
            "--index-url",
            index.simple_url,
            "--python-platform",
            "x86_64-manylinux_2_28",
            "--python-version",
            "3.12",
            "--no-header",
            "--no-annotate",
            "--quiet",
        ],
        capture_output=True,
        text=True,
        env=_env(locked),
        cwd=locked,
    )
    assert result.returncode == 0, result.stderr
    theirs = dict(re.findall(r"^([a-z0-9-]+)==(\S+)$", result.stdout, re.M))
    ours = dict(re.findall(r"^([a-z0-9-]+)==([^\s;]+)", (locked / "constraints.txt").read_text(), re.M))
    ours["triton"] = "3.2.0"  # the x86_64 line; the aarch64 line pins the source build
    assert theirs == {name: ours[name] for name in theirs}
    assert theirs["triton"] == "3.2.0" and theirs["torch"] == "2.6.0" and len(theirs) > 20


def test_pip_accepts_the_constraints_file(index: IndexServer, locked: Path) -> None:
    index.advertise_metadata = True
    installed = pip_constrained_install(index.simple_url, locked, "constraints.txt")
    pinned = re.search(r"^filelock==(\S+)", (locked / "constraints.txt").read_text(), re.M)
    assert pinned is not None
    assert installed == [pinned[1]]


def test_console_script_and_module_run(tmp_path: Path) -> None:
    for cmd in (["tripin", "--version"], [sys.executable, "-m", "tripin", "--version"]):
        exe = Path(sys.executable).parent / cmd[0] if cmd[0] == "tripin" else None
        argv = [str(exe), *cmd[1:]] if exe else cmd
        result = subprocess.run(argv, capture_output=True, text=True, check=True)
        assert result.stdout.startswith("tripin ")
    result = subprocess.run([sys.executable, "-m", "tripin", "lock", "--help"], capture_output=True, text=True)
    assert result.returncode == 0 and "--target NAME" in result.stdout

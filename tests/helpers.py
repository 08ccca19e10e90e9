"""Run the tripin command line in-process against the local index, the way a user would."""

from __future__ import annotations

import json
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tripin.cli import main

TESTS = Path(__file__).resolve().parent
GOOD_320 = "9641643da6c52000c807b5eeed05edaec4402a67"  # the Triton commit PyTorch 2.6 pins
BAD_MAIN = "23753f4f24eaf54afbd224a8fa810f1167082807"  # the incident's build of main


@dataclass
class Run:
    code: int
    out: str
    err: str


def tripin(capsys: pytest.CaptureFixture[str], *args: str) -> Run:
    code = main(list(args))
    captured = capsys.readouterr()
    return Run(code, captured.out, captured.err)


def lock_args(index_url: str, cache: Path, *targets: str, extra: Sequence[str] = ()) -> list[str]:
    out = ["lock", *extra, "--index-url", index_url, "--cache-dir", str(cache)]
    for target in targets:
        out += ["--target", target]
    return out


def read_toml(path: Path) -> dict[str, Any]:
    return tomllib.loads(path.read_text())


def recorded_file(project: str, filename: str) -> dict[str, Any]:
    page = json.loads((TESTS / "index" / "simple" / project / "index.json").read_text())
    return next(f for f in page["files"] if f["filename"] == filename)


def pip_constrained_install(index_url: str, cwd: Path, constraints: str, package: str = "filelock") -> list[str]:
    """Real pip, isolated from this machine's configuration, resolving `package` under a
    constraints file against the local index (dry run); returns the versions it would install."""
    import os
    import subprocess
    import sys

    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--isolated",
            "--dry-run",
            "--no-deps",
            "--quiet",
            "--index-url",
            index_url,
            "-c",
            constraints,
            "--report",
            "report.json",
            "--target",
            str(cwd / "t"),
            "--only-binary",
            ":all:",
            package,
        ],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, "PIP_CONFIG_FILE": os.devnull},
    )
    assert result.returncode == 0, result.stderr
    return [i["metadata"]["version"] for i in json.loads((cwd / "report.json").read_text())["install"]]


def python_for(directory: Path, target: str) -> Path:
    """An interpreter that reports `target`'s machine and Python version (`linux-x86_64-cp312`),
    for `tripin install --dry-run` plans of a target this machine is not: install asks the
    interpreter what it is and refuses another target's wheels, dry run or not. It is this
    machine's Python with `platform.machine()` and `sys.version_info` overridden at start-up,
    so it only answers questions; nothing is ever installed through it."""
    import shlex
    import sys

    from tripin.targets import parse_target

    parsed = parse_target(target)
    major, minor = parsed.python
    site = directory / f"site-{target}"
    site.mkdir(parents=True, exist_ok=True)
    (site / "sitecustomize.py").write_text(
        "import platform, sys\n"
        f"platform.machine = lambda: {parsed.platform_machine!r}\n"
        f"sys.version_info = ({major}, {minor}, 0, 'final', 0)\n"
    )
    python = directory / f"python-{target}"
    python.write_text(f'#!/bin/sh\nPYTHONPATH={shlex.quote(str(site))} exec {shlex.quote(sys.executable)} "$@"\n')
    python.chmod(0o755)
    return python


def project_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """tmp_path/p as the working directory, with no PIP_*, UV_* or TRIPIN_* setting of this
    machine's, and the cache beside it (tmp_path/cache)."""
    import os

    (tmp_path / "p").mkdir()
    monkeypatch.chdir(tmp_path / "p")
    for key in list(os.environ):
        if key.startswith(("PIP_", "UV_", "TRIPIN_")):
            monkeypatch.delenv(key)
    monkeypatch.setenv("TRIPIN_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "p"


def with_main_build(lock_text: str) -> str:
    """A lock whose Triton source build is moved from the commit PyTorch 2.6 pins to the
    incident's build of main: commit, requested revision and version."""
    bad = lock_text.replace(f'commit-id = "{GOOD_320}"', f'commit-id = "{BAD_MAIN}"')
    bad = bad.replace(f'requested-revision = "{GOOD_320}"', f'requested-revision = "{BAD_MAIN}"')
    return bad.replace('version = "3.2.0+git9641643d"', 'version = "3.2.0+git23753f4f"')

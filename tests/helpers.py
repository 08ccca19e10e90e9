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

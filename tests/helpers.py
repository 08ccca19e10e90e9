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

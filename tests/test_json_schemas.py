"""Every --format json output validates against its documented, versioned schema."""

from __future__ import annotations

import json
from importlib.resources import files
from pathlib import Path
from typing import Any

import pytest
from helpers import lock_args, tripin
from indexserver import IndexServer
from jsonschema import Draft202012Validator, ValidationError
from test_doctor import _torch, _triton, _venv

X86, ARM = "linux-x86_64-cp312", "linux-aarch64-cp312"


def _validate(name: str, output: str) -> dict[str, Any]:
    schema = json.loads(files("tripin.schemas").joinpath(f"{name}.json").read_text())
    Draft202012Validator.check_schema(schema)
    data: dict[str, Any] = json.loads(output)
    Draft202012Validator(schema).validate(data)
    return data


def test_lock_check_explain_rules(
    index: IndexServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TRIPIN_CACHE_DIR", str(tmp_path / "c"))
    args = lock_args(index.simple_url, tmp_path / "c", X86, ARM, extra=["torch==2.6.0", "--format", "json"])
    first = _validate("lock", tripin(capsys, *args).out)
    assert first["changes"] is None
    again = _validate("lock", tripin(capsys, *args).out)
    assert again["changes"] == []
    (tmp_path / "c.txt").write_text("torch==2.6.0.dev20241230+cu126\ntriton==3.2.0+git23753f4f\n")
    data = _validate("check", tripin(capsys, "check", "c.txt", "--format", "json").out)
    assert {v["code"] for v in data["violations"]} == {"TP002", "TP003"}
    _validate("check", tripin(capsys, "check", "pylock.toml", "--format", "json").out)
    explained = _validate("explain", tripin(capsys, "explain", "triton", "--format", "json").out)
    assert {r["target"]: r["added_by_rule"] for r in explained["explain"]} == {X86: False}
    record = explained["explain"][0]
    del record["added_by_rule"]
    with pytest.raises(ValidationError, match="'added_by_rule' is a required property"):
        _validate("explain", json.dumps(explained))
    _validate("rules", tripin(capsys, "rules", "list", "--format", "json").out)
    shown = _validate("rules", tripin(capsys, "rules", "show", "2.6", "--format", "json").out)
    assert shown["known_bad"] and shown["companions"]
    del shown["companions"]
    with pytest.raises(ValidationError, match="'companions' is a dependency of 'known_bad'"):
        _validate("rules", json.dumps(shown))
    config = _validate("config", tripin(capsys, "config", "--format", "json").out)
    printed = _validate("config", tripin(capsys, *args, "--print-config").out)  # --format json: the same document
    assert {"lock", "constraints"} <= {s["name"] for s in printed["settings"]} & {s["name"] for s in config["settings"]}


def test_doctor(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    python = _venv(tmp_path, _torch(tmp_path), _triton(tmp_path, "3.2.0+git23753f4f", attrs=False))
    data = _validate("doctor", tripin(capsys, "doctor", "--python", str(python), "--probe", "--format", "json").out)
    assert data["healthy"] is False and data["probes"]


def test_lock_check_as_json(
    index: IndexServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`lock --check --format json` is the lock's JSON with `stale`: the outputs that would
    change; nothing is written, and the exit code is 1 when any would."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TRIPIN_CACHE_DIR", str(tmp_path / "c"))
    args = lock_args(index.simple_url, tmp_path / "c", X86, extra=["filelock", "--format", "json"])
    assert tripin(capsys, *args).code == 0
    fresh = tripin(capsys, *args, "--check")
    assert fresh.code == 0 and _validate("lock", fresh.out)["stale"] == []
    (tmp_path / "constraints.txt").write_text("# edited\n")
    stale = tripin(capsys, *args, "--check")
    assert stale.code == 1 and _validate("lock", stale.out)["stale"] == ["constraints.txt"]
    assert (tmp_path / "constraints.txt").read_text() == "# edited\n"
    assert tripin(capsys, *args, "--check", "-U").code == 1  # resolved again: the same answer

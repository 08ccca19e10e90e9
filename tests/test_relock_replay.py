"""A re-lock with the exact arguments of a run that found nothing to resolve is answered before
argparse, the settings and packaging are imported (tripin/memo.py, replay_lock), and only while
every input, the rules and the written files are as they were. These run the real `python -m
tripin` with `-X importtime`: whether argparse was imported tells which path answered."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from indexserver import IndexServer

from tripin import memo
from tripin.memo import default_rules_dir

X86 = "linux-x86_64-cp312"


def _lock(work: Path, index: IndexServer, *args: str, env: dict[str, str] | None = None) -> tuple[str, str, bool]:
    """(stdout, stderr without import times, whether argparse was imported)."""
    argv = [sys.executable, "-X", "importtime", "-m", "tripin", "lock", *args]
    argv += ["-t", X86, "-i", index.simple_url, "--cache-dir", "c"]
    run = subprocess.run(argv, cwd=work, capture_output=True, text=True, env={**os.environ, **(env or {})}, timeout=60)
    assert run.returncode == 0, run.stderr[-2000:]
    err = "".join(f"{line}\n" for line in run.stderr.splitlines() if not line.startswith("import time:"))
    return run.stdout, err, "argparse" in _imported(run.stderr)


def _imported(stderr: str) -> set[str]:
    return {line.rsplit("|", 1)[-1].strip() for line in stderr.splitlines() if line.startswith("import time:")}


def _without_seconds(text: str) -> str:
    import re

    return re.sub(r"in \d+\.\d\ds", "in Ns", text)


def test_the_same_arguments_again_are_answered_before_argparse(work: Path, index: IndexServer) -> None:
    (work / "requirements.in").write_text("filelock\n")
    out, _, parsed = _lock(work, index, "requirements.in")
    assert parsed and "nothing to resolve" not in out
    lock = (work / "pylock.toml").stat().st_mtime_ns
    out2, err2, parsed2 = _lock(work, index, "requirements.in")
    assert not parsed2, "the second identical run should not have needed the command line"
    assert "nothing to resolve" in out2 and err2 == ""
    assert (work / "pylock.toml").stat().st_mtime_ns == lock
    # other flags are other arguments: the first such run answers after argparse (the settings'
    # memo), and leaves the replay for the next; both say the same, but for the time taken
    text, _, parsed3 = _lock(work, index, "requirements.in", "-v")
    assert parsed3 and "nothing to resolve" in text
    again, verbose, parsed4 = _lock(work, index, "requirements.in", "-v")
    assert not parsed4 and _without_seconds(again) == _without_seconds(text)
    assert "nothing to resolve" in verbose
    first, _, _ = _lock(work, index, "requirements.in", "--format", "json")
    second, _, parsed5 = _lock(work, index, "requirements.in", "--format", "json")
    assert not parsed5
    a, b = json.loads(first), json.loads(second)
    assert isinstance(b["seconds"], float) and {**a, "seconds": 0} == {**b, "seconds": 0}
    _lock(work, index, "requirements.in", "-q")
    quiet, quiet_err, parsed6 = _lock(work, index, "requirements.in", "-q")
    assert not parsed6 and quiet == "" and quiet_err == ""


def test_a_changed_input_output_rule_or_setting_is_resolved_again(work: Path, index: IndexServer) -> None:
    rules = work / "rules"
    shutil.copytree(default_rules_dir(), rules)
    (work / "requirements.in").write_text("filelock\n")
    args = ("requirements.in", "--rules", str(rules))
    _lock(work, index, *args)
    assert not _lock(work, index, *args)[2]

    def resolved_again(**env: str) -> bool:
        out, _, parsed = _lock(work, index, *args, env=env)
        return parsed and "nothing to resolve" not in out

    (work / "requirements.in").write_text("filelock\nfsspec\n")  # an input
    assert resolved_again()
    assert "fsspec" in (work / "pylock.toml").read_text()
    assert not _lock(work, index, *args)[2]
    with (work / "pylock.toml").open("a") as handle:  # an output
        handle.write("\n")
    assert resolved_again()
    (work / "constraints.txt").unlink()  # an output gone
    assert resolved_again()
    assert (work / "constraints.txt").is_file()
    (rules / "extra.toml").write_text("schema = 1\n")  # a rules file more, with no rule in it
    assert resolved_again()
    (rules / "extra.toml").unlink()
    assert resolved_again()
    assert not _lock(work, index, *args)[2]
    # a setting from the environment: another key, so neither memo answers for it
    out, _, parsed = _lock(work, index, *args, env={"TRIPIN_HTTP_TIMEOUT": "31"})
    assert parsed and "nothing to resolve" not in out


def test_an_abbreviated_cache_dir_is_never_answered_from_another_cache(work: Path, index: IndexServer) -> None:
    """argparse takes `--cache-d c` for `--cache-dir c`; the replay, which reads the arguments
    as typed, would look in the default cache: so such a run keeps no replay entry at all."""
    (work / "requirements.in").write_text("filelock\n")
    env = {"TRIPIN_CACHE_DIR": str(work / "default-cache")}
    argv = [sys.executable, "-X", "importtime", "-m", "tripin", "lock", "requirements.in", "-t", X86]
    argv += ["-i", index.simple_url, "--cache-d", "c"]
    for _ in range(3):
        run = subprocess.run(argv, cwd=work, capture_output=True, text=True, env={**os.environ, **env}, timeout=60)
        assert run.returncode == 0, run.stderr[-2000:]
    assert "nothing to resolve" in run.stdout
    assert "argparse" in _imported(run.stderr)  # answered after the command line was parsed
    assert not (work / "default-cache").exists()
    assert not (work / "c" / f"v{memo._FORMAT}" / "relock").exists()  # relock.py's own entries are in c/v1

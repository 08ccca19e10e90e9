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
    assert not (work / "c" / f"v{memo._FORMAT}" / "lock").exists()  # relock.py's own entries are elsewhere


def test_a_symlinked_input_pointed_elsewhere_is_resolved_again(work: Path, index: IndexServer) -> None:
    """`requirements.in -> a.in`, then `-> b.in`: the file read is another, whatever its
    target's own bytes (the memos once kept digests by the symlink's old target)."""
    (work / "a.in").write_text("filelock\n")
    (work / "b.in").write_text("filelock\nfsspec\n")
    (work / "requirements.in").symlink_to("a.in")
    _lock(work, index, "requirements.in")
    assert "nothing to resolve" in _lock(work, index, "requirements.in")[0]
    (work / "requirements.in").unlink()
    (work / "requirements.in").symlink_to("b.in")
    out, _, _ = _lock(work, index, "requirements.in")
    assert "nothing to resolve" not in out and "fsspec" in (work / "pylock.toml").read_text()


def test_a_constraints_file_an_older_lock_left_is_removed_on_the_next_run(work: Path, index: IndexServer) -> None:
    """`lock --check` names such a file, and `tripin lock` removes it: a remembered answer that
    kept it would leave `--check` failing for ever."""
    _lock(work, index, "filelock")
    stale = work / "constraints-cpu.txt"
    stale.write_text("# This file was generated by tripin 0.1.0 with pylock.toml; do not edit by hand.\nsix==1.0.0\n")
    out, err, _ = _lock(work, index, "filelock")
    assert "nothing to resolve" not in out and "removed constraints-cpu.txt" in err
    assert not stale.exists()


def test_hidden_rules_files_are_read_by_no_one(work: Path, index: IndexServer) -> None:
    """An editor's `.#torch.toml` in the rules directory: the loader skips it, as the memos'
    listing of that directory does, so no answer depends on whether a memo was there."""
    rules = work / "rules"
    shutil.copytree(default_rules_dir(), rules)
    (rules / ".local.toml").write_text('schema = 1\n[[bad]]\nid = "x"\n')
    out, _, _ = _lock(work, index, "filelock", "--rules", str(rules), "--no-cache")
    assert "Locked" in out


def test_the_replay_says_what_a_run_that_resolved_said(work: Path, index: IndexServer) -> None:
    """Notes (no Triton on a CPU torch) and warnings, in text and in JSON, as the run that
    resolved said them; only the time and the request count differ."""
    args = ("torch==2.6.0", "-t", "linux-aarch64-cp312")
    argv = [sys.executable, "-m", "tripin", "lock", *args, "-i", index.simple_url, "--cache-dir", "c"]
    first = subprocess.run([*argv, "--format", "json"], cwd=work, capture_output=True, text=True, timeout=120)
    again = subprocess.run([*argv, "--format", "json"], cwd=work, capture_output=True, text=True, timeout=120)
    resolved, replayed = json.loads(first.stdout), json.loads(again.stdout)
    assert resolved["notes"] and replayed["notes"] == resolved["notes"]
    for key in ("seconds", "requests", "bytes", "changes"):
        resolved.pop(key), replayed.pop(key)
    assert replayed == resolved
    text = subprocess.run(argv, cwd=work, capture_output=True, text=True, timeout=120).stdout
    note = resolved["notes"][0].split(": ", 1)[1]
    assert "nothing to resolve" in text and f"    {note}\n" in text


def test_constraints_are_written_beside_the_lock_they_belong_to(work: Path, index: IndexServer) -> None:
    """`--lock a/pylock.toml` and `--lock b/pylock.toml`: each its own constraints file beside
    it, not one ./constraints.txt that the second lock overwrites."""
    (work / "a").mkdir()
    (work / "b").mkdir()
    _lock(work, index, "filelock", "--lock", "a/pylock.toml")
    _lock(work, index, "fsspec", "--lock", "b/pylock.toml")
    assert "filelock==" in (work / "a" / "constraints.txt").read_text()
    assert "fsspec==" in (work / "b" / "constraints.txt").read_text()
    assert not (work / "constraints.txt").exists()


def test_only_a_local_or_https_index_lets_a_relock_be_remembered() -> None:
    """A plain-http index on the network is warned about on every run (as pip warns), so a run
    using one keeps no remembered answer that would skip the warning."""
    from tripin.index.http import in_clear_over_network

    assert in_clear_over_network("http://mirror.example.com/simple")
    assert not in_clear_over_network("https://pypi.org/simple")
    assert not in_clear_over_network("http://127.0.0.1:8080/simple")

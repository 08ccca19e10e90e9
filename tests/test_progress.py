"""The progress display: live on a real terminal (a pseudo-terminal here), plain lines elsewhere,
nothing for runs under a second or with --quiet / --format json."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import lock_args, tripin
from indexserver import IndexServer

X86, ARM = "linux-x86_64-cp312", "linux-aarch64-cp312"


def _run_on_a_terminal(argv: list[str], cwd: Path, env: dict[str, str]) -> tuple[int, str]:
    master, slave = pty.openpty()
    proc = subprocess.Popen(argv, cwd=cwd, env=env, stdin=slave, stdout=slave, stderr=slave, close_fds=True)
    os.close(slave)
    chunks: list[bytes] = []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.2)
        if ready:
            try:
                data = os.read(master, 65536)
            except OSError:  # the terminal closed: the program is done
                break
            if not data:
                break
            chunks.append(data)
        elif proc.poll() is not None:
            break
    os.close(master)
    return proc.wait(timeout=30), b"".join(chunks).decode(errors="replace")


def test_live_progress_on_a_terminal(index: IndexServer, tmp_path: Path) -> None:
    index.fault("*", "delay", seconds=0.15)  # a slow index: the run takes several seconds
    env = {**os.environ, "TRIPIN_CACHE_DIR": str(tmp_path / "c"), "TERM": "xterm", "COLUMNS": "160"}
    code, screen = _run_on_a_terminal(
        [
            sys.executable,
            "-m",
            "tripin",
            *lock_args(index.simple_url, tmp_path / "c", X86, ARM, extra=["torch==2.6.0"]),
        ],
        tmp_path,
        env,
    )
    assert code == 0, screen
    assert "resolving 2 target(s):" in screen and "in flight" in screen and "MB" in screen
    assert "Locked" in screen


def test_plain_lines_when_not_a_terminal(
    index: IndexServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    index.fault("*", "delay", seconds=0.15)
    run = tripin(capsys, *lock_args(index.simple_url, tmp_path / "c", X86, ARM, extra=["torch==2.6.0"]))
    assert run.code == 0
    lines = [line for line in run.err.splitlines() if line.startswith("tripin: resolved ")]
    assert {line.split()[2] for line in lines} == {X86, ARM}
    assert "\x1b[" not in run.err  # no terminal codes in logs


def test_quiet_and_quick_runs_show_nothing(
    index: IndexServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    started = time.monotonic()
    run = tripin(capsys, *lock_args(index.simple_url, tmp_path / "c", X86, extra=["torch==2.6.0"]))
    if time.monotonic() - started < 0.9:  # a quick run (a loaded machine may not make it one)
        assert run.err == ""
    index.fault("*", "delay", seconds=0.15)
    quiet = tripin(capsys, *lock_args(index.simple_url, tmp_path / "d", X86, extra=["torch==2.6.0", "-q"]))
    assert quiet.err == "" and quiet.out == ""

"""Run the real `tripin` command in a subprocess with a time limit, measuring its peak memory:
for input that could hang or balloon, which an in-process run could not survive."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Finished:
    code: int | None  # None: killed at the time limit
    out: str
    err: str
    seconds: float
    peak_mb: float  # the child's own peak RSS (os.wait4), not the whole test session's


def run_tripin(
    args: Sequence[str], cwd: Path, *, timeout: float = 10.0, env: Mapping[str, str] | None = None
) -> Finished:
    """`python -m tripin ARGS` in `cwd`; killed after `timeout` seconds."""
    environment = {**os.environ, "TRIPIN_CACHE_DIR": str(cwd / ".tripin-cache"), **(env or {})}
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.monotonic()
        process = subprocess.Popen(
            [sys.executable, "-m", "tripin", *args], cwd=cwd, stdout=out, stderr=err, env=environment
        )
        code: int | None = None
        while True:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                code = os.waitstatus_to_exitcode(status)
                break
            if time.monotonic() - started > timeout:
                process.kill()
                _, _, usage = os.wait4(process.pid, 0)
                break
            time.sleep(0.02)
        process.returncode = -9 if code is None else code  # reaped here: keep Popen from waiting again
        seconds = time.monotonic() - started
        out.seek(0)
        err.seek(0)
        return Finished(
            code=code,
            out=out.read().decode("utf-8", "replace"),
            err=err.read().decode("utf-8", "replace"),
            seconds=seconds,
            peak_mb=usage.ru_maxrss / 1024,  # KiB on Linux
        )

"""Run the real `tripin` command in a subprocess with a time limit, measuring its peak memory:
for input that could hang or balloon, which an in-process run could not survive.

The peak is the process's own VmHWM, written by the process as it exits. Not getrusage or
os.wait4: a forked child's ru_maxrss starts at the parent's resident size, so a large pytest
process would be counted as tripin's."""

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
    peak_mb: float  # the tripin process's own peak RSS (VmHWM); 0 when it was killed


def run_tripin(
    args: Sequence[str], cwd: Path, *, timeout: float = 10.0, env: Mapping[str, str] | None = None
) -> Finished:
    """`python -m tripin ARGS` in `cwd`; killed after `timeout` seconds."""
    environment = {**os.environ, "TRIPIN_CACHE_DIR": str(cwd / ".tripin-cache"), **(env or {})}
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, tempfile.TemporaryDirectory() as tmp:
        peak_file = Path(tmp) / "peak"
        started = time.monotonic()
        process = subprocess.Popen(
            [sys.executable, "-c", _WRAPPER, str(peak_file), *args], cwd=cwd, stdout=out, stderr=err, env=environment
        )
        try:
            code: int | None = process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            code = None
        seconds = time.monotonic() - started
        out.seek(0)
        err.seek(0)
        peak = peak_file.read_text() if peak_file.exists() else "0"
        return Finished(
            code=code,
            out=out.read().decode("utf-8", "replace"),
            err=err.read().decode("utf-8", "replace"),
            seconds=seconds,
            peak_mb=int(peak) / 1024,  # kB
        )


# `python -m tripin`, then the process's VmHWM (peak resident set, kB) into the file argv[1]
_WRAPPER = """
import sys
peak, sys.argv = sys.argv[1], ["tripin", *sys.argv[2:]]
try:
    from tripin.cli import main
    code = main()
finally:
    with open("/proc/self/status") as status:
        hwm = next(line for line in status if line.startswith("VmHWM:")).split()[1]
    with open(peak, "w") as handle:
        handle.write(hwm)
raise SystemExit(code)
"""

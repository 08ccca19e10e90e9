"""A warm `tripin lock` over an existing lock, next to reading that lock: what keeping pins costs.

    python benchmarks/relock_speed.py [--latency 0.03] [--runs 5] [--requirement torch==2.6.0 ...]

The recorded index (tests/index) is served on 127.0.0.1 with `--latency` seconds added to each
request. One cold lock for the four cp312 targets fills the cache and writes pylock.toml; then,
alternating, median of `--runs`: the floor (`python -c pass`), reading the lock (`python -c`
that imports tomllib and parses it), a re-lock with nothing changed (pins kept), the same with
the lock edited so it is no longer this machine's (pins kept, resolved again), and `--upgrade`
(everything re-resolved). Each tripin row also shows the requests it made.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import compile_tripin

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from indexserver import IndexServer  # noqa: E402

TARGETS = ("linux-x86_64-cp312", "linux-aarch64-cp312", "macos-arm64-cp312", "windows-x86_64-cp312")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=0.03)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--requirement", nargs="+", default=["torch==2.6.0", "torchvision", "numpy", "filelock"])
    args = parser.parse_args()
    compile_tripin()
    server = IndexServer(ROOT / "tests" / "index").start()
    if args.latency:
        server.fault("*", "delay", seconds=args.latency)
    script = Path(sys.executable).with_name("tripin")
    tripin = [str(script)] if script.exists() else [sys.executable, "-m", "tripin"]
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "TMPDIR")}
    rows: dict[str, list[tuple[float, int]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        lock = [*tripin, "lock", *args.requirement, "--index-url", server.simple_url, "--cache-dir", str(work / "c")]
        lock += ["-q", *(a for t in TARGETS for a in ("--target", t))]
        subprocess.run(lock, cwd=work, env=env, check=True)
        read = [sys.executable, "-c", "import tomllib; tomllib.load(open('pylock.toml', 'rb'))"]

        def edit() -> None:  # the same pins, other bytes: not the lock this machine wrote
            path = work / "pylock.toml"
            path.write_text(path.read_text() + "\n")

        commands = {
            "python -c pass (floor)": ([sys.executable, "-c", "pass"], None),
            "read pylock.toml (tomllib)": (read, None),
            "tripin lock, nothing changed": (lock, None),
            "tripin lock, lock edited (resolved, pins kept)": (lock, edit),
            "tripin lock -U (re-resolve everything)": ([*lock, "-U"], None),
        }
        for _ in range(args.runs):
            for label, (argv, before) in commands.items():
                if before is not None:
                    before()
                server.reset()
                start = time.perf_counter()
                subprocess.run(argv, cwd=work, env=env, check=True)
                rows.setdefault(label, []).append((time.perf_counter() - start, len(server.requests)))
            subprocess.run(lock, cwd=work, env=env, check=True)  # back to this machine's lock
        packages = sum(1 for line in (work / "pylock.toml").read_text().splitlines() if line == "[[packages]]")
    server.stop()
    print(f"{' '.join(args.requirement)}, {len(TARGETS)} targets, {packages} lock entries; recorded index, ", end="")
    print(f"+{args.latency * 1000:.0f} ms per request; median of {args.runs}")
    floor = statistics.median(t for t, _ in rows["python -c pass (floor)"])
    print(f"{'run':<50}{'wall':>10}{'x floor':>9}{'requests':>10}")
    for label, values in rows.items():
        wall = statistics.median(t for t, _ in values)
        requests = statistics.median(n for _, n in values) if label.startswith("tripin") else "-"
        print(f"{label:<50}{wall * 1000:>8.0f}ms{wall / floor:>9.1f}{requests:>10}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

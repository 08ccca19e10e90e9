"""tripin lock against uv on the same index, in one run: wall time, requests and bytes.

    python benchmarks/lock_speed.py [--latency 0.03] [--runs 3] [--pypi]

By default the index is tests/index (real PyPI pages and metadata, recorded) served on
127.0.0.1 with `--latency` seconds added to every request, to look like a real index; the
server counts every request and byte, for every tool alike. It advertises PEP 658 metadata,
as PyPI's own API does, since uv reads metadata only where advertised. `--pypi` runs against
the real PyPI instead (bytes are then tripin's own count only).

Cold: an empty cache. Warm: the cache of the cold run, nothing changed upstream (tripin
revalidates its pages with conditional requests; uv runs with --offline, its fastest warm mode).
pip-compile resolves for the running interpreter only, so it is compared on one target, this
machine's (`linux-x86_64-cp311`: the recorded index holds cp311 x86_64 wheels for that), against
tripin and uv on the same single target; its warm run reuses pip's HTTP cache.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from indexserver import IndexServer  # noqa: E402

TARGETS = {
    "linux-x86_64-cp312": "x86_64-manylinux_2_28",
    "linux-aarch64-cp312": "aarch64-manylinux_2_28",
    "macos-arm64-cp312": "aarch64-apple-darwin",
    "windows-x86_64-cp312": "x86_64-pc-windows-msvc",
}


def _bin(name: str) -> str:
    found = Path(sys.executable).with_name(name)
    return str(found) if found.exists() else name


def _uv() -> str:
    from uv import find_uv_bin

    return find_uv_bin()


def _run(argv: list[str], cwd: Path, env: dict[str, str]) -> float:
    start = time.perf_counter()
    result = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(argv[:3])} failed:\n{result.stderr[-2000:]}")
    return elapsed


def measure(
    label: str,
    make: Callable[[Path, bool], tuple[list[list[str]], dict[str, str]]],
    server: IndexServer | None,
    runs: int,
) -> list[tuple[str, float, int, int]]:
    """(label, median wall, requests, bytes) for the cold and the warm run."""
    rows = []
    cold_times, warm_times = [], []
    counts: dict[str, tuple[int, int]] = {}
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp)
            for phase, times in (("cold", cold_times), ("warm", warm_times)):
                commands, env = make(work, phase == "warm")
                if server is not None:
                    server.reset()
                elapsed = sum(_run(cmd, work, env) for cmd in commands)
                times.append(elapsed)
                if server is not None:
                    counts[phase] = (len(server.requests), sum(r.bytes_sent for r in server.requests))
    for phase, times in (("cold", cold_times), ("warm", warm_times)):
        req, nbytes = counts.get(phase, (-1, -1))
        rows.append((f"{label}, {phase}", statistics.median(times), req, nbytes))
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=0.03)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--pypi", action="store_true", help="the real PyPI instead of the local index")
    parser.add_argument("--requirement", default="torch==2.6.0")
    args = parser.parse_args()
    server = None
    if args.pypi:
        url = "https://pypi.org/simple"
    else:
        server = IndexServer(ROOT / "tests" / "index").start()
        server.advertise_metadata = True
        if args.latency:
            server.fault("*", "delay", seconds=args.latency)
        url = server.simple_url
    base_env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "TMPDIR")}
    tripin, uv = _bin("tripin"), _uv()

    def tripin_lock(targets: list[str]) -> Callable[[Path, bool], tuple[list[list[str]], dict[str, str]]]:
        def make(work: Path, warm: bool) -> tuple[list[list[str]], dict[str, str]]:
            argv = [tripin, "lock", args.requirement, "--index-url", url, "--cache-dir", str(work / "tc"), "-q"]
            for t in targets:
                argv += ["--target", t]
            return [argv], base_env  # warm: pages revalidated (ETag) or fresh, metadata from the cache

        return make

    def uv_compile(
        targets: list[str], universal: bool
    ) -> Callable[[Path, bool], tuple[list[list[str]], dict[str, str]]]:
        def make(work: Path, warm: bool) -> tuple[list[list[str]], dict[str, str]]:
            (work / "in.txt").write_text(args.requirement + "\n")
            env = {
                **base_env,
                "UV_NO_CONFIG": "1",
                "UV_CACHE_DIR": str(work / "uvc"),
                "UV_PYTHON_DOWNLOADS": "never",
                # the system trust store, as tripin uses (truststore): machines behind a TLS proxy need it
                "UV_NATIVE_TLS": "1",
                "UV_SYSTEM_CERTS": "1",
            }
            common = [
                uv,
                "pip",
                "compile",
                "in.txt",
                "--index-url",
                url,
                "--python-version",
                "3.12",
                "--quiet",
                "-o",
                os.devnull,
                *(["--offline"] if warm else []),
            ]
            if universal:
                return [[*common, "--universal"]], env
            return [[*common, "--python-platform", TARGETS[t]] for t in targets], env

        return make

    def uv_compile_py(targets: list[str]) -> Callable[[Path, bool], tuple[list[list[str]], dict[str, str]]]:
        inner = uv_compile(targets, False)

        def make(work: Path, warm: bool) -> tuple[list[list[str]], dict[str, str]]:
            commands, env = inner(work, warm)
            return [
                [a if a != "3.12" else f"{sys.version_info[0]}.{sys.version_info[1]}" for a in c] for c in commands
            ], env

        return make

    def pip_compile(work_target: str) -> Callable[[Path, bool], tuple[list[list[str]], dict[str, str]]]:
        del work_target  # pip-compile only resolves for the interpreter running it

        def make(work: Path, warm: bool) -> tuple[list[list[str]], dict[str, str]]:
            (work / "in.txt").write_text(args.requirement + "\n")
            env = {**base_env, "PIP_CONFIG_FILE": os.devnull, "HOME": str(work)}
            argv = [
                _bin("pip-compile"),
                "in.txt",
                "--index-url",
                url,
                "--quiet",
                "--no-header",
                "-o",
                str(work / "out.txt"),
                "--cache-dir",
                str(work / "pipc"),
                "--pip-args",
                "--isolated",
            ]
            return [argv], env

        return make

    host = f"linux-x86_64-cp{sys.version_info[0]}{sys.version_info[1]}"
    two = ["linux-x86_64-cp312", "linux-aarch64-cp312"]
    rows: list[tuple[str, float, int, int]] = []
    rows += measure("tripin lock, 2 targets", tripin_lock(two), server, args.runs)
    rows += measure("uv pip compile --universal", uv_compile(two, True), server, args.runs)
    rows += measure("uv pip compile, one run per target (2)", uv_compile(two, False), server, args.runs)
    if not args.pypi and shutil.which(_bin("pip-compile")) and host == "linux-x86_64-cp311":
        TARGETS[host] = "x86_64-manylinux_2_28"
        one = [host]
        rows += measure(f"tripin lock, 1 target ({host})", tripin_lock(one), server, args.runs)
        rows += measure(f"uv pip compile, 1 target ({host})", uv_compile_py(one), server, args.runs)
        rows += measure(f"pip-compile, this interpreter ({host})", pip_compile(host), server, args.runs)
    for n in (1, 2, 4):
        targets = list(TARGETS)[:n]
        rows += measure(f"tripin lock, {n} target(s)", tripin_lock(targets), server, 1)
    if server is not None:
        server.stop()
    where = "real PyPI" if args.pypi else f"recorded index on 127.0.0.1, +{args.latency * 1000:.0f} ms per request"
    print(f"{args.requirement}: {where}; median of {args.runs} runs (scale rows: 1 run)")
    print(f"{'run':<62}{'wall':>9}{'requests':>10}{'MB':>8}")
    for label, wall, req, nbytes in rows:
        mb = f"{nbytes / 1e6:.2f}" if nbytes >= 0 else "-"
        print(f"{label:<62}{wall:>8.2f}s{req if req >= 0 else '-':>10}{mb:>8}")
    cold = {label: wall for label, wall, _, _ in rows}
    t_cold, t_warm = cold["tripin lock, 2 targets, cold"], cold["tripin lock, 2 targets, warm"]
    for peer in ("uv pip compile --universal", "uv pip compile, one run per target (2)"):
        print(
            f"ratio tripin/{peer}: cold {t_cold / cold[peer + ', cold']:.2f}x, "
            f"warm {t_warm / cold[peer + ', warm']:.2f}x"
        )
    single = f"tripin lock, 1 target ({host})"
    for peer in (f"uv pip compile, 1 target ({host})", f"pip-compile, this interpreter ({host})"):
        if peer + ", cold" in cold:
            print(
                f"ratio {single}/{peer}: cold {cold[single + ', cold'] / cold[peer + ', cold']:.2f}x, "
                f"warm {cold[single + ', warm'] / cold[peer + ', warm']:.2f}x"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

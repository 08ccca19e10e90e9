"""tripin lock against uv on the same index, in one run: wall time, peak memory, cache size.

    python benchmarks/lock_speed.py [--latency 0.03] [--runs 3] [--pypi] [--only real|torch|scale|conflict]

Two workloads, each locked by tripin and by `uv pip compile --universal` in the same run,
alternating (tripin cold, tripin warm, uv cold, uv warm, then again), medians of `--runs`:

* torch only: `torch==2.6.0` on two Linux targets (x86_64, aarch64; cp312);
* a real project: `torch==2.6.0 transformers accelerate datasets` on eight targets
  (linux x86_64 and aarch64 for cp311, cp312, cp313; macos-arm64-cp312; windows-x86_64-cp312);
  and the scale rows: tripin on 1, 2, 4 and 8 of those targets;
* with `--pypi` only, a fine-tuning project of 17 requirements on six targets whose newest
  releases conflict (datasets 5.2.0 needs huggingface-hub>=1.31, every transformers 4.x <1.0):
  the resolver's order of decisions, not the network, decides its time (it took 125 s before
  tripin/resolver/conflicts.py). Not recorded: the conflict needs every release of five big
  projects and the torch 2.15 family, far more than the test indexes should carry.

Cold: an empty cache. Warm: the cache of the cold run, nothing changed upstream (tripin runs
with -U; uv with --offline, its fastest warm mode). With the pages fresh in the cache and
unchanged, tripin answers -U from the lock the cold run resolved from those same pages, without
resolving (tripin/relock.py); the row "resolve" is -U again with that memo removed from the
cache (pages and metadata kept), which resolves from the cache: what -U costs when a page did
change. Re-lock (real project): tripin run again as it was, with nothing changed, which is what
a user or CI re-running `tripin lock` pays: the pins are kept and the inputs are the lock's, so
it resolves nothing (benchmarks/relock_speed.py shows it beside reading the lock). Each is set
against uv's warm run, with its own ratio.
Every row gives the median wall time, the median peak RSS (the sum of the
peaks of the command's processes: tripin's page worker counts; the largest where a row runs several
commands) and the size of the cache that the cold run left.

By default the indexes are the recorded ones served on 127.0.0.1 with `--latency` seconds added
to every request: tests/index (torch only) and tests/index-project (the real project), both
real PyPI pages and metadata recorded by scripts/record_index.py. The server counts requests
and bytes for every tool alike. It advertises PEP 658 metadata, as PyPI's own API does, since
uv reads metadata only where advertised, and marks pages fresh for 600 s, as PyPI does.
`--pypi` runs against the real PyPI instead (then requests and bytes are not counted, and
the pip-compile row is left out).

uv runs with UV_PYTHON_DOWNLOADS=never: otherwise `--python-version 3.12` makes it try to
download a Python first, for about ten seconds here, which would make uv look slow. It also
gets `--python` (this interpreter; `--python-version` still names the version it resolves for):
without one, uv looks for a Python 3.12 along PATH and runs every candidate it finds, and on a
machine with pyenv's shims that took 0.4 to 0.5 s of each uv run (0.45 s of a 0.50 s warm
run), time that has nothing to do with resolving and that a user who names an interpreter
never pays.
pip-compile resolves for the running interpreter only, so it is compared on one target, this
machine's (`linux-x86_64-cp311`: the recorded index holds cp311 x86_64 wheels for that).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from common import compile_tripin

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from indexserver import IndexServer  # noqa: E402

TORCH = ["torch==2.6.0"]
PROJECT = ["torch==2.6.0", "transformers", "accelerate", "datasets"]
TWO = ["linux-x86_64-cp312", "linux-aarch64-cp312"]
EIGHT = [
    "linux-x86_64-cp311",
    "linux-x86_64-cp312",
    "linux-x86_64-cp313",
    "linux-aarch64-cp311",
    "linux-aarch64-cp312",
    "linux-aarch64-cp313",
    "macos-arm64-cp312",
    "windows-x86_64-cp312",
]
FINETUNE = [
    "torch>=2.5",
    "transformers>=4.48,<5",
    "peft>=0.14",
    "datasets>=3.2",
    "evaluate",
    "accelerate",
    "trl",
    "sentencepiece",
    "tokenizers",
    "safetensors",
    "scikit-learn",
    "pandas",
    "wandb",
    "tensorboard",
    'liger-kernel; sys_platform == "linux"',  # it requires triton, which has no macOS or Windows wheel
    "bitsandbytes",
    "rouge-score",
]
SIX = [*EIGHT[:2], *EIGHT[3:5], *EIGHT[6:]]
SCALE = {1: EIGHT[1:2], 2: TWO, 4: [*TWO, "macos-arm64-cp312", "windows-x86_64-cp312"], 8: EIGHT}
UV_PLATFORM = {"linux-x86_64": "x86_64-manylinux_2_28", "linux-aarch64": "aarch64-manylinux_2_28"}

# a command list and its environment, for a working directory and a phase (see Tool.phases)
Make = Callable[[Path, str], tuple[list[list[str]], dict[str, str]]]


@dataclass
class Tool:
    label: str
    make: Make
    cache: str  # the cache directory's name inside the working directory
    phases: tuple[str, ...] = ("cold", "warm")  # run in this order in one working directory
    prepare: Callable[[Path, str], None] | None = None  # before a phase, not timed


@dataclass
class Row:
    label: str
    walls: list[float] = field(default_factory=list)
    rss: list[int] = field(default_factory=list)  # kilobytes
    cache: list[int] = field(default_factory=list)  # bytes
    requests: int = -1
    nbytes: int = -1

    @property
    def wall(self) -> float:
        return statistics.median(self.walls)

    @property
    def rss_mb(self) -> float:
        return statistics.median(self.rss) / 1024

    @property
    def cache_mb(self) -> float:
        return statistics.median(self.cache) / 1e6 if self.cache else 0.0


def _bin(name: str) -> str:
    found = Path(sys.executable).with_name(name)
    return str(found) if found.exists() else name


def _uv() -> str:
    from uv import find_uv_bin

    return find_uv_bin()


def _run(argv: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, int]:
    """Wall time and peak RSS (kB) of one command and the processes it starts (tripin's page
    worker): each process's own peak (VmHWM, sampled every 5 ms), summed, an upper bound of what
    the tree held at once; where /proc cannot tell, the kernel's account from wait4."""
    with tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(argv, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=err)
        peaks: dict[int, int] = {}
        done = threading.Event()
        sampler = threading.Thread(target=_sample_tree, args=(proc.pid, peaks, done))
        sampler.start()
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - start
        done.set()
        sampler.join()
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            err.seek(0)
            raise SystemExit(f"{' '.join(argv[:3])} failed:\n{err.read().decode(errors='replace')[-2000:]}")
    # the root's own peak as sampled: wait4's ru_maxrss folds in the largest child it reaped
    # (the page worker, when that is the larger), which the sum already counts
    own = peaks.pop(proc.pid, 0) or usage.ru_maxrss
    return elapsed, own + sum(peaks.values())


def _sample_tree(root: int, peaks: dict[int, int], done: threading.Event) -> None:
    while not done.wait(0.005):
        todo = [root]
        while todo:
            pid = todo.pop()
            try:
                status = Path(f"/proc/{pid}/status").read_text()
                for task in Path(f"/proc/{pid}/task").iterdir():
                    todo += [int(c) for c in (task / "children").read_text().split()]
            except OSError:  # gone, or no /proc here
                continue
            for line in status.splitlines():
                if line.startswith("VmHWM:"):
                    peaks[pid] = max(peaks.get(pid, 0), int(line.split()[1]))


def _size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.exists() else 0


def compare(name: str, tools: list[Tool], server: IndexServer | None, runs: int) -> list[Row]:
    """Cold then warm for each tool in turn, `runs` times over: alternating, so that a slow
    moment on a shared machine falls on both tools alike."""
    rows = {(t.label, phase): Row(f"{t.label}, {phase}") for t in tools for phase in t.phases}
    for _ in range(runs):
        for tool in tools:
            with tempfile.TemporaryDirectory() as tmp:
                work = Path(tmp)
                for phase in tool.phases:
                    if tool.prepare is not None:
                        tool.prepare(work, phase)
                    commands, env = tool.make(work, phase)
                    if server is not None:
                        server.reset()
                    row = rows[(tool.label, phase)]
                    total, peak = 0.0, 0
                    for cmd in commands:
                        elapsed, rss = _run(cmd, work, env)
                        total, peak = total + elapsed, max(peak, rss)
                    row.walls.append(total)
                    row.rss.append(peak)
                    row.cache.append(_size(work / tool.cache))
                    if server is not None:
                        row.requests = len(server.requests)
                        row.nbytes = sum(r.bytes_sent for r in server.requests)
    print(f"  {name}: done", file=sys.stderr)
    return list(rows.values())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=0.03)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--pypi", action="store_true", help="the real PyPI instead of the recorded indexes")
    parser.add_argument("--only", choices=("torch", "real", "scale", "conflict"), action="append")
    args = parser.parse_args()
    compile_tripin()
    only = set(args.only or ("torch", "real", "scale", *(("conflict",) if args.pypi else ())))
    if "conflict" in only and not args.pypi:
        parser.error("--only conflict needs --pypi: the recorded indexes do not hold that project")
    servers: dict[str, IndexServer] = {}

    def index_url(which: str) -> tuple[str, IndexServer | None]:
        if args.pypi:
            return "https://pypi.org/simple", None
        if which not in servers:
            server = IndexServer(ROOT / "tests" / which).start()
            server.advertise_metadata = True
            server.cache_control = "max-age=600, public"  # what PyPI says of its pages
            if args.latency:
                server.fault("*", "delay", seconds=args.latency)
            servers[which] = server
        return servers[which].simple_url, servers[which]

    base_env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "TMPDIR", "SSL_CERT_FILE")}
    tripin, uv = _bin("tripin"), _uv()

    def tripin_lock(url: str, reqs: list[str], targets: list[str], *, relock: bool = False) -> Tool:
        def make(work: Path, phase: str) -> tuple[list[list[str]], dict[str, str]]:
            argv = [tripin, "lock", *reqs, "--index-url", url, "--cache-dir", str(work / "tc"), "-q"]
            for t in targets:
                argv += ["--target", t]
            # warm: -U, answered from the pages' memo while they are fresh and unchanged; resolve:
            # -U with that memo removed, a real resolution from the cache. re-lock: the same
            # command again with nothing changed (pins kept, nothing resolved, no request;
            # benchmarks/relock_speed.py shows it beside reading the lock)
            return [[*argv, "-U"] if phase in ("warm", "resolve") else argv], base_env

        def prepare(work: Path, phase: str) -> None:
            if phase == "resolve":  # every memo goes; the index cache's pages and metadata stay
                from tripin.memo import cache_folders

                for version, kinds in cache_folders().items():
                    for kind in kinds:
                        if kind not in ("projects", "metadata"):
                            shutil.rmtree(work / "tc" / version / kind, ignore_errors=True)

        label = f"tripin lock, {len(targets)} target{'s' if len(targets) > 1 else ''}"
        phases = ("cold", "warm", "re-lock", "resolve") if relock else ("cold", "warm")
        return Tool(label, make, "tc", phases, prepare)

    def uv_compile(url: str, reqs: list[str], python: str = "3.12", platform: str | None = None) -> Tool:
        def make(work: Path, phase: str) -> tuple[list[list[str]], dict[str, str]]:
            warm = phase == "warm"
            (work / "in.txt").write_text("\n".join(reqs) + "\n")
            env = {
                **base_env,
                "UV_NO_CONFIG": "1",
                "UV_CACHE_DIR": str(work / "uvc"),
                "UV_PYTHON_DOWNLOADS": "never",
                # the system trust store, as tripin uses (truststore): machines behind a TLS proxy need it
                "UV_NATIVE_TLS": "1",
                "UV_SYSTEM_CERTS": "1",
            }
            argv = [uv, "pip", "compile", "in.txt", "--index-url", url, "--python-version", python, "--quiet"]
            argv += ["--python", sys.executable]  # no interpreter discovery along PATH (see above)
            argv += ["-o", os.devnull, *(["--offline"] if warm else [])]
            argv += ["--python-platform", platform] if platform else ["--universal"]
            return [argv], env

        return Tool(f"uv pip compile {'--python-platform ' + platform if platform else '--universal'}", make, "uvc")

    def pip_compile(url: str, reqs: list[str]) -> Tool:
        def make(work: Path, phase: str) -> tuple[list[list[str]], dict[str, str]]:
            (work / "in.txt").write_text("\n".join(reqs) + "\n")
            env = {**base_env, "PIP_CONFIG_FILE": os.devnull, "HOME": str(work)}
            argv = [_bin("pip-compile"), "in.txt", "--index-url", url, "--quiet", "--no-header"]
            argv += ["-o", str(work / "out.txt"), "--cache-dir", str(work / "pipc"), "--pip-args", "--isolated"]
            return [argv], env

        return Tool("pip-compile, this interpreter", make, "pipc")

    sections: list[tuple[str, list[Row]]] = []
    ratios: list[tuple[str, float, float]] = []  # (what, measured ratio, bar)

    def pair(rows: list[Row], a: str, b: str) -> tuple[Row, Row]:
        by = {r.label: r for r in rows}
        return by[a], by[b]

    if "torch" in only:
        url, server = index_url("index")
        tools = [tripin_lock(url, TORCH, TWO), uv_compile(url, TORCH)]
        rows = compare("torch only", tools, server, args.runs)
        host = f"linux-x86_64-cp{sys.version_info[0]}{sys.version_info[1]}"
        if not args.pypi and shutil.which(_bin("pip-compile")) and host == "linux-x86_64-cp311":
            py = f"{sys.version_info[0]}.{sys.version_info[1]}"
            one = [
                tripin_lock(url, TORCH, [host]),
                uv_compile(url, TORCH, py, UV_PLATFORM["linux-x86_64"]),
                pip_compile(url, TORCH),
            ]
            rows += compare(f"one target ({host})", one, server, args.runs)
        sections.append(("`torch==2.6.0`, 2 Linux targets (x86_64, aarch64; cp312)", rows))
        t_cold, u_cold = pair(rows, "tripin lock, 2 targets, cold", "uv pip compile --universal, cold")
        ratios.append(("torch only, 2 targets, cold: tripin / uv --universal", t_cold.wall / u_cold.wall, 1.0))

    if "real" in only:
        url, server = index_url("index-project")
        tools = [tripin_lock(url, PROJECT, EIGHT, relock=True), uv_compile(url, PROJECT)]
        rows = compare("real project", tools, server, args.runs)
        sections.append((f"`{' '.join(PROJECT)}`, 8 targets", rows))
        t_cold, u_cold = pair(rows, "tripin lock, 8 targets, cold", "uv pip compile --universal, cold")
        t_warm, u_warm = pair(rows, "tripin lock, 8 targets, warm", "uv pip compile --universal, warm")
        ratios.append(("real project, 8 targets, cold: tripin / uv --universal", t_cold.wall / u_cold.wall, 1.0))
        warm = "real project, 8 targets, warm (-U, pages unchanged: not resolved): tripin / uv --offline"
        ratios.append((warm, t_warm.wall / u_warm.wall, 1.5))
        t_resolve, _ = pair(rows, "tripin lock, 8 targets, resolve", "uv pip compile --universal, warm")
        resolve = "real project, 8 targets, warm (-U, memo removed: resolved again): tripin / uv --offline"
        ratios.append((resolve, t_resolve.wall / u_warm.wall, 1.5))
        t_relock, _ = pair(rows, "tripin lock, 8 targets, re-lock", "uv pip compile --universal, warm")
        relock = "real project, 8 targets, re-lock, nothing changed: tripin / uv --offline"
        ratios.append((relock, t_relock.wall / u_warm.wall, 1.5))
        peak = max(t_cold.rss_mb, t_warm.rss_mb, t_resolve.rss_mb)
        ratios.append(("real project, 8 targets, peak RSS of tripin (MB; bar 150)", peak / 150, 1.0))
        ratios.append(("real project, cache after a cold lock: tripin / uv", t_cold.cache_mb / u_cold.cache_mb, 1.0))

    if "scale" in only:
        url, server = index_url("index-project")
        rows = []
        for n, targets in SCALE.items():
            rows += compare(f"scale, {n}", [tripin_lock(url, PROJECT, targets)], server, args.runs)
        sections.append(("scale: the same project on 1, 2, 4 and 8 targets", rows))

    if "conflict" in only:
        url, _ = index_url("")
        tools = [tripin_lock(url, FINETUNE, SIX), uv_compile(url, FINETUNE, "3.11")]
        rows = compare("conflict", tools, None, args.runs)
        sections.append(("a fine-tuning project whose newest releases conflict, 6 targets", rows))
        t_cold, u_cold = pair(rows, "tripin lock, 6 targets, cold", "uv pip compile --universal, cold")
        ratios.append(("fine-tuning project, 6 targets, cold: tripin / uv --universal", t_cold.wall / u_cold.wall, 1.0))

    for server in servers.values():
        server.stop()
    where = "the real PyPI" if args.pypi else f"recorded indexes on 127.0.0.1, +{args.latency * 1000:.0f} ms a request"
    print(f"{where}; medians of {args.runs} runs, alternating")
    for title, rows in sections:
        print(f"\n{title}")
        print(f"{'run':<52}{'wall':>8}{'peak RSS':>10}{'cache':>9}{'requests':>10}{'MB':>8}")
        for row in rows:
            mb = f"{row.nbytes / 1e6:.2f}" if row.nbytes >= 0 else "-"
            req = str(row.requests) if row.requests >= 0 else "-"
            cache = f"{row.cache_mb:.1f}MB" if "cold" in row.label else ""
            print(f"{row.label:<52}{row.wall:>7.2f}s{row.rss_mb:>8.0f}MB{cache:>9}{req:>10}{mb:>8}")
    if ratios:
        print()
        for what, ratio, bar in ratios:
            verdict = "within the bar" if ratio <= bar else "OVER the bar"
            print(f"{what}: {ratio:.2f} (bar {bar:.1f}: {verdict})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

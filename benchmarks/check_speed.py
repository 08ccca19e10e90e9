"""Wall time of `tripin check` on a 400-package lock, next to `python -c pass` (the floor).

    python benchmarks/check_speed.py [--runs 15]

Prints one table from one run: median wall times of the floor, of `tripin check` with its
memo cold (a fresh cache each run: rules parsed, lock judged) and warm (unchanged inputs),
and each as a multiple of the floor; the three alternate, run by run. Issue 13's bar is 3x the
floor. The warm path (unchanged inputs) meets it; the cold one is what a pre-commit hook pays
after the lock changed, and it does not (about 12x: imports, the rules, and tomllib on the lock).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import compile_tripin

TARGETS = ("linux-x86_64-cp312", "linux-aarch64-cp312")
MARKERS = {
    "linux-x86_64-cp312": 'sys_platform == "linux" and platform_machine == "x86_64" and python_version == "3.12" '
    'and implementation_name == "cpython"',
    "linux-aarch64-cp312": 'sys_platform == "linux" and platform_machine == "aarch64" and python_version == "3.12" '
    'and implementation_name == "cpython"',
}


def _wheel(name: str, version: str, tag: str) -> str:
    digest = hashlib.sha256(f"{name}{version}{tag}".encode()).hexdigest()
    filename = f"{name.replace('-', '_')}-{version}-{tag}.whl"  # a wheel file name escapes `-` (PEP 427)
    url = f"https://files.example.org/{filename}"
    return f'{{ name = "{filename}", url = "{url}", size = 1000, hashes = {{ sha256 = "{digest}" }} }}'


def write_lock(path: Path, packages: int = 400) -> None:
    out = [
        'lock-version = "1.0"',
        "environments = [" + ", ".join(f"'{m}'" for m in MARKERS.values()) + "]",
        'created-by = "tripin"',
        "",
    ]
    entries = [
        ("torch", "2.6.0", None, "cp312-cp312-manylinux_2_28_x86_64"),
        ("triton", "3.2.0", MARKERS["linux-x86_64-cp312"], "cp312-cp312-manylinux_2_17_x86_64"),
    ]
    entries += [(f"package-{i:03d}", f"1.{i}.0", None, "py3-none-any") for i in range(packages - 3)]
    for name, version, marker, tag in entries:
        out += ["[[packages]]", f'name = "{name}"', f'version = "{version}"']
        if marker:
            out.append(f"marker = '{marker}'")
        out += ['index = "https://pypi.org/simple"', f"wheels = [{_wheel(name, version, tag)}]", ""]
    out += [
        "[[packages]]",
        'name = "triton"',
        f"marker = '{MARKERS['linux-aarch64-cp312']}'",
        "[packages.vcs]",
        'type = "git"',
        'url = "https://github.com/triton-lang/triton"',
        'commit-id = "9641643da6c52000c807b5eeed05edaec4402a67"',
        'subdirectory = "python"',
        "[packages.tool.tripin.build]",
        'version = "3.2.0+git9641643d"',
        'status = "matched"',
        'source = "https://github.com/triton-lang/triton/commit/9641643da6c52000c807b5eeed05edaec4402a67"',
        'recipe = "triton-3.2"',
        'requires = ["setuptools>=40.8.0", "wheel", "cmake>=3.18", "ninja>=1.11.1", "pybind11>=2.13.1"]',
        'system = ["git"]',
        "[packages.tool.tripin.build.env]",
        'TRITON_WHEEL_VERSION_SUFFIX = "+git{short}"',
        "",
    ]
    out += [
        "[tool.tripin]",
        'version = "0.1.0"',
        'inputs-digest = ""',
        'ruleset-digest = ""',
        "targets = [" + ", ".join(f"{{ name = \"{t}\", marker = '{MARKERS[t]}' }}" for t in TARGETS) + "]",
    ]
    path.write_text("\n".join(out) + "\n")


def _once(argv: list[str], cwd: Path, cache: Path | None, fresh: bool) -> float:
    import os

    env = dict(os.environ)
    if cache is not None:
        if fresh:
            shutil.rmtree(cache, ignore_errors=True)
        env["TRIPIN_CACHE_DIR"] = str(cache)
    start = time.perf_counter()
    subprocess.run(argv, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    compile_tripin()
    script = Path(sys.executable).with_name("tripin")
    tripin = [str(script)] if script.exists() else [sys.executable, "-m", "tripin"]
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        write_lock(work / "pylock.toml")
        cache = work / "cache"
        times: dict[str, list[float]] = {"floor": [], "cold": [], "warm": []}
        check = [*tripin, "check", "pylock.toml"]
        # the lock passes check: what is timed is a judgement, not a report of findings
        probe = subprocess.run(
            check, cwd=work, capture_output=True, text=True, env={**os.environ, "TRIPIN_CACHE_DIR": str(cache)}
        )
        if probe.returncode != 0:
            raise SystemExit(f"the benchmark's lock does not pass check:\n{probe.stdout}{probe.stderr}")
        for _ in range(args.runs):  # alternating, so that a busy machine slows all three alike
            times["floor"].append(_once([sys.executable, "-c", "pass"], work, None, False))
            times["cold"].append(_once(check, work, cache, True))  # a fresh cache: rules parsed, lock judged
            times["warm"].append(_once(check, work, cache, False))  # the memo the cold run left
        floor, cold, warm = (statistics.median(times[k]) for k in ("floor", "cold", "warm"))
    print(f"tripin check, 400-package lock, median of {args.runs} runs")
    print(f"{'what':<34}{'wall':>10}{'x floor':>10}")
    for label, value in (
        ("python -c pass (floor)", floor),
        ("tripin check, memo cold", cold),
        ("tripin check, memo warm", warm),
    ):
        print(f"{label:<34}{value * 1000:>8.1f}ms{value / floor:>10.1f}")
    for label, value in (("memo cold", cold), ("memo warm", warm)):
        verdict = "within the bar" if value / floor <= 3.0 else "OVER the bar"
        print(f"{label}: {value / floor:.1f}x the floor (bar 3.0x: {verdict})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

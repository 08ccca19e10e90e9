"""The page worker's process (tripin/index/pageworker.py), started with nothing but os, sys and
subprocess loaded: a `tripin lock` whose cache is cold waits for the worker before its first
request, and tripin.__main__ starts it before the command line, argparse and the CLI modules
load (40 ms sooner than `run_lock` could)."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys

__all__ = ["adopt", "fewer_arenas", "spawn", "start_early", "usable"]

_early: list[subprocess.Popen[bytes]] = []


def usable() -> bool:
    """With one core the worker would only take turns with its parent; a frozen application's
    executable is the application, not a Python that takes -c."""
    affinity = getattr(os, "sched_getaffinity", None)
    cores = len(affinity(0)) if affinity is not None else (os.cpu_count() or 1)
    return not (
        os.environ.get("TRIPIN_PAGE_WORKER", "1") == "0"
        or not sys.executable
        or getattr(sys, "frozen", False)
        or cores < 2
    )


def spawn() -> subprocess.Popen[bytes]:
    """The worker's process; OSError where it cannot be started."""
    root = os.path.dirname(os.path.dirname(os.path.realpath(__file__)))  # where `tripin` is importable from
    code = "import sys; sys.path.insert(0, sys.argv[1]); from tripin.index.pageworker import serve; serve()"
    # -P: `-c` would put the working directory first on sys.path, and a `logging.py` in a
    # checked-out pull request would run in the worker
    return subprocess.Popen(
        [sys.executable, "-P", "-c", code, root],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        # glibc gives each thread that allocates its own malloc arena: with 48 threads the
        # worker's peak RSS was 80 to 93 MB, and 67 to 74 MB with two arenas (a cold lock of the
        # real project on the real PyPI); other C libraries ignore it
        env={**os.environ, "MALLOC_ARENA_MAX": "2"},
    )


def fewer_arenas() -> None:
    """This process's threads (a lock's resolvers and its index client's pool) share two malloc
    arenas too, as the worker's do: glibc's arena per thread put 6 MB on a cold lock's peak
    (70 MB against 64 MB, the real project on the real PyPI). Set before the threads start;
    mallopt is glibc's, and elsewhere nothing changes."""
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        ctypes.CDLL(None).mallopt(-8, 2)  # M_ARENA_MAX
    except (OSError, AttributeError):  # no libc to load, or not glibc (musl has no mallopt)
        pass


def start_early() -> None:
    """Started for `run_lock` to adopt (tripin.cli_lock); if it never does (the command line is
    refused), the worker ends when this process does, as its stdin closes."""
    if usable():
        with contextlib.suppress(OSError):
            _early.append(spawn())


def adopt() -> subprocess.Popen[bytes] | None:
    return _early.pop() if _early else None

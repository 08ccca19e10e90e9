"""Big project pages are parsed in a second Python process.

Parsing a page (json.loads, grouping thousands of files by version, marshal) holds the GIL:
pydantic-core's 7 MB page took 0.1 to 0.3 s of it in a cold lock, while the resolver threads
that wait for other pages and metadata could not run. A second process parses on another core
and sends back the packed releases (a quarter of the page's bytes). Anything unusual (no
worker, a worker that died, a page it could not parse) hands the page back to the caller,
which parses it in-process as before, so the worker changes speed only, never results.

The protocol is length-prefixed frames over the worker's stdin and stdout (in: the page's URL and
content type as marshal, then the page's bytes; out: the answer as marshal):
no multiprocessing, which needs /dev/shm for its locks and re-imports the caller's __main__.
"""

from __future__ import annotations

import contextlib
import logging
import marshal
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import IO

from tripin.index.models import Release

__all__ = ["PageWorker", "serve"]

_HEADER = 8  # bytes of the frame length, big-endian
_log = logging.getLogger("tripin")


def _write(stream: IO[bytes], *payloads: bytes) -> None:
    """Each payload as a frame of its own, written as it is: a page is not copied on the way."""
    for payload in payloads:
        stream.write(len(payload).to_bytes(_HEADER, "big"))
        stream.write(payload)
    stream.flush()


def _read(stream: IO[bytes]) -> bytes | None:
    head = stream.read(_HEADER)
    if len(head) != _HEADER:
        return None
    size = int.from_bytes(head, "big")
    payload = stream.read(size)
    return payload if len(payload) == size else None


def _cores() -> int:
    affinity = getattr(os, "sched_getaffinity", None)
    return len(affinity(0)) if affinity is not None else (os.cpu_count() or 1)


class PageWorker:
    """One worker process, started on first use and used by one page at a time."""

    def __init__(self) -> None:
        self._proc: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()
        # with one core the worker would only take turns with its parent
        self._broken = os.environ.get("TRIPIN_PAGE_WORKER", "1") == "0" or not sys.executable or _cores() < 2

    def warm(self) -> None:
        """Start the worker now, so that it is ready when the first big page arrives (a run
        whose pages are all cached never starts one)."""
        with self._lock:
            if not self._broken and self._proc is None:
                self._start()

    def parse(self, body: bytes, content_type: str, url: str, *, wait: bool = True) -> tuple[Release, ...] | None:
        """The page's releases, or None: then the caller parses the page itself. Without
        `wait`, a busy worker is not waited for: a small page on the way to the next dependency
        should not queue behind a big one that nothing is waiting for yet."""
        if not self._lock.acquire(blocking=wait):
            return None
        try:
            if self._broken:
                return None
            try:
                proc = self._proc or self._start()
                assert proc.stdin is not None and proc.stdout is not None
                _write(proc.stdin, marshal.dumps((url, content_type)), body)
                answer = _read(proc.stdout)
                status, value = marshal.loads(answer) if answer is not None else ("dead", None)  # noqa: S302
            except (OSError, ValueError, EOFError, TypeError):
                status, value = "dead", None
            if status == "ok" and isinstance(value, tuple):
                return value
            _log.debug("page worker: %s for %s; parsing in-process", status, url)
            if status != "error":  # "error": this page only; the worker goes on
                self._broken = True
                self._close()
            return None
        finally:
            self._lock.release()

    def _start(self) -> subprocess.Popen[bytes]:
        root = str(Path(__file__).resolve().parents[2])  # where `tripin` is importable from
        code = "import sys; sys.path.insert(0, sys.argv[1]); from tripin.index.pageworker import serve; serve()"
        self._proc = subprocess.Popen(
            [sys.executable, "-c", code, root],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        return self._proc

    def close(self) -> None:
        with self._lock:
            self._close()

    def _close(self) -> None:
        """Killed, not waited for: it holds nothing, and may still be starting up."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        proc.kill()
        proc.wait()
        for stream in (proc.stdin, proc.stdout):
            if stream is not None:
                with contextlib.suppress(OSError):  # unflushed input to a dead worker
                    stream.close()


def serve() -> None:
    """The worker's loop: a page in, its packed releases (or why not) out, until end of input."""
    from tripin.errors import IndexFetchError
    from tripin.index.models import pack_releases
    from tripin.index.simple import parse_page

    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    try:
        while (frame := _read(stdin)) is not None and (body := _read(stdin)) is not None:
            url, content_type = marshal.loads(frame)  # noqa: S302 (from the parent process)
            try:
                answer = marshal.dumps(("ok", pack_releases(parse_page(body, content_type, url))))
            except (IndexFetchError, ValueError, RecursionError, MemoryError):
                answer = marshal.dumps(("error", None))
            _write(stdout, answer)
    except (KeyboardInterrupt, BrokenPipeError):
        pass

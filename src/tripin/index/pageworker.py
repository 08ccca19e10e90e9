"""Project pages are fetched and parsed, and metadata files fetched, in a second Python process.

Reading a page (TLS, httpx, json.loads, grouping thousands of files by version, marshal) holds
the GIL: pages are most of a cold lock's bytes (25 of 31 MB for transformers and datasets on 8
targets; pydantic-core's page alone is 7 MB), and the resolver threads waiting for metadata could
not run meanwhile. A second process, with its own GIL, threads and HTTP client, fetches a page,
parses it and sends back the packed releases (a quarter of the page's bytes), on the other core.
Anything unusual (no worker, one still starting, one that died) hands the page back to the
caller, which fetches and parses it in-process as before, so the worker changes speed only: the
same fetcher code, with the same retries, limits and errors, runs in either process.

Metadata files (PEP 658) go through the worker too, as bytes: the parent process runs the
resolvers, the prefetcher's callbacks and the metadata parsing, and was busy for the whole of a
cold lock (1.0 s of CPU in 1.0 s), so each response it read itself waited for the GIL, and a
METADATA read took 0.08 to 0.2 s where the round trip took 0.03 s. The worker used a quarter of
its core. So do the first range reads that take METADATA out of a wheel where an index
advertises no metadata file, while the parent sets up its own client (IndexClient._get_range).

The protocol is length-prefixed marshal frames over the worker's stdin and stdout, each request
numbered, answers in any order: no multiprocessing, which needs /dev/shm for its locks and
re-imports the caller's __main__.
"""

from __future__ import annotations

import contextlib
import logging
import marshal
import os
import subprocess
import sys
import threading
from concurrent.futures import Future
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING

from tripin import workerproc

if TYPE_CHECKING:
    from tripin.index.models import Release

__all__ = ["BIG_PAGE", "Page", "PageWorker", "serve"]

_HEADER = 8  # bytes of the frame length, big-endian
# requests at once (the fetcher lets 32 into httpx): pages and metadata files come in bursts of
# 30 to 60 (the nvidia-* pages and eight targets' METADATA after torch's); with 8 threads a page
# waited 0.1 to 0.2 s for one. A page waiting to be parsed holds its bytes.
_THREADS = 48
# pages larger than this are parsed one at a time (parsed, a page takes ten times its bytes);
# smaller ones as they come: behind one lock, click's and colorama's pages (a few kB, on the
# way to the next dependency) waited 0.4 s for numpy's, regex's and tokenizers' (1 to 4 MB)
BIG_PAGE = 1024 * 1024
_CONNECTIONS = 32
# what each kind of request takes as an answer (any other status but 404 is an error)
_OK = {"page": frozenset({200, 304}), "file": frozenset({200}), "range": frozenset({200, 206})}
# how long requests wait for a worker started early to be ready before fetching in-process
_STARTUP = 10.0
_log = logging.getLogger("tripin")


@dataclass(frozen=True, slots=True)
class Page:
    """A fetched page: its status and headers, its releases when it came whole (200), or the
    one-line error and hint the fetch or the parse raised; a fetched file (`kind="file"`) or
    part of one (`kind="range"`): its status, headers, body and the URL it came from after
    redirects."""

    status: int
    headers: dict[str, str]
    releases: tuple[Release, ...] | None
    nbytes: int
    error: str | None = None
    hint: str | None = None
    log: tuple[tuple[int, str], ...] = ()  # what the worker logged for this page, to log again
    body: bytes | None = None
    url: str = ""


def _write(stream: IO[bytes], payload: bytes) -> None:
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


class PageWorker:
    """One worker process, started by `start` and used once it says it is ready."""

    def __init__(self) -> None:
        self._proc: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()
        self._ready = threading.Event()
        self._settled = threading.Event()  # ready, or never will be
        self._early = False
        self._pending: dict[int, Future[Page | None]] = {}
        self._next = 0
        self._broken = not workerproc.usable()

    def start(self, *, early: bool = False) -> None:
        """`early`: started before any request is due (a cold cache), so requests wait for
        it to be ready rather than being fetched in-process meanwhile, and this process need
        not load httpx at all: the worker starts on the other core (0.15 s) while this one
        loads the settings, the rules and the resolver."""
        with self._lock:
            if self._broken or self._proc is not None:
                return
            self._early = early
            try:
                self._proc = workerproc.spawn()
            except OSError:
                self._broken = True
                self._settled.set()
                return
            threading.Thread(target=self._answers, args=(self._proc,), name="tripin-pages", daemon=True).start()

    def adopt(self, proc: subprocess.Popen[bytes]) -> None:
        """A worker process tripin.__main__ started (workerproc.start_early), used as `start`
        would start it early."""
        with self._lock:
            self._proc, self._early = proc, True
        threading.Thread(target=self._answers, args=(proc,), name="tripin-pages", daemon=True).start()

    def fetch(
        self,
        url: str,
        headers: dict[str, str],
        max_bytes: int,
        timeout: float = 600.0,
        *,
        project: str = "",
        kind: str = "page",
    ) -> Page | None:
        """The page of `project` as the worker fetched it (files of other projects dropped),
        or the file at `url` as it came (`kind="file"`, any status but 404 and 200 an error;
        `kind="range"`, a Range read: 206 too), or None: then the caller fetches it itself (no
        worker, one still starting, one that died on the way, or one that took longer than
        `timeout`, which its own deadlines should never let it do)."""
        if self._early and not self._settled.wait(_STARTUP):
            with self._lock:  # never ready: once, not for every request (a stuck TLS set-up, say)
                self._fail()
            return None
        with self._lock:
            proc = self._proc
            if self._broken or proc is None or proc.stdin is None or not self._ready.is_set():
                return None
            answer: Future[Page | None] = Future()
            number, self._next = self._next, self._next + 1
            self._pending[number] = answer
            try:
                _write(proc.stdin, marshal.dumps((number, url, headers, max_bytes, project, kind)))
            except (OSError, ValueError):
                self._pending.pop(number, None)
                self._fail()
                return None
        try:
            return answer.result(timeout=timeout)
        except TimeoutError:
            with self._lock:
                self._pending.pop(number, None)
                self._fail()
            return None

    def _answers(self, proc: subprocess.Popen[bytes]) -> None:
        """The reader: each answer completes its request's future; at the end of the stream
        every request still waiting gets None (and is fetched by its caller)."""
        assert proc.stdout is not None
        try:
            while (frame := _read(proc.stdout)) is not None:
                number, *fields = marshal.loads(frame)  # noqa: S302 (from our own child)
                if number < 0:
                    self._ready.set()
                    self._settled.set()
                    continue
                with self._lock:
                    answer = self._pending.pop(number, None)
                if answer is not None:
                    answer.set_result(Page(*fields))
        except (OSError, ValueError, EOFError, TypeError) as exc:
            _log.debug("page worker: %s; pages are fetched in-process", exc)
        with self._lock:
            self._fail()

    def _fail(self) -> None:
        """Called with the lock held: no more requests, and none left waiting."""
        self._broken = True
        self._settled.set()
        for answer in self._pending.values():
            answer.set_result(None)
        self._pending.clear()

    def close(self) -> None:
        """Killed, not waited for: it holds nothing a run needs, and may still be starting."""
        with self._lock:
            self._broken = True
            self._settled.set()
            proc, self._proc = self._proc, None
        if proc is None:
            return
        proc.kill()
        proc.wait()
        for stream in (proc.stdin, proc.stdout):
            if stream is not None:
                with contextlib.suppress(OSError):  # unflushed input to a dead worker
                    stream.close()


class _Collect(logging.Handler):
    """The worker's log lines, per request thread, sent back with the answer."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines = threading.local()

    def emit(self, record: logging.LogRecord) -> None:
        got = getattr(self.lines, "got", None)
        if got is not None:
            got.append((record.levelno, record.getMessage()))


def serve() -> None:
    """The worker: fetch and parse each requested page in a thread, answer when done."""
    from concurrent.futures import ThreadPoolExecutor

    from tripin.errors import IndexFetchError
    from tripin.index.http import IGNORED_RANGE, Fetcher
    from tripin.index.models import pack_releases, redact_url
    from tripin.index.simple import parse_page

    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    collect = _Collect()
    logger = logging.getLogger("tripin")
    logger.addHandler(collect)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    fetcher = Fetcher(max_connections=_CONNECTIONS)
    writing, parsing = threading.Lock(), threading.Lock()

    def answer(number: int, url: str, headers: dict[str, str], max_bytes: int, name: str, kind: str) -> None:
        got: list[tuple[int, str]] = []
        collect.lines.got = got
        status, kept, releases, nbytes, error, hint, body, where = -1, {}, None, 0, None, None, None, ""
        try:
            response = fetcher.get(
                url,
                headers,
                max_bytes=max_bytes,
                ok=_OK[kind],
                on_too_big=IGNORED_RANGE if kind == "range" else None,
            )
            status, kept, nbytes = response.status, dict(response.headers), len(response.body)
            if kind != "page":
                body, where = response.body, response.url
            elif response.status == 200:
                with parsing if len(response.body) > BIG_PAGE else contextlib.nullcontext():
                    base = response.url or redact_url(url)  # after redirects; without credentials
                    page = [response.body]  # handed over: parse_page drops the bytes once decoded
                    del response
                    files = parse_page(page, kept.get("content-type", ""), base, name or None)
                    releases = pack_releases(files)
        except IndexFetchError as exc:
            status, error, hint = 0, str(exc), exc.hint
        except Exception as exc:  # anything else: the parent fetches this page itself
            status = -1
            got.append((logging.DEBUG, f"page worker: {exc!r}"))
        payload = marshal.dumps((number, status, kept, releases, nbytes, error, hint, tuple(got), body, where))
        with writing:
            _write(stdout, payload)

    try:
        fetcher.warm()  # httpx and TLS loaded before the parent is told to send pages
        with writing:
            _write(stdout, marshal.dumps((-1,)))  # ready
        pool = ThreadPoolExecutor(max_workers=_THREADS, thread_name_prefix="tripin-worker")
        while (frame := _read(stdin)) is not None:
            pool.submit(answer, *marshal.loads(frame))  # noqa: S302 (from the parent process)
    except (KeyboardInterrupt, BrokenPipeError):
        pass
    # the end of the input: the parent is gone (killed by SIGTERM, say). Its answers have no
    # reader, and waiting for the fetches in flight kept this process alive for their whole
    # timeout (2x TRIPIN_HTTP_TIMEOUT, holding connections); nothing here needs flushing
    os._exit(0)

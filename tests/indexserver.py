"""A real HTTP package index on 127.0.0.1 for tripin's tests.

It serves a directory laid out like ``tests/index``::

    <root>/simple/index.json                  PEP 691 project list (optional)
    <root>/simple/<normalized-name>/index.json PEP 691 project page
    <root>/files/<wheel filename>.metadata     METADATA bytes (PEP 658)

``GET /simple/<name>/`` answers JSON (PEP 691) or HTML (PEP 503, rendered from
the same JSON) by content negotiation.  ``GET /files/<filename>`` serves files
that exist under ``<root>/files`` or were registered at run time
(``server.extra_files`` / ``server.publish``), with Range, HEAD, ETag and
``If-None-Match`` support.  Every request is logged (``server.requests``) and
faults can be injected per path (``server.fault``).
"""

from __future__ import annotations

import base64
import contextlib
import csv
import dataclasses
import email.utils
import fnmatch
import functools
import gzip
import hashlib
import html
import io
import json
import re
import socket
import threading
import time
import urllib.parse
import zipfile
from collections.abc import Iterable, Iterator, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

JSON_TYPE = "application/vnd.pypi.simple.v1+json"
HTML_TYPE = "text/html; charset=utf-8"
MAX_HANG = 30.0
FAULT_KINDS = (
    "status",
    "delay",
    "truncate",
    "garbage",
    "ignore_range",
    "hang",
    "drip",
    "gzip_bomb",
    "huge",
    "redirect_loop",
)
GARBAGE = b'<<garbage>> {"this is": not json, nor html, nor a zip\n'

_NAME_RE = re.compile(r"[-_.]+")


def normalize(name: str) -> str:
    """PEP 503 normalized project name."""
    return _NAME_RE.sub("-", name).lower()


# --------------------------------------------------------------------------- records


@dataclasses.dataclass(frozen=True)
class RequestRecord:
    """One request the server answered (or did not: status 0 means no answer)."""

    method: str
    path: str  # as sent, including any query string
    range: str | None
    status: int
    bytes_sent: int
    headers: Mapping[str, str] = dataclasses.field(default_factory=dict, compare=False)

    @property
    def route(self) -> str:
        """The path without its query string."""
        return self.path.split("?", 1)[0]


@dataclasses.dataclass
class Fault:
    """An injected fault; ``hits`` counts the requests it acted on."""

    pattern: str
    kind: str
    times: int | None = None  # act on this many requests, then recover; None: forever
    code: int = 503  # status
    retry_after: str | int | None = None  # status
    body: bytes = b""  # status / garbage (empty: a default)
    seconds: float = 1.0  # delay / hang
    keep: int | None = None  # truncate: bytes of the body actually sent
    fraction: float = 0.5  # truncate: share of the body sent when keep is None
    size: int = 0  # drip: bytes to drip; gzip_bomb: decoded size; huge: body size
    method: str | None = None  # only requests of this method (e.g. "GET")
    hits: int = 0

    def matches(self, route: str, method: str) -> bool:
        if self.method is not None and self.method.upper() != method:
            return False
        if self.times is not None and self.hits >= self.times:
            return False
        return route == self.pattern or fnmatch.fnmatchcase(route, self.pattern)


# --------------------------------------------------------------------------- server


class IndexServer(ThreadingHTTPServer):
    """A PEP 503/691 index over ``root`` on 127.0.0.1, in a daemon thread.

    Use as a context manager or call :meth:`start` and :meth:`stop`.
    """

    daemon_threads = True
    allow_reuse_address = True
    block_on_close = False
    # socketserver's default backlog is 5: a client opening 32 connections at once had some
    # refused and retried by the kernel 0.2 to 1 s later, which no real index does
    request_queue_size = 128

    def __init__(self, root: Path | str, *, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__((host, port), IndexHandler)
        self.root = Path(root)
        self.extra_files: dict[str, Path] = {}
        self.cache_control: str | None = None  # e.g. "max-age=600, public" for pages
        # PEP 658/714 mode: list core-metadata hashes for every file with a .metadata file, as
        # PyPI's own JSON API does; clients that trust only advertised metadata (pip, uv) need it
        self.advertise_metadata = False
        self.html_only = False  # answer PEP 503 HTML whatever the Accept header asks
        self.require_auth: tuple[str, str] | None = None  # (user, password) for HTTP Basic, or None
        # the index again under each of these path prefixes (`/team-a`: /team-a/simple/...,
        # /team-a/files/...), each behind its own (user, password): several indexes on one host
        self.mounts: dict[str, tuple[str, str]] = {}
        # PyTorch-style variant roots: /<variant>/<name>/ (download.pytorch.org/whl/<variant>/<name>/)
        self.variant_pages: dict[str, dict[str, dict[str, Any]]] = {}
        self._blobs: dict[str, bytes] = {}  # in-memory files (publish)
        self._pages: dict[str, dict[str, Any]] = {}  # in-memory project pages (publish)
        self._lock = threading.Lock()
        self._settled = threading.Condition(self._lock)  # no request between answer and log entry
        self._in_flight = 0
        self._requests: list[RequestRecord] = []
        self._faults: list[Fault] = []
        self._stopping = threading.Event()
        self._wake = threading.Event()  # set (and replaced) to release hung/delayed answers
        self._generation = 0  # bumped by reset(): answers of older requests go unlogged
        self._thread: threading.Thread | None = None

    # -- life cycle

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def simple_url(self) -> str:
        return f"{self.url}/simple"

    def start(self) -> IndexServer:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self.serve_forever,
                kwargs={"poll_interval": 0.05},
                name=f"index-server-{self.port}",
                daemon=True,
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self.shutdown()
            self._thread.join(timeout=10)
            self._thread = None
        self.server_close()

    def __enter__(self) -> IndexServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients hanging up mid-answer (timeouts, truncation tests) are expected.
        return

    # -- request log

    @property
    def requests(self) -> list[RequestRecord]:
        """The log once answered requests are in it: a handler logs just after its answer, so a
        client may see the answer first (a hanging fault keeps one in flight: wait only briefly)."""
        with self._settled:
            self._settled.wait_for(lambda: self._in_flight == 0, timeout=0.5)
            return list(self._requests)

    @property
    def in_flight(self) -> int:
        """Requests being answered now (a hanging one among them)."""
        with self._settled:
            return self._in_flight

    def reset(self) -> None:
        """Forget the request log; requests still in flight will not be logged."""
        with self._lock:
            self._requests.clear()
            self._generation += 1

    def paths(self, method: str | None = None) -> list[str]:
        return [r.path for r in self.requests if method is None or r.method == method]

    def requests_for(self, pattern: str) -> list[RequestRecord]:
        return [r for r in self.requests if r.route == pattern or fnmatch.fnmatchcase(r.route, pattern)]

    def _begin(self) -> None:
        with self._settled:
            self._in_flight += 1

    def _log(self, record: RequestRecord, generation: int) -> None:
        with self._settled:
            if generation == self._generation:
                self._requests.append(record)
            self._in_flight -= 1
            self._settled.notify_all()

    # -- faults

    def fault(self, path_pattern: str, kind: str, **kw: Any) -> Fault:
        """Inject a fault for requests whose path (no query) equals or fnmatches the pattern.

        Kinds and their keywords (all accept ``times=N`` to act N times then recover,
        and ``method="GET"`` to spare other methods):

        * ``status``: answer ``code`` (default 503), optional ``retry_after`` header
          and ``body``.
        * ``delay``: sleep ``seconds`` before answering normally.
        * ``truncate``: announce the full Content-Length, send ``keep`` bytes (or
          ``fraction`` of the body, default half), then close the connection.
        * ``garbage``: answer 200 with an invalid ``body`` under the normal content type.
        * ``ignore_range``: answer 200 with the whole body even when Range is asked.
        * ``hang``: never answer, until the server stops or ``seconds`` (at most 30).
        * ``redirect_loop``: answer 302 with the request's own path as the Location.
        """
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; expected one of {FAULT_KINDS}")
        if kind == "hang":
            kw.setdefault("seconds", MAX_HANG)
            kw["seconds"] = min(float(kw["seconds"]), MAX_HANG)
        fault = Fault(pattern=path_pattern, kind=kind, **kw)
        if kind == "gzip_bomb":  # compressed now, not while a client waits (a busy machine took seconds)
            _bomb(fault.size or 256 * 1024 * 1024)
        with self._lock:
            self._faults.append(fault)
        return fault

    def clear_faults(self) -> None:
        """Remove every fault and release requests still hanging or delayed by one."""
        with self._lock:
            self._faults.clear()
            wake, self._wake = self._wake, threading.Event()
        wake.set()

    def _take_faults(self, route: str, method: str) -> tuple[list[Fault], threading.Event, int]:
        """The active faults for a request (counting a hit on each), the event that
        releases its waits, and the log generation it belongs to."""
        with self._lock:
            found = [f for f in self._faults if f.matches(route, method)]
            for f in found:
                f.hits += 1
            return found, self._wake, self._generation

    # -- content

    def add_file(self, path: Path | str, name: str | None = None) -> str:
        """Serve ``path`` as ``/files/<name>`` (default: its file name); return the URL."""
        path = Path(path)
        name = name or path.name
        self.extra_files[name] = path
        return f"{self.url}/files/{name}"

    def publish(
        self,
        wheel: Path | str,
        *,
        project: str | None = None,
        metadata: bool = True,
        core_metadata: bool = False,
        requires_python: str | None = None,
        yanked: bool | str = False,
        upload_time: str = "2025-01-01T00:00:00.000000Z",
        url: str | None = None,
        hashes: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        """Add a wheel (or sdist) to the in-memory overlay of this index.

        The file is served at ``/files/<filename>``; for wheels with ``metadata`` its
        METADATA is served at ``/files/<filename>.metadata`` (advertised as
        ``core-metadata`` when ``core_metadata``).  The file entry is appended to the
        project's page (created if need be, merged over any page on disk) and returned.
        Nothing is written to disk, so this is safe on the shared recorded index.
        """
        wheel = Path(wheel)
        data = wheel.read_bytes()
        filename = wheel.name
        name = normalize(project or filename.split("-", 1)[0])
        version = filename[:-4].split("-")[1] if filename.endswith(".whl") else None
        self.extra_files[filename] = wheel
        entry: dict[str, Any] = {
            "filename": filename,
            "hashes": dict(hashes) if hashes is not None else {"sha256": hashlib.sha256(data).hexdigest()},
            "requires-python": requires_python,
            "size": len(data),
            "upload-time": upload_time,
            "url": url or f"../../files/{filename}",
            "yanked": yanked,
        }
        if filename.endswith(".whl") and metadata:
            meta = wheel_metadata(wheel)
            with self._lock:
                self._blobs[f"{filename}.metadata"] = meta
            if core_metadata:
                entry["core-metadata"] = {"sha256": hashlib.sha256(meta).hexdigest()}
        with self._lock:
            page = self._pages.get(name)
            if page is None:
                page = self._load_disk_page(name) or {
                    "meta": {"api-version": "1.1"},
                    "name": name,
                    "versions": [],
                    "files": [],
                }
                self._pages[name] = page
            page["files"] = [f for f in page["files"] if f["filename"] != filename] + [entry]
            if version is not None and version not in page["versions"]:
                page["versions"].append(version)
        return entry

    def add_variant_wheel(self, variant: str, wheel: Path | str, *, upload_time: str = "2025-01-29T00:00:00Z") -> None:
        """Serve a wheel on the PyTorch-style root /<variant>/ (or /nightly/<variant>/; no .metadata file, as that index
        has none for older files: clients read METADATA with range requests)."""
        wheel = Path(wheel)
        data = wheel.read_bytes()
        name = normalize(wheel.name.split("-", 1)[0])
        self.add_file(wheel)
        page = self.variant_pages.setdefault(variant, {}).setdefault(
            name, {"meta": {"api-version": "1.1"}, "name": name, "versions": [], "files": []}
        )
        page["files"].append(
            {
                "filename": wheel.name,
                "url": f"/files/{wheel.name}",
                "size": len(data),
                "hashes": {"sha256": hashlib.sha256(data).hexdigest()},
                "requires-python": ">=3.9",
                "upload-time": upload_time,
                "yanked": False,
            }
        )

    def set_page(self, name: str, page: dict[str, Any]) -> None:
        """Serve ``page`` (a PEP 691 dict) for the project, in memory."""
        with self._lock:
            self._pages[normalize(name)] = page

    def clear_overlay(self) -> None:
        """Forget everything added at run time (publish, set_page, extra_files)."""
        with self._lock:
            self._pages.clear()
            self._blobs.clear()
            self.extra_files.clear()

    def reset_all(self) -> None:
        self.clear_faults()
        self.clear_overlay()
        self.cache_control = None
        self.advertise_metadata = False
        self.html_only = False
        self.require_auth = None
        self.mounts = {}
        self.variant_pages.clear()
        self.reset()

    def _load_disk_page(self, name: str) -> dict[str, Any] | None:
        path = self.root / "simple" / name / "index.json"
        if not path.is_file():
            return None
        loaded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        return loaded

    def project_page(self, name: str) -> dict[str, Any] | None:
        with self._lock:
            page = self._pages.get(name)
            page = json.loads(json.dumps(page)) if page is not None else None
        if page is None:
            page = self._load_disk_page(name)
        if page is not None and self.advertise_metadata:
            for entry in page.get("files", []):
                found = self.file_bytes(entry["filename"] + ".metadata")
                if found is not None and "core-metadata" not in entry:
                    entry["core-metadata"] = {"sha256": hashlib.sha256(found[0]).hexdigest()}
        return page

    def project_names(self) -> list[str]:
        names: set[str] = set()
        listing = self.root / "simple" / "index.json"
        if listing.is_file():
            data = json.loads(listing.read_text(encoding="utf-8"))
            names.update(p["name"] for p in data.get("projects", []))
        elif (self.root / "simple").is_dir():
            names.update(p.name for p in (self.root / "simple").iterdir() if (p / "index.json").is_file())
        with self._lock:
            names.update(p.get("name", n) for n, p in self._pages.items())
        return sorted(names, key=normalize)

    def file_bytes(self, filename: str) -> tuple[bytes, float] | None:
        """(content, mtime) of a servable file, or None."""
        if not filename or "/" in filename or "\\" in filename or filename.startswith("."):
            return None
        with self._lock:
            blob = self._blobs.get(filename)
            extra = self.extra_files.get(filename)
        if blob is not None:
            return blob, 1_700_000_000.0
        for path in (extra, self.root / "files" / filename):
            if path is not None and path.is_file():
                return path.read_bytes(), path.stat().st_mtime
        return None


# --------------------------------------------------------------------------- handler


class _NoAnswer(Exception):
    """Raised to end a request without any answer (hang fault)."""


class IndexHandler(BaseHTTPRequestHandler):
    server: IndexServer
    protocol_version = "HTTP/1.1"
    # headers and body go out as two writes: with Nagle's algorithm the body waited for the
    # client's delayed ACK of the headers, 40 ms on every answer of a kept-alive connection
    disable_nagle_algorithm = True
    server_version = "tripin-test-index/1"
    sys_version = ""

    def log_message(self, format: str, *args: Any) -> None:
        return

    def do_GET(self) -> None:
        self._handle("GET")

    def do_HEAD(self) -> None:
        self._handle("HEAD")

    # -- dispatch

    def _handle(self, method: str) -> None:
        self._method = method
        self._status = 0
        self._sent = 0
        self._faults: list[Fault] = []
        split = urllib.parse.urlsplit(self.path)
        route = urllib.parse.unquote(split.path)
        query = urllib.parse.parse_qs(split.query)
        self._faults, wake, generation = self.server._take_faults(route, method)
        self.server._begin()
        try:
            for fault in self._faults:
                if fault.kind == "delay":
                    wake.wait(fault.seconds)
            hang = self._fault("hang")
            if hang is not None:
                wake.wait(min(hang.seconds, MAX_HANG))
                raise _NoAnswer
            mount = next((m for m in self.server.mounts if route.startswith(m + "/")), None)
            required = self.server.require_auth if mount is None else self.server.mounts[mount]
            route = route if mount is None else route[len(mount) :]
            if required is not None:
                user, password = required
                expected = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
                if self.headers.get("Authorization") != expected:
                    self._send(401, b"unauthorized\n", {"WWW-Authenticate": 'Basic realm="index"'})
                    return
            if self._stream_fault(wake):
                return
            if self._fault("redirect_loop") is not None:
                self._send(302, b"", {"Location": self.path})
                return
            status = self._fault("status")
            if status is not None:
                body = status.body or f"injected {status.code}\n".encode()
                headers = {"Content-Type": "text/plain; charset=utf-8"}
                if status.retry_after is not None:
                    headers["Retry-After"] = str(status.retry_after)
                self._send(status.code, body, headers)
                return
            self._route(route, query, split.query)
        except _NoAnswer:
            self.close_connection = True
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        finally:
            self.server._log(
                RequestRecord(
                    method=method,
                    path=self.path,
                    range=self.headers.get("Range"),
                    status=self._status,
                    bytes_sent=self._sent,
                    headers=dict(self.headers.items()),
                ),
                generation,
            )

    def _stream_fault(self, wake: threading.Event) -> bool:
        """Answers that hurt by their body: dripped, compression bomb, too large."""
        drip = self._fault("drip")
        if drip is not None:  # one byte every `seconds`: no read timeout ever fires
            self.send_response(200)
            self.send_header("Content-Type", JSON_TYPE)
            self.send_header("Content-Length", str(drip.size or 10_000))
            self.end_headers()
            self._status = 200
            for _ in range(drip.size or 10_000):
                self.wfile.write(b" ")
                self.wfile.flush()
                self._sent += 1
                if wake.wait(drip.seconds):
                    break
            raise _NoAnswer
        bomb = self._fault("gzip_bomb")
        if bomb is not None:
            self._send(
                200, _bomb(bomb.size or 256 * 1024 * 1024), {"Content-Type": JSON_TYPE, "Content-Encoding": "gzip"}
            )
            return True
        huge = self._fault("huge")
        if huge is not None:
            size = huge.size or 1024 * 1024 * 1024
            self.send_response(200)
            self.send_header("Content-Type", JSON_TYPE)
            self.send_header("Content-Length", str(size))
            self.end_headers()
            self._status = 200
            chunk = b" " * (1024 * 1024)
            while self._sent < size:
                self.wfile.write(chunk[: size - self._sent])
                self._sent += min(len(chunk), size - self._sent)
            return True
        return False

    def _fault(self, kind: str) -> Fault | None:
        return next((f for f in self._faults if f.kind == kind), None)

    def _route(self, route: str, query: dict[str, list[str]], raw_query: str) -> None:
        suffix = f"?{raw_query}" if raw_query else ""
        if route in ("/simple", "/simple/"):
            if route == "/simple":
                self._redirect("/simple/" + suffix)
                return
            self._serve_listing(query)
            return
        if route.startswith("/simple/"):
            rest = route[len("/simple/") :]
            name = rest.rstrip("/")
            if not name or "/" in name:
                self._not_found()
                return
            canonical = normalize(name)
            if name != canonical or not rest.endswith("/"):
                self._redirect(f"/simple/{urllib.parse.quote(canonical)}/{suffix}")
                return
            self._serve_project(canonical, query)
            return
        if route.startswith("/files/"):
            self._serve_file(route[len("/files/") :])
            return
        parts = route.strip("/").split("/")
        prefix = "/".join(parts[:-1])
        if len(parts) >= 2 and prefix in self.server.variant_pages and route.endswith("/"):
            page = self.server.variant_pages[prefix].get(normalize(parts[-1]))
            if page is None:
                self._not_found()
                return
            wants = self._wants_json(query)
            if wants is None:
                self._not_acceptable()
            elif wants:
                self._send_page(json.dumps(page).encode(), JSON_TYPE)
            else:
                self._send_page(render_html(page).encode(), HTML_TYPE)
            return
        self._not_found()

    # -- pages

    def _wants_json(self, query: dict[str, list[str]]) -> bool | None:
        """True for JSON, False for HTML, None when nothing acceptable was asked."""
        if self.server.html_only:  # an index that predates PEP 691, as many mirrors do
            return False
        fmt = (query.get("format") or [""])[0].strip().lower()
        if fmt:
            if fmt in ("json", JSON_TYPE, "application/vnd.pypi.simple.latest+json"):
                return True
            if fmt in (
                "html",
                "text/html",
                "application/vnd.pypi.simple.v1+html",
                "application/vnd.pypi.simple.latest+html",
            ):
                return False
            return None
        accept = self.headers.get("Accept")
        if not accept:
            return False
        best: tuple[float, int, bool] | None = None
        for position, item in enumerate(accept.split(",")):
            parts = [p.strip() for p in item.split(";")]
            media = parts[0].lower()
            q = 1.0
            for param in parts[1:]:
                key, _, value = param.partition("=")
                if key.strip().lower() == "q":
                    try:
                        q = float(value)
                    except ValueError:
                        q = 0.0
            if q <= 0:
                continue
            if media in (JSON_TYPE, "application/vnd.pypi.simple.latest+json"):
                choice = True
            elif media in (
                "application/vnd.pypi.simple.v1+html",
                "application/vnd.pypi.simple.latest+html",
                "text/html",
                "text/*",
                "*/*",
            ):
                choice = False
            else:
                continue
            # Highest q wins; at equal q the first listed wins.
            if best is None or q > best[0]:
                best = (q, position, choice)
        return None if best is None else best[2]

    def _serve_listing(self, query: dict[str, list[str]]) -> None:
        wants = self._wants_json(query)
        if wants is None:
            self._not_acceptable()
            return
        names = self.server.project_names()
        if wants:
            data = {
                "meta": {"api-version": "1.1"},
                "projects": [{"name": n} for n in names],
            }
            self._send_page(json.dumps(data).encode(), JSON_TYPE)
            return
        links = "\n".join(f'<a href="{html.escape(normalize(n))}/">{html.escape(n)}</a><br/>' for n in names)
        body = (
            "<!DOCTYPE html>\n<html>\n<head>\n"
            '<meta name="pypi:repository-version" content="1.1">\n'
            "<title>Simple index</title>\n</head>\n<body>\n"
            f"{links}\n</body>\n</html>\n"
        )
        self._send_page(body.encode(), HTML_TYPE)

    def _serve_project(self, name: str, query: dict[str, list[str]]) -> None:
        page = self.server.project_page(name)
        if page is None:
            self._not_found()
            return
        wants = self._wants_json(query)
        if wants is None:
            self._not_acceptable()
            return
        if wants:
            self._send_page(json.dumps(page).encode(), JSON_TYPE)
        else:
            self._send_page(render_html(page).encode(), HTML_TYPE)

    def _send_page(self, body: bytes, content_type: str) -> None:
        headers = {"Content-Type": content_type, "Vary": "Accept"}
        if self.server.cache_control:
            headers["Cache-Control"] = self.server.cache_control
        self._send_entity(body, headers, mtime=None)

    # -- files

    def _serve_file(self, filename: str) -> None:
        found = self.server.file_bytes(filename)
        if found is None:
            self._not_found()
            return
        data, mtime = found
        if filename.endswith(".metadata"):
            content_type = "application/octet-stream"
        elif filename.endswith((".whl", ".zip")):
            content_type = "application/zip"
        elif filename.endswith(".tar.gz"):
            content_type = "application/x-tar"
        else:
            content_type = "application/octet-stream"
        self._send_entity(data, {"Content-Type": content_type}, mtime=mtime)

    # -- entity bodies: ETag, 304, Range

    def _send_entity(self, data: bytes, headers: dict[str, str], mtime: float | None) -> None:
        etag = '"' + hashlib.sha256(data).hexdigest()[:32] + '"'
        headers = {
            **headers,
            "ETag": etag,
            "Accept-Ranges": "bytes",
            "Last-Modified": email.utils.formatdate(mtime if mtime is not None else 1_700_000_000.0, usegmt=True),
        }
        if self._fault("garbage") is not None:
            garbage = self._fault("garbage")
            assert garbage is not None
            self._send(200, garbage.body or GARBAGE, {**headers, "ETag": '"garbage"'})
            return
        inm = self.headers.get("If-None-Match")
        if inm is not None:
            tags = {t.strip().removeprefix("W/") for t in inm.split(",")}
            if "*" in tags or etag in tags:
                self._send(304, b"", {k: headers[k] for k in ("ETag", "Last-Modified")}, no_length=True)
                return
        wanted = self.headers.get("Range")
        if_range = self.headers.get("If-Range")
        if if_range is not None and if_range.strip() != etag:
            wanted = None
        if wanted is not None and self._fault("ignore_range") is None:
            parsed = parse_range(wanted, len(data))
            if parsed == "unsatisfiable":
                self._send(416, b"", {**headers, "Content-Range": f"bytes */{len(data)}"})
                return
            if parsed is not None:
                start, end = parsed
                self._send(
                    206,
                    data[start : end + 1],
                    {**headers, "Content-Range": f"bytes {start}-{end}/{len(data)}"},
                )
                return
        self._send(200, data, headers)

    # -- low level

    def _redirect(self, location: str) -> None:
        body = f'<a href="{html.escape(location)}">Moved</a>\n'.encode()
        self._send(301, body, {"Location": location, "Content-Type": HTML_TYPE})

    def _not_found(self) -> None:
        self._send(404, b"404 Not Found\n", {"Content-Type": "text/plain; charset=utf-8"})

    def _not_acceptable(self) -> None:
        self._send(406, b"406 Not Acceptable\n", {"Content-Type": "text/plain; charset=utf-8"})

    def _send(self, status: int, body: bytes, headers: dict[str, str], *, no_length: bool = False) -> None:
        self._status = status
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        if not no_length:
            self.send_header("Content-Length", str(len(body)))
        truncate = self._fault("truncate") if status < 300 else None
        if truncate is not None:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if self._method == "HEAD" or no_length:
            return
        if truncate is not None:
            keep = truncate.keep if truncate.keep is not None else int(len(body) * truncate.fraction)
            body = body[: max(0, min(keep, len(body) - 1))]
        self.wfile.write(body)
        self._sent += len(body)
        if truncate is not None:
            self.wfile.flush()
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)


# --------------------------------------------------------------------------- helpers


@functools.lru_cache(maxsize=4)
def _bomb(size: int) -> bytes:
    """`size` zero bytes, gzip-compressed (about a thousandth of the size)."""
    out = io.BytesIO()
    with gzip.GzipFile(fileobj=out, mode="wb", compresslevel=9) as handle:
        block = b"\0" * (1024 * 1024)
        for _ in range(size // len(block)):
            handle.write(block)
    return out.getvalue()


def parse_range(header: str, size: int) -> tuple[int, int] | str | None:
    """(start, end) inclusive for a single byte range, "unsatisfiable", or None (ignore)."""
    unit, _, spec = header.partition("=")
    if unit.strip().lower() != "bytes" or "," in spec:
        return None  # unknown unit or multiple ranges: answer the whole body
    first, sep, last = spec.strip().partition("-")
    if not sep:
        return None
    try:
        if first == "":
            n = int(last)
            if n <= 0 or size == 0:
                return "unsatisfiable"
            return max(0, size - n), size - 1
        start = int(first)
        end = int(last) if last else size - 1
    except ValueError:
        return None
    if start < 0 or (last and end < start):
        return None  # syntactically invalid: ignore the header
    if start >= size:
        return "unsatisfiable"
    return start, min(end, size - 1)


def render_html(page: Mapping[str, Any]) -> str:
    """PEP 503 HTML for a PEP 691 project page (with PEP 592/658/714 attributes)."""
    name = str(page.get("name", ""))
    lines = [
        "<!DOCTYPE html>",
        "<html>",
        "<head>",
        '<meta name="pypi:repository-version" content="1.1">',
        f"<title>Links for {html.escape(name)}</title>",
        "</head>",
        "<body>",
        f"<h1>Links for {html.escape(name)}</h1>",
    ]
    for f in page.get("files", []):
        href = str(f["url"])
        hashes: Mapping[str, str] = f.get("hashes") or {}
        if hashes:
            algo = "sha256" if "sha256" in hashes else sorted(hashes)[0]
            href = f"{href}#{algo}={hashes[algo]}"
        attrs = [f'href="{html.escape(href)}"']
        if f.get("requires-python"):
            attrs.append(f'data-requires-python="{html.escape(str(f["requires-python"]))}"')
        yanked = f.get("yanked")
        if yanked:
            reason = yanked if isinstance(yanked, str) else ""
            attrs.append(f'data-yanked="{html.escape(reason)}"')
        meta = f.get("core-metadata", f.get("dist-info-metadata"))
        if meta:
            if isinstance(meta, Mapping) and meta:
                algo = "sha256" if "sha256" in meta else sorted(meta)[0]
                value = f"{algo}={meta[algo]}"
            else:
                value = "true"
            attrs.append(f'data-dist-info-metadata="{html.escape(value)}"')
            attrs.append(f'data-core-metadata="{html.escape(value)}"')
        lines.append(f"<a {' '.join(attrs)}>{html.escape(str(f['filename']))}</a><br/>")
    lines += ["</body>", "</html>", ""]
    return "\n".join(lines)


def wheel_metadata(wheel: Path | str) -> bytes:
    """The METADATA bytes of a wheel's top-level .dist-info directory."""
    with zipfile.ZipFile(wheel) as zf:
        for member in zf.namelist():
            if member.count("/") == 1 and member.endswith(".dist-info/METADATA"):
                return zf.read(member)
    raise ValueError(f"{wheel}: no .dist-info/METADATA")


def _record_hash(data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
    return "sha256=" + digest.decode()


def build_wheel(
    tmp_path: Path,
    name: str,
    version: str,
    tag: str = "py3-none-any",
    requires_dist: Iterable[str] = (),
    files: Mapping[str, bytes | str] | None = None,
    *,
    requires_python: str | None = None,
    extra_metadata: Iterable[tuple[str, str]] = (),
) -> Path:
    """Write a small but real wheel into ``tmp_path`` and return its path.

    It holds ``<name>-<version>.dist-info/{METADATA,WHEEL,RECORD}`` plus ``files``
    (archive name -> content), written deterministically (fixed timestamps).
    """
    stem = re.sub(r"[-_.]+", "_", name)
    dist_info = f"{stem}-{version}.dist-info"
    meta_lines = ["Metadata-Version: 2.1", f"Name: {name}", f"Version: {version}"]
    if requires_python is not None:
        meta_lines.append(f"Requires-Python: {requires_python}")
    meta_lines += [f"{k}: {v}" for k, v in extra_metadata]
    meta_lines += [f"Requires-Dist: {r}" for r in requires_dist]
    metadata = ("\n".join(meta_lines) + "\n").encode()
    purelib = tag.endswith("-none-any")
    wheel_lines = [
        "Wheel-Version: 1.0",
        "Generator: tripin-tests",
        f"Root-Is-Purelib: {'true' if purelib else 'false'}",
    ]
    interp, abi, plat = tag.split("-")
    for i in interp.split("."):
        for a in abi.split("."):
            for p in plat.split("."):
                wheel_lines.append(f"Tag: {i}-{a}-{p}")
    wheel_text = ("\n".join(wheel_lines) + "\n").encode()
    members: list[tuple[str, bytes]] = [
        (path, content.encode() if isinstance(content, str) else content) for path, content in (files or {}).items()
    ]
    members += [(f"{dist_info}/METADATA", metadata), (f"{dist_info}/WHEEL", wheel_text)]
    record = io.StringIO()
    writer = csv.writer(record, lineterminator="\n")
    for path, content in members:
        writer.writerow([path, _record_hash(content), str(len(content))])
    writer.writerow([f"{dist_info}/RECORD", "", ""])
    members.append((f"{dist_info}/RECORD", record.getvalue().encode()))
    tmp_path.mkdir(parents=True, exist_ok=True)
    out = tmp_path / f"{stem}-{version}-{tag}.whl"
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for path, content in members:
            info = zipfile.ZipInfo(path, date_time=(2020, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, content)
    return out


@contextlib.contextmanager
def serve(root: Path | str) -> Iterator[IndexServer]:
    """Run an :class:`IndexServer` over ``root`` for the duration of a with-block."""
    server = IndexServer(root).start()
    try:
        yield server
    finally:
        server.stop()


def wait_for(predicate: Any, timeout: float = 5.0) -> bool:
    """Poll ``predicate()`` until true or ``timeout`` seconds pass."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return bool(predicate())

"""One pooled HTTPS client with bounded retries, a total deadline and a size cap per request."""

from __future__ import annotations

import contextlib
import logging
import math
import os
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from tripin.errors import ConfigError, IndexFetchError
from tripin.index.models import redact_url

if TYPE_CHECKING:  # imported on the first request: a run that the cache answers needs neither
    import ssl

    import httpx

__all__ = ["IGNORED_RANGE", "Fetcher", "Response", "Stats", "is_loopback", "load_httpx", "origin_key"]

_log = logging.getLogger("tripin.http")
_RETRY_STATUS = frozenset({429, 500, 502, 503, 504})
_RETRIES = 3
# A read timeout is retried once: a server that accepts and then says nothing rarely recovers,
# and four full waits made the default give-up time 124.5 s (pip's is about 90 s); two are 60 s.
_READ_TIMEOUT_RETRIES = 1
_MAX_RETRY_AFTER = 10.0
# a range read answered with the whole file (200), too large to take (tripin/index/rangezip.py)
IGNORED_RANGE = "the server ignores Range requests and the wheel is too large to download"


@dataclass(frozen=True, slots=True)
class Response:
    status: int
    body: bytes
    headers: Mapping[str, str]
    url: str = ""  # where the body came from, after redirects, without userinfo: what links on it are relative to


@dataclass(slots=True)
class Stats:
    """What went over the wire in one run, for --verbose and the benchmarks."""

    requests: int = 0
    bytes: int = 0
    in_flight: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, nbytes: int) -> None:
        with self._lock:
            self.requests += 1
            self.bytes += nbytes

    def flight(self, delta: int) -> None:
        with self._lock:
            self.in_flight += delta


_CERT_ENV = ("TRIPIN_CERT", "PIP_CERT", "SSL_CERT_FILE", "REQUESTS_CA_BUNDLE")


def _ssl_context() -> ssl.SSLContext:
    """A CA bundle named by the variables users already set (tripin's, pip's, OpenSSL's,
    requests'), else the system trust store as pip uses it (truststore). Always verified."""
    import ssl

    for key in _CERT_ENV:
        bundle = os.environ.get(key, "").strip()
        if bundle:
            try:
                if Path(bundle).is_dir():  # a hashed certificate directory, as pip and requests take it
                    return ssl.create_default_context(capath=bundle)
                return ssl.create_default_context(cafile=bundle)
            except (OSError, ssl.SSLError) as exc:
                raise IndexFetchError(f"{key}={bundle}: cannot load the CA bundle ({exc})") from None
    import truststore

    return truststore.SSLContext(ssl.PROTOCOL_TLS_CLIENT)


def _retry_after(value: str | None, attempt: int) -> float:
    if value:
        try:
            return min(float(value), _MAX_RETRY_AFTER)
        except ValueError:
            try:
                import email.utils

                when: float = email.utils.parsedate_to_datetime(value).timestamp()
            except (TypeError, ValueError):
                return 1.0
            return min(max(when - time.time(), 0.0), _MAX_RETRY_AFTER)
    return 0.25 * float(1 << attempt)


class Fetcher:
    """Every request tripin makes goes through here, so retries, deadlines, caps and the
    byte count are the same for pages, metadata files and range reads."""

    def __init__(self, *, timeout: float | None = None, max_connections: int = 16, http2: bool | None = None) -> None:
        """`timeout` (default TRIPIN_HTTP_TIMEOUT, else 30 s) bounds connecting and each read;
        a whole response must arrive within four times that, so a server that drips one byte
        at a time cannot hold a run forever. httpx, TLS and the trust store are set up on the
        first request: a run that the cache answers never pays for them."""
        if timeout is None:
            text = os.environ.get("TRIPIN_HTTP_TIMEOUT", "")
            try:
                timeout = float(text or 30.0)
            except ValueError:
                timeout = math.nan
            if not 0 < timeout <= 86_400:  # nan, inf and negatives reached httpx and the clock as tracebacks
                raise ConfigError(f"TRIPIN_HTTP_TIMEOUT={text!r}: must be a number of seconds, above 0, at most 86400")
        self.deadline = 4 * timeout
        self.stats = Stats()
        self._timeout = timeout
        self._max_connections = max_connections
        self._http2 = http2
        self._made: httpx.Client | None = None
        self._making = threading.Lock()
        self._warming = False
        self._warming_lock = threading.Lock()
        # no more requests in httpx at once than it has connections: with more waiting in it,
        # httpcore's pool stalled for its 5 s keep-alive expiry now and then (4 connections,
        # 16 threads: 6.3 s runs). Callers may then run more threads than connections.
        self._slots = threading.BoundedSemaphore(max_connections)
        # credentials given in index URLs, by origin and path: the files and metadata an index
        # links to on its own host are fetched with them, as pip does (their URLs never carry them)
        self.credentials: dict[tuple[str, str], tuple[str, str | None]] = {}

    def add_credentials(self, url: str) -> None:
        """Remember the userinfo of an index URL for its origin and path (the first index's
        wins where two URLs share both; auth.given_for says which index a file URL is of)."""
        from urllib.parse import unquote, urlsplit

        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError:
            return  # config refuses such URLs before they get here
        if parts.username is None or not parts.hostname:
            return
        password = None if parts.password is None else unquote(parts.password)
        key = (origin_key(parts.scheme, parts.hostname, port), unquote(parts.path).rstrip("/") + "/")
        self.credentials.setdefault(key, (unquote(parts.username), password))

    def warm(self) -> None:
        """Load httpx and set up TLS now rather than at the first request."""
        _ = self._client

    @property
    def ready(self) -> bool:
        """Whether httpx and TLS are set up: a request made now pays for neither."""
        return self._made is not None

    def warm_soon(self) -> None:
        """`warm`, in a thread of its own, once. Not under the lock that `warm` holds while it
        loads httpx: the second caller waited for that (the range read of torch's second
        target left 100 ms after the first's)."""
        with self._warming_lock:
            if self._warming:
                return
            self._warming = True
        threading.Thread(target=self._warm_quietly, name="tripin-http-setup", daemon=True).start()

    def _warm_quietly(self) -> None:
        """A failure here (a CA bundle that cannot be loaded) is left for the first request
        that needs the client to raise as a one-line error; a thread would print a traceback."""
        with contextlib.suppress(Exception):
            self.warm()

    @property
    def max_connections(self) -> int:
        return self._max_connections

    @property
    def _client(self) -> httpx.Client:
        client = self._made
        if client is None:
            with self._making:
                if self._made is None:
                    self._made = self._new_client()
                client = self._made
        return client

    def _new_client(self) -> httpx.Client:
        load_httpx()
        import httpx

        from tripin.index.auth import IndexAuth

        http2 = self._http2
        if http2 is None:
            # HTTP/1.1 unless asked: httpcore's HTTP/2 connection shares one HPACK state between
            # threads and breaks under concurrent requests ("deque mutated during iteration",
            # encode/httpx#3566, open), and 16 pooled HTTP/1.1 connections measured as fast
            http2 = os.environ.get("TRIPIN_HTTP2", "0") == "1" and _have_h2()
        timeout = self._timeout
        return httpx.Client(
            http2=http2,
            auth=IndexAuth(self.credentials),
            verify=_ssl_context(),
            timeout=httpx.Timeout(timeout, connect=min(timeout, 15.0)),
            follow_redirects=True,
            limits=httpx.Limits(max_connections=self._max_connections, max_keepalive_connections=self._max_connections),
            headers={"User-Agent": "tripin"},
        )

    def close(self) -> None:
        with self._making:
            if self._made is not None:
                self._made.close()

    def get(
        self,
        url: str,
        headers: Mapping[str, str] | None = None,
        *,
        max_bytes: int,
        ok: frozenset[int] = frozenset({200}),
        on_too_big: str | None = None,
    ) -> Response:
        """GET with bounded retries on 429/5xx and transport faults. Statuses outside `ok`
        and 404 raise; 404 is returned so callers can try the next index."""
        import httpx

        where = redact_url(url)
        last = ""
        for attempt in range(_RETRIES + 1):
            try:
                response = self._once(url, headers or {}, max_bytes, on_too_big)
            except httpx.TooManyRedirects:  # a redirect loop: no retry makes it end
                raise IndexFetchError(f"{where}: too many redirects (a redirect loop on the index)") from None
            except httpx.TransportError as exc:
                last = f"{where}: {_describe(exc)}"
                if attempt < (_READ_TIMEOUT_RETRIES if isinstance(exc, httpx.ReadTimeout) else _RETRIES):
                    time.sleep(0.25 * (2**attempt))
                    continue
                raise IndexFetchError(last) from None
            if response.status in _RETRY_STATUS and attempt < _RETRIES:
                _log.info("%s: HTTP %d, retrying (%d of %d)", where, response.status, attempt + 1, _RETRIES)
                time.sleep(_retry_after(response.headers.get("retry-after"), attempt))
                continue
            if response.status in ok or response.status == 404:
                return response
            if response.status in (401, 403):
                raise IndexFetchError(
                    f"{where}: HTTP {response.status}: credentials missing or rejected by the index",
                    hint="give credentials in the index URL, ~/.netrc or keyring",
                )
            raise IndexFetchError(f"{where}: HTTP {response.status}")
        raise IndexFetchError(last or f"{where}: giving up after {_RETRIES} retries")

    def _once(self, url: str, headers: Mapping[str, str], max_bytes: int, on_too_big: str | None) -> Response:
        with self._slots:
            self.stats.flight(+1)
            try:
                return self._request(url, headers, max_bytes, on_too_big)
            finally:
                self.stats.flight(-1)

    def _request(self, url: str, headers: Mapping[str, str], max_bytes: int, on_too_big: str | None) -> Response:
        start = time.monotonic()
        where = redact_url(url)
        with self._client.stream("GET", url, headers=dict(headers)) as r:
            if r.status_code in (200, 206) and on_too_big is not None and r.status_code == 200:
                length = r.headers.get("content-length")
                if length is None or int(length) > max_bytes:
                    raise IndexFetchError(f"{where}: {on_too_big}")
            chunks: list[bytes] = []
            total = 0
            for chunk in r.iter_bytes():  # decoded: the cap also stops compression bombs
                total += len(chunk)
                if total > max_bytes:
                    raise IndexFetchError(f"{where}: response larger than {max_bytes} bytes")
                if time.monotonic() - start > self.deadline:
                    raise IndexFetchError(f"{where}: no complete answer within {self.deadline:.0f}s")
                chunks.append(chunk)
            self.stats.add(r.num_bytes_downloaded)
            _log.debug(
                "GET %s%s -> %d (%d bytes)",
                where,
                f" [{headers['Range']}]" if "Range" in headers else "",
                r.status_code,
                r.num_bytes_downloaded,
            )
            headers = {k.lower(): v for k, v in r.headers.items()}
            return Response(r.status_code, b"".join(chunks), headers, redact_url(str(r.url)))


def load_httpx() -> None:
    """httpx without its command-line client. httpx/__init__ imports httpx._main, which loads
    click, rich.console, rich.syntax and pygments wherever click is installed (pip-tools, typer
    and flask bring it), for a command tripin never runs: 60 to 70 ms of a cold lock, in each of
    its two processes (importing httpx took 170 to 197 ms, and 100 to 130 ms without it, here;
    the page worker was ready after 259 ms, and 207 ms without it, median of 15). A None in
    sys.modules makes that import fail as it does where click is missing, which httpx expects
    (its `main` then says to install httpx[cli]); the entry is removed again, so that code
    importing httpx._main itself later still can."""
    import sys

    if "httpx" not in sys.modules and "httpx._main" not in sys.modules:
        sys.modules["httpx._main"] = None  # type: ignore[assignment]
        try:
            import httpx  # noqa: F401
        finally:
            if "httpx._main" in sys.modules and sys.modules["httpx._main"] is None:
                del sys.modules["httpx._main"]


_DEFAULT_PORTS = {"http": 80, "https": 443}


def origin_key(scheme: str, host: str, port: int | None) -> str:
    """`scheme://host:port`, the default port spelled out, so URLs that differ only in how
    they say the port share their credentials."""
    scheme = scheme.lower()
    return f"{scheme}://{host.lower()}:{port or _DEFAULT_PORTS.get(scheme, 0)}"


def in_clear_over_network(url: str) -> bool:
    """A plain-http URL to another machine: what it serves anyone on the way can read or change
    (warned about on every run that reads it; credentials are never sent there)."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme == "http" and not is_loopback(parts.hostname or "")


def is_loopback(host: str) -> bool:
    """This machine: plain http to it crosses no network (pip treats these as secure too)."""
    import ipaddress

    host = host.strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _have_h2() -> bool:
    import importlib.util

    return importlib.util.find_spec("h2") is not None


def _describe(exc: httpx.TransportError) -> str:
    import httpx

    if isinstance(exc, httpx.ConnectTimeout):
        return "connect timed out"
    if isinstance(exc, httpx.TimeoutException):
        return "timed out waiting for the index"
    if isinstance(exc, httpx.ConnectError):
        return f"cannot connect ({exc})"
    if isinstance(exc, httpx.RemoteProtocolError):
        return f"connection broken mid-response ({exc})"
    return f"{exc.__class__.__name__}: {exc}"

"""IndexClient: project pages and core metadata from one or more indexes, through the cache."""

from __future__ import annotations

import contextlib
import hashlib
import logging
import marshal
import re
import threading
import time
import zlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

from packaging.utils import NormalizedName, canonicalize_name

from tripin.errors import ConfigError, IndexFetchError, ProjectNotFound
from tripin.families import TORCH_FAMILY, VARIANT_FAMILY
from tripin.index.cache import Cache, Entry
from tripin.index.http import IGNORED_RANGE, Fetcher, Response, in_clear_over_network
from tripin.index.metadata import essential, parse_metadata
from tripin.index.models import DistFile, Index, Metadata, Project, Release, pack_releases, redact_url
from tripin.index.pageworker import BIG_PAGE, Page, PageWorker
from tripin.index.rangezip import RangeFetch, read_wheel_metadata
from tripin.index.simple import JSON_TYPE, parse_page

if TYPE_CHECKING:
    from tripin.targets import Target

__all__ = ["IndexClient", "refuse_variant_pins"]

_T = TypeVar("_T")
_ACCEPT = f"{JSON_TYPE}, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.01"
_PAGE_CAP = 64 * 1024 * 1024
_METADATA_CAP = 8 * 1024 * 1024
_SMALL_WHEEL = 16 * 1024 * 1024  # a server that ignores Range may send a wheel this small whole
_MAX_AGE = re.compile(r"max-age=(\d+)")
_HEURISTIC_MAX_AGE = 600.0
# the form of a cached page: a changed form is a cache miss, never misread (4: file URLs joined to
# the page's URL without userinfo; 3 held index credentials in the URLs of relative links)
_ROWS = "tripin-releases-4"
_log = logging.getLogger("tripin.index")


class IndexClient:
    """Looks names up in the indexes in order and takes the first that has the project (uv's
    first-index strategy): merging indexes is how dependency confusion happens. A name pinned
    to an index is looked up there alone."""

    def __init__(
        self,
        indexes: Sequence[Index],
        *,
        cache: Cache,
        pins: Mapping[NormalizedName, str] | None = None,
        routed: Sequence[Index] = (),
        offline: bool = False,
        refresh: bool = False,
        fetcher: Fetcher | None = None,
        workers: int = 48,
        worker: PageWorker | None = None,
    ) -> None:
        if not indexes:
            raise IndexFetchError("no index configured")
        self.indexes = list(indexes)
        # indexes used only when a caller routes a name there (a target's PyTorch variant index):
        # they never join the general lookup, so they cannot shadow PyPI for other names
        self.routed = {i.name: i for i in routed or ()}
        self.pins = dict(pins or {})
        unknown = set(self.pins.values()) - {i.name for i in self.indexes}
        if unknown:
            raise IndexFetchError(f"package pinned to unknown index {sorted(unknown)[0]!r}")
        self.cache = cache
        self.offline = offline
        self.refresh = refresh  # revalidate every cached page, however fresh
        self.fetcher = fetcher or Fetcher()
        _check_transport([*self.indexes, *self.routed.values()], self.fetcher)
        # more threads than connections (the fetcher lets no more requests into httpx than it
        # has connections): a page the worker process fetches holds a thread while it waits, and
        # with one thread per connection, the metadata requests of the pages already in came
        # 0.12 to 0.21 s after them, behind the pages still out
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="tripin-index")
        self._futures: dict[tuple[str, str], Future[object]] = {}
        self._lock = threading.Lock()
        self._inline = threading.local()
        self._parsing = threading.Lock()
        # pages are fetched and parsed, and metadata files fetched, in a second process
        # (pageworker.py), started with the first page to fetch, unless the caller brought its
        # own fetcher (then its settings hold for every request) or works offline; `worker`:
        # one the caller started early (PageWorker.start)
        self._worker = worker if worker is not None else None if fetcher is not None or offline else PageWorker()
        self._closed = False
        # per index: metadata read from the zip / only found as a `.metadata` file (see below)
        self._zip_ok: dict[str, int] = {}
        self._rescued: dict[str, int] = {}
        # every project page this run read, by cache key: the sha256 of its cached body, or None
        # for one the cache does not hold (a 404, or no cache): what relock.py checks before it
        # answers a later -U from the lock this run writes
        self.pages: dict[str, str | None] = {}

    def close(self, *, wait: bool = True, interrupted: bool = False) -> None:
        """`wait=False` (a refusal, a failure): fetches in flight are not waited for (one to an
        index that hangs held a one-line error for the whole timeout); the HTTP client is closed
        once they end, in the background. `interrupted` (Ctrl-C): both are left to the exiting
        process."""
        with self._lock:
            self._closed = True
        self._pool.shutdown(wait=wait and not interrupted, cancel_futures=True)
        if self._worker is not None:
            self._worker.close()
        if wait and not interrupted:
            self.fetcher.close()
        elif not interrupted:
            threading.Thread(target=self._close_when_idle, name="tripin-close", daemon=True).start()

    def _close_when_idle(self) -> None:
        self._pool.shutdown(wait=True)
        self.fetcher.close()

    def __enter__(self) -> IndexClient:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *exc: object) -> None:
        self.close(wait=exc_type is None, interrupted=exc_type is KeyboardInterrupt)

    # -- memoized, concurrent entry points ---------------------------------------------

    def _once(self, kind: str, key: str, fn: Callable[[], _T]) -> Future[_T]:
        """The one future for (kind, key). Its work starts in the calling thread and moves to
        the pool only when it needs the network: a cache hit costs no thread hand-off (under
        the GIL, hand-offs were most of a warm run), and a fetch never blocks the caller."""
        with self._lock:
            fut = self._futures.get((kind, key))
            if fut is not None:
                return fut  # type: ignore[return-value]
            fut = Future()
            if self._closed:  # a late prefetch callback after the run: nothing to do
                fut.set_exception(IndexFetchError("the index client is closed"))
                return fut  # type: ignore[return-value]
            self._futures[(kind, key)] = fut
        outer = getattr(self._inline, "on", False)
        self._inline.on = True
        try:
            result = fn()
        except _NeedsNetwork:
            try:
                self._pool.submit(_settle, fut, fn)
            except RuntimeError:  # the pool is shut down: the run is over
                fut.set_exception(IndexFetchError("the index client is closed"))
            return fut  # type: ignore[return-value]
        except Exception as exc:  # kept for whoever asks, as the pool would
            fut.set_exception(exc)
            return fut  # type: ignore[return-value]
        finally:
            self._inline.on = outer
        fut.set_result(result)
        return fut  # type: ignore[return-value]

    def _network(self) -> None:
        """Called before every request: inside _once's first, inline attempt it hands the
        work over to the pool."""
        if getattr(self._inline, "on", False):
            raise _NeedsNetwork

    def project(self, name: str, index: str | None = None) -> Project:
        """The project page from the usual indexes, or from the one named `index` alone."""
        return self.prefetch_project(name, index).result()

    def prefetch_project(self, name: str, index: str | None = None) -> Future[Project]:
        canonical = canonicalize_name(name)
        if index is not None:
            return self._once("project", f"{canonical}@{index}", lambda: self._load_routed(canonical, index))
        return self._once("project", canonical, lambda: self._load_project(canonical))

    def _load_routed(self, name: NormalizedName, index_name: str) -> Project:
        index = self.routed.get(index_name) or next((i for i in self.indexes if i.name == index_name), None)
        if index is None:
            raise IndexFetchError(f"no index named {index_name!r}")
        rows = self._page(index, name)
        if rows is None:
            raise ProjectNotFound(f"package {name!r} not found on index {index.public_url!r}")
        _log.info("%s: from %s (%d releases, routed)", name, index.public_url, len(rows))
        return Project(name=name, index=index, releases=rows)

    def metadata(self, file: DistFile) -> Metadata:
        return self.prefetch_metadata([file])[0].result()

    def prefetch_metadata(self, files: Iterable[DistFile]) -> list[Future[Metadata]]:
        """Start fetching metadata ahead of the resolver, which asks for it one at a time."""
        return [self._once("metadata", f.url, lambda f=f: self._load_metadata(f)) for f in files]  # type: ignore[misc]

    # -- project pages -----------------------------------------------------------------

    def _load_project(self, name: NormalizedName) -> Project:
        pinned = self.pins.get(name)
        candidates = [i for i in self.indexes if (i.name == pinned if pinned else not i.explicit)]
        if not pinned and name in TORCH_FAMILY and len(candidates) > 1:
            return self._load_unpinned_torch_family(name, candidates)
        for index in candidates:
            rows = self._page(index, name)
            if rows is not None:
                _log.info("%s: from %s (%d releases)", name, index.public_url, len(rows))
                return Project(name=name, index=index, releases=rows)
        where = (
            f"index {candidates[0].public_url!r}"
            if pinned
            else ("any index (" + ", ".join(i.public_url for i in candidates) + ")")
        )
        close = self._close_names(name)
        raise ProjectNotFound(
            f"package {name!r} not found on {where}"
            + (f"; did you mean {' or '.join(map(repr, close))}?" if close else "")
        )

    def _close_names(self, name: str) -> list[str]:
        """Names this run has fetched, or the cache holds, that look like a typo of `name`."""
        import difflib

        with self._lock:
            seen = {key.partition("@")[0] for kind, key in self._futures if kind == "project"}
        seen |= set(self.cache.project_names())
        seen.discard(name)
        return difflib.get_close_matches(name, sorted(seen), n=2, cutoff=0.8)

    def _load_unpinned_torch_family(self, name: NormalizedName, indexes: Sequence[Index]) -> Project:
        """A torch-family name must come from exactly one index: in December 2022 a package
        named `torchtriton` on PyPI shadowed PyTorch's own for everyone who used both indexes."""
        distinct = list({index.public_url: index for index in reversed(indexes)}.values())[::-1]  # first wins
        found = [(index, files) for index in distinct if (files := self._page(index, name)) is not None]
        if len(found) > 1:
            where = ", ".join(index.public_url for index, _ in found)
            raise IndexFetchError(
                f"{name!r} is on more than one index ({where}) and is pinned to none: refusing it, as an "
                "impostor on one index could win (the torchtriton dependency confusion, December 2022)",
                hint=f"pin it: [[tool.tripin.index]] name = ..., url = ..., packages = [{name!r}]",
            )
        if not found:  # every index answered 404: a fact about the name, as with one index
            raise ProjectNotFound(
                f"package {name!r} not found on any index (" + ", ".join(i.public_url for i in indexes) + ")"
            )
        index, rows = found[0]
        return Project(name=name, index=index, releases=rows)

    def _page(self, index: Index, name: NormalizedName) -> tuple[Release, ...] | None:
        """The page's releases: from the cache while fresh, else fetched (revalidated when
        cached). The cache keeps the parsed form, not the page: a warm run never parses a page
        again, and that form takes a third of the page's bytes."""
        url = f"{index.url.rstrip('/')}/{name}/"
        key = redact_url(url)
        cached = self.cache.get("projects", key)
        rows = _decode_rows(cached.body) if cached is not None else None
        if rows is None:
            cached = None
        if cached is not None and rows is not None and (self.offline or (cached.fresh() and not self.refresh)):
            _log.debug("%s: from the cache", key)
            self.pages[key] = cached.sha256
            return rows
        if self.offline:
            raise IndexFetchError(
                f"offline: no cached project page for {name!r} ({key})",
                hint="run once without --offline to fill the cache",
            )
        self._network()
        if self._worker is not None:
            self._worker.start()  # once; a run whose pages are all fresh in the cache starts none
        headers = {"Accept": _ACCEPT}
        if cached is not None:
            if cached.etag:
                headers["If-None-Match"] = cached.etag
            if cached.last_modified:
                headers["If-Modified-Since"] = cached.last_modified
        page = self._from_worker(url, headers, _PAGE_CAP, project=name)
        response_headers: Mapping[str, str]
        if page is not None:
            status, response_headers, fresh = page.status, page.headers, page.releases
        else:  # fetched and parsed here: no worker, or not yet, or not this page
            response = self.fetcher.get(url, headers, max_bytes=_PAGE_CAP, ok=frozenset({200, 304}))
            status, response_headers, fresh = response.status, response.headers, None
            if status == 200:
                # one big page at a time: parsed, it takes ten times its bytes; small pages go past,
                # as most of them are on the way to the next dependency and a big one takes 0.2 s
                with self._parsing if len(response.body) > BIG_PAGE else contextlib.nullcontext():
                    content_type = response.headers.get("content-type", "")
                    # links are relative to where the page came from after redirects, and never
                    # to the credentials of the URL asked for: the rows go to the cache
                    base = response.url or key
                    fresh = pack_releases(parse_page(response.body, content_type, base, name))  # parse before caching
        max_age = _max_age(response_headers)
        if status == 304 and cached is not None and rows is not None:
            _log.debug("%s: unchanged (304)", key)
            if "cache-control" not in response_headers:
                # a 304 updates the stored response with the fields it has (RFC 9111 4.3.4): one
                # that leaves Cache-Control out keeps the page's max-age, not none at all
                max_age = cached.max_age
            self.pages[key] = self.cache.touch("projects", key, cached, max_age)
            return rows
        if status == 404:
            self.pages[key] = None
            return None
        if fresh is None:  # a 304 to a request that asked for none
            raise IndexFetchError(f"{key}: HTTP {status} without a page")
        rows = fresh
        self.pages[key] = self.cache.put(
            "projects",
            key,
            Entry(
                body=_encode_rows(rows),
                content_type=response_headers.get("content-type", ""),
                etag=response_headers.get("etag"),
                last_modified=response_headers.get("last-modified"),
                stored_at=time.time(),
                max_age=max_age,
            ),
        )
        return rows

    # -- metadata ------------------------------------------------------------------------

    def _load_metadata(self, file: DistFile) -> Metadata:
        where = redact_url(file.url)
        if not file.is_wheel:
            raise IndexFetchError(f"{where}: reading metadata from an sdist needs a build; not supported")
        key = f"{where}#{file.sha256 or ''}"
        cached = self.cache.get("metadata", key)
        if cached is not None:
            _log.debug("%s: metadata from the cache", file.filename)
            body = cached.body
            if body[:1] == b"x":  # zlib's header; METADATA starts "Metadata-Version"
                with contextlib.suppress(zlib.error):  # else it is kept as read
                    body = zlib.decompress(body)
            return self._checked(parse_metadata(body, where), file, where)
        if self.offline:
            raise IndexFetchError(
                f"offline: no cached metadata for {file.filename}", hint="run once without --offline to fill the cache"
            )
        self._network()
        body = self._fetch_metadata(file, where)
        metadata = self._checked(parse_metadata(body, where), file, where)
        self.cache.put("metadata", key, Entry(body=zlib.compress(essential(body)), stored_at=time.time()))
        return metadata

    def _fetch_metadata(self, file: DistFile, where: str) -> bytes:
        if file.core_metadata is not None:  # advertised (PEP 658/714): it must be there
            response = self._get_file(file.url + ".metadata", _METADATA_CAP)
            if response.status == 404:
                raise IndexFetchError(f"{where}.metadata: advertised by the index but not found (HTTP 404)")
            if file.core_metadata and hashlib.sha256(response.body).hexdigest() != file.core_metadata:
                raise IndexFetchError(f"{where}.metadata: sha256 does not match the index's core-metadata hash")
            return response.body
        # not advertised: read the zip's directory and METADATA with range requests, as uv
        # does. A `.metadata` file may still answer where that fails (a static mirror that
        # stores no wheels, or ignores Range on a large one). Asking for it first would cost a
        # round trip per wheel elsewhere, and on a partial mirror its 404 takes 0.1 to 1.7 s;
        # so it is asked for first only on an index where it has rescued more reads than
        # range requests have served.
        index = file.index
        rescued = self._rescued.get(index, 0)
        if rescued >= 2 and rescued > self._zip_ok.get(index, 0):
            response = self.fetcher.get(file.url + ".metadata", max_bytes=_METADATA_CAP)
            if response.status == 200:
                return response.body
            return read_wheel_metadata(self.range_fetcher(file.url, sha256=file.sha256), where)
        try:
            body = read_wheel_metadata(self.range_fetcher(file.url, sha256=file.sha256), where)
        except IndexFetchError as exc:
            response = self.fetcher.get(file.url + ".metadata", max_bytes=_METADATA_CAP)
            if response.status != 200:
                raise exc from None
            self._rescued[index] = self._rescued.get(index, 0) + 1
            return response.body
        self._zip_ok[index] = self._zip_ok.get(index, 0) + 1
        return body

    def _get_file(self, url: str, max_bytes: int) -> Response:
        """A file fetched by the worker process where it can (pageworker.py says why), else here.
        Not where an index URL carries credentials: the worker's client is not given them."""
        if not self.fetcher.credentials and (got := self._from_worker(url, {}, max_bytes, kind="file")) is not None:
            return Response(got.status, got.body or b"", got.headers, got.url)
        return self.fetcher.get(url, max_bytes=max_bytes)

    def _get_range(self, url: str, headers: dict[str, str]) -> Response:
        """A range read: where an index advertises no metadata files, every METADATA is two or
        three. The first had this process load httpx and set up TLS (0.1 to 0.2 s, after the
        worker had fetched torch's page), so from then on that is done in a thread, and the
        worker makes the range reads until it is done; not after, as the worker also parses
        the pages, and json.loads holds its GIL for a whole page (transformers and datasets
        on 8 targets, 31 MB of pages: 2.33 s with every range read in the worker, 2.06 s with
        every one here, 2.04 s so; torch alone on 2 targets: 1.11 s with every one here, 0.82 s
        so; medians of 9 to 12 cold locks on the real PyPI, here)."""
        if not self.fetcher.ready and not self.fetcher.credentials and self._worker is not None:
            self.fetcher.warm_soon()
            if (got := self._from_worker(url, headers, _SMALL_WHEEL, kind="range")) is not None:
                return Response(got.status, got.body or b"", got.headers, got.url)
        return self.fetcher.get(
            url, headers, max_bytes=_SMALL_WHEEL, ok=frozenset({200, 206}), on_too_big=IGNORED_RANGE
        )

    def _from_worker(self, url: str, headers: dict[str, str], max_bytes: int, **kind: str) -> Page | None:
        """The worker's answer, its log lines logged here and its error raised here, as an
        in-process fetch would; None where the caller fetches it itself."""
        if self._worker is None:
            return None
        got = self._worker.fetch(url, headers, max_bytes, timeout=3 * self.fetcher.deadline, **kind)
        if got is None or got.status < 0:
            return None
        for level, line in got.log:
            _log.log(level, "%s", line)
        if got.error is not None:
            raise IndexFetchError(got.error, hint=got.hint)
        self.fetcher.stats.add(got.nbytes)
        return got

    def range_fetcher(self, url: str, *, sha256: str | None = None) -> RangeFetch:
        """Range reads of one remote file, for zipfile; falls back to one whole download only
        when the server ignores Range and the file is small, and then checks it against the
        index's sha256 (parts of a file cannot be checked; a whole one can)."""
        where = redact_url(url)
        whole: list[bytes] = []

        def fetch(start: int | None, end: int) -> tuple[bytes, int]:
            if whole:
                body = whole[0]
                return (body[-end:] if start is None else body[start : end + 1]), len(body)
            spec = f"bytes=-{end}" if start is None else f"bytes={start}-{end}"
            response = self._get_range(url, {"Range": spec, "Accept-Encoding": "identity"})
            if response.status == 404:
                raise IndexFetchError(f"{where}: HTTP 404")
            if response.status == 200:  # Range ignored, and the wheel is small: use it whole
                if sha256 and hashlib.sha256(response.body).hexdigest() != sha256:
                    raise IndexFetchError(f"{where}: sha256 of the downloaded file does not match the index")
                whole.append(response.body)
                return fetch(start, end)
            match = re.fullmatch(r"bytes (\d+)-(\d+)/(\d+)", response.headers.get("content-range", ""))
            if not match:
                raise IndexFetchError(f"{where}: range response without a valid Content-Range")
            return response.body, int(match[3])

        return fetch

    @staticmethod
    def _checked(metadata: Metadata, file: DistFile, where: str) -> Metadata:
        if metadata.name != file.name or metadata.version != file.version:
            raise IndexFetchError(
                f"{where}: metadata names {metadata.name} {metadata.version}, "
                f"the file name says {file.name} {file.version}"
            )
        return metadata


def refuse_variant_pins(targets: Sequence[Target], pins: Mapping[NormalizedName, str]) -> None:
    """A variant target takes the torch and Triton families from its PyTorch index alone (its
    torch 2.6.0+cu126 runs the Triton that index builds with it), so a [[tool.tripin.index]] pin
    of one of those names cannot hold there: refused, never passed over in silence. Called
    before any request, so here and not in the resolver, which `tripin lock` loads after it has
    asked for the roots' pages."""
    for target in targets:
        pinned = sorted(n for n in pins if n in VARIANT_FAMILY) if target.variant else []
        if pinned:
            raise ConfigError(
                f"{pinned[0]} is pinned to index {pins[pinned[0]]!r} ([[tool.tripin.index]]), but target "
                f"{target.name} takes the torch and Triton families from the PyTorch index's /{target.variant} root "
                "alone: drop the pin or the variant target, or set pytorch-index-url to a mirror you trust"
            )


def _check_transport(indexes: Iterable[Index], fetcher: Fetcher) -> None:
    """Credentials in an index URL go to its host for the files it links to as well; none go
    in clear text over a network, and an index read over one is said once (pip ignores such an
    index unless told to trust its host). This machine's own indexes are exempt."""
    warned: set[str] = set()
    for index in indexes:
        fetcher.add_credentials(index.url)
        if not in_clear_over_network(index.url) or index.public_url in warned:
            continue
        if urlsplit(index.url).username is not None:
            raise ConfigError(
                f"index {index.public_url}: refusing to send its credentials over plain http "
                "(anyone on the network could read them)",
                hint="use the index's https:// URL, or reach it through a tunnel on localhost",
            )
        warned.add(index.public_url)
        _log.warning(
            "warning: index %s is plain http: anyone on the network can read or change what it serves; use https://",
            index.public_url,
        )


class _NeedsNetwork(Exception):
    """Raised by _network() during an inline attempt; never leaves the client."""


def _settle(fut: Future[Any], fn: Callable[[], Any]) -> None:
    """Run fn in the calling thread (the pool's) and put its outcome in fut."""
    try:
        result = fn()
    except BaseException as exc:  # kept for whoever asks, as the pool would
        fut.set_exception(exc)
        return
    fut.set_result(result)


def _encode_rows(releases: tuple[Release, ...]) -> bytes:
    """marshal, the fastest serializer for tuples of strings and bytes (each release is
    compressed on its own, see pack_releases). The cache checksums the bytes, so what is read
    back is what was written."""
    return marshal.dumps((_ROWS, releases))


def _decode_rows(body: bytes) -> tuple[Release, ...] | None:
    """None for anything but rows in this form (another version's marshal, another layout).
    marshal builds values and runs no code (unlike pickle); the bytes come from the user's own
    cache and passed its checksum."""
    try:
        form, rows = marshal.loads(body)  # noqa: S302
    except (ValueError, EOFError, TypeError):
        return None
    if form != _ROWS or not isinstance(rows, tuple):
        return None
    return rows


def _max_age(headers: Mapping[str, str]) -> float:
    """Freshness of a page in seconds. With no Cache-Control and no validator at all (so no
    cheap revalidation is possible) use a heuristic lifetime, as RFC 9111 section 4.2.2 allows:
    PyPI itself says max-age=600 for these pages."""
    cache_control = headers.get("cache-control")
    if cache_control is None:
        return 0.0 if ("etag" in headers or "last-modified" in headers) else _HEURISTIC_MAX_AGE
    if "no-cache" in cache_control or "no-store" in cache_control:
        return 0.0
    match = _MAX_AGE.search(cache_control)
    return float(match[1]) if match else 0.0

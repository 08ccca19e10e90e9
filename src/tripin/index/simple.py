"""Parse PEP 691 JSON and PEP 503 HTML project pages into compact rows; no I/O here.

A row keeps a file's fields as plain strings (its tags too): a page is parsed once, stored in
the cache in this form, and only the files the resolver looks at become DistFile objects.
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Mapping
from html.parser import HTMLParser
from typing import Any
from urllib.parse import unquote, urldefrag, urljoin

from packaging.utils import canonicalize_name

from tripin.errors import IndexFetchError, quote
from tripin.index.models import DistFile, Index, Raw, Row, redact_url, short_url, to_distfile, to_row

__all__ = [
    "JSON_TYPE",
    "html_raw",
    "html_rows",
    "json_raw",
    "json_rows",
    "own_files",
    "parse_html_page",
    "parse_json_page",
    "parse_page",
]

JSON_TYPE = "application/vnd.pypi.simple.v1+json"
_log = logging.getLogger("tripin.index")


def parse_page(body: bytes | list[bytes], content_type: str, page_url: str, project: str | None = None) -> list[Raw]:
    """Dispatch on the response's content type, as PEP 691 content negotiation allows either.
    With `project`, files whose names give another project are dropped (see own_files). A
    one-item list hands the page over: its bytes leave it as they are decoded, so no one holds
    them while the parsed objects are made (pydantic-core's 7 MB page: a peak 7 MB lower, in
    the page worker, whose peak decides a cold lock's)."""
    parse = json_raw if content_type.split(";")[0].strip() == JSON_TYPE else html_raw
    files = parse(body, page_url)
    return files if project is None else own_files(files, project, page_url)


def own_files(files: list[Raw], project: str, page_url: str) -> list[Raw]:
    """The files of `project` alone: a page that lists `other-1.0-py3-none-any.whl` does not
    make it a release of the project asked for. pip ignores such a file, and uv warns ("listed
    a wheel for 'other' when queried for 'mypkg'"); so does tripin, once per page. A name that
    does not parse stays, for to_row to refuse."""
    kept = [raw for raw in files if _project_of(raw[0]) in (project, None)]
    if len(kept) < len(files):
        other = next(raw[0] for raw in files if _project_of(raw[0]) not in (project, None))
        _log.warning(
            "warning: %s lists %d file(s) of other projects (such as %s); ignored",
            redact_url(page_url),
            len(files) - len(kept),
            other,
        )
    return kept


def _project_of(filename: str) -> str | None:
    """The normalized project a wheel's file name gives: up to its first `-` (PEP 427 escapes
    any other). None for an sdist: its name and version are not told apart by the file name
    (`cffi-1.0.2-2.tar.gz` is cffi 1.0.2.post2, `mpmath-all-0.17.tar.gz` an old upload of
    mpmath's), and tripin locks wheels only, so no sdist is taken for another project's."""
    if filename.endswith(".whl"):
        return _canonical(filename.partition("-")[0])
    return None


@functools.lru_cache(maxsize=1024)
def _canonical(name: str) -> str:
    return canonicalize_name(name)  # once per spelling: a page repeats its name in every file


def parse_json_page(body: bytes, page_url: str, index: Index) -> list[DistFile]:
    return [to_distfile(row, index.name) for row in json_rows(body, page_url)]


def parse_html_page(body: bytes, page_url: str, index: Index) -> list[DistFile]:
    return [to_distfile(row, index.name) for row in html_rows(body, page_url)]


def _metadata_hash(value: object) -> str | None:
    # PEP 714: `core-metadata` is true/false or a dict of hashes; "" = advertised, hash unknown
    if isinstance(value, Mapping):
        return str(value.get("sha256", ""))
    return "" if value is True else None


def _taken(body: bytes | list[bytes]) -> bytes:
    return body.pop() if isinstance(body, list) else body


def json_raw(body: bytes | list[bytes], page_url: str) -> list[Raw]:
    where = redact_url(page_url)
    try:
        data = json.loads(_taken(body))  # json.loads drops the bytes once it has decoded them
    except (ValueError, RecursionError) as exc:
        raise IndexFetchError(f"{where}: invalid JSON project page ({exc.__class__.__name__})") from None
    if not isinstance(data, dict) or not isinstance(data.get("files"), list):
        raise IndexFetchError(f"{where}: not a PEP 691 project page (no 'files' list)")
    api = str((data.get("meta") or {}).get("api-version", ""))
    if not api.startswith("1."):
        raise IndexFetchError(f"{where}: unsupported simple API version {api!r} (need 1.x)")
    join = _Joiner(page_url)
    files, out = data.pop("files"), []
    for i, entry in enumerate(files):
        out.append(_json_file(entry, join, where))
        files[i] = None  # a big page's dicts go as their rows come: a lower peak of memory
    return out


def json_rows(body: bytes, page_url: str) -> list[Row]:
    return [row for raw in json_raw(body, page_url) if (row := to_row(raw)) is not None]


class _Joiner:
    """urljoin, short-cut for the two shapes real indexes use: absolute URLs (PyPI) and names
    relative to the page (a static mirror); anything else goes through urljoin."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.dir = base if base.endswith("/") else base.rsplit("/", 1)[0] + "/"

    def __call__(self, url: str) -> str:
        if url.startswith(("https://", "http://")) and "/." not in url:
            return url
        if url and url[0] not in "/.?#" and ":" not in url and "/." not in url:
            return self.dir + url
        return _joined(self.base, url)


def _joined(base: str, url: str) -> str:
    """urljoin, with a link it cannot read (`//[`, an IPv6 host never closed: ValueError) a
    malformed page rather than a traceback."""
    try:
        return urljoin(base, url)
    except ValueError:
        raise IndexFetchError(f"{redact_url(base)}: malformed link {quote(url)} in project page") from None


def _json_file(entry: Any, join: _Joiner, where: str) -> Raw:
    """The entry's fields as the page gives them: checked for what it takes to group the file
    by version and store it, and no more. Everything else is checked when the release is
    unpacked (models.to_row), which a run does for a few releases of a page, not thousands."""
    if not isinstance(entry, dict):
        raise IndexFetchError(f"{where}: malformed file entry in project page")
    get = entry.get
    filename, url, hashes = get("filename"), get("url"), get("hashes") or {}
    if not isinstance(filename, str) or not isinstance(url, str) or not isinstance(hashes, dict):
        raise IndexFetchError(f"{where}: malformed file entry in project page")
    meta = get("core-metadata")
    if meta is None:
        meta = get("dist-info-metadata")
    return (
        filename,
        short_url(join(url), filename),
        hashes,
        get("requires-python"),
        bool(get("yanked")),
        get("size"),
        get("upload-time"),
        None if meta is None or meta is False else _metadata_hash(meta),
    )


class _Anchors(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.anchors: list[dict[str, str | None]] = []
        self.base: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self.anchors.append(dict(attrs))
        elif tag == "base" and self.base is None:
            self.base = dict(attrs).get("href")


def _html_metadata(attrs: Mapping[str, str | None]) -> str | None:
    for key in ("data-core-metadata", "data-dist-info-metadata"):
        if key in attrs:
            value = attrs[key] or "true"
            if value == "true":
                return ""
            algo, _, digest = value.partition("=")
            return digest if algo == "sha256" else ""
    return None


def html_raw(body: bytes | list[bytes], page_url: str) -> list[Raw]:
    """PEP 503 page; hashes come from the URL fragment, the only place that format keeps them."""
    parser = _Anchors()
    try:
        parser.feed(_taken(body).decode("utf-8", errors="replace"))
        parser.close()
    except (AssertionError, ValueError) as exc:  # html.parser raises these on broken markup
        raise IndexFetchError(f"{redact_url(page_url)}: invalid HTML project page ({exc})") from None
    base = _joined(page_url, parser.base) if parser.base else page_url
    out: list[Raw] = []
    for attrs in parser.anchors:
        href = attrs.get("href")
        if not href:
            continue
        url, fragment = urldefrag(_joined(base, href))
        algo, _, digest = fragment.partition("=")
        filename = unquote(url.rsplit("/", 1)[-1])
        out.append(
            (
                filename,
                short_url(url, filename),
                {algo: digest} if algo and digest else {},
                attrs.get("data-requires-python"),
                "data-yanked" in attrs,
                None,
                None,
                _html_metadata(attrs),
            )
        )
    return out


def html_rows(body: bytes, page_url: str) -> list[Row]:
    return [row for raw in html_raw(body, page_url) if (row := to_row(raw)) is not None]

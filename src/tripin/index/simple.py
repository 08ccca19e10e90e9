"""Parse PEP 691 JSON and PEP 503 HTML project pages into DistFiles; no I/O here."""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from html.parser import HTMLParser
from typing import Any
from urllib.parse import unquote, urldefrag, urljoin

from packaging.specifiers import InvalidSpecifier, SpecifierSet

from tripin.errors import IndexFetchError
from tripin.index.models import DistFile, Index, identify_file, redact_url

__all__ = ["JSON_TYPE", "parse_html_page", "parse_json_page", "parse_page"]

JSON_TYPE = "application/vnd.pypi.simple.v1+json"


def parse_page(body: bytes, content_type: str, page_url: str, index: Index) -> list[DistFile]:
    """Dispatch on the response's content type, as PEP 691 content negotiation allows either."""
    if content_type.split(";")[0].strip() == JSON_TYPE:
        return parse_json_page(body, page_url, index)
    return parse_html_page(body, page_url, index)


def _metadata_hash(value: object) -> str | None:
    # PEP 714: `core-metadata` is true/false or a dict of hashes; "" = advertised, hash unknown
    if isinstance(value, Mapping):
        return str(value.get("sha256", ""))
    return "" if value is True else None


@functools.lru_cache(maxsize=1024)
def _requires_python(text: str | None) -> SpecifierSet | None:
    """Parsed once per distinct string: a torch page repeats a handful of them a thousand times,
    and sharing the object lets the resolver check each one once per target."""
    if not text:
        return None
    try:
        return SpecifierSet(text)
    except InvalidSpecifier:
        # pip ignores unparsable data-requires-python too; such files are rare and old
        return None


def _make(
    *,
    filename: str,
    url: str,
    hashes: Mapping[str, str],
    requires_python: str | None,
    yanked: bool,
    size: int | None,
    upload_time: str | None,
    core_metadata: str | None,
    index: Index,
) -> DistFile | None:
    ident = identify_file(filename)
    if ident is None:
        return None
    name, version, tags = ident
    return DistFile(
        filename=filename,
        url=url,
        hashes=tuple(sorted((k.lower(), v.lower()) for k, v in hashes.items())),
        requires_python=_requires_python(requires_python),
        yanked=yanked,
        size=size,
        upload_time=upload_time,
        core_metadata=core_metadata,
        index=index.name,
        name=name,
        version=version,
        tags=tags,
    )


def parse_json_page(body: bytes, page_url: str, index: Index) -> list[DistFile]:
    where = redact_url(page_url)
    try:
        data = json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise IndexFetchError(f"{where}: invalid JSON project page ({exc.__class__.__name__})") from None
    if not isinstance(data, dict) or not isinstance(data.get("files"), list):
        raise IndexFetchError(f"{where}: not a PEP 691 project page (no 'files' list)")
    api = str((data.get("meta") or {}).get("api-version", ""))
    if not api.startswith("1."):
        raise IndexFetchError(f"{where}: unsupported simple API version {api!r} (need 1.x)")
    out: list[DistFile] = []
    for entry in data["files"]:
        parsed = _json_file(entry, page_url, index)
        if parsed is not None:
            out.append(parsed)
    return out


def _json_file(entry: Any, page_url: str, index: Index) -> DistFile | None:
    if not isinstance(entry, dict):
        raise IndexFetchError(f"{redact_url(page_url)}: malformed file entry in project page")
    filename, url = entry.get("filename"), entry.get("url")
    hashes = entry.get("hashes") or {}
    if not isinstance(filename, str) or not isinstance(url, str) or not isinstance(hashes, dict):
        raise IndexFetchError(f"{redact_url(page_url)}: malformed file entry in project page")
    size = entry.get("size")
    meta = entry.get("core-metadata", entry.get("dist-info-metadata"))
    return _make(
        filename=filename,
        url=urljoin(page_url, url),
        hashes={str(k): str(v) for k, v in hashes.items()},
        requires_python=entry.get("requires-python") if isinstance(entry.get("requires-python"), str) else None,
        yanked=bool(entry.get("yanked")),
        size=size if isinstance(size, int) else None,
        upload_time=entry.get("upload-time") if isinstance(entry.get("upload-time"), str) else None,
        core_metadata=_metadata_hash(meta),
        index=index,
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


def parse_html_page(body: bytes, page_url: str, index: Index) -> list[DistFile]:
    """PEP 503 page; hashes come from the URL fragment, the only place that format keeps them."""
    parser = _Anchors()
    try:
        parser.feed(body.decode("utf-8", errors="replace"))
        parser.close()
    except (AssertionError, ValueError) as exc:  # html.parser raises these on broken markup
        raise IndexFetchError(f"{redact_url(page_url)}: invalid HTML project page ({exc})") from None
    base = urljoin(page_url, parser.base) if parser.base else page_url
    out: list[DistFile] = []
    for attrs in parser.anchors:
        href = attrs.get("href")
        if not href:
            continue
        url, fragment = urldefrag(urljoin(base, href))
        algo, _, digest = fragment.partition("=")
        filename = url.rsplit("/", 1)[-1]
        parsed = _make(
            filename=unquote(filename),
            url=url,
            hashes={algo: digest} if algo and digest else {},
            requires_python=attrs.get("data-requires-python"),
            yanked="data-yanked" in attrs,
            size=None,
            upload_time=None,
            core_metadata=_html_metadata(attrs),
            index=index,
        )
        if parsed is not None:
            out.append(parsed)
    return out

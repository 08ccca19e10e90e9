"""Plain data read from an index: where a file lives, what it is, and what it needs."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

from packaging.requirements import Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.tags import Tag, parse_tag
from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    NormalizedName,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import InvalidVersion, Version

__all__ = ["DistFile", "Index", "Metadata", "Project", "Row", "redact_url"]

# One file of a page, as plain values (cheap to store with marshal, cheap to filter):
# filename, url, hashes, requires-python, yanked, size, upload-time, core-metadata,
# then from the file name: the normalized name, the version and the tags ("" for an sdist).
Row = tuple[
    str, str, tuple[tuple[str, str], ...], str | None, bool, int | None, str | None, str | None, str, str, str
]


def redact_url(url: str) -> str:
    """Drop userinfo, so a credential never reaches a lock, a cache key or a message."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))


@dataclass(frozen=True, slots=True, kw_only=True)
class Index:
    """A simple-API root such as https://pypi.org/simple; `name` is how rules and config refer to it."""

    name: str
    url: str

    @property
    def public_url(self) -> str:
        return redact_url(self.url).rstrip("/")


@dataclass(frozen=True, slots=True, kw_only=True)
class DistFile:
    """One file of a project as a simple-API page lists it (PEP 691 field names)."""

    filename: str
    url: str
    hashes: tuple[tuple[str, str], ...]
    requires_python: SpecifierSet | None
    yanked: bool
    size: int | None
    upload_time: str | None
    # PEP 714: the sha256 of `<url>.metadata` when advertised, "" when advertised without hash
    core_metadata: str | None
    index: str
    name: NormalizedName
    version: Version
    tags: frozenset[Tag]  # empty for sdists

    @property
    def is_wheel(self) -> bool:
        return bool(self.tags)

    @property
    def sha256(self) -> str | None:
        return dict(self.hashes).get("sha256")


@dataclass(frozen=True, kw_only=True)
class Project:
    """A project page, as served by the one index that answers for that name. It holds rows;
    a DistFile is made (once, shared by every target) only for a file someone asks about."""

    name: NormalizedName
    index: Index
    rows: tuple[Row, ...]
    _dists: dict[int, DistFile] = field(default_factory=dict, compare=False, repr=False)

    def file(self, i: int) -> DistFile:
        """The DistFile of rows[i]; two threads may build it at once, harmlessly (equal values)."""
        made = self._dists.get(i)
        if made is None:
            made = self._dists[i] = to_distfile(self.rows[i], self.index.name)
        return made

    @functools.cached_property
    def files(self) -> tuple[DistFile, ...]:
        return tuple(self.file(i) for i in range(len(self.rows)))

    @functools.cached_property
    def releases(self) -> tuple[tuple[Version, tuple[int, ...]], ...]:
        """(version, indexes of its rows), newest first; versions spelled two ways are one."""
        by: dict[Version, list[int]] = {}
        for i, row in enumerate(self.rows):
            by.setdefault(_version(row[9]), []).append(i)
        return tuple(sorted(((v, tuple(rows)) for v, rows in by.items()), key=lambda p: p[0], reverse=True))


@dataclass(frozen=True, slots=True, kw_only=True)
class Metadata:
    """The parts of core metadata that resolution needs."""

    name: NormalizedName
    version: Version
    requires_dist: tuple[Requirement, ...]
    requires_python: SpecifierSet | None


@functools.lru_cache(maxsize=4096)
def _version(text: str) -> Version:
    return Version(text)


@functools.lru_cache(maxsize=4096)
def tag_set(text: str) -> frozenset[Tag]:
    """The tags of a wheel from the last three parts of its name, parsed once per spelling."""
    return parse_tag(text) if text else frozenset()


@functools.lru_cache(maxsize=1024)
def requires_python(text: str | None) -> SpecifierSet | None:
    """Parsed once per distinct string: a torch page repeats a handful of them a thousand times,
    and sharing the object lets the resolver check each one once per target."""
    if not text:
        return None
    try:
        return SpecifierSet(text)
    except InvalidSpecifier:
        # pip ignores unparsable data-requires-python too; such files are rare and old
        return None


def to_distfile(row: Row, index: str) -> DistFile:
    filename, url, hashes, rp, yanked, size, uploaded, core_metadata, name, version, tags = row
    return DistFile(
        filename=filename,
        url=url,
        hashes=hashes,
        requires_python=requires_python(rp),
        yanked=yanked,
        size=size,
        upload_time=uploaded,
        core_metadata=core_metadata,
        index=index,
        name=NormalizedName(name),
        version=_version(version),
        tags=tag_set(tags),
    )


@functools.lru_cache(maxsize=8192)
def _wheel_stem(stem: str) -> tuple[NormalizedName, str] | None:
    """Name and version from `name-version[-build]`, checked by packaging's own parser
    (with a stand-in tag) once per distinct stem: a page repeats each stem per platform."""
    try:
        name, version, _build, _tags = parse_wheel_filename(f"{stem}-py3-none-any.whl")
    except (InvalidWheelFilename, InvalidVersion):
        return None
    return name, str(version)


def identify_strings(filename: str) -> tuple[NormalizedName, str, str] | None:
    """Name, version and tag text from a file name, as identify_file accepts them, without
    building Tag objects: most files of a page are never looked at."""
    if filename.endswith(".whl"):
        parts = filename[:-4].split("-")
        if len(parts) not in (5, 6):
            return None
        stem = _wheel_stem("-".join(parts[:-3]))
        if stem is None:
            return None
        tags = "-".join(parts[-3:])
        try:
            tag_set(tags)
        except ValueError:
            return None
        return stem[0], stem[1], tags
    ident = identify_file(filename)
    return None if ident is None else (ident[0], str(ident[1]), "")


def identify_file(filename: str) -> tuple[NormalizedName, Version, frozenset[Tag]] | None:
    """Name, version and tags from a file name; None for files an installer would not take."""
    try:
        if filename.endswith(".whl"):
            name, version, _build, tags = parse_wheel_filename(filename)
            return name, version, tags
        if filename.endswith((".tar.gz", ".zip")):
            name, version = parse_sdist_filename(filename)
            return name, version, frozenset()
    except (InvalidWheelFilename, InvalidSdistFilename):
        return None
    return None

"""Plain data read from an index: where a file lives, what it is, and what it needs."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.tags import Tag
from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    NormalizedName,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import Version

__all__ = ["DistFile", "Index", "Metadata", "Project", "redact_url"]


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


@dataclass(frozen=True, slots=True, kw_only=True)
class Project:
    """A project page, as served by the one index that answers for that name."""

    name: NormalizedName
    index: Index
    files: tuple[DistFile, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Metadata:
    """The parts of core metadata that resolution needs."""

    name: NormalizedName
    version: Version
    requires_dist: tuple[Requirement, ...]
    requires_python: SpecifierSet | None


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

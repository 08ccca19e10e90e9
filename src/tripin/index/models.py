"""Plain data read from an index: where a file lives, what it is, and what it needs."""

from __future__ import annotations

import functools
import marshal
import re
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from sys import intern
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from packaging.tags import Tag, parse_tag
from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    NormalizedName,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import InvalidVersion, Version

from tripin.redact import redact_one_url

if TYPE_CHECKING:
    from packaging.requirements import Requirement
    from packaging.specifiers import SpecifierSet

__all__ = [
    "DistFile",
    "Index",
    "Metadata",
    "Project",
    "Raw",
    "Row",
    "pack_releases",
    "redact_url",
    "short_url",
    "to_row",
]

# One file of a page, as plain values (cheap to store with marshal, cheap to filter):
# filename, url, hashes, requires-python, yanked, size, upload-time, core-metadata,
# then from the file name: the normalized name, the version and the tags ("" for an sdist).
Row = tuple[str, str, tuple[tuple[str, str], ...], str | None, bool, int | None, str | None, str | None, str, str, str]
# The same file as the page gave it, before checks: filename, url, hashes, requires-python,
# yanked, size, upload-time, core-metadata (the last three of any JSON type but the first two).
Raw = tuple[str, str, Any, Any, bool, Any, Any, str | None]


# a platform tag's version: manylinux_2_17_x86_64, manylinux2014_x86_64, macosx_11_0_arm64
_PLATFORM_VERSION = re.compile(r"^(manylinux|musllinux|macosx)(?:_\d+_\d+|\d+)?_")


@functools.lru_cache(maxsize=4096)
def platform_family(tags: str) -> tuple[str, ...]:
    """The platforms of a wheel's tag text without their versions (`cp312-cp312-manylinux_2_17_
    x86_64.manylinux2014_x86_64` is `manylinux_x86_64`; `py3-none-any` is `any`)."""
    platforms = tags.lower().rsplit("-", 1)[-1].split(".")
    return tuple(sorted({_PLATFORM_VERSION.sub(r"\1_", p) for p in platforms}))


def redact_url(url: str) -> str:
    """Drop userinfo, so a credential never reaches a lock, a cache key or a message. Never
    raises: a URL whose authority does not parse (`user:pa/ss@host`, a port out of range) has
    everything up to its last `@` masked, as any of its `@` may end a password."""
    if "@" not in url:
        return url
    try:
        parts = urlsplit(url)
        _ = parts.port  # raises for an authority that is no host[:port]
    except ValueError:
        return redact_one_url(url)
    if parts.username is None:
        return url
    # the host as written (an IPv6 literal keeps its brackets), after the last `@` of the netloc
    return urlunsplit((parts.scheme, parts.netloc.rpartition("@")[2], parts.path, parts.query, parts.fragment))


@dataclass(frozen=True, slots=True, kw_only=True)
class Index:
    """A simple-API root such as https://pypi.org/simple; `name` is how rules and config refer to it."""

    name: str
    url: str
    explicit: bool = False  # uv's `explicit = true`: asked only for the names pinned to it

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


# A release as a page lists it: the version's text and its files as the page gave them (Raw),
# marshalled and compressed. A page is kept (in memory and in the cache) as its releases, newest
# first; a release's files are checked and made rows only when someone looks at that version,
# which most runs do for one or two of a page's hundreds.
Release = tuple[str, bytes]


def pack_releases(files: Iterable[Raw]) -> tuple[Release, ...]:
    """Group files by the version their names give (spellings of one version are one release),
    newest first. Only the version is read from a name here; files that to_row would refuse
    may ride along in a release, and are dropped when it is unpacked."""
    spelled: dict[str, list[Raw]] = {}
    for raw in files:  # by text first: a Version is parsed once per spelling, not once per file
        text = _version_text(raw[0])
        if text is not None:
            spelled.setdefault(text, []).append(raw)
    by: dict[Version, list[Raw]] = {}
    for text, group in spelled.items():
        try:
            version = _version(text)
        except InvalidVersion:
            continue  # no file of it would pass to_row
        if version in by:
            by[version].extend(group)
        else:
            by[version] = group
    ordered = sorted(by.items(), key=lambda item: item[0], reverse=True)
    return tuple((str(version), zlib.compress(marshal.dumps(tuple(group)), 1)) for version, group in ordered)


def _version_text(filename: str) -> str | None:
    if filename.endswith(".whl"):
        stem = filename[:-4].rsplit("-", 3)[0]
        parts = stem.split("-")
        return parts[1] if len(parts) in (2, 3) else None
    ident = identify_file(filename)
    return None if ident is None else str(ident[1])


def short_url(url: str, filename: str) -> str:
    """A file's URL without its name where the name ends it (rows keep the name already)."""
    if url.endswith(filename) and url[-len(filename) - 1 : -len(filename)] == "/":
        return SAME_NAME + url[: -len(filename)]
    return url


def to_row(raw: Raw) -> Row | None:
    """A checked row, or None for a file an installer would not take (its name does not parse)."""
    filename, url, hashes, rp, yanked, size, upload_time, core_metadata = raw
    ident = identify_strings(filename)
    if ident is None or not isinstance(hashes, dict):
        return None
    if len(hashes) == 1:  # the usual case: one sha256
        ((k, v),) = hashes.items()
        pairs: tuple[tuple[str, str], ...] = ((intern(str(k).lower()), str(v).lower()),)
    else:
        pairs = tuple(sorted((intern(str(k).lower()), str(v).lower()) for k, v in hashes.items()))
    name, version, tags = ident
    # interned: a release's rows share these strings
    return (
        filename,
        url,
        pairs,
        intern(rp) if isinstance(rp, str) and rp else None,
        bool(yanked),
        size if isinstance(size, int) and not isinstance(size, bool) else None,
        upload_time if isinstance(upload_time, str) else None,
        core_metadata,
        intern(name),
        intern(version),
        intern(tags),
    )


@dataclass(frozen=True, kw_only=True)
class Project:
    """A project page, as served by the one index that answers for that name. Versions, rows
    and DistFiles are made on demand, once, and shared by every target; two threads may make
    the same one at once, harmlessly (equal values)."""

    name: NormalizedName
    index: Index
    releases: tuple[Release, ...]
    _versions: dict[int, Version] = field(default_factory=dict, compare=False, repr=False)
    _rows: dict[int, tuple[Row, ...]] = field(default_factory=dict, compare=False, repr=False)
    _dists: dict[tuple[int, int], DistFile] = field(default_factory=dict, compare=False, repr=False)

    def version(self, k: int) -> Version:
        made = self._versions.get(k)
        if made is None:
            made = self._versions[k] = _version(self.releases[k][0])
        return made

    def rows(self, k: int) -> tuple[Row, ...]:
        made = self._rows.get(k)
        if made is None:
            raws = marshal.loads(zlib.decompress(self.releases[k][1]))  # noqa: S302
            made = self._rows[k] = tuple(row for raw in raws if (row := to_row(raw)) is not None)
        return made

    def file(self, k: int, j: int) -> DistFile:
        """The DistFile of row j of release k."""
        made = self._dists.get((k, j))
        if made is None:
            made = self._dists[(k, j)] = to_distfile(self.rows(k)[j], self.index.name)
        return made

    def metadata_wheel(self, k: int, best: int) -> int:
        """The row whose METADATA stands for wheel row `best` of release k: the first by file
        name of the release's wheels for the same platforms (whatever their versions and Python
        tags). Most releases declare one set of requirements in every wheel, their markers
        telling platforms apart, and uv reads one wheel for all of them; but tensorflow 2.15.1's
        Windows and Linux aarch64 wheels are stubs that require tensorflow-intel and
        tensorflow-cpu-aws, which its macOS wheel (the first by name) does not name. So each
        platform reads its own, and targets that differ only in Python share the read; all
        platforms share the first wheel's where the index's core-metadata hashes (PEP 714) show
        that its METADATA is the same file."""
        rows = self.rows(k)
        family = platform_family(rows[best][10])
        wheels = [(row[0], j) for j, row in enumerate(rows) if row[10]]
        own = min((name, j) for name, j in wheels if platform_family(rows[j][10]) == family)[1]
        first = min(wheels)[1]
        digest = rows[own][7]
        return first if digest and rows[first][7] == digest else own

    @functools.cached_property
    def files(self) -> tuple[DistFile, ...]:
        """Every file, oldest release first (page order within a release)."""
        return tuple(self.file(k, j) for k in reversed(range(len(self.releases))) for j in range(len(self.rows(k))))


@dataclass(frozen=True, slots=True, kw_only=True)
class Metadata:
    """The parts of core metadata that resolution needs."""

    name: NormalizedName
    version: Version
    requires_dist: tuple[Requirement, ...]
    requires_python: SpecifierSet | None
    # (extra, why) for each Requires-Dist line no parser reads, "" for a line outside any extra
    # (mlflow 1.27.0's `scikit-learn (>=1.0.*) ; extra == 'pipelines'`): a resolution that needs
    # those requirements passes the release over, as uv and pip (24.1 on) do; one that does not
    # takes it, as uv does (pip passes it over whatever the extras)
    unreadable: tuple[tuple[str, str], ...] = ()


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
    from packaging.specifiers import InvalidSpecifier, SpecifierSet  # not in the page worker

    try:
        return SpecifierSet(text)
    except InvalidSpecifier:
        # pip ignores unparsable data-requires-python too; such files are rare and old
        return None


SAME_NAME = "\x00"  # starts a row's URL that ends in a "/" the file name follows (never in a URL)


def to_distfile(row: Row, index: str) -> DistFile:
    filename, url, hashes, rp, yanked, size, uploaded, core_metadata, name, version, tags = row
    return DistFile(
        filename=filename,
        url=url[1:] + filename if url.startswith(SAME_NAME) else url,
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
    if stem.count("-") not in (1, 2):
        return None
    try:
        name, version, _build, _tags = parse_wheel_filename(f"{stem}-py3-none-any.whl")
    except (InvalidWheelFilename, InvalidVersion):
        return None
    return name, str(version)


def identify_strings(filename: str) -> tuple[NormalizedName, str, str] | None:
    """Name, version and tag text from a file name, as identify_file accepts them, without
    building Tag objects: most files of a page are never looked at."""
    if filename.endswith(".whl"):
        parts = filename[:-4].rsplit("-", 3)
        if len(parts) != 4:
            return None
        stem = _wheel_stem(parts[0])
        if stem is None:
            return None
        tags = f"{parts[1]}-{parts[2]}-{parts[3]}"
        if tags not in _GOOD_TAGS:
            if not _tags_ok(tags):
                return None
            _GOOD_TAGS.add(tags)
        return stem[0], stem[1], tags
    ident = identify_file(filename)
    return None if ident is None else (ident[0], str(ident[1]), "")


_GOOD_TAGS: set[str] = set()  # tag texts found good (sets are safe to share between threads)


def _tags_ok(text: str) -> bool:
    """What packaging's parse_tag accepts (three parts, no empty member, interpreters that are
    identifiers), without building the Tag objects: a big page has thousands of tag texts."""
    parts = text.split("-")
    if len(parts) != 3:
        return False
    members = [part.split(".") for part in parts]
    return all(all(members_) for members_ in members) and all(i.isidentifier() for i in members[0])


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

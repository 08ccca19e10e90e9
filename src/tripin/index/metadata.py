"""Core metadata (the METADATA / PKG-INFO email format) reduced to what resolution needs."""

from __future__ import annotations

import functools
import re

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

from tripin.errors import IndexFetchError, one_line, quote
from tripin.index.models import Metadata
from tripin.inputfile import huge_number

__all__ = ["essential", "parse_metadata"]


_WANTED = ("name", "version", "requires-dist", "requires-python")
_FIELD = re.compile(r"([A-Za-z0-9-]+):[ \t]*(.*)")
_UNDER_EXTRA = re.compile(r""";\s*extra\s*==\s*['"]([A-Za-z0-9._-]+)['"]\s*$""")


def _headers(data: bytes) -> dict[str, list[str]] | None:
    """The four fields resolution needs, from the header block, for the plain layout every
    wheel builder writes (one `Key: value` per line, folded lines indented). None sends
    anything else to the email parser, which knows every corner of RFC 822."""
    raw = data.replace(b"\r\n", b"\n").split(b"\n\n", 1)[0]
    head = raw.decode("ascii", "surrogateescape")  # as the email parser reads bytes
    out: dict[str, list[str]] = {}
    last: list[str] | None = None
    for line in head.split("\n"):
        if not line:
            continue
        if line[:1] in (" ", "\t"):
            if last is None:
                return None
            if last:
                last[-1] += "\n" + line
            continue
        match = _FIELD.fullmatch(line)
        if match is None:
            return None
        key = match[1].lower()
        if key in _WANTED:
            last = out.setdefault(key, [])
            last.append(match[2])
        else:
            last = []  # a field we skip: its folded lines go nowhere
    return out


def _email_headers(data: bytes, where: str) -> dict[str, list[str]]:
    from email.parser import BytesParser  # the fallback only: most metadata never needs it
    from email.policy import compat32

    try:
        msg = BytesParser(policy=compat32).parsebytes(data, headersonly=True)
    except Exception as exc:  # the email parser has no single error type
        raise IndexFetchError(f"{where}: unreadable core metadata ({exc})") from None
    return {key: [str(v) for v in msg.get_all(key) or []] for key in _WANTED}


def essential(data: bytes) -> bytes:
    """The header lines resolution reads, without the description: what the cache keeps (a
    METADATA file is mostly its README; pandas' is 91 kB, its needed lines 3 kB). Data that
    the plain reader cannot take is kept whole."""
    headers = _headers(data)
    if headers is None:
        return data
    lines = ["Metadata-Version: 2.1"]
    for key, title in (
        ("name", "Name"),
        ("version", "Version"),
        ("requires-python", "Requires-Python"),
        ("requires-dist", "Requires-Dist"),
    ):
        lines += [f"{title}: {value}" for value in headers.get(key, ())]
    return ("\n".join(lines) + "\n").encode("ascii", "surrogateescape")


@functools.lru_cache(maxsize=8192)
def _requirement(line: str) -> Requirement:
    """One parsed object per distinct line: a release's wheels repeat their Requires-Dist, and
    the prefetcher and every target read the same objects (never changed after parsing)."""
    return Requirement(line)


def parse_metadata(data: bytes, where: str) -> Metadata:
    """Parse leniently where installers are lenient (a Requires-Dist line that cannot be read is
    kept aside, with why, for the resolver to pass the release over), strictly where a wrong
    value would corrupt a lock."""
    headers = _headers(data)
    if headers is None:
        headers = _email_headers(data, where)
    name = next(iter(headers.get("name") or []), None)
    version = next(iter(headers.get("version") or []), None)
    if not name or not version:
        raise IndexFetchError(f"{where}: core metadata lacks Name or Version")
    try:
        parsed_version = Version(str(version).strip())
    except ValueError:  # InvalidVersion, or int() refusing over 4,300 digits
        raise IndexFetchError(f"{where}: invalid Version {version!r} in core metadata") from None
    requires: list[Requirement] = []
    unreadable: list[tuple[str, str]] = []
    for line in headers.get("requires-dist") or []:
        if huge_number(str(line)) is not None:  # its marker would raise ValueError when evaluated
            raise IndexFetchError(f"{where}: invalid Requires-Dist: {huge_number(str(line))}")
        try:
            requires.append(_requirement(str(line).strip()))
        except InvalidRequirement as exc:
            # not an error here: the resolver passes over a release whose requirements it needs
            # and cannot read, as pip (24.1 on) and uv do, and takes one without the extra
            extra = _UNDER_EXTRA.search(str(line).strip())
            why = one_line(f"Requires-Dist {quote(str(line).strip())} cannot be read: {str(exc).splitlines()[0]}")
            unreadable.append((canonicalize_name(extra.group(1)) if extra else "", why))
    rp = next(iter(headers.get("requires-python") or []), None)
    try:
        requires_python = SpecifierSet(str(rp).strip()) if rp else None
    except InvalidSpecifier:
        requires_python = None
    return Metadata(
        name=canonicalize_name(str(name).strip()),
        version=parsed_version,
        requires_dist=tuple(requires),
        requires_python=requires_python,
        unreadable=tuple(unreadable),
    )

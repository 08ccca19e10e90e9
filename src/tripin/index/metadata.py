"""Core metadata (the METADATA / PKG-INFO email format) reduced to what resolution needs."""

from __future__ import annotations

from email.parser import BytesParser
from email.policy import compat32

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

from tripin.errors import IndexFetchError
from tripin.index.models import Metadata
from tripin.inputfile import huge_number

__all__ = ["parse_metadata"]


def parse_metadata(data: bytes, where: str) -> Metadata:
    """Parse leniently where installers are lenient (an odd Requires-Dist line is an error only
    if it cannot be read at all), strictly where a wrong value would corrupt a lock."""
    try:
        msg = BytesParser(policy=compat32).parsebytes(data, headersonly=True)
    except Exception as exc:  # the email parser has no single error type
        raise IndexFetchError(f"{where}: unreadable core metadata ({exc})") from None
    name, version = msg.get("Name"), msg.get("Version")
    if not name or not version:
        raise IndexFetchError(f"{where}: core metadata lacks Name or Version")
    try:
        parsed_version = Version(str(version).strip())
    except ValueError:  # InvalidVersion, or int() refusing over 4,300 digits
        raise IndexFetchError(f"{where}: invalid Version {version!r} in core metadata") from None
    requires: list[Requirement] = []
    for line in msg.get_all("Requires-Dist") or []:
        if huge_number(str(line)) is not None:  # its marker would raise ValueError when evaluated
            raise IndexFetchError(f"{where}: invalid Requires-Dist: {huge_number(str(line))}")
        try:
            requires.append(Requirement(str(line).strip()))
        except InvalidRequirement as exc:
            raise IndexFetchError(f"{where}: invalid Requires-Dist {line!r}: {exc}") from None
    rp = msg.get("Requires-Python")
    try:
        requires_python = SpecifierSet(str(rp).strip()) if rp else None
    except InvalidSpecifier:
        requires_python = None
    return Metadata(
        name=canonicalize_name(str(name).strip()),
        version=parsed_version,
        requires_dist=tuple(requires),
        requires_python=requires_python,
    )

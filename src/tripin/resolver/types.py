"""Requirements and candidates as the resolver sees them, one target at a time."""

from __future__ import annotations

from dataclasses import dataclass

from packaging.specifiers import SpecifierSet
from packaging.utils import NormalizedName
from packaging.version import Version

from tripin.index.models import DistFile, Index, Metadata
from tripin.rules.model import Build, Pin

__all__ = ["Candidate", "Req", "Resolved", "identifier"]

_ANY = SpecifierSet()


def identifier(name: NormalizedName, extras: frozenset[str]) -> str:
    """`name` or `name[a,b]`: an extras request is its own node, depending on the bare name
    at the same version (pip's ExtrasCandidate idea), so extras never fork a version."""
    return f"{name}[{','.join(sorted(extras))}]" if extras else name


@dataclass(frozen=True, slots=True, kw_only=True)
class Req:
    name: NormalizedName
    extras: frozenset[str] = frozenset()
    specifier: SpecifierSet = _ANY
    build: Build | None = None  # the rules demand a source build of this commit
    pin: Pin | None = None  # the rule that added or tightened this requirement
    origin: str = "the command line"

    @property
    def identifier(self) -> str:
        return identifier(self.name, self.extras)

    def __str__(self) -> str:
        extras = f"[{','.join(sorted(self.extras))}]" if self.extras else ""
        text = f"{self.name}{extras}{self.specifier}"
        return f"{text} (source build of {self.build.commit[:12]})" if self.build else text


@dataclass(frozen=True, slots=True, kw_only=True)
class Candidate:
    """A version of a project usable on the target: from an index with its compatible wheels
    (best first), or a source build of a rule's commit."""

    name: NormalizedName
    version: Version
    extras: frozenset[str] = frozenset()
    wheels: tuple[DistFile, ...] = ()
    index: Index | None = None
    build: Build | None = None
    # whose METADATA gives the dependencies: another wheel of the same release (the one all
    # targets share; for a source build, a PyPI wheel of that release); else the first wheel
    metadata_from: DistFile | None = None

    @property
    def identifier(self) -> str:
        return identifier(self.name, self.extras)

    @property
    def metadata_file(self) -> DistFile | None:
        return self.metadata_from or (self.wheels[0] if self.wheels else None)

    def __str__(self) -> str:
        return f"{self.identifier} {self.version}"


@dataclass(frozen=True, slots=True, kw_only=True)
class Resolved:
    """One package chosen for one target, with what it was chosen for."""

    candidate: Candidate
    metadata: Metadata | None
    pin: Pin | None
    dependencies: tuple[NormalizedName, ...] = ()  # what it pulled in on this target
    added_by_rule: bool = False  # a rule asked for it where torch's metadata names no such package

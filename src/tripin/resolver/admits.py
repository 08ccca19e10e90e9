"""Which releases of a project a set of specifiers admits, worked out once per specifier.

resolvelib asks for a name's candidates again each time a requirement on it is added or a
state is restored: `'botocore<1.30' aiobotocore s3fs boto3` asked 2,300 times which of
botocore's 2,000 releases fit, 10 million `Specifier.contains` calls (12 s warm per target; uv
4 s), since each of boto3's 2,000 releases requires its own `botocore>=1.29.N`. Here each
specifier is tried once per project, an ordered comparison by bisection, and a set of
specifiers is the intersection of what each admits.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from packaging.specifiers import Specifier, SpecifierSet
from packaging.version import Version

from tripin.index.models import Project

__all__ = ["Admits", "admitted_run", "specifier_key"]

# per ordered comparison, whether it admits the newer side of its bound
_ORDERED = {">=": True, ">": True, "<=": False, "<": False}


class Admits:
    """The releases (positions in a project's list) that specifiers admit, pre-releases
    included, for one resolution: projects are told apart by identity, as the index client
    hands out one object per project and keeps it."""

    def __init__(self) -> None:
        self._of: dict[int, tuple[Project, _Memo]] = {}

    def positions(self, project: Project, specifiers: Iterable[SpecifierSet]) -> list[int]:
        """Those all of `specifiers` admit, in the project's own order (newest first)."""
        return self._memo(project).together(specifiers)[0]

    def admitted(self, project: Project, specifiers: Iterable[SpecifierSet]) -> frozenset[int]:
        return self._memo(project).together(specifiers)[1]

    def _memo(self, project: Project) -> _Memo:
        hit = self._of.get(id(project))
        if hit is None or hit[0] is not project:
            hit = self._of[id(project)] = (project, _Memo(project))
        return hit[1]


class _Memo:
    def __init__(self, project: Project) -> None:
        self.project = project
        self.one: dict[str, frozenset[int]] = {}
        self.all: dict[tuple[str, ...], tuple[list[int], frozenset[int]]] = {}
        self.ascending: list[int] | None = None
        self.versions: list[Version] = []

    def together(self, specifiers: Iterable[SpecifierSet]) -> tuple[list[int], frozenset[int]]:
        texts = specifier_key(specifiers)
        hit = self.all.get(texts)
        if hit is None:
            each = sorted((self._admitted(text) for text in texts), key=len)
            found = each[0].intersection(*each[1:]) if each else frozenset(range(len(self.project.releases)))
            hit = self.all[texts] = (sorted(found), found)
        return hit

    def _admitted(self, text: str) -> frozenset[int]:
        """Those one specifier admits. An ordered comparison (`>=`, `>`, `<=`, `<`) admits one
        run of the releases in version order, since what PEP 440 leaves out near the bound
        (pre-releases of V for `<V`, post-releases and local versions of V for `>V`) lies next
        to it: the run's end is found by bisection."""
        found = self.one.get(text)
        if found is None:
            spec = Specifier(text)
            ascending, versions = self._oldest_first()
            if spec.operator in _ORDERED:
                run = admitted_run(spec, versions)
                found = frozenset(ascending[run.start : run.stop])
            else:
                pairs = zip(ascending, versions, strict=True)
                found = frozenset(k for k, v in pairs if spec.contains(v, prereleases=True))
            self.one[text] = found
        return found

    def _oldest_first(self) -> tuple[list[int], list[Version]]:
        """The releases from oldest to newest, and their versions (the index's order, newest
        first, is not trusted for it: a cache from another version of tripin may hold another)."""
        if self.ascending is None:
            project = self.project
            self.ascending = sorted(range(len(project.releases)), key=project.version)
            self.versions = [project.version(k) for k in self.ascending]
        return self.ascending, self.versions


def specifier_key(specifiers: Iterable[SpecifierSet]) -> tuple[str, ...]:
    """Each specifier once, as text, in order: a key for what they admit together."""
    return tuple(sorted({str(one) for s in specifiers for one in s}))


def admitted_run(spec: Specifier, ascending: Sequence[Version]) -> range:
    """Where in `ascending` (oldest first) the releases an ordered comparison (`>=`, `>`, `<=`,
    `<`) admits lie, pre-releases included: one run, found by bisection."""
    rising = _ORDERED[spec.operator]
    lo, hi = 0, len(ascending)
    while lo < hi:  # the first release whose answer is `rising`
        mid = (lo + hi) // 2
        if spec.contains(ascending[mid], prereleases=True) == rising:
            hi = mid
        else:
            lo = mid + 1
    return range(lo, len(ascending)) if rising else range(0, lo)

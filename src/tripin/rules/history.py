"""Triton's git history as `check` needs it, offline: where a commit sits, what it calls itself,
and which commits are the same build.

The data is rules/triton-history.txt, written by scripts/triton_history.py from a mirror of
Triton's `main` and `release/X.Y.x` branches. It is parsed on first use only (about 6,000
commits), so commands that never place a commit pay nothing but reading the bytes for the digest.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["SHORT", "History", "Place", "parse_history"]

SHORT = 8  # hex digits of a `+git<hash>` label, and of a commit as messages show it
FULL = 40


@dataclass(frozen=True, slots=True)
class Place:
    """One branch that holds a commit: its position there (0 = oldest stored) and its version."""

    branch: str
    index: int
    version: str


@dataclass(slots=True)
class _Branch:
    name: str
    tip_date: str
    base: str | None
    commits: list[str] = field(default_factory=list)
    versions: list[str] = field(default_factory=list)


@dataclass(slots=True)
class History:
    """Queries over the parsed file, which stores full commit ids. A full id matches only
    itself; a short one (a build's `+git<hash>` label) matches the one stored commit it starts
    (the generating script refuses two that share their first 8 hex digits)."""

    text: str
    _branches: dict[str, _Branch] | None = None
    _where: dict[str, list[Place]] = field(default_factory=dict)
    _same: dict[str, frozenset[str]] = field(default_factory=dict)
    _by_short: dict[str, list[str]] = field(default_factory=dict)

    def _load(self) -> dict[str, _Branch]:
        if self._branches is None:
            self._branches = _parse(self.text, self._where, self._same)
            for full in self._where:
                self._by_short.setdefault(full[:7], []).append(full)
        return self._branches

    @property
    def branches(self) -> tuple[str, ...]:
        return tuple(self._load())

    def tip_date(self, branch: str) -> str:
        return self._load()[branch].tip_date

    def base(self, branch: str) -> str | None:
        return self._load()[branch].base

    def places(self, commit: str) -> list[Place]:
        """Every branch that holds the commit (a release branch cut from another shares its
        older commits), release branches first; [] when the history does not have it."""
        return list(self._where.get(self.resolve(commit) or "", ()))

    def resolve(self, commit: str) -> str | None:
        """The stored full commit id of a commit given in full (then only that one), or as the
        8 hex digits of a `+git<hash>` label or git's 7-hex abbreviation (then only if no other
        stored commit starts so). A full id is never matched by its prefix: a commit forged to
        share its first 8 hex digits with a pinned one is not that commit."""
        self._load()
        given = commit.lower()
        if len(given) >= FULL:
            return given if given in self._where else None
        if len(given) < 7:
            return None
        hits = [full for full in self._by_short.get(given[:7], ()) if full.startswith(given)]
        return hits[0] if len(hits) == 1 else None

    def index_on(self, branch: str, commit: str) -> int | None:
        return next((p.index for p in self.places(commit) if p.branch == branch), None)

    def branch_of(self, commit: str) -> str | None:
        """The release branch that holds the commit, else `main`, else None."""
        places = self.places(commit)
        return places[0].branch if places else None

    def version_of(self, commit: str) -> str | None:
        places = self.places(commit)
        return places[0].version if places else None

    def same_source(self, commit: str) -> frozenset[str]:
        """Full ids of the stored commits with the same source tree as this one (itself
        included); empty when the history does not have it."""
        full = self.resolve(commit)
        if full is None:
            return frozenset()
        return self._same.get(full, frozenset({full}))

    def commit_at(self, branch: str, index: int) -> str:
        return self._load()[branch].commits[index]

    def commits(self, branch: str) -> tuple[str, ...]:
        """The branch's stored commit ids, oldest first."""
        return tuple(self._load()[branch].commits)


def parse_history(text: str) -> History:
    return History(text)


def _parse(text: str, where: dict[str, list[Place]], same: dict[str, frozenset[str]]) -> dict[str, _Branch]:
    branches: dict[str, _Branch] = {}
    current: _Branch | None = None
    version = "?"
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("@"):
            name, date, *rest = line[1:].split()
            base = rest[0].removeprefix("base=") if rest else None
            current = branches[name] = _Branch(name, date, base)
            version = "?"
        elif line.startswith("="):
            version = line[1:]
        elif line.startswith("same "):
            group = frozenset(line.split()[1:])
            for commit in group:
                same[commit] = same.get(commit, frozenset()) | group
        elif current is not None:
            for commit in line.split():
                place = Place(current.name, len(current.commits), version)
                current.commits.append(commit)
                current.versions.append(version)
                where.setdefault(commit, []).append(place)
    for places in where.values():
        places.sort(key=lambda p: p.branch == "main")  # a release commit is judged by its branch
    return branches

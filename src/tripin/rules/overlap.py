"""Refuse rules that could both apply: a torch release on a target must have one answer."""

from __future__ import annotations

from collections.abc import Sequence
from itertools import combinations

from packaging.specifiers import SpecifierSet
from packaging.version import InvalidVersion, Version

from tripin.errors import RulesetError
from tripin.rules.model import Build, Companion, Pin, Ruleset
from tripin.targets import parse_target

__all__ = ["PinIndex", "check_overlaps", "share_version"]

# Deciding whether two PEP 508 markers can both hold is hard in general; every environment a
# lock can target is one of these, so testing the markers on all of them is exact for tripin.
_PROBE_TARGETS = [
    f"{plat}-cp3{minor}"
    for plat in (
        "linux-x86_64",
        "linux-aarch64",
        "musllinux-x86_64",
        "musllinux-aarch64",
        "macos-arm64",
        "macos-x86_64",
        "windows-x86_64",
        "windows-arm64",
    )
    for minor in range(9, 16)
]


def _probe_versions(*specs: SpecifierSet) -> set[Version]:
    versions: set[Version] = set()
    for spec in specs:
        for item in spec:
            try:
                versions.add(Version(item.version.replace(".*", "")))
            except InvalidVersion:
                continue
    return versions


def share_version(a: SpecifierSet, b: SpecifierSet) -> Version | None:
    """A version both specifiers hold, among the versions either names; None if none."""
    for version in sorted(_probe_versions(a, b)):
        if a.contains(version, prereleases=True) and b.contains(version, prereleases=True):
            return version
    return None


_ENVS: list[dict[str, str]] = []


def _envs() -> list[dict[str, str]]:
    if not _ENVS:
        _ENVS.extend(parse_target(name).environment() for name in _PROBE_TARGETS)
    return _ENVS


class PinIndex:
    """Which probe versions each pin's torch specifier holds and which probe targets its marker
    matches, each computed once per distinct specifier and marker. Two pins overlap when they
    share both; pins are only compared within a probe version's bucket, so a 10,000-pin overlay
    is linear work instead of 50 million pairs."""

    def __init__(self, pins: Sequence[Pin]) -> None:
        self.probes = sorted(_probe_versions(*(p.torch for p in pins)))
        by_public: dict[Version, list[Version]] = {}
        for version in self.probes:
            by_public.setdefault(Version(version.public), []).append(version)
        held: dict[str, frozenset[Version]] = {}
        self.holds: dict[int, frozenset[Version]] = {}
        self.buckets: dict[Version, list[int]] = {}
        for i, pin in enumerate(pins):
            key = str(pin.torch)
            if key not in held:
                held[key] = frozenset(v for v in self._pool(pin.torch, by_public) if pin.torch.contains(v, True))
            self.holds[i] = held[key]
            for version in held[key]:
                self.buckets.setdefault(version, []).append(i)
        self._pins = pins
        self._hits: dict[str, frozenset[int]] = {}

    def _pool(self, spec: SpecifierSet, by_public: dict[Version, list[Version]]) -> Sequence[Version]:
        """The probes `spec` could hold: for a plain `==V` only those equal to V up to the local
        label (the usual pin), else all of them. contains() still decides."""
        items = list(spec)
        if len(items) == 1 and items[0].operator == "==" and not items[0].version.endswith(".*"):
            try:
                return by_public.get(Version(Version(items[0].version).public), [])
            except InvalidVersion:
                pass
        return self.probes

    def hits(self, i: int) -> frozenset[int]:
        marker = self._pins[i].marker
        key = str(marker)
        if key not in self._hits:
            self._hits[key] = frozenset(n for n, env in enumerate(_envs()) if marker.evaluate(env))
        return self._hits[key]

    def overlap(self, i: int, j: int) -> Version | None:
        """The lowest torch version at which both pins apply on some probe target, or None."""
        shared = self.holds[i] & self.holds[j]
        if shared and self.hits(i) & self.hits(j):
            return min(shared)
        return None

    def candidates(self, i: int) -> set[int]:
        """Pins sharing some probe version with pin i (i included)."""
        return {j for version in self.holds[i] for j in self.buckets[version]}


def check_overlaps(ruleset: Ruleset) -> None:
    _unique_ids("pin", [p.id for p in ruleset.pins], [p.where for p in ruleset.pins])
    pins = ruleset.pins
    index = PinIndex(pins)
    # a (torch version, probe target) cell holds the first pin that applies there; a later pin
    # in an occupied cell overlaps that pin. Reported: the first pair in file order.
    cells: dict[tuple[Version, int], int] = {}
    first: tuple[int, int] | None = None
    for j in range(len(pins)):
        if not any(len(index.buckets[v]) > 1 for v in index.holds[j]):
            continue  # no other pin names any torch version this one holds
        earliest = min((cells.setdefault((v, n), j) for v in index.holds[j] for n in index.hits(j)), default=j)
        if earliest != j and (first is None or (earliest, j) < first):
            first = (earliest, j)
    if first is not None:
        a, b = pins[first[0]], pins[first[1]]
        at = index.overlap(*first)
        raise RulesetError(b.where, f"pin {b.id!r} overlaps pin {a.id!r} (at {a.where}) for torch {at}")
    _one_per_release("build", ruleset.builds)
    for ra, rb in combinations(ruleset.recipes, 2):
        if ra.package == rb.package and (at := share_version(ra.versions, rb.versions)) is not None:
            raise RulesetError(rb.where, f"recipe {rb.id!r} overlaps recipe {ra.id!r} at {ra.package} {at}")
    _one_per_release("companion", ruleset.companions)
    _unique_ids("bad", [b.id for b in ruleset.bad], [b.where for b in ruleset.bad])


def _one_per_release(kind: str, rules: Sequence[Build | Companion]) -> None:
    seen: dict[tuple[str, Version], str] = {}
    for rule in rules:
        key = (rule.package, rule.version)
        if key in seen:
            raise RulesetError(rule.where, f"second {kind} rule for {rule.package} {rule.version} ({seen[key]})")
        seen[key] = rule.id


def _unique_ids(kind: str, ids: list[str], wheres: list[object]) -> None:
    seen: set[str] = set()
    for id_, where in zip(ids, wheres, strict=True):
        if id_ in seen:
            raise RulesetError(where, f"duplicate {kind} id {id_!r}")  # type: ignore[arg-type]
        seen.add(id_)

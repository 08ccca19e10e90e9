"""Refuse rules that could both apply: a torch release on a target must have one answer."""

from __future__ import annotations

from collections.abc import Sequence
from itertools import combinations

from packaging.specifiers import SpecifierSet
from packaging.version import InvalidVersion, Version

from tripin.errors import RulesetError
from tripin.rules.model import Build, Companion, Pin, Ruleset
from tripin.targets import parse_target

__all__ = ["check_overlaps", "pins_overlap", "share_version"]

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


def pins_overlap(a: Pin, b: Pin) -> bool:
    """Whether some torch release on some target would match both pins."""
    if share_version(a.torch, b.torch) is None:
        return False
    return any(a.marker.evaluate(env) and b.marker.evaluate(env) for env in _envs())


def check_overlaps(ruleset: Ruleset) -> None:
    _unique_ids("pin", [p.id for p in ruleset.pins], [p.where for p in ruleset.pins])
    # Which probe versions each pin's torch specifier holds: pins that share none cannot overlap,
    # so markers (the costly part) are evaluated only for the few that do.
    probes = sorted(_probe_versions(*(p.torch for p in ruleset.pins)))
    holds = {p.id: frozenset(v for v in probes if p.torch.contains(v, prereleases=True)) for p in ruleset.pins}
    envs: list[dict[str, str]] | None = None
    hits: dict[str, frozenset[int]] = {}
    for a, b in combinations(ruleset.pins, 2):
        shared = holds[a.id] & holds[b.id]
        if not shared:
            continue
        if envs is None:
            envs = [parse_target(name).environment() for name in _PROBE_TARGETS]
        for pin in (a, b):
            if pin.id not in hits:
                hits[pin.id] = frozenset(i for i, env in enumerate(envs) if pin.marker.evaluate(env))
        if hits[a.id] & hits[b.id]:
            raise RulesetError(b.where, f"pin {b.id!r} overlaps pin {a.id!r} (at {a.where}) for torch {min(shared)}")
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

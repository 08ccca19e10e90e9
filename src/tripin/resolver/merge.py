"""Merge per-target resolutions into one Lock: a package entry per (name, version, source)."""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

from packaging.requirements import Requirement
from packaging.utils import NormalizedName

from tripin import __version__
from tripin.errors import LockError
from tripin.index.models import redact_url
from tripin.lock.model import Lock, LockedPackage, LockedWheel, LockTarget
from tripin.resolver.factory import to_reqs
from tripin.resolver.resolve import TargetResolution
from tripin.resolver.types import Resolved
from tripin.rules.model import Ruleset
from tripin.sourcebuild import locked_source_build
from tripin.targets import Target

__all__ = ["merge"]


def _source_key(resolved: Resolved) -> tuple[str, ...]:
    cand = resolved.candidate
    if cand.build is not None:
        return ("git", cand.build.repository, cand.build.commit)
    assert cand.index is not None
    return ("index", cand.index.public_url)


def _shared_platforms(targets: Sequence[Target]) -> set[str]:
    """Platform markers more than one target has: those targets are told apart by variant."""
    seen: dict[str, int] = defaultdict(int)
    for target in targets:
        seen[str(target.marker)] += 1
    return {marker for marker, count in seen.items() if count > 1}


def merge(
    resolutions: Sequence[TargetResolution],
    ruleset: Ruleset,
    *,
    requirements: Sequence[str],
    inputs_digest: str,
    extra: Mapping[str, Any] | None = None,
    groups: Mapping[str, tuple[str, Sequence[Requirement]]] | None = None,
    main: Sequence[Requirement] = (),
) -> Lock:
    """`groups` (name -> kind, requirements) and `main` are the roots: a package only groups
    reach is marked `'NAME' in extras` / `'NAME' in dependency_groups` (PEP 751), so a plain
    install leaves it out and `--extra NAME` / `--group NAME` brings it in."""
    groups = groups or {}
    shared = _shared_platforms([r.target for r in resolutions])
    targets = tuple(
        LockTarget(
            name=r.target.name,
            marker=f"({r.target.marker}) and '{r.target.variant}' in extras"
            if r.target.variant and str(r.target.marker) in shared
            else str(r.target.marker),
            environment=str(r.target.marker),
            variant=r.target.variant,
        )
        for r in resolutions
    )
    all_names = [t.name for t in targets]
    entries: dict[tuple[str, str, tuple[str, ...]], list[tuple[str, Resolved]]] = defaultdict(list)
    for resolution in resolutions:
        for name, resolved in resolution.packages.items():
            entries[(name, str(resolved.candidate.version), _source_key(resolved))].append(
                (resolution.target.name, resolved)
            )
    packages: list[LockedPackage] = []
    markers = {t.name: t.marker for t in targets}
    only = {r.target.name: _group_only(r, main, groups) for r in resolutions} if groups else {}
    for (pkg_name, version, _), members in sorted(entries.items(), key=lambda kv: (kv[0][0], kv[0][1], kv[0][2])):
        names = tuple(t for t in all_names if t in {m[0] for m in members})
        conditions = {n: _condition(only.get(n, {}).get(NormalizedName(pkg_name)), groups) for n in names}
        first = members[0][1]
        marker = _marker(names, all_names, markers, conditions)
        entry = _package(pkg_name, version, marker, names, [m[1] for m in members], first, ruleset)
        added = tuple(t for t in names if any(m[0] == t and m[1].added_by_rule for m in members))
        edges = tuple((dep, tuple(t for t, m in members if dep in m.dependencies)) for dep in entry.dependencies)
        packages.append(dataclasses.replace(entry, added_by_rule=added, dependency_targets=edges))
    return Lock(
        groups=tuple((name, kind) for name, (kind, _) in sorted(groups.items())),
        targets=targets,
        requirements=tuple(requirements),
        packages=tuple(packages),
        ruleset_digest=ruleset.digest,
        inputs_digest=inputs_digest,
        tool_version=__version__,
        extra=dict(extra or {}),
    )


def _reach(resolution: TargetResolution, roots: Sequence[Requirement]) -> set[NormalizedName]:
    """The packages `roots` pull in on this target, through the resolved dependency graph."""
    env = resolution.target.environment()
    todo = [r.name for r in to_reqs(roots, env, "the requirements") if r.name in resolution.packages]
    seen: set[NormalizedName] = set()
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo += [d for d in resolution.packages[name].dependencies if d in resolution.packages]
    return seen


def _group_only(
    resolution: TargetResolution, main: Sequence[Requirement], groups: Mapping[str, tuple[str, Sequence[Requirement]]]
) -> dict[NormalizedName, frozenset[str]]:
    """Per package the main requirements do not reach: the groups that do."""
    always = _reach(resolution, main)
    reached = {name: _reach(resolution, reqs) - always for name, (_, reqs) in groups.items()}
    out: dict[NormalizedName, set[str]] = defaultdict(set)
    for group, names in reached.items():
        for name in names:
            out[name].add(group)
    return {name: frozenset(gs) for name, gs in out.items()}


def _condition(only: frozenset[str] | None, groups: Mapping[str, tuple[str, Sequence[Requirement]]]) -> str | None:
    """PEP 751 markers: an optional-dependencies group is an extra, a PEP 735 group a dependency group."""
    if not only:
        return None
    return " or ".join(
        f"'{g}' in extras" if groups[g][0] == "extra" else f"'{g}' in dependency_groups" for g in sorted(only)
    )


def _marker(
    names: tuple[str, ...], all_names: Sequence[str], markers: Mapping[str, str], conditions: Mapping[str, str | None]
) -> str | None:
    every = len(names) == len(all_names)
    distinct = set(conditions.values())
    if every and len(distinct) == 1:
        return distinct.pop()  # None: in every target and every install
    parts = [markers[n] if conditions[n] is None else f"({markers[n]}) and ({conditions[n]})" for n in names]
    if len(parts) == 1:
        return parts[0]
    return " or ".join(f"({p})" for p in parts)


def _package(
    name: str,
    version: str,
    marker: str | None,
    names: tuple[str, ...],
    members: list[Resolved],
    first: Resolved,
    ruleset: Ruleset,
) -> LockedPackage:
    cand = first.candidate
    requires_python = str(first.metadata.requires_python) if first.metadata and first.metadata.requires_python else None
    # every rule that decided this entry on some target, in target order, once each
    rules = tuple(dict.fromkeys((m.pin.id, m.pin.source) for m in members if m.pin is not None))
    dependencies = tuple(sorted({d for m in members for d in m.dependencies}))
    if cand.build is not None:
        entry = locked_source_build(
            ruleset, cand.build, marker=marker, targets=names, rules=rules, requires_python=requires_python
        )
        return dataclasses.replace(entry, dependencies=dependencies)
    wheels: dict[str, LockedWheel] = {}
    for member in members:
        for file in member.candidate.wheels:
            if not file.hashes:
                raise LockError(f"{file.filename}: the index gives no hash; a lock without hashes is refused")
            url = redact_url(file.url)
            wheels[url] = LockedWheel(url=url, size=file.size, upload_time=file.upload_time, hashes=file.hashes)
    assert cand.index is not None
    return LockedPackage(
        name=name,
        version=version,
        marker=marker,
        targets=names,
        requires_python=requires_python,
        index=cand.index.public_url,
        wheels=tuple(sorted(wheels.values(), key=lambda w: w.filename)),
        rules=rules,
        dependencies=dependencies,
    )

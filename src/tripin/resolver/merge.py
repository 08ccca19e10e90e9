"""Merge per-target resolutions into one Lock: a package entry per (name, version, source)."""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

from tripin import __version__
from tripin.errors import LockError
from tripin.index.models import redact_url
from tripin.lock.model import Lock, LockedPackage, LockedWheel, LockTarget
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
) -> Lock:
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
    groups: dict[tuple[str, str, tuple[str, ...]], list[tuple[str, Resolved]]] = defaultdict(list)
    for resolution in resolutions:
        for name, resolved in resolution.packages.items():
            groups[(name, str(resolved.candidate.version), _source_key(resolved))].append(
                (resolution.target.name, resolved)
            )
    packages: list[LockedPackage] = []
    markers = {t.name: t.marker for t in targets}
    for (pkg_name, version, _), members in sorted(groups.items(), key=lambda kv: (kv[0][0], kv[0][1], kv[0][2])):
        names = tuple(t for t in all_names if t in {m[0] for m in members})
        marker = (
            None
            if len(names) == len(all_names)
            else " or ".join(f"({markers[n]})" if len(names) > 1 else markers[n] for n in names)
        )
        first = members[0][1]
        packages.append(_package(pkg_name, version, marker, names, [m[1] for m in members], first, ruleset))
    return Lock(
        targets=targets,
        requirements=tuple(requirements),
        packages=tuple(packages),
        ruleset_digest=ruleset.digest,
        inputs_digest=inputs_digest,
        tool_version=__version__,
        extra=dict(extra or {}),
    )


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

"""Fetch ahead of resolvelib, which asks for one project page or metadata file at a time.

From the roots, every dependency that applies on some target is looked up as soon as its
parent's metadata arrives: its page, then the metadata of the newest version its requirement
allows (the best wheel per target). Without backtracking that is exactly what the resolver asks
for next, so round trips overlap instead of queueing; with backtracking the resolver fetches
the rest itself. Failures here are kept in the futures and only surface if the resolver asks.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from concurrent.futures import Future

from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import Version

from tripin.families import TORCH_FAMILY
from tripin.index import IndexClient, Metadata, Project
from tripin.index.models import requires_python
from tripin.resolver.factory import extras_only
from tripin.targets import Target

__all__ = ["Prefetcher"]


class Prefetcher:
    """Follows each requirement only on the targets where it applies (its marker holds and its
    parent was picked for them), within the roots' own bounds for that name (a root's
    `torch==2.6.0` holds everywhere, so `torch>=2.0` from accelerate does not pull in the
    newest torch's dependencies), so that what it fetches is what the resolver will ask for."""

    def __init__(self, client: IndexClient, targets: Sequence[Target]) -> None:
        self.client = client
        self.targets = list(targets)
        self._envs = [t.environment() for t in targets]
        self._pythons = [Version(env["python_full_version"]) for env in self._envs]
        self._all = frozenset(range(len(self.targets)))
        self._seen: set[tuple[NormalizedName, str, int]] = set()
        self._bounds: dict[NormalizedName, SpecifierSet] = {}
        from tripin.families import VARIANT_FAMILY

        self._routed_only = VARIANT_FAMILY if targets and all(t.variant for t in targets) else frozenset()
        self._lock = threading.Lock()
        self._marker_memo: dict[int, tuple[Requirement, dict[tuple[int, str], bool]]] = {}

    def start(self, requirements: Iterable[Requirement]) -> None:
        roots = list(requirements)
        for root in roots:
            if root.marker is None and not root.url:
                name = canonicalize_name(root.name)
                self._bounds[name] = self._bounds.get(name, SpecifierSet()) & root.specifier
        for requirement in roots:
            self._follow(requirement, self._all)

    def _applies(self, requirement: Requirement, targets: frozenset[int], extras: frozenset[str]) -> frozenset[int]:
        """Those of `targets` whose environment the requirement's marker holds in, for the
        base package or one of the `extras` its parent was asked for with."""
        marker = requirement.marker
        if marker is None:
            return targets
        only = extras_only(requirement)
        if only is not None:
            return targets if only & extras else frozenset()
        hit = self._marker_memo.get(id(requirement))  # the entry keeps the object, so ids stay unique
        if hit is None or hit[0] is not requirement:
            hit = self._marker_memo[id(requirement)] = (requirement, {})
        known = hit[1]
        out = []
        for t in targets:
            for extra in ("", *extras):
                holds = known.get((t, extra))
                if holds is None:
                    holds = known[(t, extra)] = marker.evaluate({**self._envs[t], "extra": extra})
                if holds:
                    out.append(t)
                    break
        return frozenset(out)

    def _follow(self, requirement: Requirement, targets: frozenset[int], extras: frozenset[str] = frozenset()) -> None:
        if requirement.url:
            return
        name = canonicalize_name(requirement.name)
        if name in self._routed_only:
            return  # variant targets read these from their PyTorch index alone: the resolver asks there
        wanted = self._applies(requirement, targets, extras)
        asked = frozenset(canonicalize_name(e) for e in requirement.extras)
        key = f"{requirement.specifier}[{','.join(sorted(asked))}]"
        with self._lock:
            new = frozenset(i for i in wanted if (name, key, i) not in self._seen)
            self._seen.update((name, key, i) for i in new)
        if not new:
            return
        future = self.client.prefetch_project(name)
        future.add_done_callback(lambda f: self._on_project(f, requirement, new, asked))

    def _on_project(
        self, future: Future[Project], requirement: Requirement, targets: frozenset[int], extras: frozenset[str]
    ) -> None:
        # a cancelled future's exception() raises CancelledError, which concurrent.futures logs
        # as a traceback on stderr (the client's shutdown cancelled queued fetches, issue 10)
        if future.cancelled() or future.exception() is not None:
            return
        project = future.result()
        bound = self._bounds.get(project.name)
        for k in range(len(project.releases)):  # newest first: the first that matches is the one
            version = project.version(k)
            if version.is_prerelease or not requirement.specifier.contains(version):
                continue
            if bound is not None and not bound.contains(version, prereleases=True):
                continue
            rows = project.rows(k)
            wheels = [i for i, row in enumerate(rows) if row[10]]
            if any(not rows[i][4] for i in wheels):  # some wheel not yanked
                break
        else:
            return
        picks: dict[int, set[int]] = {}
        for t in sorted(targets):
            target, python = self.targets[t], self._pythons[t]
            ranked = [
                (rank, rows[i][0], i)
                for i in wheels
                if (rank := target.rank_of(rows[i][10])) is not None and _python_ok(rows[i][3], python)
            ]
            if ranked:
                best = min(ranked)[2]
                # the METADATA the factory reads: the target's own wheel's for torch's family,
                # else the one its platform shares (Project.metadata_wheel)
                source = best if project.name in TORCH_FAMILY else project.metadata_wheel(k, best)
                picks.setdefault(source, set()).add(t)
        chosen = list(picks)
        futures = self.client.prefetch_metadata(project.file(k, i) for i in chosen)
        for i, metadata in zip(chosen, futures, strict=True):
            on = frozenset(picks[i])
            metadata.add_done_callback(lambda f, on=on: self._on_metadata(f, on, extras))  # type: ignore[misc]

    def _on_metadata(self, future: Future[Metadata], targets: frozenset[int], extras: frozenset[str]) -> None:
        if not future.cancelled() and future.exception() is None:
            for requirement in future.result().requires_dist:
                self._follow(requirement, targets, extras)


def _python_ok(text: str | None, python: Version) -> bool:
    spec = requires_python(text)
    return spec is None or spec.contains(python, prereleases=True)

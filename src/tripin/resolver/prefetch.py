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
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import Version

from tripin.index import IndexClient, Metadata, Project
from tripin.index.models import DistFile, requires_python
from tripin.targets import Target

__all__ = ["Prefetcher"]


class Prefetcher:
    def __init__(self, client: IndexClient, targets: Sequence[Target]) -> None:
        self.client = client
        self.targets = list(targets)
        self._envs = [t.environment() for t in targets]
        self._pythons = [Version(env["python_full_version"]) for env in self._envs]
        self._seen: set[tuple[NormalizedName, str]] = set()
        from tripin.resolver.factory import VARIANT_FAMILY

        self._routed_only = VARIANT_FAMILY if targets and all(t.variant for t in targets) else frozenset()
        self._lock = threading.Lock()
        self._marker_memo: dict[int, tuple[Requirement, bool]] = {}

    def start(self, requirements: Iterable[Requirement]) -> None:
        for requirement in requirements:
            self._follow(requirement)

    def _applies(self, requirement: Requirement) -> bool:
        if requirement.marker is None:
            return True
        hit = self._marker_memo.get(id(requirement))  # the entry keeps the object, so ids stay unique
        if hit is not None and hit[0] is requirement:
            return hit[1]
        result = any(requirement.marker.evaluate(env) for env in self._envs)
        self._marker_memo[id(requirement)] = (requirement, result)
        return result

    def _follow(self, requirement: Requirement) -> None:
        if requirement.url or not self._applies(requirement):
            return
        name = canonicalize_name(requirement.name)
        if name in self._routed_only:
            return  # variant targets read these from their PyTorch index alone: the resolver asks there
        key = (name, str(requirement.specifier))
        with self._lock:
            if key in self._seen:
                return
            self._seen.add(key)
        future = self.client.prefetch_project(name)
        future.add_done_callback(lambda f: self._on_project(f, requirement))

    def _on_project(self, future: Future[Project], requirement: Requirement) -> None:
        if future.exception() is not None:
            return
        project = future.result()
        for k in range(len(project.releases)):  # newest first: the first that matches is the one
            version = project.version(k)
            if version.is_prerelease or not requirement.specifier.contains(version):
                continue
            rows = project.rows(k)
            wheels = [i for i, row in enumerate(rows) if row[10]]
            if any(not rows[i][4] for i in wheels):  # some wheel not yanked
                break
        else:
            return
        picks: dict[int, DistFile] = {}
        for target, python in zip(self.targets, self._pythons, strict=True):
            ranked = [
                (rank, rows[i][0], i)
                for i in wheels
                if (rank := target.rank_of(rows[i][10])) is not None and _python_ok(rows[i][3], python)
            ]
            if ranked:
                best = min(ranked)[2]
                picks[best] = project.file(k, best)
        for metadata in self.client.prefetch_metadata(picks.values()):
            metadata.add_done_callback(self._on_metadata)

    def _on_metadata(self, future: Future[Metadata]) -> None:
        if future.exception() is None:
            for requirement in future.result().requires_dist:
                self._follow(requirement)


def _python_ok(text: str | None, python: Version) -> bool:
    spec = requires_python(text)
    return spec is None or spec.contains(python, prereleases=True)

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

from tripin.index import IndexClient, Metadata, Project
from tripin.index.models import DistFile
from tripin.targets import Target

__all__ = ["Prefetcher"]


class Prefetcher:
    def __init__(self, client: IndexClient, targets: Sequence[Target]) -> None:
        self.client = client
        self.targets = list(targets)
        self._envs = [t.environment() for t in targets]
        self._seen: set[tuple[NormalizedName, str]] = set()
        from tripin.resolver.factory import VARIANT_FAMILY

        self._routed_only = VARIANT_FAMILY if targets and all(t.variant for t in targets) else frozenset()
        self._lock = threading.Lock()

    def start(self, requirements: Iterable[Requirement]) -> None:
        for requirement in requirements:
            self._follow(requirement)

    def _applies(self, requirement: Requirement) -> bool:
        return requirement.marker is None or any(requirement.marker.evaluate(env) for env in self._envs)

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
        # cancelled: the run ended (an error, say) and the client's shutdown dropped the queued
        # fetches; exception() would raise CancelledError, logged as a traceback on stderr
        if future.cancelled() or future.exception() is not None:
            return
        files = future.result().files
        versions = sorted(
            {
                f.version
                for f in files
                if f.is_wheel
                and not f.yanked
                and not f.version.is_prerelease
                and requirement.specifier.contains(f.version)
            },
            reverse=True,
        )
        if not versions:
            return
        wheels = [f for f in files if f.is_wheel and f.version == versions[0]]
        picks: dict[str, DistFile] = {}
        for target in self.targets:
            ranked = [(rank, f) for f in wheels if (rank := target.tag_rank(f.tags)) is not None]
            if ranked:
                best = min(ranked, key=lambda pair: (pair[0], pair[1].filename))[1]
                picks[best.url] = best
        for metadata in self.client.prefetch_metadata(picks.values()):
            metadata.add_done_callback(self._on_metadata)

    def _on_metadata(self, future: Future[Metadata]) -> None:
        if not future.cancelled() and future.exception() is None:
            for requirement in future.result().requires_dist:
                self._follow(requirement)

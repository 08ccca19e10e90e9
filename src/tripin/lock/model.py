"""A lock for several targets at once: one entry per distinct (name, version, source)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Lock", "LockTarget", "LockedPackage", "LockedVcs", "LockedWheel", "SourceBuild"]


@dataclass(frozen=True, slots=True, kw_only=True)
class LockTarget:
    """`marker` selects the target in the lock; where two targets share a platform and differ
    in PyTorch build (cu126 and cpu on x86_64), it adds `'<variant>' in extras` (PEP 751), and
    `environment` keeps the plain platform marker."""

    name: str
    marker: str
    environment: str = ""
    variant: str | None = None

    @property
    def platform(self) -> str:
        return self.environment or self.marker


@dataclass(frozen=True, slots=True, kw_only=True)
class LockedWheel:
    url: str
    size: int | None
    upload_time: str | None
    hashes: tuple[tuple[str, str], ...]

    @property
    def filename(self) -> str:
        return self.url.rsplit("/", 1)[-1]


@dataclass(frozen=True, slots=True, kw_only=True)
class LockedVcs:
    url: str
    commit: str
    subdirectory: str


@dataclass(frozen=True, slots=True, kw_only=True)
class SourceBuild:
    """What `tripin build-plan` needs to turn a locked commit into the locked version."""

    version: str  # the exact version the build produces, local label included
    status: str
    source: str
    build_requires: tuple[str, ...]
    env: Mapping[str, str]
    system: tuple[str, ...]
    recipe: str


@dataclass(frozen=True, slots=True, kw_only=True)
class LockedPackage:
    name: str
    version: str
    marker: str | None  # None: the package is in every target
    targets: tuple[str, ...]
    requires_python: str | None = None
    index: str | None = None
    wheels: tuple[LockedWheel, ...] = ()
    vcs: LockedVcs | None = None
    build: SourceBuild | None = None
    rules: tuple[tuple[str, str], ...] = ()  # (rule id, its source URL)
    dependencies: tuple[str, ...] = ()  # names it pulls in, on any of its targets
    # (name, targets where this package pulls it in), as resolved: torch pulls in triton on
    # x86_64, not on aarch64 where its metadata names none (another package may); empty when
    # read from a file, which keeps `dependency_refs` instead
    dependency_targets: tuple[tuple[str, tuple[str, ...]], ...] = ()
    # the lock file's entries: (name, version, commit); the version or commit is given where two
    # entries share the name (a wheel on one target, a source build on another)
    dependency_refs: tuple[tuple[str, str | None, str | None], ...] = ()
    added_by_rule: tuple[str, ...] = ()  # targets where a rule, not torch's metadata, asked for it


@dataclass(frozen=True, slots=True, kw_only=True)
class Lock:
    targets: tuple[LockTarget, ...]
    requirements: tuple[str, ...]
    packages: tuple[LockedPackage, ...]
    ruleset_digest: str
    inputs_digest: str
    tool_version: str
    extra: Mapping[str, Any] = field(default_factory=dict)
    # pyproject groups in the lock: (name, "extra" | "group"); what only they need is marked
    groups: tuple[tuple[str, str], ...] = ()

    @property
    def variants(self) -> list[str]:
        """The PyTorch variants a user picks with `--extra`, where targets share a platform."""
        return sorted({t.variant for t in self.targets if t.variant and t.marker != t.platform})

    @property
    def extras(self) -> list[str]:
        """PEP 751 `extras`: the variants and the optional-dependencies groups."""
        return sorted({*self.variants, *(name for name, kind in self.groups if kind == "extra")})

    @property
    def dependency_groups(self) -> list[str]:
        """PEP 751 `dependency-groups`: the PEP 735 groups in the lock."""
        return sorted(name for name, kind in self.groups if kind == "group")

    def for_target(self, name: str) -> list[LockedPackage]:
        return [p for p in self.packages if name in p.targets]

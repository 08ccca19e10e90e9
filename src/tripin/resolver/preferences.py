"""Keep existing pins: the versions of the previous lock, tried first while they still fit.

pip-tools and uv re-lock this way: a version in the lock the command is about to overwrite is
preferred over a newer one, so a re-lock changes only what the inputs force (`-U` lets every
package move, `-P NAME[==VERSION]` one). A preference is a version and nothing else: the
previous lock's URLs, hashes and indexes are never read, candidates still come from the index
with every filter (yanked, --exclude-newer, tags, Requires-Python) and every rule, so a lock
edited in a hostile pull request can at most ask for a version the inputs already allow.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import InvalidVersion, Version

from tripin.errors import ConfigError
from tripin.families import VARIANT_FAMILY
from tripin.lock.model import Lock

__all__ = ["Preferences", "parse_upgrade_packages", "preferences_from_foreign_lock", "preferences_from_lock"]

_TORCH = canonicalize_name("torch")


@dataclass(frozen=True, slots=True, kw_only=True)
class Preferences:
    """Per target: the version to try first for a name."""

    by_target: Mapping[str, Mapping[NormalizedName, Version]] = field(default_factory=dict)
    # for a target the previous lock does not have: a name's version where all its targets agree
    shared: Mapping[NormalizedName, Version] = field(default_factory=dict)

    def for_target(self, name: str) -> Mapping[NormalizedName, Version]:
        return self.by_target.get(name, self.shared)

    @property
    def empty(self) -> bool:
        """No version preferred anywhere: the resolution depends on the inputs and the index alone."""
        return not self.shared and not any(self.by_target.values())


def parse_upgrade_packages(values: Iterable[str]) -> dict[NormalizedName, SpecifierSet]:
    """`-P numpy` or `-P numpy==2.3.4` (any specifier, as pip-tools allows): the names released
    from the previous lock, each with the versions it may move to (a constraint: it limits the
    name where something requires it and adds nothing)."""
    out: dict[NormalizedName, SpecifierSet] = {}
    for value in values:
        try:
            req = Requirement(value)
        except InvalidRequirement as exc:
            why = str(exc).splitlines()[0]  # packaging adds lines that point at the column
            raise ConfigError(f"--upgrade-package {value!r}: not NAME or NAME==VERSION ({why})") from None
        if req.url or req.marker is not None or req.extras:
            raise ConfigError(f"--upgrade-package {value!r}: give a name and an optional version, no extras or markers")
        name = canonicalize_name(req.name)
        out[name] = out[name] & req.specifier if name in out else req.specifier
    return out


def _released(release: Iterable[NormalizedName]) -> set[NormalizedName]:
    """The `-P` names; torch takes its family along (its companions and its Triton are chosen
    again, by the rules and its metadata)."""
    released = set(release)
    if _TORCH in released:
        released |= {NormalizedName(n) for n in VARIANT_FAMILY}
    return released


def preferences_from_lock(lock: Lock | None, *, release: Iterable[NormalizedName] = ()) -> Preferences:
    """The previous lock's versions per target, without the released names (`-P`). Releasing a
    torch-family name other than torch releases only that name: the rules for the locked torch
    still decide it; releasing torch releases the family."""
    if lock is None:
        return Preferences()
    released = _released(release)
    by_target: dict[str, dict[NormalizedName, Version]] = {t.name: {} for t in lock.targets}
    seen: dict[NormalizedName, set[Version]] = {}
    for package in lock.packages:
        name = canonicalize_name(package.name)
        if name in released:
            continue
        try:
            version = Version(package.version)
        except InvalidVersion:
            continue  # not something tripin wrote: no preference, the resolver decides
        seen.setdefault(name, set()).add(version)
        for target in package.targets:
            if target in by_target:
                by_target[target][name] = version
    shared = {name: next(iter(vs)) for name, vs in seen.items() if len(vs) == 1}
    return Preferences(by_target=by_target, shared=shared)


def preferences_from_foreign_lock(data: Mapping[str, Any], *, release: Iterable[NormalizedName] = ()) -> Preferences:
    """A PEP 751 lock another tool wrote (uv, pip): it names no targets, so a name's version is
    preferred on every target where the lock has only that one version of it (markers aside:
    a preference only reorders what the resolver may take). Only versions are read."""
    released = _released(release)
    packages = data.get("packages")
    seen: dict[NormalizedName, set[Version]] = {}
    for package in packages if isinstance(packages, list) else []:
        if not isinstance(package, dict) or not isinstance(package.get("name"), str):
            continue
        if not isinstance(package.get("version"), str):
            continue
        name = canonicalize_name(package["name"])
        try:
            version = Version(package["version"])
        except InvalidVersion:
            continue
        if name not in released:
            seen.setdefault(name, set()).add(version)
    return Preferences(shared={name: next(iter(vs)) for name, vs in seen.items() if len(vs) == 1})

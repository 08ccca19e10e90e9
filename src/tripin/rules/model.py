"""Rule records and the queries the resolver, lock writer and checks make of them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from packaging.markers import Marker
from packaging.specifiers import SpecifierSet
from packaging.utils import NormalizedName
from packaging.version import Version

from tripin.errors import Location
from tripin.rules.history import History

__all__ = [
    "PROVIDES",
    "PYPI_BUILDS",
    "STATUSES",
    "Bad",
    "Break",
    "Build",
    "Companion",
    "Good",
    "Pin",
    "Probe",
    "PytorchPin",
    "Recipe",
    "Ruleset",
    "VariantRule",
]

# how a pinned Triton reaches a target
PROVIDES = ("metadata", "wheel", "source-build")
# how sure we are of a commit: read from PyTorch's pin file / the PyPI wheel's files match the
# branch tip / best public evidence
STATUSES = ("verified", "matched", "candidate")
# what PyPI's torch wheels for a pin's platform are: "cuda" (an nvidia-* requirement applies
# there, or torch's metadata names Triton) or "cpu" (none does: inductor generates C++, no Triton)
PYPI_BUILDS = ("cuda", "cpu")


@dataclass(frozen=True, slots=True, kw_only=True)
class Pin:
    """For torch releases matching `torch`, on targets matching `marker`, Triton comes as
    `package==version`, delivered as `provides` says."""

    id: str
    torch: SpecifierSet
    marker: Marker
    package: NormalizedName
    version: Version
    requires: SpecifierSet  # what torch's metadata asks (`~=3.8.0`); `==version` when it names one
    provides: str
    source: str
    where: Location
    # PyPI's torch build for this release and platform, and the metadata that shows it; the pin
    # then speaks for the CUDA builds of PyTorch's index (cu126 on aarch64) when PyPI's is "cpu"
    pypi_build: str = "cuda"
    pypi_build_source: str = ""

    @property
    def cpu_on_pypi(self) -> bool:
        return self.pypi_build == "cpu"


@dataclass(frozen=True, slots=True, kw_only=True)
class Build:
    """The git commit a Triton release was built from: what a source build must check out."""

    id: str
    package: NormalizedName
    version: Version
    repository: str
    commit: str
    status: str
    source: str
    evidence: tuple[str, ...]
    where: Location

    @property
    def short(self) -> str:
        return self.commit[:8]


@dataclass(frozen=True, slots=True, kw_only=True)
class PytorchPin:
    """The commit PyTorch's own build pins for a torch range (.ci/docker/ci_commit_pins/triton.txt):
    an accepted build even where it is another cut than the PyPI wheel's."""

    id: str
    torch: SpecifierSet
    package: NormalizedName
    version: Version
    commit: str
    status: str  # verified: read in the pin file; candidate: claimed by the public source
    source: str
    evidence: tuple[str, ...]
    where: Location

    @property
    def short(self) -> str:
        return self.commit[:8]


@dataclass(frozen=True, slots=True, kw_only=True)
class Break:
    """A commit on Triton's `main` after which the torch range no longer works: a build of that
    commit or of any later `main` commit is an error for it."""

    id: str
    torch: SpecifierSet
    package: NormalizedName
    commit: str
    symptom: str
    source: str
    where: Location


@dataclass(frozen=True, slots=True, kw_only=True)
class Recipe:
    """How to build a Triton version range from source: layout, tools, environment."""

    id: str
    package: NormalizedName
    versions: SpecifierSet
    subdirectory: str
    build_requires: tuple[str, ...]
    env: Mapping[str, str]
    local_version: str  # appended to the version by the build, with {short} for the commit
    system: tuple[str, ...]
    source: str
    where: Location


@dataclass(frozen=True, slots=True, kw_only=True)
class Companion:
    id: str
    package: NormalizedName
    version: Version
    torch: SpecifierSet
    source: str
    where: Location


@dataclass(frozen=True, slots=True, kw_only=True)
class Bad:
    """A torch/Triton pair users reported broken, with what they see and what fixes it."""

    id: str
    torch: SpecifierSet
    package: NormalizedName
    triton: SpecifierSet | None
    commits: tuple[str, ...]
    symptom: str
    fix: str
    source: str
    where: Location


@dataclass(frozen=True, slots=True, kw_only=True)
class Good:
    """A Triton commit other than the release's that is known to work with a torch range."""

    id: str
    torch: SpecifierSet
    package: NormalizedName
    commit: str
    note: str
    source: str
    where: Location


@dataclass(frozen=True, slots=True, kw_only=True)
class Probe:
    """Names torch imports from Triton: `module:attribute`, any one of which must import."""

    id: str
    torch: SpecifierSet
    any_of: tuple[str, ...]
    symptom: str
    source: str
    where: Location


@dataclass(frozen=True, slots=True, kw_only=True)
class VariantRule:
    """Which Triton a family of PyTorch build variants (cu*, cpu, rocm*, xpu) runs."""

    id: str
    match: str  # an fnmatch pattern over variant names
    package: str  # the Triton distribution, or "none"
    applies: str  # "release": the torch.toml pins hold; "none": no Triton; "unknown"
    status: str
    source: str
    note: str
    where: Location


@dataclass(frozen=True, slots=True, kw_only=True)
class Ruleset:
    pins: tuple[Pin, ...]
    builds: tuple[Build, ...]
    recipes: tuple[Recipe, ...]
    companions: tuple[Companion, ...]
    bad: tuple[Bad, ...]
    good: tuple[Good, ...]
    probes: tuple[Probe, ...]
    variants: tuple[VariantRule, ...] = ()
    pytorch_pins: tuple[PytorchPin, ...] = ()
    breaks: tuple[Break, ...] = ()
    history: History | None = None  # rules/triton-history.txt, when the rules directory has one
    digest: str
    paths: tuple[str, ...]

    def pin_for(self, torch: Version, environment: Mapping[str, str]) -> Pin | None:
        """At most one pin matches: the loader refuses overlapping pins."""
        for pin in self.pins:
            if pin.torch.contains(torch, prereleases=True) and pin.marker.evaluate(dict(environment)):
                return pin
        return None

    def covers(self, torch: Version) -> bool:
        """Whether any pin speaks of this torch release (on some platform)."""
        return any(pin.torch.contains(torch, prereleases=True) for pin in self.pins)

    def variant_rule(self, variant: str) -> VariantRule | None:
        from fnmatch import fnmatchcase

        return next((v for v in self.variants if fnmatchcase(variant, v.match)), None)

    def build_for(self, package: str, version: Version) -> Build | None:
        for build in self.builds:
            if build.package == package and build.version == version:
                return build
        return None

    def recipe_for(self, package: str, version: Version) -> Recipe | None:
        for recipe in self.recipes:
            if recipe.package == package and recipe.versions.contains(version, prereleases=True):
                return recipe
        return None

    def source_version(self, build: Build) -> Version:
        """The version a source build of `build` produces, local label included: the exact
        string a constraints file must pin, since `==3.2.0` would accept any +git build."""
        recipe = self.recipe_for(build.package, build.version)
        label = recipe.local_version.format(short=build.short) if recipe else ""
        return Version(f"{build.version}{label}")

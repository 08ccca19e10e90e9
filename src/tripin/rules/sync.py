"""What the index's own metadata says the version-level rules should be: the pins of
rules/torch.toml and the companions of rules/companions.toml, as data. `rules sync` writes
them; `rules verify --online` compares them with the rules in force. Commits (triton.toml)
are never derived here: metadata names versions, not commits."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from tripin.builds import is_gpu_build
from tripin.errors import IndexFetchError, ProjectNotFound
from tripin.index import DistFile, IndexClient
from tripin.targets import parse_target

__all__ = [
    "ExpectedCompanion",
    "ExpectedPin",
    "IndexView",
    "Merged",
    "companion_of",
    "expected_companions",
    "expected_pins",
    "merge_companions",
    "merge_pins",
    "pin_of",
    "read_index",
    "render_companions",
    "render_pins",
]

TRITONS = frozenset({"triton", "pytorch-triton"})
FIRST_TORCH = Version("2.0.0")  # the first release with torch.compile, and so with Triton
PLATFORMS = {"x86_64": "linux-x86_64", "aarch64": "linux-aarch64"}


@dataclass(frozen=True, slots=True, kw_only=True)
class ExpectedPin:
    id: str
    torch: str
    marker: str
    package: str
    version: str
    requires: str
    provides: str
    source: str
    pypi_build: str = ""  # "cpu" / "cuda" for a platform torch's metadata names no Triton for
    pypi_build_source: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class ExpectedCompanion:
    id: str
    package: str
    version: str
    torch: str
    source: str


def _best_wheel(files: Sequence[DistFile], arch: str) -> DistFile | None:
    """The newest-CPython (up to 3.13, for stable sources) manylinux wheel for `arch`, else a
    `py3-none` one (torchvision 0.29.2 and torchaudio 2.11.1 ship only those): metadata is the
    same across Pythons, so any one of them speaks for the release."""
    best: tuple[int, DistFile] | None = None
    for f in files:
        for tag in f.tags:
            if not (tag.platform.startswith("manylinux") and tag.platform.endswith(arch)):
                continue
            if tag.interpreter.startswith("cp") and tag.interpreter[2:].isdigit():
                rank = int(tag.interpreter[3:])
            elif tag.interpreter == "py3":
                rank = 0
            else:
                continue
            if rank <= 13 and (best is None or rank > best[0]):
                best = (rank, f)
    return best[1] if best else None


def _releases(files: Sequence[DistFile], minimum: Version) -> dict[Version, list[DistFile]]:
    out: dict[Version, list[DistFile]] = defaultdict(list)
    for f in files:
        if f.is_wheel and not f.version.is_prerelease and not f.version.local and f.version >= minimum:
            out[f.version].append(f)
    return out


def expected_pins(client: IndexClient, minimum: Version = FIRST_TORCH) -> list[ExpectedPin]:
    torch = _releases(client.project("torch").files, minimum)
    triton_files = client.project("triton").files
    out: list[ExpectedPin] = []
    for version in sorted(torch):
        out += _pins_for(client, version, torch[version], triton_files)
    return out


def _applies(marker: Marker | None, arch: str) -> bool:
    return marker is None or any(marker.evaluate(env) for env in _envs(arch))


def _pins_for(
    client: IndexClient, version: Version, files: list[DistFile], triton_files: tuple[DistFile, ...]
) -> list[ExpectedPin]:
    """One pin per distinct Triton requirement line in torch's metadata (its marker verbatim),
    then one per Linux architecture no such line covers: there Triton comes as a wheel torch's
    metadata omits, or as a source build of the same version."""
    picks = {arch: _best_wheel(files, arch) for arch in PLATFORMS}
    client.prefetch_metadata([p for p in picks.values() if p])
    lines: dict[str, tuple[Requirement, DistFile]] = {}
    for wheel in picks.values():
        if wheel is not None:
            for req in client.metadata(wheel).requires_dist:
                if canonicalize_name(req.name) in TRITONS:
                    lines.setdefault(str(req), (req, wheel))
    out: list[ExpectedPin] = []
    for n, (req, wheel) in enumerate(lines.values()):
        tver = _exact(req, triton_files)
        out.append(
            ExpectedPin(
                id=f"torch-{version}/metadata" + ("" if len(lines) == 1 else f"-{n + 1}"),
                torch=f"=={version}",
                marker=str(req.marker) if req.marker else 'sys_platform == "linux"',
                package=canonicalize_name(req.name),
                version=tver,
                requires="" if str(req.specifier) == f"=={tver}" else str(req.specifier),
                provides="metadata",
                source=wheel.url + ".metadata",
            )
        )
    if not lines:
        return out
    req, wheel = next(iter(lines.values()))
    tver = _exact(req, triton_files)
    for arch in PLATFORMS:
        if any(_applies(r.marker, arch) for r, _ in lines.values()):
            continue
        base = str(req.marker) if req.marker else 'sys_platform == "linux"'
        marker = base.replace('platform_machine == "x86_64"', f'platform_machine == "{arch}"')
        if marker == base:
            marker = f'({base}) and platform_machine == "{arch}"'
        has_wheel = [
            f for f in triton_files if str(f.version) == tver and any(t.platform.endswith(f"_{arch}") for t in f.tags)
        ]
        if has_wheel:
            provides, source = "wheel", (_best_wheel(has_wheel, arch) or has_wheel[0]).url
        else:
            provides, source = "source-build", wheel.url + ".metadata"
        own = picks[arch]  # this platform's torch wheel: a CUDA build, or a CPU build that needs no Triton
        build = ("cuda" if is_gpu_build(client.metadata(own).requires_dist, _envs(arch)) else "cpu") if own else ""
        out.append(
            ExpectedPin(
                id=f"torch-{version}/linux-{arch}",
                torch=f"=={version}",
                marker=marker,
                package=canonicalize_name(req.name),
                version=tver,
                requires="",
                provides=provides,
                source=source,
                pypi_build=build,
                pypi_build_source=own.url + ".metadata" if own else "",
            )
        )
    return out


def _envs(arch: str) -> list[dict[str, str]]:
    return [dict(parse_target(f"{PLATFORMS[arch]}-cp3{m}").environment()) for m in range(9, 16)]


def _exact(req: Requirement, triton_files: tuple[DistFile, ...]) -> str:
    """The Triton version a requirement means: its == version, else the newest release on the
    index that satisfies it (torch 2.14 says `triton~=3.8.0`)."""
    exact = [s.version for s in req.specifier if s.operator == "=="]
    if exact:
        return exact[0]
    versions = sorted({f.version for f in triton_files if req.specifier.contains(f.version)})
    if not versions:
        raise IndexFetchError(f"no Triton release on the index satisfies {req}")
    return str(versions[-1])


def expected_companions(client: IndexClient, minimum: Version = FIRST_TORCH) -> list[ExpectedCompanion]:
    out: list[ExpectedCompanion] = []
    for package in ("torchvision", "torchaudio"):
        try:
            releases = _releases(client.project(package).files, Version("0"))
        except ProjectNotFound:
            continue  # an index (a mirror, a test index) may carry one companion and not the other
        picks = {v: _best_wheel(files, "x86_64") for v, files in releases.items()}
        client.prefetch_metadata([p for p in picks.values() if p])
        for version in sorted(releases):
            wheel = picks[version]
            if wheel is None:
                continue
            torch_req = [r for r in client.metadata(wheel).requires_dist if canonicalize_name(r.name) == "torch"]
            specs = [s for r in torch_req for s in r.specifier]
            # `==2.6.0` until torchvision 0.29.0; `>=2.14.0` after; none at all (torchaudio 2.11.0):
            # no rule then (the resolver keeps such a release from torch releases paired with
            # another), returned with torch "" so that sync and verify can say so
            if not specs:
                out.append(
                    ExpectedCompanion(
                        id=f"{package}-{version}", package=package, version=str(version), torch="", source=wheel.url
                    )
                )
            elif max(Version(s.version) for s in specs) >= minimum:
                out.append(
                    ExpectedCompanion(
                        id=f"{package}-{version}",
                        package=package,
                        version=str(version),
                        torch=",".join(sorted(str(s) for s in specs)),
                        source=wheel.url + ".metadata",
                    )
                )
    return out


@dataclass(frozen=True, slots=True, kw_only=True)
class IndexView:
    """What one index says, and what it was asked about. A release the index does not show is
    no evidence against a rule: a mirror, a test index or a trimmed one lacks releases PyPI has.
    Only the releases it shows (torch from --min-torch on; each companion release it read) can
    confirm, change or drop a rule; `sync` and `verify --online` both judge by this."""

    pins: list[ExpectedPin]
    companions: list[ExpectedCompanion]
    torch: frozenset[Version]  # the torch releases it shows, from the minimum on
    companion_ids: frozenset[str]  # the companion releases it read (with or without a torch)

    def shows_torch(self, torch: SpecifierSet) -> bool:
        return any(torch.contains(v, prereleases=True) for v in self.torch)

    def shows_companion(self, id_: str) -> bool:
        return id_ in self.companion_ids


def read_index(client: IndexClient, minimum: Version = FIRST_TORCH) -> IndexView:
    companions = expected_companions(client, minimum)
    return IndexView(
        pins=expected_pins(client, minimum),
        companions=companions,
        torch=frozenset(_releases(client.project("torch").files, minimum)),
        companion_ids=frozenset(c.id for c in companions),
    )


_T = TypeVar("_T", ExpectedPin, ExpectedCompanion)


@dataclass(frozen=True, slots=True, kw_only=True)
class Merged(Generic[_T]):
    """What `sync` writes: the index's entries and the rules it cannot speak to, kept."""

    entries: list[_T]
    kept: list[_T]  # rules for releases the index does not show: written back unverified
    removed: list[_T]  # rules for releases it shows, whose metadata no longer gives them


def pin_of(table: Mapping[str, Any]) -> ExpectedPin:
    """A [[pin]] of torch.toml as sync renders it (the loader has checked its keys)."""
    return ExpectedPin(
        id=table["id"],
        torch=table["torch"],
        marker=table["marker"],
        package=table["package"],
        version=table["version"],
        requires=table.get("requires", ""),
        provides=table["provides"],
        source=table["source"],
        pypi_build=table.get("pypi-build", ""),
        pypi_build_source=table.get("pypi-build-source", ""),
    )


def companion_of(table: Mapping[str, Any]) -> ExpectedCompanion:
    return ExpectedCompanion(
        id=table["id"], package=table["package"], version=table["version"], torch=table["torch"], source=table["source"]
    )


def _spec(text: str) -> SpecifierSet:
    try:
        return SpecifierSet(text)
    except InvalidSpecifier:
        return SpecifierSet()


def _first_version(text: str) -> Version:
    """Where a pin sorts: by the release its torch specifier names (`==2.6.0`)."""
    for spec in _spec(text):
        try:
            return Version(spec.version.removesuffix(".*"))
        except InvalidVersion:
            break
    return Version("0")


def merge_pins(old: Sequence[ExpectedPin], view: IndexView) -> Merged[ExpectedPin]:
    derived = {p.id for p in view.pins}
    kept = [p for p in old if not view.shows_torch(_spec(p.torch))]
    removed = [p for p in old if view.shows_torch(_spec(p.torch)) and p.id not in derived]
    entries = sorted([*view.pins, *kept], key=lambda p: _first_version(p.torch))  # stable: a release keeps its order
    return Merged(entries=entries, kept=kept, removed=removed)


def merge_companions(old: Sequence[ExpectedCompanion], view: IndexView) -> Merged[ExpectedCompanion]:
    derived = {c.id for c in view.companions if c.torch}
    kept = [c for c in old if not view.shows_companion(c.id)]
    removed = [c for c in old if view.shows_companion(c.id) and c.id not in derived]
    order = ("torchvision", "torchaudio")

    def key(c: ExpectedCompanion) -> tuple[int, Version]:
        rank = order.index(c.package) if c.package in order else len(order)
        try:
            return rank, Version(c.version)
        except InvalidVersion:
            return rank, Version("0")

    return Merged(entries=sorted([*view.companions, *kept], key=key), kept=kept, removed=removed)


def _q(text: str) -> str:
    return "'" + text + "'" if '"' in text else '"' + text + '"'


def render_pins(pins: Sequence[ExpectedPin], index: str) -> str:
    head = (
        "# torch release -> the Triton it needs on each Linux platform.\n"
        f"# Generated by `tripin rules sync` from the torch wheels' own metadata on {index}.\n"
        "# provides: 'metadata' = torch's Requires-Dist names it there; 'wheel' = torch's metadata\n"
        "# omits it but PyPI has that Triton's wheel for the platform (source: the wheel);\n"
        "# 'source-build' = no wheel exists: build the commit from triton.toml (source: the\n"
        "# x86_64 metadata that names the version). Other platforms get no Triton.\n"
        "# pypi-build: what PyPI's torch wheel for that platform is (source: its metadata): 'cuda'\n"
        "# when an nvidia-* requirement applies there, 'cpu' when none does. A CPU build runs no\n"
        "# Triton; the pin then holds for the CUDA builds of PyTorch's index (-cu126 targets).\n"
        "schema = 1\n"
    )
    body = []
    for p in pins:
        lines = [
            "[[pin]]",
            f"id = {_q(p.id)}",
            f"torch = {_q(p.torch)}",
            f"marker = {_q(p.marker)}",
            f"package = {_q(p.package)}",
            f"version = {_q(p.version)}",
        ]
        if p.requires:
            lines.append(f"requires = {_q(p.requires)}")
        lines += [f"provides = {_q(p.provides)}", f"source = {_q(p.source)}"]
        if p.pypi_build:
            lines += [f"pypi-build = {_q(p.pypi_build)}", f"pypi-build-source = {_q(p.pypi_build_source)}"]
        body.append("\n".join(lines) + "\n")
    return head + "\n" + "\n".join(body)


def render_companions(companions: Sequence[ExpectedCompanion], index: str) -> str:
    head = (
        "# torchvision / torchaudio release -> the torch release(s) its wheel metadata requires.\n"
        f"# Generated by `tripin rules sync` from each release's wheel metadata on {index}.\n"
        "schema = 1\n"
    )
    body = [
        "\n".join(
            [
                "[[companion]]",
                f"id = {_q(c.id)}",
                f"package = {_q(c.package)}",
                f"version = {_q(c.version)}",
                f"torch = {_q(c.torch)}",
                f"source = {_q(c.source)}",
            ]
        )
        + "\n"
        for c in companions
        if c.torch
    ]
    return head + "\n" + "\n".join(body)

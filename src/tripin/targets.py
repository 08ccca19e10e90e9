"""Named targets: the marker environment and wheel tags of a machine that need not be this one."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from packaging.markers import Marker
from packaging.tags import Tag, compatible_tags, cpython_tags, mac_platforms

from tripin.errors import TargetError

__all__ = ["DEFAULT_GLIBC", "DEFAULT_MACOS", "DEFAULT_MUSL", "Target", "known_platforms", "parse_target"]

DEFAULT_GLIBC = (2, 28)
DEFAULT_MUSL = (1, 2)
DEFAULT_MACOS = (14, 0)

# os -> arch as written in target names -> (platform_machine, wheel-tag arch)
_ARCHES: dict[str, dict[str, tuple[str, str]]] = {
    "linux": {"x86_64": ("x86_64", "x86_64"), "aarch64": ("aarch64", "aarch64")},
    "musllinux": {"x86_64": ("x86_64", "x86_64"), "aarch64": ("aarch64", "aarch64")},
    "macos": {"arm64": ("arm64", "arm64"), "x86_64": ("x86_64", "x86_64")},
    "windows": {"x86_64": ("AMD64", "amd64"), "arm64": ("ARM64", "arm64")},
}
_SYS = {
    "linux": ("posix", "linux", "Linux"),
    "musllinux": ("posix", "linux", "Linux"),
    "macos": ("posix", "darwin", "Darwin"),
    "windows": ("nt", "win32", "Windows"),
}
_NAME = re.compile(r"(?P<os>[a-z]+)-(?P<arch>[a-z0-9_]+)-cp(?P<major>3)(?P<minor>\d{1,2})(?:-(?P<variant>[a-z0-9.]+))?")
# PyTorch's build variants, as its indexes name them (https://download.pytorch.org/whl/<variant>)
_VARIANT = re.compile(r"cu\d{2,3}|rocm\d+\.\d+(\.\d+)?|cpu|xpu")
# manylinux's legacy names (PEP 600 keeps them as aliases of these glibc levels)
_LEGACY = {(2, 17): "manylinux2014", (2, 12): "manylinux2010", (2, 5): "manylinux1"}


@dataclass(frozen=True, slots=True, kw_only=True)
class Target:
    """A platform to lock for. Nothing here reads the running interpreter: the host never
    needs to be the target, so every value comes from the name and the libc/OS levels."""

    name: str
    os: str
    variant: str | None = None  # a PyTorch build variant (cu126, rocm6.2, cpu, xpu), None for PyPI's builds
    arch: str
    python: tuple[int, int]
    glibc: tuple[int, int] = DEFAULT_GLIBC
    musl: tuple[int, int] = DEFAULT_MUSL
    macos: tuple[int, int] = DEFAULT_MACOS
    _cache: dict[str, object] = field(default_factory=dict, compare=False, repr=False)

    @property
    def python_version(self) -> str:
        return f"{self.python[0]}.{self.python[1]}"

    @property
    def platform_machine(self) -> str:
        return _ARCHES[self.os][self.arch][0]

    def environment(self, extra: str = "") -> dict[str, str]:
        """The PEP 508 marker environment. python_full_version is the .0 release: a lock
        for "3.12" must hold for every 3.12.x, and markers on patch levels are rare."""
        os_name, sys_platform, system = _SYS[self.os]
        env: dict[str, str] = {
            "implementation_name": "cpython",
            "implementation_version": f"{self.python_version}.0",
            "os_name": os_name,
            "platform_machine": self.platform_machine,
            "platform_python_implementation": "CPython",
            "platform_release": "",
            "platform_system": system,
            "platform_version": "",
            "python_full_version": f"{self.python_version}.0",
            "python_version": self.python_version,
            "sys_platform": sys_platform,
            "extra": extra,
        }
        return env

    @property
    def marker(self) -> Marker:
        """The marker that selects this target in a lock's `environments` and package entries."""
        _, sys_platform, _ = _SYS[self.os]
        return Marker(
            f'sys_platform == "{sys_platform}" and platform_machine == "{self.platform_machine}"'
            f' and python_version == "{self.python_version}" and implementation_name == "cpython"'
        )

    def platforms(self) -> list[str]:
        """Platform tags, most specific first, as an installer on that machine would rank them."""
        tag_arch = _ARCHES[self.os][self.arch][1]
        if self.os == "linux":
            floor = 17 if tag_arch == "aarch64" else 5
            plats: list[str] = []
            for minor in range(self.glibc[1], floor - 1, -1):
                plats.append(f"manylinux_2_{minor}_{tag_arch}")
                legacy = _LEGACY.get((2, minor))
                if legacy and not (legacy != "manylinux2014" and tag_arch == "aarch64"):
                    plats.append(f"{legacy}_{tag_arch}")
            return [*plats, f"linux_{tag_arch}"]
        if self.os == "musllinux":
            musl = [f"musllinux_1_{m}_{tag_arch}" for m in range(self.musl[1], 0, -1)]
            return [*musl, f"linux_{tag_arch}"]
        if self.os == "macos":
            return list(mac_platforms(self.macos, tag_arch))
        return [f"win_{tag_arch}"]

    @property
    def tags(self) -> Sequence[Tag]:
        """Supported tags, best first; cached because every candidate file is ranked by them."""
        cached = self._cache.get("tags")
        if cached is None:
            plats = self.platforms()
            interpreter = f"cp{self.python[0]}{self.python[1]}"
            cached = [
                *cpython_tags(self.python, [interpreter, "abi3", "none"], plats),
                *compatible_tags(self.python, interpreter, plats),
            ]
            self._cache["tags"] = cached
        return cached  # type: ignore[return-value]

    def tag_rank(self, tags: frozenset[Tag]) -> int | None:
        """Rank of the best of a wheel's tags (lower is better), None if none is supported."""
        index = self._cache.get("rank")
        if index is None:
            index = {tag: i for i, tag in enumerate(self.tags)}
            self._cache["rank"] = index
        assert isinstance(index, dict)
        ranks = [index[t] for t in tags if t in index]
        return min(ranks) if ranks else None

    def rank_of(self, tag_text: str) -> int | None:
        """tag_rank for the tag part of a wheel's name (`cp312-cp312-manylinux_2_17_x86_64`,
        compressed sets too), on strings, memoized: every target ranks thousands of files
        whose tag texts repeat, and building Tag objects for each dominated a lock."""
        memo = self._cache.get("rank_of")
        if memo is None:
            memo = self._cache["rank_of"] = {}
        assert isinstance(memo, dict)
        if tag_text in memo:
            return memo[tag_text]  # type: ignore[no-any-return]
        index = self._cache.get("rank_text")
        if index is None:
            index = self._cache["rank_text"] = {str(tag): i for i, tag in enumerate(self.tags)}
        assert isinstance(index, dict)
        rank: int | None = None
        interpreters, abis, platforms = tag_text.lower().split("-")
        for i in interpreters.split("."):
            for a in abis.split("."):
                for p in platforms.split("."):
                    found = index.get(f"{i}-{a}-{p}")
                    if found is not None and (rank is None or found < rank):
                        rank = found
        memo[tag_text] = rank
        return rank

    def wider_level(self, tag_text: str) -> tuple[str, tuple[int, int]] | None:
        """("manylinux" | "musllinux" | "macos", level): the lowest libc or OS level at which a
        wheel with these tags would fit this target, where the level the target allows is its
        only fault (llguidance 1.7.6's Linux wheels are manylinux_2_31, and a 2.28 target passes
        over them for 1.3.0). None where no level makes it fit."""
        found: list[tuple[str, tuple[int, int]]] = []
        for platform in tag_text.lower().rsplit("-", 1)[-1].split("."):
            match = _LEVELED.fullmatch(platform)
            if match is None:
                continue
            kind, level = _LEVEL_KIND[match[1]], (int(match[2]), int(match[3]))
            if max(level) > _MAX_LEVEL:  # a hostile lock's manylinux_2_99999999: every level below is a tag
                continue
            if kind == "manylinux":
                wider = replace(self, glibc=level, _cache={}) if level > self.glibc else None
            elif kind == "musllinux":
                wider = replace(self, musl=level, _cache={}) if level > self.musl else None
            else:
                wider = replace(self, macos=level, _cache={}) if level > self.macos else None
            if wider is not None and wider.rank_of(tag_text) is not None:
                found.append((kind, level))
        return min(found, default=None)

    def __str__(self) -> str:
        return self.name


_LEVELED = re.compile(r"(manylinux|musllinux|macosx)_(\d{1,4})_(\d{1,4})_\w+")
_MAX_LEVEL = 99
_LEVEL_KIND = {"manylinux": "manylinux", "musllinux": "musllinux", "macosx": "macos"}


def known_platforms() -> list[str]:
    """Every OS-ARCH pair a target name may start with."""
    return [f"{os}-{arch}" for os, arches in _ARCHES.items() for arch in arches]


def _level(text: str, what: str) -> tuple[int, int]:
    match = re.fullmatch(r"(\d{1,2})\.(\d{1,2})", text)  # as config.py: every lower level is a tag
    if not match:
        raise TargetError(f"invalid {what} level {text!r}: expected MAJOR.MINOR, e.g. 2.28")
    return int(match[1]), int(match[2])


_MAX_MINOR = 20  # CPython 3.20 is years away; cp399 or cp3100 is a typo


def parse_target(
    name: str,
    *,
    glibc: str | None = None,
    musl: str | None = None,
    macos: str | None = None,
) -> Target:
    """Parse `OS-ARCH-cpXY[-VARIANT]` (e.g. `linux-aarch64-cp312`, `linux-x86_64-cp312-cu126`)
    for CPython 3.9 and later."""
    match = _NAME.fullmatch(name)
    known = ", ".join(f"{os}-{arch}" for os, arches in _ARCHES.items() for arch in arches)
    if not match or match["os"] not in _ARCHES:
        raise TargetError(
            f"unknown target {name!r}: expected OS-ARCH-cpXY, e.g. linux-x86_64-cp312",
            hint=f"known OS-ARCH pairs: {known}",
        )
    os, arch = match["os"], match["arch"]
    if arch not in _ARCHES[os]:
        raise TargetError(
            f"unknown target {name!r}: no architecture {arch!r} for {os}", hint=f"known OS-ARCH pairs: {known}"
        )
    python = (int(match["major"]), int(match["minor"]))
    if python < (3, 9):
        raise TargetError(f"unsupported target {name!r}: CPython 3.9 or later is required")
    if python[0] != 3 or python[1] > _MAX_MINOR:  # cp399 read as 3.99: a typo, not a Python
        raise TargetError(f"unknown target {name!r}: no CPython {python[0]}.{python[1]}")
    variant = match["variant"]
    if variant is not None and not _VARIANT.fullmatch(variant):
        raise TargetError(
            f"unknown variant {variant!r} in target {name!r}",
            hint="variants: cuXYZ (cu126, cu128), rocmX.Y (rocm6.2), cpu, xpu",
        )
    if variant is not None and os == "macos" and variant != "cpu":  # no CUDA, ROCm or XPU builds for macOS
        raise TargetError(f"unknown target {name!r}: PyTorch builds only -cpu for macOS")
    if variant is not None and variant.startswith("rocm") and os != "linux":
        raise TargetError(f"unknown target {name!r}: PyTorch's ROCm builds are for Linux (glibc) only")
    return Target(
        name=name,
        variant=variant,
        os=os,
        arch=arch,
        python=python,
        glibc=_level(glibc, "manylinux glibc") if glibc else DEFAULT_GLIBC,
        musl=_level(musl, "musllinux") if musl else DEFAULT_MUSL,
        macos=_level(macos, "macOS") if macos else DEFAULT_MACOS,
    )

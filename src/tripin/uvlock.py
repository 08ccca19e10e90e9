"""uv's lock file (`uv.lock`): what each target installs from it, so `check` can judge torch and Triton.

uv.lock (https://docs.astral.sh/uv/concepts/projects/layout/#the-lockfile) holds one `[[package]]`
per (name, version, source) and puts the markers on the dependency edges, not on the packages. So
what a target installs is what a walk from the project's own packages reaches through the edges
whose marker holds there: the walk `uv sync` makes. A package reached only through an edge
another target takes is not installed here, however the package itself is written.

Formats read, as uv writes them (crates/uv-resolver/src/lock/mod.rs):
* `source = { registry = URL }`, `{ git = "URL?subdirectory=S&rev=R#<commit>" }` (the fragment
  is the commit uv resolved, `locked_git_url`), `{ url = ... }`, `{ path | directory |
  editable | virtual = PATH }`;
* `dependencies`, `[package.optional-dependencies]` and `[package.dev-dependencies]`: lists of
  `{ name, version?, source?, extra?, marker? }`; `version`/`source` appear where a name has
  more than one entry;
* conflicting extras and groups (`[tool.uv] conflicts`) as markers on an encoded `extra`:
  `extra == 'extra-7-project-cu124'`, `extra == 'group-7-project-dev'`.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from packaging.markers import InvalidMarker, Marker
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import InvalidVersion, Version

from tripin.errors import Location, LockError
from tripin.inputfile import read_toml_file
from tripin.targets import Target

__all__ = ["Selection", "UvLock", "UvPackage", "read_uv_lock"]

_COMMIT = re.compile(r"[0-9a-f]{40}")


@dataclass(frozen=True, slots=True, kw_only=True)
class UvPackage:
    name: NormalizedName
    version: Version | None  # uv leaves it out for a project with a dynamic version
    line: int  # the `[[package]]` line
    commit: str | None  # a git source's resolved commit
    source: Mapping[str, Any]
    sdist: bool = False  # an `sdist` table: what uv builds where no wheel fits


@dataclass(frozen=True, slots=True, kw_only=True)
class Selection:
    """What a user asks `uv sync` for beyond the project's dependencies: nothing, one extra
    (`--extra cu124`) or one dependency group (`--group dev`)."""

    kind: str = ""  # "", "extra" or "group"
    name: str = ""
    project: str = ""  # the workspace member whose extra or group it is

    @property
    def encoded(self) -> str:
        """The `extra` value uv's conflict markers test for this selection."""
        return f"{self.kind}-{len(self.project)}-{self.project}-{self.name}" if self.kind else ""

    def __str__(self) -> str:
        return f"--{self.kind} {self.name}" if self.kind else "no extras or groups"


@dataclass(frozen=True, slots=True)
class _Edge:
    to: int
    marker: Marker | None
    extras: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class UvLock:
    path: Path
    packages: tuple[UvPackage, ...]
    roots: tuple[int, ...]
    requires_python: SpecifierSet | None
    supported: tuple[Marker, ...]  # `supported-markers` ([tool.uv] environments), if any
    _deps: tuple[tuple[_Edge, ...], ...]
    _optional: tuple[Mapping[str, tuple[_Edge, ...]], ...]
    _groups: tuple[Mapping[str, tuple[_Edge, ...]], ...]

    def covers(self, target: Target) -> bool:
        """Whether uv resolved this lock for the target's Python and platform."""
        env = target.environment()
        if self.requires_python is not None and not self.requires_python.contains(
            env["python_full_version"], prereleases=True
        ):
            return False
        return not self.supported or any(m.evaluate({**env, "extra": ""}) for m in self.supported)

    def selections(self) -> list[Selection]:
        out = [Selection()]
        for root in self.roots:
            project = self.packages[root].name
            out += [Selection(kind="extra", name=e, project=project) for e in self._optional[root]]
            out += [Selection(kind="group", name=g, project=project) for g in self._groups[root]]
        return list(dict.fromkeys(out))

    def installs(self, target: Target, selection: Selection = Selection()) -> list[UvPackage]:
        """The packages `uv sync` (with the selection) installs on the target, in lock order."""
        env = {**target.environment(), "extra": selection.encoded}
        seen: set[int] = set()
        queue: deque[_Edge] = deque()
        for root in self.roots:
            seen.add(root)
            queue.extend(self._deps[root])
            if self.packages[root].name != selection.project:
                continue
            if selection.kind == "extra":
                queue.extend(self._optional[root].get(selection.name, ()))
            elif selection.kind == "group":
                queue.extend(self._groups[root].get(selection.name, ()))
        extras_done: set[tuple[int, str]] = set()
        while queue:
            edge = queue.popleft()
            if edge.marker is not None and not edge.marker.evaluate(env):
                continue
            if edge.to not in seen:
                seen.add(edge.to)
                queue.extend(self._deps[edge.to])
            for extra in edge.extras:
                if (edge.to, extra) not in extras_done:
                    extras_done.add((edge.to, extra))
                    queue.extend(self._optional[edge.to].get(extra, ()))
        return [p for i, p in enumerate(self.packages) if i in seen]


def _package_lines(text: str) -> list[int]:
    return [i + 1 for i, line in enumerate(text.splitlines()) if re.match(r"^\s*\[\[\s*package\s*\]\]", line)]


class _Reader:
    """Reads one uv.lock; every complaint names the `[[package]]` line it is about."""

    def __init__(self, path: Path, text: str) -> None:
        self.path = path
        self.lines = _package_lines(text)

    def fail(self, line: int, message: str) -> LockError:
        return LockError(f"{Location(str(self.path), line)}: {message}")

    def string(self, value: object, line: int, key: str) -> str:
        if not isinstance(value, str):
            raise self.fail(line, f"{key}: expected a string, got {type(value).__name__}")
        return value

    def table(self, value: object, line: int, key: str) -> Mapping[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(line, f"{key}: expected a table, got {type(value).__name__}")
        return value

    def array(self, value: object, line: int, key: str) -> list[Any]:
        if not isinstance(value, list):
            raise self.fail(line, f"{key}: expected an array, got {type(value).__name__}")
        return value

    def marker(self, text: object, line: int, key: str) -> Marker:
        try:
            return Marker(self.string(text, line, key))
        except InvalidMarker as exc:
            raise self.fail(line, f"{key}: invalid marker: {str(exc).splitlines()[0]}") from None

    def package(self, raw: object, line: int) -> UvPackage:
        data = self.table(raw, line, "[[package]]")
        if "name" not in data:
            raise self.fail(line, "[[package]] without a name")
        name = canonicalize_name(self.string(data["name"], line, "name"))
        version: Version | None = None
        if "version" in data:
            try:
                version = Version(self.string(data["version"], line, "version"))
            except InvalidVersion:
                raise self.fail(line, f"{name}: invalid version {data['version']!r}") from None
        source = self.table(data.get("source", {}), line, f"{name}: source")
        commit = None
        if "git" in source:
            url = self.string(source["git"], line, f"{name}: source.git")
            commit = url.partition("#")[2].lower()
            if not _COMMIT.fullmatch(commit):
                raise self.fail(line, f"{name}: source.git {url!r} does not end in #<40-hex commit>")
        return UvPackage(
            name=name, version=version, line=line, commit=commit or None, source=source, sdist="sdist" in data
        )

    def edges(
        self, raw: object, line: int, key: str, packages: Sequence[UvPackage], by_name: Mapping[str, list[int]]
    ) -> tuple[_Edge, ...]:
        out: list[_Edge] = []
        for item in self.array(raw, line, key):
            dep = self.table(item, line, key)
            name = canonicalize_name(self.string(dep.get("name"), line, f"{key}: name"))
            candidates = by_name.get(name, [])
            if "version" in dep:
                wanted = self.string(dep["version"], line, f"{key}: version")
                candidates = [i for i in candidates if str(packages[i].version) == wanted]
            if "source" in dep:
                candidates = [i for i in candidates if packages[i].source == dep["source"]]
            if len(candidates) != 1:
                what = "no" if not candidates else "more than one"
                raise self.fail(line, f"{key}: {what} [[package]] matches the dependency {name}")
            marker = self.marker(dep["marker"], line, f"{key}: {name}: marker") if "marker" in dep else None
            extras = tuple(self.string(e, line, f"{key}: extra") for e in self.array(dep.get("extra", []), line, key))
            out.append(_Edge(candidates[0], marker, extras))
        return tuple(out)

    def named_edges(
        self, raw: object, line: int, key: str, packages: Sequence[UvPackage], by_name: Mapping[str, list[int]]
    ) -> Mapping[str, tuple[_Edge, ...]]:
        table = self.table(raw, line, key)
        return {canonicalize_name(k): self.edges(v, line, f"{key}.{k}", packages, by_name) for k, v in table.items()}


def read_uv_lock(path: Path) -> UvLock:
    """The lock with its edges resolved to packages; a LockError with the line for anything
    that is not a uv.lock uv could read."""
    text, data = read_toml_file(path, LockError)  # a regular file, at most 16 MiB
    reader = _Reader(path, text)
    if data.get("version") != 1:
        raise reader.fail(1, f"not a uv.lock tripin can read: version = {data.get('version')!r} (uv writes 1)")
    raw_packages = reader.array(data.get("package", []), 1, "package")
    lines = reader.lines + [1] * max(0, len(raw_packages) - len(reader.lines))
    packages = [reader.package(raw, lines[i]) for i, raw in enumerate(raw_packages)]
    by_name: dict[str, list[int]] = {}
    for i, p in enumerate(packages):
        by_name.setdefault(p.name, []).append(i)
    deps, optional, groups = [], [], []
    for i, raw in enumerate(raw_packages):
        line, name = lines[i], packages[i].name
        deps.append(reader.edges(raw.get("dependencies", []), line, f"{name}: dependencies", packages, by_name))
        optional.append(
            reader.named_edges(
                raw.get("optional-dependencies", {}), line, f"{name}: optional-dependencies", packages, by_name
            )
        )
        groups.append(
            reader.named_edges(raw.get("dev-dependencies", {}), line, f"{name}: dev-dependencies", packages, by_name)
        )
    manifest = reader.table(data.get("manifest", {}), 1, "manifest")
    members = {
        canonicalize_name(reader.string(m, 1, "manifest.members"))
        for m in reader.array(manifest.get("members", []), 1, "manifest.members")
    }
    roots = tuple(
        i
        for i, p in enumerate(packages)
        if p.name in members or (not members and any(p.source.get(k) == "." for k in ("editable", "virtual")))
    )
    if not roots:
        raise reader.fail(
            1, 'no project in the lock: no [manifest] members and no package with source editable or virtual "."'
        )
    try:
        requires_python = SpecifierSet(data["requires-python"]) if "requires-python" in data else None
    except (InvalidSpecifier, TypeError):
        raise reader.fail(1, f"requires-python: invalid specifier {data['requires-python']!r}") from None
    supported = tuple(
        reader.marker(m, 1, "supported-markers")
        for m in reader.array(data.get("supported-markers", []), 1, "supported-markers")
    )
    return UvLock(
        path=path,
        packages=tuple(packages),
        roots=roots,
        requires_python=requires_python,
        supported=supported,
        _deps=tuple(deps),
        _optional=tuple(optional),
        _groups=tuple(groups),
    )

"""A pyproject.toml's requirement groups: [project.optional-dependencies] (extras) and PEP 735
[dependency-groups], read as pip and uv read them. Names compare normalized (PEP 685, PEP 735:
`Dev_Tools` is `dev-tools`), so two spellings of one name are refused rather than one picked
by how the command line spells it; `{include-group = ...}` names a dependency group and a
requirement on the project itself (`all = ["myproject[yaml]"]`) names extras, never the other."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from tripin.errors import ConfigError, Location, quote

__all__ = ["check_group_names", "group_requirements", "line_of", "main_dependencies", "named", "own_requirements"]


def line_of(text: str, key: str) -> int | None:
    """The line where `key = ...` is first set in a TOML text (for error places)."""
    for i, line in enumerate(text.splitlines()):
        if re.match(rf"^\s*\"?{re.escape(key)}\"?\s*=", line):
            return i + 1
    return None


def named(table: object, name: str) -> str | None:
    """The key of `table` that names `name`, compared normalized."""
    if not isinstance(table, dict):
        return None
    if name in table:
        return name
    wanted = canonicalize_name(name)
    return next((k for k in table if isinstance(k, str) and canonicalize_name(k) == wanted), None)


def main_dependencies(data: Mapping[str, Any], path: Path, text: str) -> list[str]:
    project = data.get("project", {})
    deps = project.get("dependencies", []) if isinstance(project, dict) else []
    if not isinstance(deps, list) or not all(isinstance(d, str) for d in deps):
        where = Location(str(path), line_of(text, "dependencies"))
        raise ConfigError(f"{where}: [project].dependencies must be a list of strings")
    return list(deps)


def check_group_names(data: Mapping[str, Any], path: Path, text: str) -> None:
    """Two extras, or two dependency groups, whose names normalize alike: PEP 735 says tools
    should refuse them (uv: "duplicate dependency group"), as either could be the one meant."""
    for title, what, table in (
        ("project.optional-dependencies", "extra", _extras(data)),
        ("dependency-groups", "dependency group", data.get("dependency-groups")),
    ):
        seen: dict[str, str] = {}
        for key in table if isinstance(table, dict) else ():
            first = seen.setdefault(canonicalize_name(key), key)
            if first != key:
                raise ConfigError(
                    f"{Location(str(path), line_of(text, key))}: duplicate {what}: {title} has {quote(first)} and "
                    f"{quote(key)}, both {canonicalize_name(key)} (names compare normalized, PEP 685 and 735)"
                )


def group_requirements(
    data: Mapping[str, Any],
    name: str,
    path: Path,
    text: str,
    *,
    blame: str | None = None,
    warnings: list[str] | None = None,
) -> list[str]:
    """The requirements of the extra or dependency group `name` (its includes and self-references
    followed). `blame`: where the name was given, for the error when there is no such group;
    `warnings` gets a self-reference to an extra the project does not have (pip and uv warn)."""
    extras, groups = _extras(data), data.get("dependency-groups")
    extra, group = named(extras, name), named(groups, name)
    if extra is not None and group is not None:
        raise ConfigError(
            f"{blame or Location(str(path), line_of(text, group))}: {quote(name)} names both "
            f"project.optional-dependencies.{extra} and dependency-groups.{group}, which tripin's --group and "
            "[tool.tripin] groups cannot tell apart; rename one"
        )
    if extra is not None:
        return _extra(data, extra, path, text, (), warnings)
    if group is None:
        import difflib

        known = [*(extras if isinstance(extras, dict) else {}), *(groups if isinstance(groups, dict) else {})]
        close = difflib.get_close_matches(name, known, n=1)
        where = blame or str(Location(str(path), line_of(text, "groups")))
        raise ConfigError(
            f"{where}: no requirements group {name!r} in {path}'s [project.optional-dependencies] or "
            "[dependency-groups]" + (f"; did you mean {close[0]!r}?" if close else ""),
            hint=f"groups there: {', '.join(known)}" if known else None,
        )
    return _dependency_group(data, group, path, text, (), warnings)


def own_requirements(
    data: Mapping[str, Any], path: Path, text: str, names: Sequence[str]
) -> dict[str, tuple[str, list[str]]]:
    """Each group's requirements that [project].dependencies does not have, and its kind:
    "extra" for [project.optional-dependencies], "group" for PEP 735 [dependency-groups]."""
    main = set(main_dependencies(data, path, text))
    out: dict[str, tuple[str, list[str]]] = {}
    for name in dict.fromkeys(names):
        kind = "extra" if named(_extras(data), name) is not None else "group"
        reqs = [r for r in group_requirements(data, name, path, text) if r not in main]
        key = canonicalize_name(name)  # PEP 751 writes extras and groups normalized
        before = out[key][1] if key in out else []  # asked for twice, spelled two ways
        out[key] = (kind, before + [r for r in reqs if r not in before])
    return out


def _extras(data: Mapping[str, Any]) -> object:
    project = data.get("project")
    return project.get("optional-dependencies") if isinstance(project, dict) else None


def _extra(
    data: Mapping[str, Any], key: str, path: Path, text: str, chain: tuple[str, ...], warnings: list[str] | None
) -> list[str]:
    entries = _extras(data)[key]  # type: ignore[index]
    if not isinstance(entries, list) or not all(isinstance(d, str) for d in entries):
        raise ConfigError(
            f"{Location(str(path), line_of(text, key))}: project.optional-dependencies.{key} must be a list of strings"
        )
    where = f"project.optional-dependencies.{key}"
    return _self_expanded(
        data, list(entries), path, (text, where), (*chain, f"extra:{canonicalize_name(key)}"), warnings
    )


def _dependency_group(
    data: Mapping[str, Any], key: str, path: Path, text: str, chain: tuple[str, ...], warnings: list[str] | None
) -> list[str]:
    """A PEP 735 group, its {include-group = NAME} entries followed; a cycle is shown whole."""
    groups = data["dependency-groups"]
    me = canonicalize_name(key)
    at = Location(str(path), line_of(text, key))
    if me in chain:
        cycle = [*chain[chain.index(me) :], me]
        raise ConfigError(f"{at}: dependency-groups.{key} includes itself: {' -> '.join(cycle)}")
    entries = groups[key]
    if not isinstance(entries, list):
        raise ConfigError(f"{at}: dependency-groups.{key} must be a list")
    out: list[str] = []
    for i, entry in enumerate(entries):
        if isinstance(entry, dict) and isinstance(entry.get("include-group"), str) and len(entry) == 1:
            included = named(groups, entry["include-group"])
            if included is None:
                import difflib

                close = difflib.get_close_matches(entry["include-group"], list(groups), n=1)
                raise ConfigError(
                    f"{at}: dependency-groups.{key}[{i}] includes group {quote(entry['include-group'])}, which "
                    "[dependency-groups] does not have" + (f"; did you mean {close[0]!r}?" if close else "")
                )
            out += _dependency_group(data, included, path, text, (*chain, me), warnings)
        elif isinstance(entry, str):
            out.append(entry)
        else:
            raise ConfigError(
                f"{at}: dependency-groups.{key}[{i}] must be a requirement string or {{include-group = NAME}}"
            )
    return _self_expanded(data, out, path, (text, f"dependency-groups.{key}"), (*chain, me), warnings)


def _self_expanded(
    data: Mapping[str, Any],
    reqs: list[str],
    path: Path,
    place: tuple[str, str],
    chain: tuple[str, ...],
    warnings: list[str] | None,
) -> list[str]:
    """`myproject[a,b]` among a group's requirements, where myproject is this project: the
    requirements of its extras a and b (with the reference's marker), followed as far as they
    go. The project itself is what is being locked, so a bare `myproject` adds nothing, and an
    extra it does not have adds nothing but a warning, as pip and uv have it."""
    project = data.get("project", {})
    own = project.get("name") if isinstance(project, dict) else None
    if not isinstance(own, str):
        return reqs
    me = canonicalize_name(own)
    text, where = place
    out: list[str] = []
    for text_req in reqs:
        try:
            req = Requirement(text_req)
        except InvalidRequirement:
            out.append(text_req)  # reported with its place when the requirements are parsed
            continue
        if canonicalize_name(req.name) != me or req.url:
            out.append(text_req)
            continue
        for extra in sorted(req.extras):
            key = named(_extras(data), extra)
            if key is None:
                if warnings is not None:
                    warnings.append(f"{path}: {where}: {req.name}[{extra}]: {req.name} has no extra {extra!r}; ignored")
                continue
            if f"extra:{canonicalize_name(extra)}" in chain:
                # extras that require each other (x = ["me[y]"], y = ["me[x]"]): legal, as pip
                # and uv read them; the extra being expanded further up brings its own
                continue
            for sub in _extra(data, key, path, text, chain, warnings):
                out.append(sub if req.marker is None else _and_marker(sub, str(req.marker)))
    return out


def _and_marker(text: str, marker: str) -> str:
    req = Requirement(text)
    own = f"({req.marker}) and ({marker})" if req.marker is not None else marker
    req.marker = None
    return f"{req} ; {own}"

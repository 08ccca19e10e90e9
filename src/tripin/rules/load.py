"""Load and validate rules/*.toml: every mistake is reported with its file and line."""

from __future__ import annotations

import hashlib
import re
import tomllib
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from packaging.markers import InvalidMarker, Marker
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from tripin.errors import Location, RulesetError, toml_error
from tripin.memo import default_rules_dir
from tripin.rules.model import (
    PROVIDES,
    STATUSES,
    Bad,
    Build,
    Companion,
    Good,
    Pin,
    Probe,
    Recipe,
    Ruleset,
    VariantRule,
)

__all__ = ["load_ruleset"]

_HEX40 = re.compile(r"[0-9a-f]{40}")
_HTTPS = re.compile(r"https://[A-Za-z0-9.-]+(:\d+)?(/[A-Za-z0-9._~%!$&'()*+,;=:@/?#-]*)?")
_TABLES = ("pin", "build", "recipe", "companion", "bad", "good", "probe", "variant")
_SCHEMA = 1


class _Table:
    """One `[[kind]]` entry with the location of each of its keys, for error messages."""

    def __init__(self, path: str, text_lines: Sequence[str], kind: str, line: int | None, data: Mapping[str, Any]):
        self.kind, self.data, self.path = kind, data, path
        self.line = line
        self._lines = text_lines

    def at(self, key: str | None = None) -> Location:
        if key is not None and self.line is not None:
            pattern = re.compile(rf"^\s*\"?{re.escape(key)}\"?\s*=")
            for i in range(self.line, len(self._lines)):
                if i > self.line and self._lines[i].lstrip().startswith("["):
                    break
                if pattern.match(self._lines[i]):
                    return Location(self.path, i + 1)
        return Location(self.path, None if self.line is None else self.line + 1)

    def fail(self, key: str | None, message: str) -> RulesetError:
        return RulesetError(self.at(key), message)

    def text(self, key: str, *, required: bool = True, pattern: re.Pattern[str] | None = None, what: str = "") -> str:
        value = self.data.get(key)
        if value is None:
            if required:
                raise self.fail(None, f"[[{self.kind}]] is missing required key {key!r}")
            return ""
        if not isinstance(value, str):
            raise self.fail(key, f"{key!r} must be a string")
        if pattern is not None and not pattern.fullmatch(value):
            raise self.fail(key, f"{key!r} is not {what}: {value!r}")
        return value

    def strs(self, key: str) -> tuple[str, ...]:
        value = self.data.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.fail(key, f"{key!r} must be a list of strings")
        return tuple(value)

    def specifier(self, key: str, *, required: bool = True) -> SpecifierSet | None:
        text = self.text(key, required=required)
        if not text and not required:
            return None
        try:
            return SpecifierSet(text)
        except InvalidSpecifier:
            raise self.fail(key, f"{key!r} is not a PEP 440 version specifier: {text!r}") from None

    def version(self, key: str) -> Version:
        text = self.text(key)
        try:
            return Version(text)
        except InvalidVersion:
            raise self.fail(key, f"{key!r} is not a PEP 440 version: {text!r}") from None

    def marker(self, key: str) -> Marker:
        text = self.text(key)
        try:
            return Marker(text)
        except InvalidMarker as exc:
            raise self.fail(key, f"{key!r} is not a PEP 508 marker: {str(exc).splitlines()[0]}") from None

    def choice(self, key: str, choices: Iterable[str]) -> str:
        value = self.text(key)
        if value not in choices:
            raise self.fail(key, f"{key!r} must be one of {', '.join(choices)}; got {value!r}")
        return value


_HEADER = re.compile(r"^\s*\[\[\s*([A-Za-z0-9_-]+)\s*\]\]")


def _header_lines(lines: Sequence[str]) -> dict[str, list[int]]:
    """The line of each `[[kind]]` header, in order, from one pass over the file (looking each
    table's line up from the top made loading quadratic in the number of rules)."""
    out: dict[str, list[int]] = {}
    for i, line in enumerate(lines):
        match = _HEADER.match(line)
        if match:
            out.setdefault(match.group(1), []).append(i)
    return out


_KEYS: dict[str, tuple[str, ...]] = {
    "pin": ("id", "torch", "marker", "package", "version", "requires", "provides", "source"),
    "build": ("id", "package", "version", "repository", "commit", "status", "source", "evidence"),
    "recipe": (
        "id",
        "package",
        "versions",
        "subdirectory",
        "build-requires",
        "env",
        "local-version",
        "system",
        "source",
    ),
    "companion": ("id", "package", "version", "torch", "source"),
    "bad": ("id", "torch", "package", "triton", "commits", "symptom", "fix", "source"),
    "good": ("id", "torch", "package", "commit", "note", "source"),
    "probe": ("id", "torch", "any-of", "symptom", "source"),
    "variant": ("id", "match", "package", "applies", "status", "source", "note"),
}


def _pin(t: _Table) -> Pin:
    version = t.version("version")
    requires = t.specifier("requires", required=False) or SpecifierSet(f"=={version}")
    if not requires.contains(version, prereleases=True):
        raise t.fail("requires", f"'requires' ({requires}) excludes the pin's own version {version}")
    return Pin(
        id=t.text("id"),
        torch=t.specifier("torch") or SpecifierSet(),
        marker=t.marker("marker"),
        package=canonicalize_name(t.text("package")),
        version=version,
        requires=requires,
        provides=t.choice("provides", PROVIDES),
        source=t.text("source", pattern=_HTTPS, what="an https URL"),
        where=t.at(),
    )


def _build(t: _Table) -> Build:
    return Build(
        id=t.text("id"),
        package=canonicalize_name(t.text("package")),
        version=t.version("version"),
        repository=t.text("repository", pattern=_HTTPS, what="an https URL"),
        commit=t.text("commit", pattern=_HEX40, what="a full 40-hex lowercase commit id"),
        status=t.choice("status", STATUSES),
        source=t.text("source", pattern=_HTTPS, what="an https URL"),
        evidence=t.strs("evidence"),
        where=t.at(),
    )


def _recipe(t: _Table) -> Recipe:
    env = t.data.get("env", {})
    if not isinstance(env, dict) or not all(
        isinstance(k, str) and re.fullmatch(r"[A-Z_][A-Z0-9_]*", k) and isinstance(v, str) for k, v in env.items()
    ):
        raise t.fail("env", "'env' must map UPPER_CASE names to strings")
    subdirectory = t.text("subdirectory", required=False) or "."
    if subdirectory.startswith("/") or ".." in subdirectory.split("/"):
        raise t.fail("subdirectory", "'subdirectory' must be a relative path inside the repository")
    return Recipe(
        id=t.text("id"),
        package=canonicalize_name(t.text("package")),
        versions=t.specifier("versions") or SpecifierSet(),
        subdirectory=subdirectory,
        build_requires=t.strs("build-requires"),
        env=dict(env),
        local_version=t.text(
            "local-version",
            required=False,
            pattern=re.compile(r"(\+[a-z0-9.{}]+)?"),
            what="a local version label like '+git{short}'",
        ),
        system=t.strs("system"),
        source=t.text("source", pattern=_HTTPS, what="an https URL"),
        where=t.at(),
    )


def _companion(t: _Table) -> Companion:
    return Companion(
        id=t.text("id"),
        package=canonicalize_name(t.text("package")),
        version=t.version("version"),
        torch=t.specifier("torch") or SpecifierSet(),
        source=t.text("source", pattern=_HTTPS, what="an https URL"),
        where=t.at(),
    )


def _bad(t: _Table) -> Bad:
    commits = t.strs("commits")
    for commit in commits:
        if not _HEX40.fullmatch(commit):
            raise t.fail("commits", f"'commits' holds {commit!r}, not a full 40-hex lowercase commit id")
    return Bad(
        id=t.text("id"),
        torch=t.specifier("torch") or SpecifierSet(),
        package=canonicalize_name(t.text("package")),
        triton=t.specifier("triton", required=False),
        commits=commits,
        symptom=t.text("symptom"),
        fix=t.text("fix"),
        source=t.text("source", pattern=_HTTPS, what="an https URL"),
        where=t.at(),
    )


def _good(t: _Table) -> Good:
    return Good(
        id=t.text("id"),
        torch=t.specifier("torch") or SpecifierSet(),
        package=canonicalize_name(t.text("package")),
        commit=t.text("commit", pattern=_HEX40, what="a full 40-hex lowercase commit id"),
        note=t.text("note"),
        source=t.text("source", pattern=_HTTPS, what="an https URL"),
        where=t.at(),
    )


def _probe(t: _Table) -> Probe:
    names = t.strs("any-of")
    for name in names:
        if not re.fullmatch(r"[A-Za-z_][\w.]*:[A-Za-z_]\w*", name):
            raise t.fail("any-of", f"'any-of' holds {name!r}, not 'module.path:attribute'")
    if not names:
        raise t.fail("any-of", "'any-of' must name at least one 'module:attribute'")
    return Probe(
        id=t.text("id"),
        torch=t.specifier("torch") or SpecifierSet(),
        any_of=names,
        symptom=t.text("symptom"),
        source=t.text("source", pattern=_HTTPS, what="an https URL"),
        where=t.at(),
    )


def _variant(t: _Table) -> VariantRule:
    return VariantRule(
        id=t.text("id"),
        match=t.text("match", pattern=re.compile(r"[a-z0-9.*?]+"), what="a variant pattern such as cu* or cpu"),
        package=t.text("package"),
        applies=t.choice("applies", ("release", "none", "unknown")),
        status=t.choice("status", (*STATUSES, "unknown")),
        source=t.text("source", pattern=_HTTPS, what="an https URL"),
        note=t.text("note", required=False),
        where=t.at(),
    )


_MAKERS: dict[str, Callable[[_Table], object]] = {
    "pin": _pin,
    "build": _build,
    "recipe": _recipe,
    "companion": _companion,
    "bad": _bad,
    "good": _good,
    "probe": _probe,
    "variant": _variant,
}


def load_ruleset(paths: Sequence[Path] | None = None, *, validate: bool = True) -> Ruleset:
    """Load rule files (default: every *.toml of the shipped rules directory). `validate=False`
    skips the overlap check, the one costly part, for the shipped rules on hot paths (`check`,
    `doctor`): the test suite validates those, and they do not change once installed."""
    files = sorted(default_rules_dir().glob("*.toml")) if paths is None else list(paths)
    if not files and paths is None:
        raise RulesetError(Location(str(default_rules_dir())), "the shipped rules are missing")
    found: dict[str, list[object]] = {kind: [] for kind in _TABLES}
    digest = hashlib.sha256()
    for path in files:
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise RulesetError(Location(str(path)), f"cannot read rules file: {exc.strerror}") from None
        digest.update(path.name.encode() + b"\0" + raw + b"\0")
        _load_file(str(path), raw, found)
    ruleset = Ruleset(
        pins=tuple(found["pin"]),  # type: ignore[arg-type]
        builds=tuple(found["build"]),  # type: ignore[arg-type]
        recipes=tuple(found["recipe"]),  # type: ignore[arg-type]
        companions=tuple(found["companion"]),  # type: ignore[arg-type]
        bad=tuple(found["bad"]),  # type: ignore[arg-type]
        good=tuple(found["good"]),  # type: ignore[arg-type]
        probes=tuple(found["probe"]),  # type: ignore[arg-type]
        variants=tuple(found["variant"]),  # type: ignore[arg-type]
        digest=f"sha256:{digest.hexdigest()}",
        paths=tuple(str(p) for p in files),
    )
    if validate or paths is not None:
        from tripin.rules.overlap import check_overlaps

        check_overlaps(ruleset)
    return ruleset


def _load_file(path: str, raw: bytes, found: dict[str, list[object]]) -> None:
    try:
        text = raw.decode("utf-8")
        data = tomllib.loads(text)
    except UnicodeDecodeError:
        raise RulesetError(Location(path), "rules file is not UTF-8") from None
    except tomllib.TOMLDecodeError as exc:
        where, message = toml_error(path, exc, raw.decode("utf-8", "replace"))
        raise RulesetError(where, f"invalid TOML: {message}") from None
    lines = text.splitlines()
    headers = _header_lines(lines)
    for key in data:
        if key != "schema" and key not in _TABLES:
            raise RulesetError(
                Location(path, _key_line(lines, key)),
                f"unknown key {key!r}",
                hint=f"a rules file holds schema and [[{']], [['.join(_TABLES)}]] tables",
            )
    if data.get("schema", _SCHEMA) != _SCHEMA:
        raise RulesetError(Location(path, _key_line(lines, "schema")), f"unsupported rules schema {data['schema']!r}")
    for kind in _TABLES:
        entries = data.get(kind, [])
        if not isinstance(entries, list):
            raise RulesetError(
                Location(path, _key_line(lines, kind)), f"{kind!r} must be an array of tables [[{kind}]]"
            )
        at = headers.get(kind, [])
        for ordinal, entry in enumerate(entries):
            line = at[ordinal] if ordinal < len(at) else None
            table = _Table(path, lines, kind, line, entry if isinstance(entry, dict) else {})
            if not isinstance(entry, dict):
                raise table.fail(None, f"[[{kind}]] entries must be tables")
            for key in entry:
                if key not in _KEYS[kind]:
                    raise table.fail(
                        key,
                        f"unknown key {key!r} in [[{kind}]]",
                    )
            found[kind].append(_MAKERS[kind](table))


def _key_line(lines: Sequence[str], key: str) -> int | None:
    for i, line in enumerate(lines):
        if re.match(rf"^\s*(\[\[?\s*)?{re.escape(key)}\b", line):
            return i + 1
    return None

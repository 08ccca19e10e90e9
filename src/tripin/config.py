"""Settings for `tripin lock`: the command line over the environment over [tool.tripin]."""

from __future__ import annotations

import hashlib
import json
import os
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import NormalizedName, canonicalize_name

from tripin.errors import ConfigError, Location, toml_error
from tripin.index.models import Index, redact_url

__all__ = ["DEFAULT_INDEX", "Settings", "inputs_digest", "load_pyproject", "parse_requirements", "pyproject_digest"]

DEFAULT_INDEX = "https://pypi.org/simple"
_TOOL_KEYS = {
    "targets",
    "index-url",
    "extra-index-urls",
    "index",
    "lock",
    "constraints",
    "manylinux",
    "musllinux",
    "macos",
    "prerelease",
}
_INDEX_ENV = ("TRIPIN_INDEX_URL", "UV_DEFAULT_INDEX", "UV_INDEX_URL", "PIP_INDEX_URL")


@dataclass(frozen=True, slots=True, kw_only=True)
class Settings:
    requirements: tuple[Requirement, ...]
    targets: tuple[str, ...]
    indexes: tuple[Index, ...]
    pins: Mapping[NormalizedName, str]
    lock_path: Path
    constraints_path: Path
    manylinux: str | None = None
    musllinux: str | None = None
    macos: str | None = None
    prereleases: bool = False
    pyproject_digest: str | None = None  # set when the requirements came from pyproject.toml


def parse_requirements(texts: Sequence[str], where: str) -> tuple[Requirement, ...]:
    out: list[Requirement] = []
    for text in texts:
        try:
            out.append(Requirement(text))
        except InvalidRequirement as exc:
            raise ConfigError(f"{where}: invalid requirement {text!r}: {str(exc).splitlines()[0]}") from None
    return tuple(out)


def _line_of(text: str, key: str) -> int | None:
    for i, line in enumerate(text.splitlines()):
        if re.match(rf"^\s*\"?{re.escape(key)}\"?\s*=", line):
            return i + 1
    return None


def load_pyproject(path: Path) -> tuple[list[str], dict[str, Any], str]:
    """[project].dependencies, [tool.tripin] and the file's text (for error lines)."""
    text = ""
    try:
        text = path.read_text(encoding="utf-8")
        data = tomllib.loads(text)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8") from None
    except tomllib.TOMLDecodeError as exc:
        where, message = toml_error(str(path), exc, text)
        raise ConfigError(f"{where}: invalid TOML: {message}") from None
    project = data.get("project", {})
    deps = project.get("dependencies", []) if isinstance(project, dict) else []
    if not isinstance(deps, list) or not all(isinstance(d, str) for d in deps):
        raise ConfigError(
            f"{Location(str(path), _line_of(text, 'dependencies'))}: [project].dependencies must be a list of strings"
        )
    tool = data.get("tool", {}).get("tripin", {})
    if not isinstance(tool, dict):
        raise ConfigError(f"{path}: [tool.tripin] must be a table")
    for key in tool:
        if key not in _TOOL_KEYS:
            raise ConfigError(
                f"{Location(str(path), _line_of(text, key))}: unknown key {key!r} in [tool.tripin]",
                hint="known keys: " + ", ".join(sorted(_TOOL_KEYS)),
            )
    return deps, tool, text


def _str_list(tool: Mapping[str, Any], key: str, where: str) -> list[str]:
    value = tool.get(key, [])
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{where}: [tool.tripin].{key} must be a list of strings")
    return value


def build_settings(
    *,
    cli_requirements: Sequence[str],
    cli_targets: Sequence[str],
    index_url: str | None,
    extra_index_urls: Sequence[str],
    lock: str | None,
    constraints: str | None,
    manylinux: str | None,
    musllinux: str | None,
    macos: str | None,
    prereleases: bool,
    pyproject: Path,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    env = os.environ if environ is None else environ
    deps: list[str] = []
    tool: dict[str, Any] = {}
    text = ""
    if pyproject.exists():
        deps, tool, text = load_pyproject(pyproject)
    elif not cli_requirements:
        raise ConfigError(
            "no requirements given and no pyproject.toml here",
            hint="tripin lock torch==2.6.0 --target linux-x86_64-cp312",
        )
    where = str(pyproject)
    requirements = (
        parse_requirements(cli_requirements, "command line")
        if cli_requirements
        else parse_requirements(deps, f"{pyproject} [project].dependencies")
    )
    if not requirements:
        raise ConfigError(f"{pyproject}: [project].dependencies is empty; nothing to lock")
    targets = list(cli_targets) or _str_list(tool, "targets", where)
    if not targets:
        raise ConfigError(
            "no target given",
            hint="add --target linux-x86_64-cp312 (repeatable) or [tool.tripin] targets = [...] in pyproject.toml",
        )
    default = (
        index_url or next((env[k] for k in _INDEX_ENV if env.get(k)), None) or tool.get("index-url") or DEFAULT_INDEX
    )
    extras = (
        list(extra_index_urls)
        or [u for k in ("UV_EXTRA_INDEX_URL", "PIP_EXTRA_INDEX_URL") for u in env.get(k, "").split()]
        or _str_list(tool, "extra-index-urls", where)
    )
    indexes = [Index(name="default", url=_check_url(str(default), where))]
    indexes += [Index(name=f"extra-{i + 1}", url=_check_url(u, where)) for i, u in enumerate(extras)]
    pins: dict[NormalizedName, str] = {}
    named = tool.get("index", [])
    if not isinstance(named, list):
        raise ConfigError(f"{Location(where, _line_of(text, 'index'))}: use [[tool.tripin.index]] tables")
    for entry in named:
        if (
            not isinstance(entry, dict)
            or not isinstance(entry.get("name"), str)
            or not isinstance(entry.get("url"), str)
        ):
            raise ConfigError(f"{where}: each [[tool.tripin.index]] needs a name and a url")
        unknown = set(entry) - {"name", "url", "packages"}
        if unknown:
            raise ConfigError(f"{where}: unknown key {sorted(unknown)[0]!r} in [[tool.tripin.index]]")
        indexes.append(Index(name=entry["name"], url=_check_url(entry["url"], where)))
        for package in _str_list(entry, "packages", where):
            pins[canonicalize_name(package)] = entry["name"]
    return Settings(
        requirements=requirements,
        targets=tuple(targets),
        indexes=tuple(indexes),
        pins=pins,
        lock_path=Path(lock or tool.get("lock") or "pylock.toml"),
        constraints_path=Path(constraints or tool.get("constraints") or "constraints.txt"),
        manylinux=manylinux or tool.get("manylinux"),
        musllinux=musllinux or tool.get("musllinux"),
        macos=macos or tool.get("macos"),
        prereleases=prereleases or bool(tool.get("prerelease", False)),
        pyproject_digest=None if cli_requirements else pyproject_digest(deps, tool),
    )


def _check_url(url: str, where: str) -> str:
    if not re.match(r"^https?://[^\s/]+", url):
        raise ConfigError(f"{where}: index URL must be http(s): {redact_url(url)!r}")
    return url.rstrip("/")


def pyproject_digest(dependencies: Sequence[str], tool: Mapping[str, Any]) -> str:
    """What a lock made from pyproject.toml depends on there: `check` compares it to see
    whether the file changed since (other tables may change freely)."""
    payload = {"dependencies": list(dependencies), "tool.tripin": tool}
    return "sha256:" + hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def inputs_digest(settings: Settings) -> str:
    """What the lock was made from; a lock whose inputs digest differs is stale."""
    payload = {
        "requirements": sorted(str(r) for r in settings.requirements),
        "targets": list(settings.targets),
        "indexes": [[i.name, i.public_url] for i in settings.indexes],
        "pins": sorted(settings.pins.items()),
        "levels": [settings.manylinux, settings.musllinux, settings.macos],
        "prereleases": settings.prereleases,
    }
    return "sha256:" + hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()

"""Settings for `tripin lock`: the command line over the environment over [tool.tripin]."""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import NormalizedName, canonicalize_name

from tripin.errors import ConfigError, Location, quote
from tripin.index.models import Index, redact_url
from tripin.inputfile import MAX_NUMBER_DIGITS, huge_number, read_toml_file
from tripin.pyprojectgroups import check_group_names, group_requirements, main_dependencies, named, own_requirements
from tripin.pyprojectgroups import line_of as _line_of
from tripin.reqfile import FileOption, marker_problem
from tripin.uvconfig import RESERVED_INDEX as _RESERVED_INDEX
from tripin.uvconfig import ForeignSettings, read_foreign

__all__ = [
    "DEFAULT_INDEX",
    "Project",
    "Settings",
    "build_settings",
    "configured_indexes",
    "describe",
    "describe_project",
    "index_problem",
    "inputs_digest",
    "load_pyproject",
    "load_rules",
    "lock_pyproject_digest",
    "parse_date",
    "parse_requirements",
    "project_settings",
    "pyproject_digest",
    "rules_with_overlays",
    "same_index_key",
    "under_pytorch_index",
]

DEFAULT_INDEX = "https://pypi.org/simple"
PYTORCH_INDEX = "https://download.pytorch.org/whl"
_TOOL_KEYS = {  # [tool.tripin] key -> the type it must have
    "targets": "str-or-strs",
    "index-url": "str",
    "extra-index-urls": "str-or-strs",
    "index": "index",
    "lock": "str",
    "constraints": "str",
    "manylinux": "str",
    "musllinux": "str",
    "macos": "str",
    "prerelease": "bool",
    "exclude-newer": "date",
    "rules": "str-or-strs",
    "groups": "str-or-strs",
    "pytorch-index-url": "str",
}
# Names tripin gives indexes itself (uvconfig.RESERVED_INDEX): a [[tool.tripin.index]] may not
# take one, or a pin to it could mean an index the user never named (an extra index serving an
# impostor torch).
_INDEX_ENV = ("TRIPIN_INDEX_URL", "UV_DEFAULT_INDEX", "UV_INDEX_URL", "PIP_INDEX_URL")


@dataclass(frozen=True, slots=True, kw_only=True)
class Settings:
    requirements: tuple[Requirement, ...]
    constraints: tuple[Requirement, ...] = ()  # `-c FILE`: limits, not requirements
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
    exclude_newer: datetime | None = None  # files uploaded after this are not considered
    overlays: tuple[Path, ...] = ()  # project rule files over the shipped ones
    # pyproject groups locked beside the main requirements (whose requirements are also in
    # `requirements`): name -> ("extra" | "group", its requirements). The lock marks what only
    # a group needs, so installers keep the group optional (PEP 751 extras, dependency-groups).
    groups: Mapping[str, tuple[str, tuple[Requirement, ...]]] = field(default_factory=dict)
    pytorch_index: str = PYTORCH_INDEX  # <this>/<variant> serves a variant target's torch and Triton
    sources: Mapping[str, str] = field(default_factory=dict)  # setting -> where its value came from
    # [project] requires-python where the requirements came from pyproject.toml: every target's
    # Python must meet it (uv refuses such a target too)
    requires_python: str | None = None
    # the requirements and constraints files read (-r, -c, positional *.in/*.txt, their includes):
    # what a re-lock with nothing changed must find byte for byte as they were (relock.py)
    input_files: tuple[Path, ...] = ()
    # what the inputs ask for that tripin does not do (an `--index-url` line in a requirements
    # file): said on every run, since a re-lock that resolves nothing says it too
    warnings: tuple[str, ...] = ()


def parse_requirements(texts: Sequence[str], where: str) -> tuple[Requirement, ...]:
    out: list[Requirement] = []
    for text in texts:
        if (number := huge_number(text)) is not None:  # int() would raise ValueError mid-resolution
            raise ConfigError(f"{where}: invalid requirement: a number over {MAX_NUMBER_DIGITS} digits: {number}")
        try:
            out.append(Requirement(text))
        except InvalidRequirement as exc:
            raise ConfigError(f"{where}: invalid requirement {text!r}: {str(exc).splitlines()[0]}") from None
        if (problem := marker_problem(out[-1])) is not None:
            raise ConfigError(f"{where}: invalid requirement {text!r}: {problem}")
    return tuple(out)


def load_pyproject(
    path: Path, groups: Sequence[str] = (), warnings: list[str] | None = None
) -> tuple[list[str], dict[str, Any], str]:
    """[project].dependencies plus the groups asked for ([tool.tripin] groups, then `groups`),
    [tool.tripin] and the file's text (for error lines)."""
    text, data = read_toml_file(path, ConfigError)
    deps = main_dependencies(data, path, text)
    tables = data.get("tool", {})
    tool = tables.get("tripin", {}) if isinstance(tables, dict) else {}
    if not isinstance(tool, dict):
        raise ConfigError(f"{path}: [tool.tripin] must be a table")
    _check_tool(tool, path, text)
    check_group_names(data, path, text)
    from_tool = _str_list(tool, "groups", str(path))
    for group in dict.fromkeys([*from_tool, *groups]):
        # blame the source that named the group: the command line, or [tool.tripin] groups
        blame = None if group in from_tool else f"--group {group}"
        deps += group_requirements(data, group, path, text, blame=blame, warnings=warnings)
    # two groups (or an extra through `me[x]`) may bring one requirement twice: list it once
    return list(dict.fromkeys(deps)), tool, text


def pyproject_groups(path: Path, names: Sequence[str]) -> dict[str, tuple[str, list[str]]]:
    """Each group's own requirements (include-group entries followed) and its kind: "extra" for
    [project.optional-dependencies], "group" for PEP 735 [dependency-groups]."""
    text, data = read_toml_file(path, ConfigError)
    return own_requirements(data, path, text, names)


def _check_tool(tool: Mapping[str, Any], path: Path, text: str) -> None:
    """[tool.tripin] against its schema, so a wrong type is one line naming the key and where it
    is, never a crash later (`prerelease = "false"` would otherwise read as true)."""
    for key, value in tool.items():
        where = Location(str(path), _line_of(text, key))
        if key not in _TOOL_KEYS:
            raise ConfigError(
                f"{where}: unknown key {key!r} in [tool.tripin]",
                hint="known keys: " + ", ".join(sorted(_TOOL_KEYS)),
            )
        kind = _TOOL_KEYS[key]
        if kind == "index":
            _check_index_tables(value, where)
            continue
        if value == "" or (isinstance(value, list) and "" in value):
            raise ConfigError(f"{where}: tool.tripin.{key} must not be empty (leave the key out for the default)")
        ok = {
            "str": isinstance(value, str),
            "bool": isinstance(value, bool),
            "strs": isinstance(value, list) and all(isinstance(v, str) for v in value),
            "str-or-strs": isinstance(value, str)
            or (isinstance(value, list) and all(isinstance(v, str) for v in value)),
            "date": isinstance(value, str | date),
        }[kind]
        if not ok:
            wanted = {
                "str": "a string",
                "bool": "true or false",
                "strs": "a list of strings",
                "str-or-strs": "a string or a list of strings",
                "date": "a date (YYYY-MM-DD) or an RFC 3339 time",
            }[kind]
            raise ConfigError(f"{where}: tool.tripin.{key} must be {wanted}, not {_type_name(value)}")


def _check_index_tables(value: object, where: Location) -> None:
    if not isinstance(value, list):
        raise ConfigError(f"{where}: tool.tripin.index must be [[tool.tripin.index]] tables")
    for i, entry in enumerate(value):
        key = f"tool.tripin.index[{i}]"
        if not isinstance(entry, dict):
            raise ConfigError(f"{where}: {key} must be a table with name, url and packages")
        unknown = sorted(set(entry) - {"name", "url", "packages"})
        if unknown:
            raise ConfigError(f"{where}: unknown key {unknown[0]!r} in {key}")
        for field_name in ("name", "url"):
            if not isinstance(entry.get(field_name), str):
                raise ConfigError(f"{where}: {key}.{field_name} must be a string")
        packages = entry.get("packages", [])
        if not isinstance(packages, list) or not all(isinstance(p, str) for p in packages):
            raise ConfigError(f"{where}: {key}.packages must be a list of strings")
        for package in packages:
            _check_package_name(package, f"{where}: {key}.packages")


def _check_package_name(package: str, where: str) -> None:
    """A pin names a project exactly: `"mypriv "`, `"torch*"` or `"torch==2.6"` would pin no
    name at all and leave the package to whichever index has it first."""
    from packaging.utils import InvalidName

    try:
        canonicalize_name(package, validate=True)
    except InvalidName:
        raise ConfigError(
            f"{where}: {package!r} is not a package name (PEP 508: letters, digits, '.', '_', '-')"
        ) from None


def _type_name(value: object) -> str:
    return {
        bool: "a boolean",
        int: "an integer",
        float: "a number",
        str: "a string",
        list: "a list",
        dict: "a table",
    }.get(type(value), type(value).__name__)


def _str_list(tool: Mapping[str, Any], key: str, where: str) -> list[str]:
    value = tool.get(key, [])
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{where}: [tool.tripin].{key} must be a list of strings")
    return value


def _first(*layers: tuple[object, str]) -> tuple[Any, str]:
    """The first value that is set, with where it came from (for --print-config)."""
    for value, source in layers:
        if value not in (None, "", [], ()):
            return value, source
    return None, "default"


def _env_list(env: Mapping[str, str], *keys: str) -> tuple[list[str], str]:
    for key in keys:
        if env.get(key, "").strip():
            return env[key].split(), f"environment ({key})"
    return [], ""


def parse_date(text: str, where: str) -> datetime:
    """RFC 3339 timestamps or plain dates (a date means the end of that day, UTC, as uv does)."""
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            day = datetime.fromisoformat(text).replace(tzinfo=UTC)
            return day + timedelta(days=1) - timedelta(microseconds=1)
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ConfigError(f"{where}: exclude-newer {text!r} is not a date (YYYY-MM-DD) or RFC 3339 time") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


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
    exclude_newer: str | None = None,
    cli_overlays: Sequence[str] = (),
    groups: Sequence[str] = (),
    pytorch_index_url: str | None = None,
    environ: Mapping[str, str] | None = None,
    requirement_files: Sequence[str] = (),
    constraint_files: Sequence[str] = (),
) -> Settings:
    """Command line over environment over [tool.tripin] over defaults, value by value."""
    env = os.environ if environ is None else environ
    # as pip-compile and `uv pip compile`: a positional *.in / *.txt is a requirements file
    files = [*requirement_files, *(r for r in cli_requirements if _is_requirements_file(r))]
    cli_requirements = [r for r in cli_requirements if not _is_requirements_file(r)]
    read: list[Path] = []  # every requirements and constraints file opened, includes too
    in_file: list[FileOption] = []
    from_files, limits = _read_requirement_files(files, constraint_files, read, in_file)
    deps: list[str] = []
    tool: dict[str, Any] = {}
    text = ""
    found: list[str] = []  # what pyproject.toml's groups say that pip and uv only warn about
    if pyproject.exists():
        deps, tool, text = load_pyproject(pyproject, groups, found)
    elif groups:
        raise ConfigError("--group needs a pyproject.toml here")
    elif not cli_requirements and not files:
        raise ConfigError(
            "no requirements given and no pyproject.toml here",
            hint="tripin lock torch==2.6.0 --target linux-x86_64-cp312",
        )
    where = str(pyproject)
    cfg = f"{pyproject} [tool.tripin]"
    cli = "command line"
    sources: dict[str, str] = {}
    group_map: dict[str, tuple[str, tuple[Requirement, ...]]] = {}
    if cli_requirements or files:
        if groups:  # validated above and then dropped, silently: say instead what --group is for
            raise ConfigError(
                f"--group {groups[0]}: groups belong to pyproject.toml's requirements, and requirements given "
                "on the command line replace those; leave out --group, or the requirements"
            )
        requirements = parse_requirements(cli_requirements, cli) + from_files
        sources["requirements"] = " + ".join(
            ([cli] if cli_requirements else []) + [f"{f} ({'-r' if f in requirement_files else 'file'})" for f in files]
        )
    else:
        _refuse_dynamic(pyproject)
        wanted = [*_str_list(tool, "groups", where), *groups]
        group_map = {  # first: a bad line in a group is blamed on that group, not on [project]
            name: (kind, parse_requirements(reqs, f"{pyproject} group {name}"))
            for name, (kind, reqs) in pyproject_groups(pyproject, wanted).items()
        }
        requirements = parse_requirements(deps, f"{pyproject} [project].dependencies")
        sources["requirements"] = f"{pyproject} [project].dependencies" + (
            f" + groups {', '.join(dict.fromkeys(wanted))}" if wanted else ""
        )
    if not requirements:
        raise _nothing_to_lock(pyproject)
    env_targets, env_targets_src = _env_list(env, "TRIPIN_TARGETS")
    # separated by spaces or commas (`linux-x86_64-cp312,linux-aarch64-cp312`): no target name has either
    env_targets = [t for item in env_targets for t in item.split(",") if t]
    targets, sources["targets"] = _first(
        (list(cli_targets), cli), (env_targets, env_targets_src), (_str_list(tool, "targets", where), cfg)
    )
    if not targets:
        raise ConfigError(
            "no target given",
            hint="add --target linux-x86_64-cp312 (repeatable) or [tool.tripin] targets = [...] in pyproject.toml",
        )
    foreign = _foreign_settings(pyproject)
    indexes, pins = _index_settings(
        tool,
        pyproject,
        text,
        env,
        index_url=index_url,
        extra_index_urls=extra_index_urls,
        sources=sources,
        foreign=foreign,
    )

    def one(key: str, value: str | None, env_key: str) -> Any:
        picked, sources[key] = _first(
            (value, cli), (env.get(env_key), f"environment ({env_key})"), (tool.get(key), cfg)
        )
        return picked

    lock_path = one("lock", lock, "TRIPIN_LOCK") or "pylock.toml"
    if not re.fullmatch(r"pylock\.toml|pylock\.[^.]+\.toml", Path(str(lock_path)).name):
        raise ConfigError(
            f"{sources['lock']}: lock file {Path(str(lock_path)).name!r} must be named pylock.toml or "
            "pylock.NAME.toml (PEP 751; pip and uv refuse other names)"
        )
    pytorch_index = one("pytorch-index-url", pytorch_index_url, "TRIPIN_PYTORCH_INDEX_URL") or PYTORCH_INDEX
    constraints_path = one("constraints", constraints, "TRIPIN_CONSTRAINTS") or default_constraints(lock_path)
    cutoff_text = one("exclude-newer", exclude_newer, "TRIPIN_EXCLUDE_NEWER")
    pre, sources["prerelease"] = _first((prereleases or None, cli), (tool.get("prerelease"), cfg))
    overlay_paths, sources["rules"] = _first(
        ([Path(o) for o in cli_overlays], cli),
        ([pyproject.parent / o for o in _str_list(tool, "rules", where)], cfg),
    )
    sources["constraints-input"] = ", ".join(f"{f} (-c)" for f in constraint_files) or "none"
    requires_python = None if cli_requirements or files else _requires_python(pyproject)
    return Settings(
        requirements=requirements,
        constraints=limits,
        targets=tuple(targets),
        indexes=tuple(indexes),
        pins=pins,
        lock_path=Path(lock_path),
        constraints_path=Path(constraints_path),
        manylinux=_level(one("manylinux", manylinux, "TRIPIN_MANYLINUX"), "manylinux", sources),
        musllinux=_level(one("musllinux", musllinux, "TRIPIN_MUSLLINUX"), "musllinux", sources),
        macos=_level(one("macos", macos, "TRIPIN_MACOS"), "macos", sources),
        prereleases=bool(pre),
        pyproject_digest=None if cli_requirements or files else _digest_now(pyproject, tool, groups, requires_python),
        exclude_newer=parse_date(str(cutoff_text), sources["exclude-newer"]) if cutoff_text else None,
        overlays=tuple(overlay_paths or ()),
        groups=group_map,
        pytorch_index=_check_url(str(pytorch_index), sources["pytorch-index-url"]),
        sources=sources,
        input_files=tuple(dict.fromkeys(read)),
        requires_python=requires_python,
        warnings=tuple(
            dict.fromkeys(
                [*_option_warnings(in_file), *foreign.warnings, *([] if cli_requirements or files else found)]
            )
        ),
    )


_LEVELS = {"manylinux": ("manylinux glibc", "2.28"), "musllinux": ("musllinux", "1.2"), "macos": ("macOS", "14.0")}


def _level(value: str | None, key: str, sources: Mapping[str, str]) -> str | None:
    """--manylinux, --musllinux, --macos (or their setting): MAJOR.MINOR, checked here where
    it is known which of the command line, the environment or pyproject.toml gave it."""
    # two digits a part: every level below a target's own is one of its tags (2.99999999 was a hang)
    if value is not None and not re.fullmatch(r"\d{1,2}\.\d{1,2}", str(value)):
        what, example = _LEVELS[key]
        raise ConfigError(f"{sources[key]}: invalid {what} level {quote(value)}: expected MAJOR.MINOR, e.g. {example}")
    return value


def _refuse_dynamic(pyproject: Path) -> None:
    """`dynamic = ["dependencies"]`: they come from a build backend (setuptools' `file = ...`),
    whose metadata tripin does not build; locking the groups alone would drop them in silence."""
    text, data = read_toml_file(pyproject, ConfigError)
    project = data.get("project")
    dynamic = project.get("dynamic", []) if isinstance(project, dict) else []
    if isinstance(dynamic, list) and "dependencies" in dynamic:
        raise ConfigError(
            f"{Location(str(pyproject), _line_of(text, 'dynamic'))}: [project].dependencies are dynamic, and tripin "
            "does not build a project's metadata: pass them as requirements (e.g. tripin lock requirements.in)"
        )


def _nothing_to_lock(pyproject: Path) -> ConfigError:
    _, data = read_toml_file(pyproject, ConfigError)
    if "project" not in data:
        return ConfigError(
            f"{pyproject} has no [project] table: nothing to lock (add one with dependencies, or pass "
            "requirements: tripin lock torch==2.6.0)"
        )
    return ConfigError(f"{pyproject}: [project].dependencies is empty; nothing to lock")


def _index_settings(
    tool: Mapping[str, Any],
    pyproject: Path,
    text: str,
    env: Mapping[str, str],
    *,
    index_url: str | None,
    extra_index_urls: Sequence[str],
    sources: dict[str, str],
    foreign: ForeignSettings,
) -> tuple[list[Index], dict[NormalizedName, str]]:
    """The indexes in the order names are looked up in them, and the names pinned to one.
    uv's order: the project's named indexes ([[tool.tripin.index]], as [[tool.uv.index]]), then
    the extra indexes (the command line's or the environment's ahead of [tool.tripin]'s, which
    they add to, as uv does), then the default one. With the first index that has a name
    winning, a project's own index is asked before PyPI, so a package of its name uploaded to
    PyPI cannot shadow it (dependency confusion). `sources` gets where each index came from."""
    where, cfg = str(pyproject), f"{pyproject} [tool.tripin]"
    env_index = next(((env[k], f"environment ({k})") for k in _INDEX_ENV if env.get(k, "").strip()), (None, ""))
    default, sources["index-url"] = _first(
        (index_url, "command line"), env_index, (tool.get("index-url"), cfg), foreign.default or (None, "")
    )
    env_extra, env_extra_src = _env_list(env, "TRIPIN_EXTRA_INDEX_URL", "UV_EXTRA_INDEX_URL", "PIP_EXTRA_INDEX_URL")
    front, front_src = _first((list(extra_index_urls), "command line"), (env_extra, env_extra_src))
    extras = [(u, front_src) for u in front or []] + [(u, cfg) for u in _str_list(tool, "extra-index-urls", where)]
    extras += foreign.extras
    sources["extra-index-urls"] = " + ".join(dict.fromkeys(src for _, src in extras)) or "default"
    indexes, pins = _named_indexes(tool, where, text)
    sources["index"] = cfg if indexes else "default"
    for index in indexes:
        sources[f"index {index.name}"] = cfg
    _add_foreign(foreign, indexes, pins, sources)
    seen: set[str] = set()
    for url, src in extras:
        checked = _check_url(url, src)
        if (key := same_index_key(checked)) not in seen:  # given twice (the environment and the config)
            seen.add(key)
            indexes.append(Index(name=f"extra-{len(seen)}", url=checked))
            sources[f"index extra-{len(seen)}"] = src
    indexes.append(Index(name="default", url=_check_url(str(default or DEFAULT_INDEX), sources["index-url"])))
    sources["index default"] = sources["index-url"]
    return indexes, pins


def _add_foreign(
    foreign: ForeignSettings, indexes: list[Index], pins: dict[NormalizedName, str], sources: dict[str, str]
) -> None:
    """[[tool.uv.index]] after [[tool.tripin.index]] (uv asks its named indexes before the extra
    ones), and [tool.uv.sources] index pins; where [tool.tripin] names the same index or pins the
    same package, [tool.tripin] wins."""
    for index in foreign.named:
        if not any(i.name == index.name for i in indexes):
            indexes.append(Index(name=index.name, url=_check_url(index.url, index.source), explicit=index.explicit))
            sources[f"index {index.name}"] = index.source
    for package, name in foreign.pins.items():
        pins.setdefault(package, name)


def _foreign_settings(pyproject: Path) -> ForeignSettings:
    """What [tool.uv] and [tool.pip-tools] say about indexes (uvconfig.py)."""
    if not pyproject.is_file():
        return ForeignSettings()
    _, data = read_toml_file(pyproject, ConfigError)
    return read_foreign(data, str(pyproject))


def _named_indexes(tool: Mapping[str, Any], where: str, text: str) -> tuple[list[Index], dict[NormalizedName, str]]:
    """[[tool.tripin.index]] tables, checked, and the names each one pins."""
    named = tool.get("index", [])
    at = Location(where, _line_of(text, "index"))
    if not isinstance(named, list):
        raise ConfigError(f"{at}: use [[tool.tripin.index]] tables")
    _check_index_tables(named, at)
    indexes: list[Index] = []
    pins: dict[NormalizedName, str] = {}
    for entry in named:
        name = entry["name"]
        if _RESERVED_INDEX.fullmatch(name):
            raise ConfigError(
                f"{at}: index name {name!r} is reserved (tripin names its own indexes default, extra-N, pytorch-*)"
            )
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", name):
            raise ConfigError(f"{at}: index name {name!r} must be letters, digits, '.', '_' or '-'")
        if any(i.name == name for i in indexes):
            raise ConfigError(f"{at}: two [[tool.tripin.index]] tables are named {name!r}; a pin must name one index")
        indexes.append(Index(name=name, url=_check_url(entry["url"], where)))
        for package in _str_list(entry, "packages", where):
            normalized = canonicalize_name(package)
            if pins.get(normalized, name) != name:
                raise ConfigError(f"{at}: {package!r} is pinned to two indexes ({pins[normalized]!r} and {name!r})")
            pins[normalized] = name
    return indexes, pins


@functools.lru_cache(maxsize=256)
def same_index_key(url: str) -> str:
    """What two spellings of one index URL share: no credentials, no trailing slash, the
    scheme and host in lower case (RFC 3986 says they are case-insensitive; the path is not).
    Remembered: `check` asks it four times for each of a lock's hundreds of entries, about a
    handful of URLs."""
    from urllib.parse import urlsplit, urlunsplit

    try:
        parts = urlsplit(redact_url(url))
        host = (parts.hostname or "") + (f":{parts.port}" if parts.port else "")
    except ValueError:
        return url
    return urlunsplit((parts.scheme.lower(), host, parts.path.rstrip("/"), parts.query, ""))


def default_constraints(lock_path: str | Path) -> str:
    """constraints.txt beside pylock.toml, constraints.NAME.txt beside pylock.NAME.toml: two
    named locks of one project must not write one constraints file in turn."""
    lock = Path(lock_path)
    name = lock.name
    if name.startswith("pylock.") and name.endswith(".toml") and name.count(".") == 2:
        return str(lock.parent / f"constraints.{name[len('pylock.') : -len('.toml')]}.txt")
    return str(lock.parent / "constraints.txt")


def _requires_python(pyproject: Path) -> str | None:
    """[project] requires-python, checked as a PEP 440 specifier set."""
    from packaging.specifiers import InvalidSpecifier, SpecifierSet

    if not pyproject.is_file():
        return None
    text, data = read_toml_file(pyproject, ConfigError)
    project = data.get("project")
    value = project.get("requires-python") if isinstance(project, dict) else None
    if value is None:
        return None
    where = Location(str(pyproject), _line_of(text, "requires-python"))
    if not isinstance(value, str):
        raise ConfigError(f"{where}: [project].requires-python must be a string")
    try:
        return str(SpecifierSet(value))
    except InvalidSpecifier:
        raise ConfigError(f"{where}: [project].requires-python {value!r} is not a version specifier") from None


def _is_requirements_file(arg: str) -> bool:
    return arg.endswith((".in", ".txt")) and " " not in arg.strip() and not any(c in arg for c in "=<>~!;@")


def _read_requirement_files(
    requirement_files: Sequence[str], constraint_files: Sequence[str], read: list[Path], options: list[FileOption]
) -> tuple[tuple[Requirement, ...], tuple[Requirement, ...]]:
    """pip's syntax, with its -r/-c includes: what a file reached through -c only limits.
    `read` collects every file opened, includes too; `options`, the files' option lines."""
    from tripin.reqfile import parse_requirements_file

    requirements: list[Requirement] = []
    constraints: list[Requirement] = []
    for files, as_constraint in ((requirement_files, False), (constraint_files, True)):
        for name in files:
            path = Path(name)
            if not path.is_file():
                what = "not a regular file" if path.exists() else "no such requirements file"
                raise ConfigError(f"{name}: {what}")
            for line in parse_requirements_file(path, constraint=as_constraint, read=read, options=options):
                (constraints if line.constraint else requirements).append(line.requirement)
    return tuple(requirements), tuple(constraints)


def describe(settings: Settings) -> list[tuple[str, str, str]]:
    """(setting, value, where it came from): what `tripin lock --print-config` shows."""
    s = settings.sources
    rows = [
        ("requirements", ", ".join(str(r) for r in settings.requirements), s["requirements"]),
        ("constraints (input)", ", ".join(str(r) for r in settings.constraints) or "-", s["constraints-input"]),
        ("targets", ", ".join(settings.targets), s["targets"]),
    ]
    rows += _index_rows(settings.indexes, settings.pins, s)
    rows += [
        ("lock", str(settings.lock_path), s["lock"]),
        ("constraints", str(settings.constraints_path), s["constraints"]),
        ("exclude-newer", settings.exclude_newer.isoformat() if settings.exclude_newer else "-", s["exclude-newer"]),
        ("prerelease", str(settings.prereleases).lower(), s["prerelease"]),
        ("rules overlays", ", ".join(str(p) for p in settings.overlays) or "-", s["rules"]),
        ("pytorch-index-url", settings.pytorch_index, s["pytorch-index-url"]),
        ("manylinux", settings.manylinux or "2.28", s["manylinux"]),
        ("musllinux", settings.musllinux or "1.2", s["musllinux"]),
        ("macos", settings.macos or "14.0", s["macos"]),
    ]
    return rows


def _index_rows(
    indexes: Sequence[Index], pins: Mapping[NormalizedName, str], sources: Mapping[str, str]
) -> list[tuple[str, str, str]]:
    """One row per index, in the order names are looked up, with the names pinned to it: those
    are read from that index alone, while any name may come from it where it is first to have it."""
    rows = []
    for index in indexes:
        pinned = sorted(n for n, i in pins.items() if i == index.name)
        value = index.public_url + (" (explicit)" if index.explicit else "")
        value += f" (pinned: {', '.join(pinned)})" if pinned else ""
        rows.append((f"index {index.name}", value, sources.get(f"index {index.name}", "default")))
    return rows


def _check_url(url: str, where: str) -> str:
    """An http(s) URL with a host and a valid port, and no white space or control characters
    anywhere (a trailing space in an environment variable is a typo, not a path)."""
    from urllib.parse import urlsplit

    shown = _shown_url(url)
    if not url.isprintable() or any(c.isspace() for c in url):
        raise ConfigError(f"{where}: index URL has white space or control characters: {shown}")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:  # urllib's text quotes the URL's parts, a password among them: never shown
        raise ConfigError(f"{where}: invalid index URL {shown}: bad host or port (encode /#?@ in a password)") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"{where}: index URL must be http(s)://HOST/...: {shown}")
    if port == 0:
        raise ConfigError(f"{where}: invalid index URL {shown}: port 0")
    return url.rstrip("/")


def _shown_url(url: str) -> str:
    try:
        text = redact_url(url)
    except ValueError:
        text = re.sub(r"//[^/@]*@", "//***@", url)
    text = repr(text)
    return text if len(text) <= 120 else text[:115] + "...'"


@dataclass(frozen=True, slots=True, kw_only=True)
class Project:
    """What every command takes from the project, settled once and the same way: the command
    line over the environment over [tool.tripin] over defaults. `lock` adds its resolution
    settings on top (`Settings`); check, doctor, explain, build-plan, install and rules read
    only this, so an overlay or a lock path means the same thing to all of them."""

    lock_path: Path
    constraints_path: Path
    overlays: tuple[Path, ...]
    rules_dir: Path | None  # --rules: a rules directory instead of the shipped one
    cache_dir: Path | None  # None: --no-cache
    index_url: str
    pytorch_index: str
    sources: Mapping[str, str]
    # every index the project configures, in lookup order, and the names pinned to one: what a
    # lock's `index` must be one of (check's TP016, install)
    indexes: tuple[Index, ...] = ()
    pins: Mapping[NormalizedName, str] = field(default_factory=dict)


def project_settings(
    *,
    lock: str | None = None,
    constraints: str | None = None,
    overlays: Sequence[str] = (),
    rules: str | None = None,
    cache_dir: str | None = None,
    no_cache: bool = False,
    index_url: str | None = None,
    pytorch_index_url: str | None = None,
    pyproject: Path = Path("pyproject.toml"),
    environ: Mapping[str, str] | None = None,
) -> Project:
    env = os.environ if environ is None else environ
    _, tool, text = load_pyproject(pyproject) if pyproject.is_file() else ([], {}, "")
    cli, cfg, where = "command line", f"{pyproject} [tool.tripin]", str(pyproject)
    sources: dict[str, str] = {}

    def one(key: str, value: str | None, env_key: str | None) -> Any:
        layers = [
            (value, cli),
            (env.get(env_key) if env_key else None, f"environment ({env_key})"),
            (tool.get(key), cfg),
        ]
        picked, sources[key] = _first(*layers)
        return picked

    lock_path = one("lock", lock, "TRIPIN_LOCK") or "pylock.toml"
    constraints_path = one("constraints", constraints, "TRIPIN_CONSTRAINTS") or default_constraints(lock_path)
    indexes, pins = _index_settings(
        tool,
        pyproject,
        text,
        env,
        index_url=index_url,
        extra_index_urls=(),
        sources=sources,
        foreign=_foreign_settings(pyproject),
    )
    pytorch = one("pytorch-index-url", pytorch_index_url, "TRIPIN_PYTORCH_INDEX_URL") or PYTORCH_INDEX
    overlay_paths, sources["rules"] = _first(
        ([Path(o) for o in overlays], cli),
        ([pyproject.parent / o for o in _str_list(tool, "rules", where)], cfg),
    )
    from tripin.memo import cache_root

    cache, sources["cache-dir"] = _first(
        (cache_dir, cli), (env.get("TRIPIN_CACHE_DIR"), "environment (TRIPIN_CACHE_DIR)")
    )
    if no_cache:
        sources["cache-dir"] = "command line (--no-cache)"
    sources["rules-dir"] = cli if rules else "default"
    return Project(
        lock_path=Path(str(lock_path)),
        constraints_path=Path(str(constraints_path)),
        overlays=tuple(overlay_paths or ()),
        rules_dir=Path(rules) if rules else None,
        cache_dir=None if no_cache else Path(cache) if cache else cache_root(),
        index_url=indexes[-1].url,
        pytorch_index=_check_url(str(pytorch), sources["pytorch-index-url"]),
        sources=sources,
        indexes=tuple(indexes),
        pins=pins,
    )


def configured_indexes(project: Project) -> list[str]:
    """Every index URL the project configures (no credentials): its named indexes, the extra
    ones, the default one and the PyTorch index. A variant target's torch comes from
    `<PyTorch index>/<variant>` (or `/nightly/<variant>`), which `index_problem` also takes."""
    return list(dict.fromkeys([*(i.public_url for i in project.indexes), redact_url(project.pytorch_index)]))


def index_problem(
    project: Project, name: NormalizedName, index: object, *, wheels: bool, tripin_lock: bool
) -> str | None:
    """Why a lock's entry for `name` cannot have come from `index` (None: it can). A lock may
    come from a hostile pull request that points a package at another index and file; offline,
    this is what can be told: another index than the one the name is pinned to, or, where the
    project configures its indexes (pyproject.toml), one it does not. A
    project that configures none takes them from `tripin lock --index-url` on each run, which
    no file records: only its pins are judged. `wheels`: the entry has wheels, which a tripin
    lock (`tripin_lock`) always takes from an index it names."""
    pinned = next((i for i in project.indexes if i.name == project.pins.get(name)), None)
    judged = pinned is not None or _indexes_configured(project)
    if index is None:
        if wheels and (pinned is not None or (tripin_lock and judged)):
            where = f"pinned to index {pinned.name!r} ({pinned.public_url})" if pinned else "from an index"
            return f"{name}: its entry names no index, but it has wheels {where}"
        return None
    if not isinstance(index, str):
        return f"{name}: index must be a URL string, not {quote(index, 60)}"
    key = same_index_key(index)
    if pinned is not None:
        if key == same_index_key(pinned.url):
            return None
        taken = quote(index, 120)
        return f"{name} is pinned to index {pinned.name!r} ({pinned.public_url}) but the lock takes it from {taken}"
    known = {same_index_key(url) for url in configured_indexes(project)}
    if not judged or key in known or under_pytorch_index(index, [project.pytorch_index]):
        return None
    return (
        f"{name}: index {quote(index, 120)} is not one the project configures "
        f"({', '.join(configured_indexes(project))}, and the PyTorch index's /<variant> roots)"
    )


def under_pytorch_index(url: str, roots: Sequence[str]) -> bool:
    """Whether `url` is one of the PyTorch index `roots` or one of their `/<variant>` or
    `/nightly/<variant>` roots, where a variant target's torch family comes from."""
    key = same_index_key(url)
    return any(
        re.fullmatch(rf"{re.escape(same_index_key(root))}(?:/nightly)?(?:/[A-Za-z0-9._+-]+)?", key) for root in roots
    )


def _indexes_configured(project: Project) -> bool:
    """Whether pyproject.toml names any index. Not the environment: a lock committed to a
    repository must not fail for whoever checks it with PIP_INDEX_URL set to a PyPI proxy."""
    keys = ("index-url", "extra-index-urls", "index", "pytorch-index-url")
    return any(
        "[tool." in source or "[[tool." in source
        for key, source in project.sources.items()
        if key in keys or key.startswith("index ")
    )


def describe_project(project: Project) -> list[tuple[str, str, str]]:
    """(setting, value, where it came from): what `tripin config` shows for every command."""
    s = project.sources
    return [
        ("lock", str(project.lock_path), s["lock"]),
        ("constraints", str(project.constraints_path), s["constraints"]),
        ("rules overlays", ", ".join(str(p) for p in project.overlays) or "-", s["rules"]),
        ("rules", str(project.rules_dir) if project.rules_dir else "shipped", s["rules-dir"]),
        ("index-url", redact_url(project.index_url), s["index-url"]),
        *(row for row in _index_rows(project.indexes, project.pins, s) if row[0] != "index default"),
        ("pytorch-index-url", redact_url(project.pytorch_index), s["pytorch-index-url"]),
        ("cache-dir", str(project.cache_dir) if project.cache_dir else "- (no cache)", s["cache-dir"]),
    ]


def load_rules(project: Project, *, validate: bool = True) -> Any:
    """The shipped rules (or --rules DIR) under the project's overlays: what every command judges by."""
    return rules_with_overlays(project.rules_dir, project.overlays, validate=validate)


def rules_with_overlays(rules_dir: Path | None, overlays: Sequence[Path], *, validate: bool = True) -> Any:
    from tripin.errors import ConfigError
    from tripin.memo import rule_files
    from tripin.rules import load_ruleset
    from tripin.rules.overlay import load_with_overlays

    if rules_dir is None:
        base = load_ruleset(validate=validate)
    elif not rules_dir.is_dir() or not rule_files(str(rules_dir)):
        raise ConfigError(f"--rules {rules_dir}: not a directory with *.toml rules files")
    else:
        base = load_ruleset(rule_files(str(rules_dir)))
    return load_with_overlays(overlays, base=base)


# What a lock does instead of an option line pip follows (req_file.py's SUPPORTED_OPTIONS). The
# options left out change nothing in a lock: it holds wheels only (--only-binary, --prefer-binary),
# always with hashes (--require-hashes), and --use-feature is pip's own.
_NOT_FOLLOWED = {
    "--index-url": "pass --index-url on the command line or set index-url in [tool.tripin]",
    "--extra-index-url": "pass --extra-index-url on the command line or set extra-index-urls in [tool.tripin]",
    "--pre": "pass --pre on the command line or set prerelease = true in [tool.tripin]",
    "--all-releases": "pass --pre on the command line or set prerelease = true in [tool.tripin]",
    "--only-final": "tripin takes a pre-release only with --pre, or where no final release fits",
    "--find-links": "tripin locks from indexes only: serve those files as an index and pass --extra-index-url",
    "--no-binary": "tripin locks wheels only",
    "--trusted-host": "tripin always verifies TLS: give the host's CA bundle in TRIPIN_CERT",
}


def _option_warnings(options: Sequence[FileOption]) -> list[str]:
    """One warning per option a requirements file sets and tripin does not follow, at its first
    place, with what to do instead; `--no-index` is refused, since tripin would lock from the
    very indexes the file turns off."""
    said: dict[str, str] = {}
    for option in options:
        if option.name == "--no-index":
            raise ConfigError(
                f"{option.where}: --no-index: tripin resolves from package indexes only and cannot lock from "
                "--find-links or local files; remove the line, and serve the wheels as an index (--index-url)"
            )
        hint = _NOT_FOLLOWED.get(option.name)
        if hint is not None and option.name not in said:
            said[option.name] = f"{option.name} in {option.where} is not read by tripin: {hint}"
    return list(said.values())


def project_overlays(pyproject: Path) -> list[Path]:
    """[tool.tripin] rules, relative to pyproject.toml: what `check` reads besides the shipped rules."""
    if not pyproject.is_file():
        return []
    _, tool, _ = load_pyproject(pyproject)
    return [pyproject.parent / o for o in _str_list(tool, "rules", str(pyproject))]


def pyproject_digest(
    dependencies: Sequence[str],
    tool: Mapping[str, Any],
    requires_python: str | None = None,
    *,
    groups: Mapping[str, tuple[str, Sequence[str]]] | None = None,
    foreign: Mapping[str, Any] | None = None,
) -> str:
    """What a lock made from pyproject.toml depends on there: `check` compares it to see
    whether the file changed since (other tables may change freely). The requirements count as
    sets, since the order in which `--group`s were given is not recorded, one for the main ones
    and one per group, which the lock's markers tell apart (a requirement moved from a group to
    [project].dependencies changes the lock); requires-python decides which targets can be
    locked at all (raised past a target's Python, `lock` refuses); `foreign`, the [tool.uv] and
    [tool.pip-tools] index settings. A lock of no group and no such setting keeps the digest
    earlier versions wrote."""
    own = {name: [kind, sorted(set(reqs))] for name, (kind, reqs) in (groups or {}).items() if reqs}
    payload = {
        "dependencies": sorted(set(dependencies)),
        "tool.tripin": tool,
        **({"requires-python": requires_python} if requires_python is not None else {}),
        **({"groups": own} if own else {}),
        **(foreign or {}),
    }
    return "sha256:" + hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def lock_pyproject_digest(pyproject: Path, groups: Iterable[str]) -> str | None:
    """The digest of pyproject.toml as `lock` would record it now for a lock of these groups
    (a lock lists its extras and dependency groups, whether [tool.tripin] groups or `--group`
    named them); None when one of them is no longer there, an edit like any other."""
    _, data = read_toml_file(pyproject, ConfigError)
    project = data.get("project")
    extras = project.get("optional-dependencies") if isinstance(project, dict) else None
    names = sorted(set(groups))
    if any(named(extras, g) is None and named(data.get("dependency-groups"), g) is None for g in names):
        return None
    _, tool, _ = load_pyproject(pyproject, names)
    return _digest_now(pyproject, tool, names, _requires_python(pyproject))


def _digest_now(pyproject: Path, tool: Mapping[str, Any], groups: Sequence[str], requires_python: str | None) -> str:
    """pyproject.toml's digest for a lock of its [tool.tripin] groups and `groups`."""
    text, data = read_toml_file(pyproject, ConfigError)
    wanted = [*_str_list(tool, "groups", str(pyproject)), *groups]
    return pyproject_digest(
        main_dependencies(data, pyproject, text),
        tool,
        requires_python,
        groups=own_requirements(data, pyproject, text, wanted),
        foreign=read_foreign(data, str(pyproject)).read,
    )


def inputs_digest(settings: Settings, *, nightly: bool = False) -> str:
    """What the lock was made from; a lock whose inputs digest differs is stale. `--nightly`
    sends variant targets to another index, so it is an input; it is recorded only when given,
    so that the digest of every lock made without it stays what it was."""
    payload = {
        "requirements": sorted(str(r) for r in settings.requirements),
        **({"constraints": sorted(str(r) for r in settings.constraints)} if settings.constraints else {}),
        "targets": list(settings.targets),
        "indexes": [[i.name, i.public_url, *(["explicit"] if i.explicit else [])] for i in settings.indexes],
        "pins": sorted(settings.pins.items()),
        "levels": [settings.manylinux, settings.musllinux, settings.macos],
        "prereleases": settings.prereleases,
        "exclude-newer": settings.exclude_newer.isoformat() if settings.exclude_newer else None,
        "overlays": [str(p) for p in settings.overlays],
        **({"groups": sorted(settings.groups)} if settings.groups else {}),
        "pytorch-index": redact_url(settings.pytorch_index),
        **({"nightly": True} if nightly else {}),
    }
    return "sha256:" + hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()

"""The `tripin lock` command line that makes a lock again: TP005's fix, to be run as printed.

`check` runs where the hook runs (a repository's root) and judges the locks of every project
there: the fix re-locks the lock's own project (`cd DIR && ...`) with every input the lock was
made with that the project's pyproject.toml does not give: its requirements, targets,
`--exclude-newer`, indexes and file name. A bare `tripin lock` locked the root's pyproject.toml
into a subproject's lock, failed with "no target given", or moved every package to PyPI.
A lock records what the command line and the environment gave (`[tool.tripin.given]`, see
cli_lock._given): exactly those are given again, and what pyproject.toml configured is left to
it as it is now. A lock an older tripin wrote records less: its indexes are told from its
packages', the rest from what [tool.tripin] does not configure now.
The values come from the lock, which may come from a hostile pull request: each is checked for
what it is before it is quoted.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from packaging.utils import NormalizedName, canonicalize_name

from tripin.errors import quote

if TYPE_CHECKING:
    from tripin.config import Project

__all__ = ["relock_command"]

_LEVEL = re.compile(r"\d{1,4}\.\d{1,4}")  # --manylinux 2.17, --macos 14.0
_MAX_PATH = 300
_ANY = NormalizedName("")  # index_problem's name where no package is meant


class _Unnamed(ValueError):
    """The lock took packages from indexes no command line names: why, for the fix's text."""


def relock_command(
    path: Path, data: Mapping[str, Any], project: Project, groups: Sequence[str], folder: Path | None = None
) -> str:
    """TP005's fix: a command line, or, where the lock's values allow none, what to run instead.
    `folder`: the lock's project's (check.project_folder), by default the lock's own. `groups`:
    the lock's extras and dependency groups."""
    from packaging.requirements import InvalidRequirement

    from tripin.errors import TargetError

    tool = data.get("tool", {}).get("tripin", {})
    folder = path.parent if folder is None else folder
    cd = _cd(folder)
    name = _lock_name(path, folder)
    if cd is None or name is None:
        return f"lock again in the folder of {quote(str(path))} (tripin lock)"
    try:
        given = tool.get("given")  # None: a lock an older tripin wrote, which does not record them
        if given is not None and not isinstance(given, Mapping):
            raise TypeError("[tool.tripin] given must be a table")
        config = _config(folder / "pyproject.toml")
        argv = ["tripin", "lock", *_inputs(tool, config, given)]
        argv += _group_options(groups if given is None else given.get("groups", []), config)
        unnamed: list[str] = []
        try:
            argv += _index_options(data, tool, project) if given is None else _given_indexes(given, project)
        except _Unnamed as exc:
            unnamed.append(f"the index options it was made with ({exc})")
        if given is not None:
            argv += _given_options(given, unnamed)
    except (InvalidRequirement, TargetError, TypeError, KeyError, AttributeError, ValueError):
        return f"{cd}lock again with the inputs {path.name} was made from (tripin lock)"
    if name != project.lock_path:
        argv += ["--lock", str(name) if not str(name).startswith("-") else f"./{name}"]
    return f"{cd}{shlex.join(argv)}{' with ' + ' and '.join(unnamed) if unnamed else ''}"


def _lock_name(path: Path, folder: Path) -> Path | None:
    """The lock's path from its project's folder (`locks/pylock.svc.toml`), as `--lock` takes
    it there; None where it cannot be given on one printable line."""
    import os

    try:
        name = Path(os.path.relpath(path, folder)) if folder != path.parent else Path(path.name)
    except ValueError:  # another drive
        return None
    return name if str(name).isprintable() else None


def _cd(folder: Path) -> str | None:
    """`cd DIR && ` where the lock's project is not the current directory ("" where it is);
    None where the folder's name cannot be given on one printable line."""
    try:
        if folder.resolve() == Path.cwd().resolve():
            return ""
    except (OSError, RuntimeError):  # a symlink loop, a removed working directory
        pass
    text = str(folder)
    if not text.isprintable():
        return None
    return f"cd {shlex.quote('./' + text if text.startswith('-') else text)} && "


def _config(pyproject: Path) -> Mapping[str, Any]:
    """The project's [tool.tripin] as it is now: what the re-lock reads again, edits included."""
    from tripin.inputfile import read_toml_file

    if not pyproject.is_file():
        return {}
    from tripin.errors import ConfigError

    tables = read_toml_file(pyproject, ConfigError)[1].get("tool")
    config = tables.get("tripin", {}) if isinstance(tables, dict) else {}
    return config if isinstance(config, dict) else {}


def _inputs(tool: Mapping[str, Any], config: Mapping[str, Any], given: Mapping[str, Any] | None) -> list[str]:
    """The requirements of a lock made without pyproject.toml, its targets and --exclude-newer.
    A lock that records what the command line or the environment gave (`given`) gets those; one
    an older tripin wrote, those its project's [tool.tripin] does not configure now. Where the
    project configures no target any more, the locked ones are named: the re-lock needs some."""
    from datetime import datetime

    from packaging.requirements import Requirement

    from tripin.targets import parse_target

    by_hand = not tool.get("pyproject-digest")  # every input was given to `lock` by hand
    argv = [str(Requirement(r)) for r in tool.get("requirements", [])] if by_hand else []
    configured = config.get("targets")
    configured = [configured] if isinstance(configured, str) else configured
    locked = [parse_target(t["name"]).name for t in tool.get("targets", [])]
    if given is not None:
        named = [parse_target(t).name for t in given.get("targets", [])]
        if named or not configured:
            argv += [a for name in named or locked for a in ("-t", name)]
        newer = given.get("exclude-newer")
    else:
        # `lock -t a -t b` over configured [a]: the command line's replace the configured ones
        if by_hand or not isinstance(configured, list) or configured != locked:
            argv += [a for name in locked for a in ("-t", name)]
        newer = tool.get("exclude-newer") if by_hand or "exclude-newer" not in config else None
    if newer is not None:
        datetime.fromisoformat(newer)  # a date or time, as lock wrote it: nothing else is quoted
        argv += ["--exclude-newer", newer]
    return argv


def _group_options(groups: object, config: Mapping[str, Any]) -> list[str]:
    """--group for each group [tool.tripin] groups does not name now (it reads those again).
    lock's --group names optional-dependencies and dependency-groups alike."""
    if not isinstance(groups, list | tuple):
        raise TypeError("groups must be a list")
    configured = config.get("groups", [])
    configured = [configured] if isinstance(configured, str) else configured
    known = {canonicalize_name(g) for g in configured if isinstance(g, str)} if isinstance(configured, list) else set()
    names = [canonicalize_name(g, validate=True) for g in groups]
    return [a for g in dict.fromkeys(names) if g not in known for a in ("--group", str(g))]


def _index_options(data: Mapping[str, Any], tool: Mapping[str, Any], project: Project) -> list[str]:
    """--index-url, --pytorch-index-url and --nightly for the indexes the lock took packages
    from that its project does not configure (the command line's or the environment's when it
    was made). An index TP016 reports is left out: the re-lock takes the project's own. Raises
    _Unnamed where no command line names them: two such indexes (the lock does not record which
    was --index-url and which --extra-index-url, and uv's order makes that matter), or a URL
    that is not a plain http(s) one (masked credentials, a hostile value)."""
    from tripin.config import index_problem, same_index_key

    variants = {v for t in tool.get("targets", []) if isinstance(t, dict) and isinstance(v := t.get("variant"), str)}
    default, torch = same_index_key(project.index_url), same_index_key(project.pytorch_index)
    known = {same_index_key(i.url) for i in project.indexes}
    given: dict[str, str] = {}  # what --index-url gave: key -> the URL as the lock has it
    roots: dict[str, str] = {}  # what --pytorch-index-url gave
    nightly = from_default = False
    for package in data.get("packages", []):
        index = package.get("index")
        name = canonicalize_name(str(package.get("name")))
        if not isinstance(index, str) or index_problem(project, name, index, wheels=True, tripin_lock=True):
            continue
        if (variant := _variant_root(index, variants)) is not None:
            root, at_nightly = variant
            nightly |= at_nightly
            if same_index_key(root) != torch:
                roots.setdefault(same_index_key(root), root)
        elif (key := same_index_key(index)) == default:
            from_default = True
        elif key not in known:
            given.setdefault(key, index)
    recorded = tool.get("extra-index-urls")
    extras_of = {same_index_key(u) for u in recorded if isinstance(u, str)} if isinstance(recorded, list) else set()
    extra = {k: u for k, u in given.items() if k in extras_of}  # the lock says these were extra indexes
    given = {k: u for k, u in given.items() if k not in extras_of}
    if len(given) > 1 or (given and from_default):
        raise _Unnamed(_several([*given.values(), *([project.index_url] if from_default else [])]))
    if len(roots) > 1:
        raise _Unnamed(_several(list(roots.values())))
    options = _options("--index-url", given) + _options("--extra-index-url", extra)
    return options + _options("--pytorch-index-url", roots) + ["--nightly"] * nightly


def _given_indexes(given: Mapping[str, Any], project: Project) -> list[str]:
    """--index-url, --extra-index-url, --pytorch-index-url and --nightly as the command line or
    the environment gave them when the lock was made; what pyproject.toml configured is left to
    it, as it is now (an index-url removed from it is not put back). Where the project
    configures its indexes, one it does not is left out: TP016 reports the packages the lock
    takes from it, and the re-lock takes the project's own."""
    from tripin.config import index_problem, same_index_key

    options: list[str] = []
    for key, option in (
        ("index-url", "--index-url"),
        ("extra-index-urls", "--extra-index-url"),
        ("pytorch-index-url", "--pytorch-index-url"),
    ):
        value = given.get(key, [])
        urls = [value] if isinstance(value, str) else value
        if not isinstance(urls, list) or not all(isinstance(u, str) for u in urls):
            raise TypeError(f"[tool.tripin.given] {key} must be URLs")
        # no name is pinned to an index here: the indexes the project configures alone decide
        kept = {
            same_index_key(u): u for u in urls if not index_problem(project, _ANY, u, wheels=False, tripin_lock=False)
        }
        options += _options(option, kept)
    return options + ["--nightly"] * (given.get("nightly") is True)


def _given_options(given: Mapping[str, Any], unnamed: list[str]) -> list[str]:
    """--manylinux, --musllinux, --macos, --pre, -c and --constraints as the lock records them,
    each checked for what it is before it is quoted. A --constraints no command line should
    name (outside the project's folder, not a .txt file: a hostile lock's `.bashrc`) goes to
    `unnamed`, said in words."""
    argv: list[str] = []
    for level in ("manylinux", "musllinux", "macos"):
        if (value := given.get(level)) is not None:
            if not isinstance(value, str) or not _LEVEL.fullmatch(value):
                raise ValueError(f"[tool.tripin.given] {level} is not MAJOR.MINOR")
            argv += [f"--{level}", value]
    if given.get("prerelease") is True:
        argv.append("--pre")
    files = given.get("constraint-files", [])
    if not isinstance(files, list):
        raise TypeError("[tool.tripin.given] constraint-files must be a list")
    argv += [a for f in files for a in ("-c", _file_arg(f))]
    if (output := given.get("constraints")) is not None:
        name = _file_arg(output)
        if Path(name).is_absolute() or ".." in Path(name).parts or not name.endswith(".txt"):
            unnamed.append("the --constraints it was made with (the lock names no .txt file in its project's folder)")
        else:
            argv += ["--constraints", name]
    return argv


def _file_arg(value: object) -> str:
    """A file name as one printable argument of bounded length that no parser takes for an option."""
    if not isinstance(value, str) or not value or len(value) > _MAX_PATH or not value.isprintable():
        raise ValueError("not a printable file name")
    return f"./{value}" if value.startswith("-") else value


def _options(option: str, urls: Mapping[str, str]) -> list[str]:
    from tripin.scriptvalues import UnsafeValue, checked_index_url

    try:
        return [a for url in urls.values() for a in (option, checked_index_url(url.rstrip("/")))]
    except UnsafeValue:
        raise _Unnamed(f"{option}: the lock names an index that is not a plain URL without credentials") from None


def _several(urls: Sequence[str]) -> str:
    from tripin.scriptvalues import UnsafeValue, checked_index_url

    shown: list[str] = []
    for url in urls:
        try:
            shown.append(checked_index_url(url))
        except UnsafeValue:
            shown.append("an index it cannot name")
    return f"the lock takes packages from {', '.join(shown)} and does not record which was --index-url"


def _variant_root(index: str, variants: set[str]) -> tuple[str, bool] | None:
    """(root, nightly) for a variant target's index, `<root>/<variant>` or `<root>/nightly/<variant>`."""
    for variant in variants:
        if found := re.fullmatch(rf"(.+?)/(nightly/)?{re.escape(variant)}/?", index):
            return found[1], bool(found[2])
    return None

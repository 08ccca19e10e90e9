"""The `tripin lock` command line that makes a lock again: TP005's fix, to be run as printed.

`check` runs where the hook runs (a repository's root) and judges the locks of every project
there: the fix re-locks the lock's own project (`cd DIR && ...`) with every input the lock was
made with that the project's pyproject.toml does not give: its requirements, targets,
`--exclude-newer`, indexes and file name. A bare `tripin lock` locked the root's pyproject.toml
into a subproject's lock, failed with "no target given", or moved every package to PyPI.
The values come from the lock, which may come from a hostile pull request: each is checked for
what it is before it is quoted.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from packaging.utils import canonicalize_name

from tripin.errors import quote

if TYPE_CHECKING:
    from tripin.config import Project

__all__ = ["relock_command"]


class _Unnamed(ValueError):
    """The lock took packages from indexes no command line names: why, for the fix's text."""


def relock_command(
    path: Path, data: Mapping[str, Any], project: Project, groups: Sequence[str], folder: Path | None = None
) -> str:
    """TP005's fix: a command line, or, where the lock's values allow none, what to run instead.
    `folder`: the lock's project's (check.project_folder), by default the lock's own."""
    from packaging.requirements import InvalidRequirement

    from tripin.errors import TargetError

    tool = data.get("tool", {}).get("tripin", {})
    folder = path.parent if folder is None else folder
    cd = _cd(folder)
    name = _lock_name(path, folder)
    if cd is None or name is None:
        return f"lock again in the folder of {quote(str(path))} (tripin lock)"
    try:
        argv = ["tripin", "lock", *_inputs(tool, folder / "pyproject.toml")]
        # lock's --group names optional-dependencies and dependency-groups alike
        argv += [a for g in groups for a in ("--group", str(canonicalize_name(g, validate=True)))]
        unnamed = ""
        try:
            argv += _index_options(data, tool, project)
        except _Unnamed as exc:
            unnamed = f" with the index options it was made with ({exc})"
    except (InvalidRequirement, TargetError, TypeError, KeyError, AttributeError, ValueError):
        return f"{cd}lock again with the inputs {path.name} was made from (tripin lock)"
    if name != project.lock_path:
        argv += ["--lock", str(name) if not str(name).startswith("-") else f"./{name}"]
    return f"{cd}{shlex.join(argv)}{unnamed}"


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


def _inputs(tool: Mapping[str, Any], pyproject: Path) -> list[str]:
    """The requirements, targets and --exclude-newer of a lock made without pyproject.toml, and
    of one made from it, those its [tool.tripin] does not configure (given on the command line
    or in TRIPIN_TARGETS): configured ones are read again, edits included."""
    from datetime import datetime

    from packaging.requirements import Requirement

    from tripin.inputfile import read_toml_file
    from tripin.targets import parse_target

    config: Mapping[str, Any] = {}
    if pyproject.is_file():
        from tripin.errors import ConfigError

        tables = read_toml_file(pyproject, ConfigError)[1].get("tool")
        config = tables.get("tripin", {}) if isinstance(tables, dict) else {}
    given = not tool.get("pyproject-digest")  # every input was given to `lock` by hand
    argv = [str(Requirement(r)) for r in tool.get("requirements", [])] if given else []
    locked = [parse_target(t["name"]).name for t in tool.get("targets", [])]
    configured = config.get("targets")
    configured = [configured] if isinstance(configured, str) else configured
    # `lock -t a -t b` over configured [a]: the command line's replace the configured ones
    if given or not isinstance(configured, list) or configured != locked:
        argv += [a for name in locked for a in ("-t", name)]
    if isinstance(newer := tool.get("exclude-newer"), str) and (given or "exclude-newer" not in config):
        datetime.fromisoformat(newer)  # a date or time, as lock wrote it: nothing else is quoted
        argv += ["--exclude-newer", newer]
    return argv


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

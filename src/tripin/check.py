"""`tripin check`: judge locks, constraints and requirements files with the ruleset, offline.

It reads TOML with tomllib and never imports the index client or the resolver: a pre-commit
hook has to be fast enough that nobody turns it off.
"""

from __future__ import annotations

import dataclasses
import os
import re
import stat
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from packaging.markers import InvalidMarker, Marker, UndefinedComparison, UndefinedEnvironmentName
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import InvalidVersion, Version

from tripin.errors import Location, LockError, TargetError, TripinError, one_line, quote
from tripin.inputfile import read_toml_file
from tripin.judge import TRITONS, Finding, Pair, commit_of_version, judge_pair, range_finding
from tripin.lockversion import require_pylock
from tripin.reqfile import ReqLine, parse_requirements_file, vcs_commit
from tripin.rules.model import Ruleset
from tripin.targets import Target, parse_target
from tripin.wheelfile import file_name, parse_wheel, tag_text

if TYPE_CHECKING:
    from collections.abc import Callable

    from tripin.config import Project

__all__ = [
    "DEFAULT_TARGETS",
    "Violation",
    "check_files",
    "lock_marker_applies",
    "lock_project",
    "project_folder",
    "relock_of",
]

DEFAULT_TARGETS = ("linux-x86_64-cp312", "linux-aarch64-cp312")
WHEEL_MISMATCH = "TP015"  # a wheel whose file name names another project or version than its entry
UNTRUSTED_SOURCE = "TP013"  # a Triton source no verdict can rest on, or a recipe not the rules'

_TORCH = canonicalize_name("torch")


@dataclass(frozen=True, slots=True, kw_only=True)
class Violation:
    where: Location
    code: str
    message: str
    fix: str = ""
    argv: tuple[str, ...] = ()  # the fix as one command line, for --format json
    # for --fix: which entry to rewrite, and to what
    kind: str = ""  # "line" (requirements syntax) or "pylock-vcs"
    index: int = -1  # the package's position in a pylock's [[packages]]
    want_version: str | None = None
    want_commit: str | None = None
    level: str = "error"  # "warning": shown, fails only with --strict; "ok": a verdict, never shown as text
    relock: str = ""  # the command that makes the file's lock again (remake.relock_command), for --fix's words

    def __str__(self) -> str:
        return one_line(f"{self.where}: {self.code} {self.message}" + (f"; fix: {self.fix}" if self.fix else ""))


# -- the locks -------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Entry:
    name: NormalizedName
    version: Version | None
    marker: Marker | None
    commit: str | None
    commit_from: str
    line: int
    index: int
    data: Mapping[str, Any] = field(default_factory=dict)


def _package_lines(text: str) -> list[int]:
    return [i + 1 for i, line in enumerate(text.splitlines()) if re.match(r"^\s*\[\[\s*packages\s*\]\]", line)]


def _lock_entries(path: Path, data: Mapping[str, Any], text: str) -> list[_Entry]:
    lines = _package_lines(text)
    out: list[_Entry] = []
    for i, package in enumerate(data.get("packages", [])):
        line = lines[i] if i < len(lines) else 1
        where = Location(str(path), line)
        try:
            if not isinstance(package["name"], str):  # `name = 5`: str() made it a valid name
                raise TypeError(f"name must be a string, not {type(package['name']).__name__}")
            name = canonicalize_name(package["name"], validate=True)  # InvalidName: a ValueError
            vcs = package.get("vcs")
            # a source build's version is tripin's record of what its commit builds: taken only
            # for a git entry, never for an archive or directory, which that record cannot describe
            build = package.get("tool", {}).get("tripin", {}).get("build", {}) if isinstance(vcs, dict) else {}
            raw_version = _archive_wheel_version(package) or package.get("version") or build.get("version")
            version = Version(raw_version) if raw_version else None
            marker = Marker(package["marker"]) if package.get("marker") else None
        except (KeyError, TypeError, ValueError, InvalidMarker) as exc:  # ValueError: a version over 4,300 digits
            raise LockError(f"{where}: malformed package entry ({exc.__class__.__name__}: {exc})") from None
        commit, commit_from = None, ""
        if isinstance(vcs, dict) and isinstance(vcs.get("commit-id"), str) and _FULL_COMMIT.fullmatch(vcs["commit-id"]):
            commit, commit_from = vcs["commit-id"].lower(), "vcs"
        elif vcs is None and version is not None and (label := commit_of_version(version)):
            commit, commit_from = label, "+git label"
        out.append(
            _Entry(
                name=name,
                version=version,
                marker=marker,
                commit=commit,
                commit_from=commit_from,
                line=line,
                index=i,
                data=package,
            )
        )
    return out


_FULL_COMMIT = re.compile(r"[0-9a-fA-F]{40}")
# what an installer may clone: no option-like or `ext::` URL, no whitespace or control character
_REPOSITORY_URL = re.compile(r"(?:https|ssh|git|file)://[^\s\x00-\x1f\x7f]+")


def _archive_name(package: Mapping[str, Any]) -> str | None:
    archive = package.get("archive")
    if not isinstance(archive, dict):
        return None
    where = archive.get("url") or archive.get("path")
    return file_name(where) if isinstance(where, str) else ""


def _archive_wheel_version(package: Mapping[str, Any]) -> str | None:
    """The version a wheel given as a PEP 751 `archive` names in its file name: what the entry
    installs, whatever its `version` says (as for a wheel URL in a requirements file)."""
    name = _archive_name(package)
    return str(version) if name and (version := _wheel_version(name)) is not None else None


def _wheel_where(wheel: object) -> str | None:
    """A PEP 751 wheel table's file: its `name`, else its URL or path."""
    where = wheel.get("name") or wheel.get("url") or wheel.get("path") if isinstance(wheel, dict) else None
    return where if isinstance(where, str) else None


def repository_of(url: str) -> str:
    """`git+https://user@host/path.git@rev#frag` -> `https://host/path`: the repository a VCS
    URL clones, as pip splits it (the revision follows the last `@` of the path)."""
    url = url.split("#", 1)[0]
    scheme, _, rest = url.partition("://")
    scheme = scheme.split("+", 1)[-1].lower()
    netloc, slash, path = rest.partition("/")
    path = path.rsplit("@", 1)[0] if "@" in path else path
    netloc = netloc.rsplit("@", 1)[-1].lower()
    path = path.rstrip("/").removesuffix(".git")
    return f"{scheme}://{netloc}{slash}{path}"


# GitHub's redirect of the renamed repository: the same commits under the old name
_RENAMED = {"github.com/openai/triton": "github.com/triton-lang/triton"}


def _repository_key(url: str) -> str:
    """One repository whatever the transport (https, ssh, git) and, on GitHub, the case of its
    owner and name, which GitHub ignores; the old openai/triton is triton-lang/triton."""
    host_path = repository_of(url).split("://", 1)[-1]
    if host_path.startswith("github.com/"):
        host_path = host_path.lower()
    return _RENAMED.get(host_path, host_path)


def _repository_problem(url: str, ruleset: Ruleset) -> str | None:
    """A full commit fixes the content only where the installer takes it as a commit: pip looks
    a 40-hex revision up as a branch or tag name first, so a fork with a tag named like the
    pinned commit gets its own code installed (uv refuses such a ref). Only the repositories
    the rules build from are trusted to hold their commits under their own names."""
    known = {_repository_key(b.repository) for b in ruleset.builds}
    if _repository_key(url) in known:
        return None
    return (
        f"comes from the repository {quote(repository_of(url), 80)}, which no rule builds from: pip takes a "
        "branch or tag named like the commit before the commit itself"
    )


def source_problem(package: Mapping[str, Any], ruleset: Ruleset) -> str | None:
    """Why a lock's Triton entry names no source a verdict can rest on, or None. A verdict is
    on a commit, so the commit must be one: an abbreviated id is resolved by the installer in
    whatever repository the entry names (a fork can hold another commit with that prefix), an
    sdist, archive or directory holds whatever it holds, and a repository URL must be one git
    clones as a URL (not `ext::` or an option). A lock may come from a hostile pull request."""
    vcs = package.get("vcs")
    if vcs is not None:
        if not isinstance(vcs, dict):
            return "has a vcs entry that is not a table"
        if vcs.get("type") != "git":
            return f"comes from a {quote(vcs.get('type'), 20)} repository; Triton's is git"
        url, commit = vcs.get("url"), vcs.get("commit-id")
        if not isinstance(url, str) or not _REPOSITORY_URL.fullmatch(url):
            return f"comes from the repository {quote(url, 80)}, which is not an https, ssh, git or file URL"
        if not isinstance(commit, str) or not _FULL_COMMIT.fullmatch(commit):
            return (
                f"names the commit {quote(commit, 50)}, not a full 40-hex id: an installer takes whatever "
                "commit that repository holds under it"
            )
        return _repository_problem(url, ruleset)
    if package.get("sdist") is not None:  # pip and uv build it wherever no wheel fits the machine
        return "has an sdist, which an installer builds where no wheel fits: it builds whatever it holds"
    if package.get("wheels"):
        return None
    if (name := _archive_name(package)) is not None:
        if name.endswith(".whl"):
            return None  # judged by the version its file name gives
        return f"comes from the archive {quote(name, 80)}, which names no commit: it builds whatever it holds"
    if package.get("directory") is not None:
        return "comes from a local directory, which names no commit: it builds whatever it holds"
    return None


def _lock_targets(path: Path, data: Mapping[str, Any], overrides: Sequence[Target]) -> list[Target]:
    named = data.get("tool", {}).get("tripin", {}).get("targets")
    if named and not overrides:
        try:
            return [parse_target(t["name"]) for t in named]
        except (TargetError, KeyError, TypeError) as exc:
            raise LockError(f"{path}: [tool.tripin].targets: {exc}") from None
    candidates = list(overrides) or [parse_target(t) for t in DEFAULT_TARGETS]
    environments = [Marker(m) for m in data.get("environments", [])]
    return [t for t in candidates if not environments or any(m.evaluate(t.environment()) for m in environments)]


def _lock_groups(data: Mapping[str, Any]) -> tuple[frozenset[str], frozenset[str]]:
    """The lock's PEP 751 extras that are not PyTorch variants, and its dependency groups."""

    def strings(value: object) -> frozenset[str]:
        return frozenset(v for v in value if isinstance(v, str)) if isinstance(value, list) else frozenset()

    tool = data.get("tool")
    tripin = tool.get("tripin") if isinstance(tool, dict) else None
    targets = tripin.get("targets") if isinstance(tripin, dict) else None
    variants = {t.get("variant") for t in targets if isinstance(t, dict)} if isinstance(targets, list) else set()
    return strings(data.get("extras")) - variants, strings(data.get("dependency-groups"))


def _selections(
    groups: tuple[frozenset[str], frozenset[str]],
) -> list[tuple[str, tuple[frozenset[str], frozenset[str]]]]:
    """No extra and no group, then each extra and each group alone: what a user may install."""
    extras, dependency_groups = groups
    if not extras and not dependency_groups:
        return []
    none: frozenset[str] = frozenset()
    out = [("without extras or groups", (none, none))]
    out += [(f"with extra {e}", (frozenset({e}), none)) for e in sorted(extras)]
    out += [(f"with group {g}", (none, frozenset({g}))) for g in sorted(dependency_groups)]
    return out


def lock_marker_applies(marker: Marker | None, target: Target, groups: tuple[frozenset[str], frozenset[str]]) -> bool:
    """Lock markers may ask for a PyTorch variant as `'cu126' in extras` and for the project's
    groups as extras or dependency groups (PEP 751); every group is checked, as if installed."""
    if marker is None:
        return True
    extras, dependency_groups = groups
    env: dict[str, Any] = {
        **target.environment(),
        "dependency_groups": dependency_groups,
        "extras": extras | ({target.variant} if target.variant else set()),
    }
    return marker.evaluate(env, context="lock_file")


def _check_lock(
    path: Path,
    ruleset: Ruleset,
    targets: Sequence[Target],
    out: list[Violation],
    read: list[Path],
    relocks: dict[Path, Callable[[], str]],
) -> dict[str, dict[str, Version]]:
    """Violations of one pylock; returns, per target, the versions it installs (for TP007)."""
    read.append(path)
    start = len(out)
    text, data = read_toml_file(path, LockError)
    require_pylock(path, data)
    entries = _lock_entries(path, data, text)
    installs: dict[str, dict[str, Version]] = {}
    lock_targets = _lock_targets(path, data, targets)
    groups = _lock_groups(data)
    for target in lock_targets:
        chosen = [e for e in entries if lock_marker_applies(e.marker, target, groups)]
        installs[target.name] = {e.name: e.version for e in chosen if e.version is not None}
        _judge_target(ruleset, path, target, chosen, out)
        # what an install without them, or with one of them, takes: `'dev' not in extras` may
        # choose another Triton than every group at once does (uv installs no extra by default)
        for label, selection in _selections(groups):
            picked = [e for e in entries if lock_marker_applies(e.marker, target, selection)]
            if picked == chosen:
                continue
            found: list[Violation] = []
            _judge_target(ruleset, path, target, picked, found)
            out += [dataclasses.replace(v, message=f"{v.message} ({label})") for v in found if v not in out]
    for entry in entries:
        for n, wheel in enumerate(entry.data.get("wheels", []) or []):
            if (mismatch := _wheel_mismatch(entry, wheel)) is not None:
                out.append(Violation(where=Location(str(path), entry.line), code=WHEEL_MISMATCH, message=mismatch))
            if not isinstance(wheel, dict) or not wheel.get("hashes"):
                out.append(
                    Violation(
                        where=Location(str(path), entry.line),
                        code="TP006",
                        message=f"{entry.name} {entry.version}: wheel {n + 1} has no hashes",
                    )
                )
        sdist = entry.data.get("sdist")
        if isinstance(sdist, dict) and not sdist.get("hashes"):
            out.append(
                Violation(
                    where=Location(str(path), entry.line),
                    code="TP006",
                    message=f"{entry.name} {entry.version}: sdist has no hashes",
                )
            )
    folder = project_folder(path, read)
    project = lock_project(path, folder)
    relock = _Relock(path, data, project, folder)
    _check_stale(path, data, ruleset, relock, out)
    _check_indexes(path, data, entries, project, out)
    out[start:] = [_file_fix(v, relock) for v in out[start:]]
    relocks[path] = relock
    return installs


class _Relock:
    """A lock's re-lock command (remake.relock_command), made once and only where a finding
    needs it: check runs as a pre-commit hook on every lock, most of which pass."""

    def __init__(self, path: Path, data: Mapping[str, Any], project: Project, folder: Path) -> None:
        self.path, self.data, self.project, self.folder = path, data, project, folder
        self._text: str | None = None

    def __call__(self) -> str:
        if self._text is None:
            from tripin.remake import relock_command

            extras, groups = _lock_groups(self.data)
            self._text = relock_command(self.path, self.data, self.project, sorted(extras | groups), self.folder)
        return self._text


def relock_of(path: Path) -> str:
    """The command that makes the lock at `path` again, as TP005's fix names it, for commands
    other than check that refuse a lock (build-plan)."""
    _, data = read_toml_file(path, LockError)
    folder = project_folder(path)
    return _Relock(path, data, lock_project(path, folder), folder)()


# findings whose fix is the file's to change, not the environment's: `pip install ...` or
# `tripin build-plan --torch ...` leave the file as it is, and the check failing
_FILE_FIXED = frozenset({"TP001", "TP002", "TP003", "TP004", UNTRUSTED_SOURCE, "TP016"})


def _file_fix(v: Violation, relock: Callable[[], str] | None) -> Violation:
    """A finding in a lock or requirements file, fixed in that file: `tripin check --fix FILE`
    where --fix rewrites it, else the lock's re-lock command (where the file has a lock)."""
    if v.code not in _FILE_FIXED or not v.fix:
        return v
    from tripin.fix import can_fix

    if can_fix(v) and v.where.path.isprintable():
        import shlex

        argv = ("tripin", "check", "--fix", *(["--"] if v.where.path.startswith("-") else []), v.where.path)
        # what it writes, as a shell comment: the line runs as printed and still says it
        what = f"  # pins {v.want_version}" + (f" (commit {v.want_commit})" if v.want_commit else "")
        return dataclasses.replace(v, fix=shlex.join(argv) + what, argv=argv, relock=relock() if relock else "")
    if relock is None:
        return v
    return dataclasses.replace(v, fix=relock(), argv=(), relock=relock())


def settle_file_fixes(found: Sequence[Violation], options: Sequence[str], rules: Sequence[str] = ()) -> list[Violation]:
    """The `tripin check --fix FILE` fixes as they run: with check's own options, and, where one
    line needs other pins on other targets (an unmarked `triton==` line judged for x86_64 and
    aarch64), not as a command, since --fix refuses that line: as the split it needs. The
    re-lock fixes get check's own `--overlay` and `--rules` (`rules`, absolute, as they follow a
    `cd`): the ruleset a lock is judged by is the one it must be made with again, or TP005 stays."""
    if rules:
        import shlex

        extra = " " + shlex.join(rules)
        found = [
            dataclasses.replace(v, fix=v.fix + extra, relock=v.relock + extra)
            if v.relock and v.fix == v.relock and v.fix.startswith(("tripin lock", "cd "))
            else v
            for v in found
        ]
    wants: dict[tuple[str, int | None], set[tuple[str | None, str | None]]] = {}
    for v in found:
        if v.argv[:3] == ("tripin", "check", "--fix"):
            wants.setdefault((v.where.path, v.where.line), set()).add((v.want_version, v.want_commit))
    out = []
    for v in found:
        if v.argv[:3] == ("tripin", "check", "--fix") and len(wants[(v.where.path, v.where.line)]) > 1:
            pins = " and ".join(sorted(f"{w[0]}" for w in wants[(v.where.path, v.where.line)] if w[0]))
            split = (
                f"the targets need different pins on this line ({pins}): split it into one line per platform "
                'with markers (`; platform_machine == "aarch64"`), then run `tripin check --fix` again'
            )
            out.append(dataclasses.replace(v, fix=split, argv=()))
        else:
            out.append(with_check_options(v, options))
    return out


def with_check_options(v: Violation, options: Sequence[str]) -> Violation:
    """A `tripin check --fix FILE` fix with the options check itself ran with (`--target`,
    `--overlay`, `--rules`): without them the fix judges the file for other targets or by
    other rules than the finding was made with."""
    if not options or v.argv[:3] != ("tripin", "check", "--fix") or not v.fix:
        return v
    import shlex

    comment = v.fix[len(shlex.join(v.argv)) :]
    argv = (*v.argv[:3], *options, *v.argv[3:])
    return dataclasses.replace(v, fix=shlex.join(argv) + comment, argv=argv)


# -- the indexes a lock names (TP016) ---------------------------------------------------------------

FOREIGN_INDEX = "TP016"  # a lock entry's index is not one the project configures, or not the pinned one


def lock_project(lock: Path, folder: Path | None = None) -> Project:
    """The settings a lock is judged by (TP016, TP005's fix, install's refusal): those of its
    project's pyproject.toml (`project_folder`), without this shell's environment. A lock is
    committed and checked in many shells: PIP_INDEX_URL there must not turn TP016 off (an index
    the project does not configure would pass), nor may PIP_EXTRA_INDEX_URL make an index count
    as the project's (the hook passes on one machine and fails in CI)."""
    from tripin.config import project_settings

    folder = project_folder(lock) if folder is None else folder
    return project_settings(pyproject=folder / "pyproject.toml", environ={})


def project_folder(path: Path, read: list[Path] | None = None) -> Path:
    """The folder of the project a lock or constraints file belongs to: the nearest one at or
    above the file's folder whose pyproject.toml configures it as its output (`[tool.tripin]
    lock = "locks/pylock.svc.toml"`, which `tripin lock` accepts, and the constraints files
    that lock writes), else the file's own folder. Judged by the pyproject.toml beside it alone,
    such a lock passed TP005 and TP016 whatever its project said. The walk stops at the
    repository's root (a `.git`); every pyproject.toml it looks for goes to `read`, since one
    written later changes the answer. The folder is given as the path was (relative stays
    relative), for the `cd` a fix prints."""
    start = path.parent
    wanted = _real(path)
    for folder in _upward(start):
        pyproject = folder / "pyproject.toml"
        if read is not None:
            read.append(pyproject)
        if any(_real(output) == wanted for output in _outputs(folder, pyproject, path.name)):
            return folder
        if (folder / ".git").exists():
            break
    return start


def _real(path: Path) -> Path:
    try:
        return path.resolve()
    except (OSError, RuntimeError, ValueError):  # a symlink loop, a NUL: compared as written
        return path.absolute()


def _upward(start: Path) -> Iterable[Path]:
    """`start`, then each folder above it, each as `start` is given (relative to the working
    directory where it is relative): `a/b` -> a/b, a, ., .., ../.."""
    yield start
    base = start.absolute()
    for above in base.parents:
        yield above if start.is_absolute() else Path(os.path.relpath(above))


def _outputs(folder: Path, pyproject: Path, name: str) -> list[Path]:
    """The files the project in `folder` has `tripin lock` write, as far as they could be
    `name`: its lock, its constraints file, and that file's per-variant ones."""
    if not pyproject.is_file():
        return []
    from tripin.config import default_constraints
    from tripin.errors import ConfigError

    tables = read_toml_file(pyproject, ConfigError)[1].get("tool")
    tool = tables.get("tripin") if isinstance(tables, dict) else None
    tool = tool if isinstance(tool, dict) else {}
    lock = str(tool.get("lock") or "pylock.toml")
    constraints = Path(str(tool.get("constraints") or default_constraints(lock)))
    variant = name.startswith(f"{constraints.stem}-") and name.endswith(constraints.suffix)
    return [folder / lock, folder / constraints, *([folder / constraints.with_name(name)] if variant else [])]


def _check_indexes(
    path: Path, data: Mapping[str, Any], entries: Sequence[_Entry], project: Project, out: list[Violation]
) -> None:
    """A hostile edit may point a package at another index (and a file there): each entry's
    `index` must be one the project beside the lock configures (its pyproject.toml, not the
    environment of whoever checks it), and a pinned name's must be the index it is pinned to.
    A tripin lock names the index of every package with wheels; another tool's lock is judged
    only where an entry names one."""
    from tripin.config import index_problem

    tool = data.get("tool")
    ours = isinstance(tool, Mapping) and isinstance(tool.get("tripin"), Mapping)
    for entry in entries:
        wheels = bool(entry.data.get("wheels"))
        problem = index_problem(project, entry.name, entry.data.get("index"), wheels=wheels, tripin_lock=ours)
        if problem is not None:
            out.append(
                Violation(
                    where=Location(str(path), entry.line),
                    code=FOREIGN_INDEX,
                    message=problem,
                    fix="re-lock with `tripin lock` (an index the project does use belongs in [tool.tripin])",
                )
            )


def _installs_on(entry: _Entry, target: Target) -> bool:
    """Whether an entry given by wheels has one for the target: a lock with no `environments`
    (uv pip compile on an x86_64 machine) has torch for x86_64 alone, and no installer puts it
    on aarch64, so nothing there is judged. An entry without wheels (a source) is taken, and so
    is a wheel for a newer glibc or macOS than the target's default level (a lock made with
    --manylinux 2.35): it installs on that target's newer machines."""
    wheels = entry.data.get("wheels")
    if not isinstance(wheels, list) or not wheels:
        return True
    for wheel in wheels:
        where = _wheel_where(wheel)
        tags = tag_text(where) if where is not None else None
        if tags is None or target.rank_of(tags) is not None or target.wider_level(tags) is not None:
            return True  # a wheel for the target, or one check cannot read: judged, as before
    return False


def _wheel_mismatch(entry: _Entry, wheel: object) -> str | None:
    """A wheel whose file name gives another project or version than its entry: uv and pip
    refuse such a lock, and an edit that swaps one wheel's URL (triton 3.3.0's under a 3.2.0
    entry) would otherwise pass as the version the entry names."""
    if (where := _wheel_where(wheel)) is None:
        return None
    if (parsed := parse_wheel(where)) is None:
        return f"{entry.name}: {quote(file_name(where), 80)} is not a wheel file name"
    filename, name, version = parsed
    if name != entry.name or (entry.version is not None and version != entry.version):
        return f"{entry.name} {entry.version}: its wheel {quote(filename, 80)} is {name} {version}"
    return None


def _judge_target(ruleset: Ruleset, path: Path, target: Target, chosen: Sequence[_Entry], out: list[Violation]) -> None:
    """The torch/Triton pair (and companions) a lock installs on one target: pylock.toml and uv.lock alike."""
    torch = next((e for e in chosen if e.name == _TORCH), None)
    if torch is None or torch.version is None or not _installs_on(torch, target):
        return
    triton = next((e for e in chosen if e.name in TRITONS), None)
    problem = source_problem(triton.data, ruleset) if triton is not None else None
    pair = Pair(
        torch=torch.version,
        triton=triton.name if triton else None,
        # a source no verdict can rest on has no version or commit to judge either
        triton_version=triton.version if triton and not problem else None,
        commit=triton.commit if triton and not problem else None,
        commit_from=triton.commit_from if triton else "",
        environment=target.environment(),
        target=target.name,
        variant=target.variant,
    )
    anchor = triton or torch
    if triton is not None and problem is not None:
        out.append(_untrusted_source(ruleset, path, triton, pair, problem))
    elif triton is not None and triton.data.get("vcs"):
        out += _recipe_differences(ruleset, path, triton, pair)
    for finding in judge_pair(ruleset, pair, include_ok=True):
        kind = "pylock-vcs" if triton is not None and triton.data.get("vcs") else ""
        out.append(_violation(path, anchor.line, finding, kind=kind, index=anchor.index))
    _check_companions(ruleset, path, torch.version, chosen, out, torch_index=torch.data.get("index"))


def _untrusted_source(ruleset: Ruleset, path: Path, triton: _Entry, pair: Pair, problem: str) -> Violation:
    from tripin.judge import fix_argv_for, fix_for

    return Violation(
        where=Location(str(path), triton.line),
        code=UNTRUSTED_SOURCE,
        message=f"{triton.name} on {pair.target} {problem}",
        fix=f"pin what the rules give torch {pair.torch}: {fix_for(ruleset, pair)}",
        argv=fix_argv_for(ruleset, pair),
    )


def _recipe_differences(ruleset: Ruleset, path: Path, triton: _Entry, pair: Pair) -> list[Violation]:
    """A tripin lock's source build carries its recipe (build requirements, environment,
    subdirectory), which `build-plan` runs: it must be the rules' recipe, since a hostile lock
    could otherwise have the build script install any package or build another directory."""
    from tripin.sourcebuild import recipe_differences

    build = triton.data.get("tool", {}).get("tripin", {}).get("build")
    if not isinstance(build, dict):
        return []
    differences = recipe_differences(
        ruleset,
        pair.torch,
        pair.target,
        commit=triton.commit,
        subdirectory=triton.data["vcs"].get("subdirectory"),
        version=build.get("version"),
        requires=build.get("requires"),
        env=build.get("env"),
    )
    if not differences:
        return []
    return [
        Violation(
            where=Location(str(path), triton.line),
            code=UNTRUSTED_SOURCE,
            message=f"{triton.name} on {pair.target}: its source build is not the rules' recipe "
            f"({'; '.join(differences)})",
            fix="lock again (tripin lock), which writes the rules' recipe",
        )
    ]


def _check_uvlock(
    path: Path, ruleset: Ruleset, targets: Sequence[Target], out: list[Violation], read: list[Path]
) -> dict[str, dict[str, Version]]:
    """A uv.lock, judged per target and per extra or group a user may sync (`uv sync --extra cu124`)."""
    from tripin.uvlock import read_uv_lock

    read.append(path)
    lock = read_uv_lock(path)
    installs: dict[str, dict[str, Version]] = {}
    for target in [t for t in (targets or [parse_target(t) for t in DEFAULT_TARGETS]) if lock.covers(t)]:
        for selection in lock.selections():
            chosen = [
                _Entry(
                    name=p.name,
                    version=p.version,
                    marker=None,
                    commit=p.commit or (commit_of_version(p.version) if p.version else None),
                    commit_from="git source" if p.commit else "+git label",
                    line=p.line,
                    index=-1,
                    data=_uv_source(p.source, sdist=p.sdist),
                )
                for p in lock.installs(target, selection)
            ]
            if not selection.kind:
                installs[target.name] = {e.name: e.version for e in chosen if e.version is not None}
            found: list[Violation] = []
            _judge_target(ruleset, path, target, chosen, found)
            for v in found:  # what only an extra or a group brings in says which one
                if selection.kind and v not in out:
                    v = dataclasses.replace(v, message=f"{v.message} (uv sync {selection})")
                out.append(v)
    return installs


def _uv_source(source: Mapping[str, Any], *, sdist: bool) -> Mapping[str, Any]:
    """A uv.lock source other than an index or git, in PEP 751's words, for `source_problem`:
    `url` and `path` are archives (a wheel is judged by its file name), the rest directories."""
    if sdist:  # a registry entry with an sdist
        return {"sdist": {}}
    for key in ("url", "path"):
        if isinstance(source.get(key), str):
            return {"archive": {key: source[key]}}
    if any(key in source for key in ("directory", "editable", "virtual")):
        return {"directory": {"path": "."}}
    return {}


def _check_companions(
    ruleset: Ruleset,
    path: Path,
    torch: Version,
    chosen: Iterable[_Entry],
    out: list[Violation],
    *,
    torch_index: object = None,
) -> None:
    """`torch_index`: the index a lock took torch from. A companion from that same variant index
    is its build whatever its label: PyTorch's cu126 index serves aarch64's torchvision 0.21.0
    with no +cu126, and that is the one built for its torch 2.6.0+cu126. Without an index (a
    requirements file) an unlabelled companion beside a labelled torch may be that build: a
    warning; two different labels (+cpu beside +cu126) are two builds: an error."""
    for entry in chosen:
        if entry.version is None:
            continue
        same_index = torch_index is not None and entry.data.get("index") == torch_index
        if entry.name in ("torchvision", "torchaudio") and entry.version.local != torch.local and not same_index:
            maybe = torch_index is None and entry.version.local is None
            unless = ", unless its index serves it unlabelled for that torch (PyTorch's aarch64 builds)"
            out.append(
                Violation(
                    where=Location(str(path), entry.line),
                    code="TP004",
                    message=f"{entry.name} {entry.version} is another PyTorch build than torch {torch} "
                    f"(+{entry.version.local or 'none'} vs +{torch.local or 'none'})" + (unless if maybe else ""),
                    fix="take both from the same variant index: tripin lock with a -cuXYZ/-cpu target",
                    level="warning" if maybe else "error",
                )
            )
        public = Version(entry.version.public)
        rules = [c for c in ruleset.companions if c.package == entry.name]
        paired = [c for c in rules if any(s.operator == "==" for s in c.torch) and c.torch.contains(torch)]
        found: list[tuple[str, str]] = []  # (message, level)
        if paired and not any(c.version == public for c in rules):
            # no rule for this release (its metadata named no torch, or it is newer than the
            # rules): the lock's resolver keeps such a release from a paired torch; a hand-pinned
            # one is likely built for another torch (torchaudio 2.11.0 for torch 2.11, not 2.6)
            paired_text = ", ".join(str(c.version) for c in paired)
            found.append(
                (
                    f"{entry.name} {entry.version} has no companion rule, and the rules pair torch {torch} "
                    f"with {entry.name} {paired_text} [{paired[0].id}]",
                    "warning",
                )
            )
        found += [
            (f"{entry.name} {entry.version} is built for torch{c.torch}, not torch {torch} [{c.id}]", "error")
            for c in rules
            if c.version == public and not c.torch.contains(torch, prereleases=True)
        ]
        for message, level in found:
            out.append(
                Violation(
                    where=Location(str(path), entry.line),
                    code="TP004",
                    message=message,
                    fix=_companion_fix(ruleset, entry.name, torch),
                    want_version=_fit_text(ruleset, entry.name, torch),
                    level=level,
                )
            )


def _companion_fit(ruleset: Ruleset, name: str, torch: Version) -> Version | None:
    """The newest release the rules say is built for this torch, where they know one."""
    fits = [c.version for c in ruleset.companions if c.package == name and c.torch.contains(torch, prereleases=True)]
    return max(fits) if fits else None


def _fit_text(ruleset: Ruleset, name: str, torch: Version) -> str | None:
    """What --fix writes for a companion line: the fitting release, with torch's local label
    where torch has one (torch 2.6.0+cu126 takes torchvision 0.21.0+cu126)."""
    fit = _companion_fit(ruleset, name, torch)
    if fit is None:
        return None
    return f"{fit}+{torch.local}" if torch.local else str(fit)


def _companion_fix(ruleset: Ruleset, name: str, torch: Version) -> str:
    fit = _companion_fit(ruleset, name, torch)
    if fit is None:
        return f"lock {name} with torch: tripin lock"
    return f"pin {name}=={fit} (built for torch {torch.public}), or lock both: tripin lock"


def _check_stale(path: Path, data: Mapping[str, Any], ruleset: Ruleset, relock: _Relock, out: list[Violation]) -> None:
    tool = data.get("tool", {}).get("tripin")
    if not isinstance(tool, dict):
        return  # not written by tripin: nothing records its inputs
    where = Location(str(path), 1)
    stale: list[str] = []
    if tool.get("ruleset-digest") and tool["ruleset-digest"] != ruleset.digest:
        stale.append(
            f"the lock was written with another ruleset ({str(tool['ruleset-digest'])[:19]}, now {ruleset.digest[:19]})"
        )
    recorded = tool.get("pyproject-digest")
    pyproject = relock.folder / "pyproject.toml"
    extras, groups = _lock_groups(data)  # --group ones too: [tool.tripin] does not name those
    if recorded and pyproject.is_file():
        from tripin.config import lock_pyproject_digest

        if lock_pyproject_digest(pyproject, extras | groups) != recorded:
            stale.append(f"{pyproject} changed since the lock was written")
    if stale:
        out += [Violation(where=where, code="TP005", message=m, fix=relock(), relock=relock()) for m in stale]


# -- requirements and constraints files ------------------------------------------------------------


def _pinned(line: ReqLine) -> Version | None:
    spec = list(line.requirement.specifier)
    if len(spec) == 1 and spec[0].operator in ("==", "===") and "*" not in spec[0].version:
        try:
            return Version(spec[0].version)
        except InvalidVersion:
            return None
    return None


def _line_applies(line: ReqLine, env: Mapping[str, str]) -> bool:
    """A requirements line's marker on a target. PEP 751 defines `dependency_groups` (and
    `extras` as a set) only for lock files; pip refuses them here, and so does tripin."""
    if line.requirement.marker is None:
        return True
    try:
        return line.requirement.marker.evaluate(dict(env))
    except (UndefinedEnvironmentName, UndefinedComparison) as exc:  # reqfile refuses both; kept as a backstop
        raise LockError(f"{line.where}: marker cannot be evaluated: {exc}") from None


def _check_reqfile(
    path: Path, ruleset: Ruleset, targets: Sequence[Target], out: list[Violation], read: list[Path]
) -> list[ReqLine]:
    lines = parse_requirements_file(path, read=read, skip_unnamed=True)
    for target in targets:
        env = target.environment()
        applying = [ln for ln in lines if _line_applies(ln, env)]
        torch = next((ln for ln in applying if ln.requirement.name == _TORCH and _pinned(ln)), None)
        if torch is None:
            continue
        torch_version = _pinned(torch)
        assert torch_version is not None
        triton = next((ln for ln in applying if ln.requirement.name in TRITONS), None)
        version = _pinned(triton) if triton else None
        commit, commit_from = None, ""
        if triton is not None and triton.requirement.url:
            url = triton.requirement.url
            commit, commit_from = vcs_commit(url), "direct reference"
            if commit is None and (version := _wheel_version(url)) is not None:
                commit, commit_from = commit_of_version(version), "+git label"  # a wheel URL: its version
            elif commit is None or len(commit) < 40 or not url.startswith("git+") or _repository_problem(url, ruleset):
                out.append(_direct_reference(ruleset, triton, torch_version, target, commit))
                continue
        elif version is not None and (label := commit_of_version(version)):
            commit, commit_from = label, "+git label"
        if triton is not None and version is None and commit is None:
            # a range or an unpinned name: nothing exact to judge, unless it leaves out the pin
            ranged = dataclasses.replace(_pair(torch_version, triton, target), commit_from="")
            if (finding := range_finding(ruleset, ranged, triton.requirement.specifier)) is not None:
                out.append(_violation(Path(triton.where.path), triton.where.line or 1, finding, kind="line"))
            continue
        pair = Pair(
            torch=torch_version,
            triton=NormalizedName(triton.requirement.name) if triton else None,
            triton_version=version,
            commit=commit,
            commit_from=commit_from,
            environment=env,
            target=target.name,
            variant=target.variant,
        )
        anchor = triton or torch
        git = triton is not None and (triton.requirement.url or "").startswith("git+")
        for finding in judge_pair(ruleset, pair, require_triton=False, include_ok=True):
            finding = _as_built_from_git(ruleset, pair, finding) if git else finding
            out.append(_violation(Path(anchor.where.path), anchor.where.line or 1, finding, kind="line"))
        for ln in applying:  # torchvision / torchaudio pinned for another torch, as in a lock
            companion = _pinned(ln)
            if companion is not None and ln.requirement.name in ("torchvision", "torchaudio"):
                entry = _Entry(
                    name=NormalizedName(ln.requirement.name),
                    version=companion,
                    marker=None,
                    commit=None,
                    commit_from="",
                    line=ln.where.line or 1,
                    index=-1,
                )
                _check_companions(ruleset, Path(ln.where.path), torch_version, [entry], out)
    hashed = [ln for ln in lines if ln.hashes]
    if hashed:
        for ln in lines:
            if not ln.hashes and not ln.constraint:
                out.append(
                    Violation(
                        where=ln.where,
                        code="TP006",
                        message=f"{ln.requirement.name} has no --hash "
                        "while other lines have: pip refuses the file in hash-checking mode",
                    )
                )
    return lines


def _as_built_from_git(ruleset: Ruleset, pair: Pair, finding: Finding) -> Finding:
    """A finding on a git URL line, wanting what --fix writes there: the URL at the commit, which
    builds the rules' source version of it. A target whose verdict wants the wheel of 3.2.0
    (built from 9641643d) takes that build too, so it and a target wanting 3.2.0+git9641643d
    want one pin on this line, not a split; a wheel with no known commit stays another pin."""
    if finding.want_version is None or finding.want_commit is None or pair.triton is None:
        return finding
    try:
        build = ruleset.build_for(pair.triton, Version(finding.want_version))
    except InvalidVersion:
        return finding
    if build is None or build.commit != finding.want_commit:
        return finding
    return dataclasses.replace(finding, want_version=str(ruleset.source_version(build)))


def _pair(torch: Version, triton: ReqLine, target: Target) -> Pair:
    return Pair(
        torch=torch,
        triton=NormalizedName(triton.requirement.name),
        triton_version=None,
        commit=None,
        commit_from="",
        environment=target.environment(),
        target=target.name,
        variant=target.variant,
    )


def _wheel_version(url: str) -> Version | None:
    """The version a direct reference to a wheel file names in its file name."""
    parsed = parse_wheel(url)
    return None if parsed is None else parsed[2]


def _direct_reference(ruleset: Ruleset, line: ReqLine, torch: Version, target: Target, commit: str | None) -> Violation:
    """A Triton from git at a branch or tag (or none): what it builds changes with the branch,
    so no verdict holds for long; a warning that names the commit to pin instead. From an
    abbreviated commit, or from an archive (an sdist URL), an error: the installer takes
    whatever commit a repository holds under that prefix, and an archive holds whatever it holds."""
    from tripin.scriptvalues import shown

    given = line.requirement.url or ""
    fix = _direct_reference_edit(ruleset, _pair(torch, line, target), given)
    url = shown(line.requirement.url, 120)
    if not re.match(r"[a-z]+\+", given):
        why = "an archive, which names no commit: it builds whatever it holds"
    elif not given.startswith("git+"):
        why = "a repository that is not git (Triton's is)"
    elif commit is not None and len(commit) == 40 and (problem := _repository_problem(given, ruleset)):
        why = problem.removeprefix("comes from ")
    elif commit is not None:
        why = f"an abbreviated commit ({commit}): the installer takes whatever commit that repository holds under it"
    else:
        why = ""
    if why:
        return Violation(
            where=line.where,
            code=UNTRUSTED_SOURCE,
            message=f"{line.requirement.name} on {target.name} comes from {url}, {why}",
            fix=fix,
        )
    return Violation(
        where=line.where,
        code="TP011",
        level="warning",  # printed as a warning, code and message only: the advice goes in both
        message=f"{line.requirement.name} on {target.name} comes from {url}, which names "
        f"no commit: what it builds moves with the branch, and no verdict holds for long; {fix}",
        fix=fix,
    )


def _direct_reference_edit(ruleset: Ruleset, pair: Pair, url: str) -> str:
    """The edit that ends a direct reference's finding: it is the file's, and `pip install`
    would change the environment and leave the line, and the check, failing. A git URL of
    Triton's repository is pointed at the full commit the rules give torch; any other URL gives
    way to the pin."""
    from tripin.judge import fix_for, want_for

    version, commit = want_for(ruleset, pair)
    if version is None:
        return fix_for(ruleset, pair)  # no rule names a Triton here: that is what it says
    name = pair.triton or "triton"
    pin = f"{name}{'==' if '+' in version else '==='}{version}"
    if commit is not None and url.startswith("git+") and _repository_problem(url, ruleset) is None:
        return (
            f"edit the line: point the URL at the full commit the rules give torch {pair.torch}, @{commit}, "
            f"or pin {pin} in its place"
        )
    return f"edit the line: replace the URL with {pin}, what the rules give torch {pair.torch}"


def _violation(path: Path, line: int, finding: Finding, *, kind: str = "", index: int = -1) -> Violation:
    return Violation(
        where=Location(str(path), line),
        code=finding.code,
        message=finding.message,
        fix=finding.fix,
        argv=finding.argv,
        kind=kind,
        index=index,
        want_version=finding.want_version,
        want_commit=finding.want_commit,
        level=finding.level,
    )


def _disagreements(
    lock: Path,
    installs: Mapping[str, Mapping[str, Version]],
    lines: Iterable[ReqLine],
    targets: Sequence[Target],
    out: list[Violation],
    relock: Callable[[], str] | None = None,
) -> None:
    """TP007: a pin that is not what the lock installs, fixed by making the lock (and the
    files written with it) again: a uv.lock's by tripin lock as before."""
    for target in targets:
        versions = installs.get(target.name)
        if versions is None:
            continue
        env = target.environment()
        for ln in lines:
            pinned = _pinned(ln)
            locked = versions.get(ln.requirement.name)
            applies = _line_applies(ln, env)
            if pinned is not None and locked is not None and applies and pinned != locked:
                out.append(
                    Violation(
                        where=ln.where,
                        code="TP007",
                        message=f"{ln.requirement.name}=={pinned} on {target.name}, but {lock} locks {locked}",
                        fix=relock() if relock else "tripin lock",
                        relock=relock() if relock else "",
                    )
                )


def check_files(
    paths: Sequence[Path],
    ruleset: Ruleset,
    targets: Sequence[Target] = (),
    read: list[Path] | None = None,
    errors: list[TripinError] | None = None,
    rules_of: Callable[[Path], Ruleset] | None = None,
) -> list[Violation]:
    """Every violation in the files, in file order, each reported once. `read` collects every
    file the verdict depends on. With `errors`, a file that cannot be read is reported there
    and the others are still judged: a pre-commit run hands over every matching file, and one
    that is not pip's syntax must not hide the wrong Triton in another. `rules_of` gives the
    ruleset a file is judged by (its own project's overlays), `ruleset` where it is not given."""
    read = [] if read is None else read
    out: list[Violation] = []
    locks: dict[Path, dict[str, dict[str, Version]]] = {}
    relocks: dict[Path, Callable[[], str]] = {}  # each pylock's re-lock command
    for path in [p for p in paths if p.suffix in (".toml", ".lock")]:
        try:
            rules = rules_of(path) if rules_of else ruleset
            if path.suffix == ".toml":
                locks[path] = _lock_installs(path, rules, targets, out, read, relocks)
            else:
                locks[path] = _check_uvlock(path, rules, targets, out, read)
        except TripinError as exc:
            _keep(exc, errors)
    for path in [p for p in paths if p.suffix not in (".toml", ".lock")]:
        try:
            _judge_reqfile(path, rules_of(path) if rules_of else ruleset, targets, locks, relocks, out, read)
        except TripinError as exc:
            _keep(exc, errors)
    return _dedupe(out)


def _keep(exc: TripinError, errors: list[TripinError] | None) -> None:
    if errors is None:
        raise exc
    errors.append(exc)


def _lock_installs(
    path: Path,
    ruleset: Ruleset,
    targets: Sequence[Target],
    out: list[Violation],
    read: list[Path],
    relocks: dict[Path, Callable[[], str]],
) -> dict[str, dict[str, Version]]:
    try:
        return _check_lock(path, ruleset, targets, out, read, relocks)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:  # a lock of the wrong shape
        raise LockError(f"{path}: not a valid pylock.toml ({exc.__class__.__name__}: {exc})") from None


def _judge_reqfile(
    path: Path,
    ruleset: Ruleset,
    targets: Sequence[Target],
    locks: Mapping[Path, Mapping[str, Mapping[str, Version]]],
    relocks: Mapping[Path, Callable[[], str]],
    out: list[Violation],
    read: list[Path],
) -> None:
    start = len(out)
    own, written_for = _locks_of(path, locks)
    own_targets = {
        name: parse_target(name) for lock in own for name in locks[lock] if name in written_for or not written_for
    }
    req_targets = list(targets) or list(own_targets.values()) or [parse_target(t) for t in DEFAULT_TARGETS]
    lines = _check_reqfile(path, ruleset, req_targets, out, read)
    # a file written with a lock is changed by making that lock again
    relock = relocks.get(own[0]) if len(own) == 1 and _WRITTEN_WITH.match(_head(path)) else None
    out[start:] = [_file_fix(v, relock) for v in out[start:]]
    for lock in own:
        _disagreements(lock, locks[lock], lines, req_targets, out, relocks.get(lock))


# the lock as `tripin lock` was given it: a name (beside the file), or a path from the project's folder
_WRITTEN_WITH = re.compile(rb"# This file was generated by tripin \S+ with (.+?); do not edit by hand\.\r?$", re.M)
_LOCK_NAME = re.compile(r"pylock(?:\.[^\s;/.]+)?\.toml")


def _head(path: Path) -> bytes:
    """The start of a regular file (its header), b"" for anything else: opened without
    blocking, so that a FIFO is left for the reader that refuses it with a message."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError:
        return b""
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return b""
        return handle.read(4096)


_WRITTEN_FOR = re.compile(rb"^# Targets: ([^\n]*)$", re.M)


def _locks_of(path: Path, locks: Mapping[Path, object]) -> tuple[list[Path], frozenset[str]]:
    """The locks a requirements file is compared with, and the targets it is for (empty: all
    of theirs). A constraints file tripin wrote names both in its header (`with
    pylock.NAME.toml`, `# Targets: ...`: constraints-cu126.txt holds the cu126 build only);
    another file goes with the locks in its own directory. A pre-commit run passes every
    matching file of the repository at once: constraints.gpu.txt is not wrong for disagreeing
    with pylock.toml, projA's with projB's, or the cpu build's file with the cu126 target."""
    head = _head(path)
    here = [lock for lock in locks if lock.resolve().parent == path.resolve().parent]
    named = _WRITTEN_WITH.match(head)
    name = Path(named[1].decode(errors="replace")) if named else None
    if name is None or not _LOCK_NAME.fullmatch(name.name):
        return here, frozenset()
    written = _WRITTEN_FOR.search(head)
    targets = frozenset(t.strip() for t in written[1].decode(errors="replace").split(",")) if written else frozenset()
    # `with locks/pylock.svc.toml` is from the project's folder (where `tripin lock` ran), a
    # bare name from the file's own (as older headers all are)
    bases = {path.parent, project_folder(path)}
    return [lock for lock in locks if any(_real(base / name) == _real(lock) for base in bases)], targets


def _dedupe(violations: Iterable[Violation]) -> list[Violation]:
    """Targets that see the same violation with the same fix (x86_64 at cp311 and cp312, say)
    report it once; targets that need another fix report their own line."""
    seen: dict[tuple[str, int | None, str, str, str, str | None, str | None], Violation] = {}
    for v in violations:
        # what --fix writes tells targets apart too: its fix text (`tripin check --fix FILE`) does not
        key = (v.where.path, v.where.line, v.code, _untargeted(v.message), v.fix, v.want_version, v.want_commit)
        seen.setdefault(key, v)
    return sorted(seen.values(), key=lambda v: (v.where.path, v.where.line or 0, v.code))


def _untargeted(message: str) -> str:
    return re.sub(r" on [a-z]+-[a-z0-9_]+-cp\d+", "", message)

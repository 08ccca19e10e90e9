"""`tripin install`: put a lock's packages for this machine's target into an environment, in one
pip or uv command that tripin prints and runs.

Every package is named by the exact file the lock records, as a direct reference with its hash
(`name @ https://...whl#sha256=...`): pip and uv verify that hash, and no index is asked, so a
package of the same name and version on another index cannot stand in for it (an
`--extra-index-url` install takes any index's file of that version: dependency confusion), and
an installed build with another local label (`3.2.0+git23753f4f` under a lock of `3.2.0`) is
not kept as "already satisfied". Source builds come from the wheelhouse the build script
filled, by path. `--no-deps`: the lock already lists every package the target needs.
"""

from __future__ import annotations

import re
import shlex
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tripin.config import Project, index_problem
from tripin.errors import ConfigError, LockError, one_line, quote
from tripin.lock.model import Lock, LockedPackage
from tripin.lock.pylock import wheel_mismatch
from tripin.pipcmd import pip_head
from tripin.targets import Target, parse_target
from tripin.wheelfile import tag_text

__all__ = ["COMMAND_LIMIT", "Plan", "check_indexes", "choose_target", "describe", "install_plan", "nothing_selected"]

_SHA256 = re.compile(r"[0-9a-f]{64}")
_URL = re.compile(r"https?://[^\s#;\\]+\.whl")
# Windows' CreateProcess takes a command line of at most 32,767 characters, and each package is
# an argument of about 250 (`name @ url#sha256=...`): above this length (shlex's quoting, with a
# margin for Windows'), the requirements go in a file read with -r, on every platform alike
COMMAND_LIMIT = 30_000


@dataclass(frozen=True, slots=True, kw_only=True)
class Plan:
    target: str
    argv: tuple[str, ...]
    packages: tuple[LockedPackage, ...]
    wheels: tuple[Path, ...]  # the built wheels taken from the wheelhouse
    # when the requirements do not fit on a command line: the lines of the file argv reads (-r)
    requirements: tuple[str, ...] = ()
    length: int = 0  # of the command line the requirements would have made


def _selected(lock: Lock, target: str, extras: Sequence[str], groups: Sequence[str]) -> tuple[LockedPackage, ...]:
    """The packages whose `marker` holds on the target with these extras and dependency groups:
    PEP 751's selection, the one uv and `tripin check` make (read_pylock has refused a lock whose
    `[packages.tool.tripin] targets` say otherwise). PEP 751: two entries of one name for the
    same environment make the lock unusable, so that is refused rather than passed to pip."""
    from packaging.markers import Marker
    from packaging.utils import canonicalize_name

    from tripin.check import lock_marker_applies

    chosen: dict[str, frozenset[str]] = {}
    for kind, names, known, other in (
        ("--extra", extras, lock.extras, ("--group", "a dependency group", lock.dependency_groups)),
        ("--group", groups, lock.dependency_groups, ("--extra", "an extra", lock.extras)),
    ):
        normalized = frozenset(canonicalize_name(n) for n in names)
        if unknown := sorted(normalized - set(known)):
            raise ConfigError(_unknown(kind, unknown[0], known, other))
        chosen[kind] = normalized
    parsed = parse_target(target)
    asked = (chosen["--extra"], chosen["--group"])
    packages = tuple(
        p for p in lock.packages if lock_marker_applies(Marker(p.marker) if p.marker else None, parsed, asked)
    )
    names = [canonicalize_name(p.name) for p in packages]
    if twice := sorted({n for n in names if names.count(n) > 1}):
        raise LockError(f"{quote(twice[0], 60)}: the lock has two entries for {target}; PEP 751 allows one")
    return packages


def _unknown(kind: str, name: str, known: Sequence[str], other: tuple[str, str, Sequence[str]]) -> str:
    """An extra is not a dependency group (PEP 751 keeps `extras` and `dependency-groups` apart,
    as uv's --extra and --group do): a name that is the other kind says which option takes it."""
    option, what, names = other
    message = f"{kind} {name}: the lock has no such {kind[2:]} (it has: {', '.join(known) or 'none'})"
    return message + (f"; {name} is {what}: {option} {name}" if name in names else "")


def nothing_selected(lock: Lock, target: str, extras: Sequence[str], groups: Sequence[str]) -> str:
    """What to say when the target gets no package: a pip or uv command with no requirement
    fails ("You must give at least one requirement"), and a lock may hold its packages only for
    its groups (a pyproject with only a dependency group `train` locked). Names the groups and
    extras that do select packages for the target, as the options that take them."""
    from packaging.utils import canonicalize_name

    asked = " ".join([*(f"--extra {e}" for e in extras), *(f"--group {g}" for g in groups)])
    said = f"nothing to install for {target} " + (f"with {asked}" if asked else "without --group or --extra")
    choices = [
        f"--{'group' if kind == 'group' else 'extra'} {name}"
        for name, kind in lock.groups
        if canonicalize_name(name) == name  # as read_pylock read it; _selected takes no other
        and name not in (groups if kind == "group" else extras)
        and _selected(lock, target, [name] if kind == "extra" else [], [name] if kind == "group" else [])
    ]
    return f"{said}: the lock has packages for it with {', '.join(choices)}" if choices else said


def describe(package: LockedPackage, wheelhouse: str) -> str:
    """A dry run's line for one package. Every value is the lock's, which may come from a hostile
    pull request: one printable line. An entry with no `index` (PEP 751 makes it optional) says none."""
    if package.build is not None:
        return one_line(f"  {package.name} source build {package.build.version} from {wheelhouse}")
    return one_line(f"  {package.name} {package.version}" + (f" ({package.index})" if package.index else ""))


def choose_target(lock: Lock, platform: str, variant: str | None) -> str:
    """The lock's target for this machine: `platform` is `linux-x86_64-cp312` as the interpreter
    reports it; where the lock has several builds for it (-cu126 and -cpu), `variant` picks one."""
    mine = [t.name for t in lock.targets if t.name == platform or t.name.startswith(platform + "-")]
    if not mine:
        known = ", ".join(t.name for t in lock.targets)
        raise LockError(f"the lock has no target for this machine ({platform}); it has: {known}")
    if len(mine) > 1:
        picked = [n for n in mine if variant and n == f"{platform}-{variant}"]
        if len(picked) != 1:
            raise ConfigError(f"the lock has {', '.join(mine)} for this machine: choose one with --target")
        return picked[0]
    return mine[0]


def _pinned(package: LockedPackage, target: Target) -> str:
    """`name @ url#sha256=...` for the package's best wheel on the target. Every part comes from
    a lock that may come from a hostile pull request, so the requirement is checked to parse
    back to exactly this name and URL, with no marker or extra (a `;` or `#` smuggled into a
    URL must not turn the line into something else)."""
    from packaging.requirements import InvalidRequirement, Requirement
    from packaging.utils import canonicalize_name

    if canonicalize_name(package.name) != package.name:
        raise LockError(f"{package.name}: not a normalized package name")
    ranked = []
    for wheel in package.wheels:
        if not _URL.fullmatch(wheel.url):
            raise LockError(f"{package.name} {package.version}: not an http(s) wheel URL: {wheel.url!r}")
        if (mismatch := wheel_mismatch(package, wheel)) is not None:
            raise LockError(mismatch)
        tags = tag_text(wheel.filename)  # a wheel's name, as wheel_mismatch found it
        if tags is not None and (rank := target.rank_of(tags)) is not None:
            ranked.append((rank, wheel))
    if not ranked:
        levels = [
            level for w in package.wheels if (tags := tag_text(w.filename)) and (level := target.wider_level(tags))
        ]
        if levels:  # wheels for a newer glibc (macOS) than this machine's: pip refuses them too
            kind, (major, minor) = min(levels)
            what, have = ("macOS", target.macos) if kind == "macos" else ("glibc", target.glibc)
            raise LockError(
                f"{package.name} {package.version}: the lock's wheels for {target.name} need {what} {major}.{minor}"
                f" or newer, and this machine has {have[0]}.{have[1]}"
            )
        raise LockError(f"{package.name} {package.version}: the lock has no wheel for {target.name}")
    wheel = min(ranked, key=lambda pair: pair[0])[1]
    sha = dict(wheel.hashes).get("sha256", "")
    if not _SHA256.fullmatch(sha):
        raise LockError(f"{package.name} {package.version}: {wheel.filename} has no sha256 hash in the lock")
    text = f"{package.name} @ {wheel.url}#sha256={sha}"
    try:
        req = Requirement(text)
    except InvalidRequirement:
        req = None
    url = text.split(" @ ", 1)[1]
    if req is None or (req.name, req.url, req.marker, req.extras) != (package.name, url, None, set()):
        raise LockError(f"{package.name} {package.version}: not a plain package name and wheel URL: {text!r}")
    return text


def _built_wheel(package: LockedPackage, wheelhouse: Path, target: Target) -> Path:
    """The wheelhouse's build of the package whose tags fit the target best, ranked as `_pinned`
    ranks index wheels: build scripts for cp311 and cp312 fill the same wheelhouse, and pip
    refuses another Python's wheel ("not a supported wheel on this platform"). The path is the
    one found, made absolute, not resolved: resolved, the dry run's `3.2.0+git9641643d` ran as
    the `triton-3.3.0-...whl` its symlink pointed to (see _same_wheel)."""
    from packaging.utils import InvalidWheelFilename, canonicalize_name, parse_wheel_filename
    from packaging.version import InvalidVersion, Version

    if package.build is None:
        raise LockError(f"{quote(package.name, 60)}: a git source with no [packages.tool.tripin.build] to build it by")
    try:
        wanted = (canonicalize_name(package.name), Version(package.build.version))
    except InvalidVersion:
        raise LockError(
            f"{quote(package.name, 60)}: build version {quote(package.build.version, 60)} is not PEP 440"
        ) from None
    ranked = []
    for path in sorted(wheelhouse.glob("*.whl")) if wheelhouse.is_dir() else []:
        try:
            name, version, build, tags = parse_wheel_filename(path.name)
        except (InvalidWheelFilename, InvalidVersion):
            continue  # not a wheel: pip would not take it either
        if (name, version) == wanted and (rank := target.tag_rank(tags)) is not None:
            ranked.append((-rank, build, path))
    if not ranked:
        raise LockError(
            f"{package.name} {package.build.version} is a source build and {wheelhouse} has no wheel of it"
            f" for {target.name}",
            hint=f"build it first: tripin build-plan --target {target.name} && sh build-{target.name}.sh {wheelhouse}",
        )
    # pip's order among the files of one version: the best tag for the target, then the highest
    # PEP 427 build tag (a rebuild `-2-` over `-1-`; any over none): the key pip sorts by
    return _same_wheel(max(ranked, key=lambda entry: entry[:2])[2])


def _same_wheel(path: Path) -> Path:
    """`path`, unless it is a symlink to a wheel of another name: pip installs what the file
    holds, whatever name it is given (`demo-2.0-...whl` holding 1.0 installs 1.0 without a
    word), so a link whose target names another build would install that one under this name.
    A target whose name is no wheel's (a content-addressed store) says nothing either way."""
    from packaging.utils import InvalidWheelFilename, parse_wheel_filename
    from packaging.version import InvalidVersion

    target = path.resolve()
    if target.name == path.name:
        return path
    try:
        found, other = parse_wheel_filename(path.name), parse_wheel_filename(target.name)
    except (InvalidWheelFilename, InvalidVersion):
        return path
    if found != other:
        raise LockError(
            f"{quote(str(path), 200)} is a symlink to {quote(target.name, 120)}, a wheel of {other[0]} {other[1]}:"
            " pip would install that one; link or copy the build it names"
        )
    return path


def check_indexes(packages: Sequence[LockedPackage], project: Project, doing: str = "install") -> None:
    """What `tripin check` reports as TP016 (config.index_problem): a package the lock takes
    from an index the project does not configure, or not from the one it is pinned to."""
    from packaging.utils import canonicalize_name

    for package in packages:
        problem = index_problem(
            project, canonicalize_name(package.name), package.index, wheels=bool(package.wheels), tripin_lock=True
        )
        if problem is not None:
            raise LockError(f"refusing to {doing}: {problem}", hint="tripin check says the same (TP016)")


def install_plan(
    lock: Lock,
    target: str,
    *,
    python: str,
    installer: str,
    wheelhouse: Path,
    replace_triton: str | None = None,
    extras: Sequence[str] = (),
    groups: Sequence[str] = (),
    has_pip: bool = True,
    project: Project,
    requirements_file: Path = Path("requirements.txt"),
    glibc: str | None = None,
    macos: str | None = None,
) -> Plan:
    """The one command that installs `target`'s packages into `python`'s environment; one too
    long for a command line reads them from `requirements_file` (the caller writes
    `Plan.requirements` there), each wheel as a `name @ URL`, the built ones as file URLs.
    `replace_triton` names an installed Triton whose version string equals the locked one but
    whose build is another (a git install at another commit): only a forced reinstall replaces it.
    What only a pyproject group needs is left out unless `extras` or `groups` names it, as
    `uv pip install -r pylock.toml --extra/--group` and pip's `pylock.toml[extra]` do."""
    if target not in {t.name for t in lock.targets}:
        raise LockError(f"target {quote(target, 60)} is not in the lock")
    packages = _selected(lock, target, extras, groups)
    if not packages:  # no command: pip and uv refuse one with no requirement (see nothing_selected)
        return Plan(target=target, argv=(), packages=(), wheels=())
    check_indexes(packages, project)
    # the wheels the machine takes, as pip's tags there would: its own glibc or macOS level (a
    # lock made with --manylinux 2.35 holds manylinux_2_31 wheels), the defaults where not told
    parsed = parse_target(target, glibc=glibc, macos=macos)
    builds = [p for p in packages if p.vcs is not None]
    wheels = tuple(_built_wheel(p, wheelhouse, parsed) for p in builds)
    built = {p.name: wheel for p, wheel in zip(builds, wheels, strict=True)}
    reqs = [str(built[p.name].absolute()) if p.name in built else _pinned(p, parsed) for p in packages]
    options = ["--no-deps"]
    if installer == "uv":
        uv = shutil.which("uv")
        if uv is None:
            raise ConfigError("--installer uv: uv is not on PATH")
        force = ["--reinstall-package", replace_triton] if replace_triton else []
        head: tuple[str, ...] = ("uv", "pip", "install", "--python", python, *force, *options)
    else:
        force = ["--force-reinstall"] if replace_triton else []
        head = (*pip_head(python, has_pip=has_pip), "install", *force, *options)
    length = len(shlex.join((*head, *reqs)))
    if length <= COMMAND_LIMIT:
        return Plan(target=target, argv=(*head, *reqs), packages=packages, wheels=wheels)
    # in a requirements file a path is no requirement pip and uv read alike (` #` starts a
    # comment): a built wheel is named by its file URL there
    lines = tuple(
        f"{p.name} @ {built[p.name].absolute().as_uri()}" if p.name in built else r
        for p, r in zip(packages, reqs, strict=True)
    )
    for line in lines:  # pip and uv put the environment's ${NAME} into a requirements file's URLs
        if "$" in line:
            raise LockError(
                f"{line.split(' @ ')[0]}: its wheel URL has a `$`, which pip and uv fill in from the environment in"
                f" the requirements file a lock this long is installed from: {quote(line, 200)}"
            )
    argv = (*head, "-r", str(requirements_file))
    return Plan(target=target, argv=argv, packages=packages, wheels=wheels, requirements=lines, length=length)

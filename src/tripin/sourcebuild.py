"""Source-build directives: a POSIX sh script that builds a lock's git packages into a wheelhouse.

Everything the script interpolates comes from a lock file, which may be hand-edited or hostile,
so each value is checked against a strict pattern and then shell-quoted.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from tripin.errors import LockError
from tripin.lock.model import Lock, LockedPackage, LockedVcs, LockTarget, SourceBuild
from tripin.scriptvalues import (
    UnsafeValue,
    checked_commit,
    checked_env_name,
    checked_env_value,
    checked_file_name,
    checked_index_url,
    checked_local_url,
    checked_note,
    checked_package,
    checked_requirement,
    checked_status,
    checked_subdirectory,
    checked_target,
    checked_url,
    checked_version,
    shown,
)

if TYPE_CHECKING:
    from packaging.version import Version

    from tripin.rules.model import Build, Ruleset
    from tripin.targets import Target

__all__ = [
    "build_script",
    "index_options",
    "install_argv",
    "install_line",
    "local_repositories",
    "lock_for_torch",
    "locked_source_build",
    "merged_namesakes",
    "recipe_differences",
    "source_builds",
    "tripin_install_argv",
]

_PYPI = "https://pypi.org/simple"


def source_builds(lock: Lock, target: str) -> list[LockedPackage]:
    if target not in {t.name for t in lock.targets}:
        known = ", ".join(t.name for t in lock.targets)
        raise LockError(f"target {shown(target)} is not in the lock (it has: {shown(known, 200)})")
    return [p for p in lock.for_target(target) if p.vcs is not None]


@dataclass(frozen=True, slots=True)
class _Step:
    """One source build with every value checked for what it is: only these reach the script."""

    name: str
    version: str
    url: str
    commit: str
    subdirectory: str
    status: str
    source: str
    system: tuple[str, ...]
    requires: tuple[str, ...]
    env: tuple[tuple[str, str], ...]


def _step(p: LockedPackage, local_repositories: frozenset[str] = frozenset()) -> _Step:
    vcs, build = p.vcs, p.build
    try:
        name = checked_package(p.name)
        if vcs is None or build is None:
            raise UnsafeValue("source build (no [packages.vcs] or no build directives)", p.name)
        commit = checked_commit(vcs.commit)
        env: list[tuple[str, str]] = []
        if not isinstance(build.env, Mapping):
            raise UnsafeValue("environment table", build.env)
        for key, value in sorted(build.env.items(), key=lambda kv: str(kv[0])):
            # str.replace, not str.format: a lock's `{`/`}` must not reach a format string
            text = checked_env_value(value).replace("{short}", commit[:8])
            env.append((checked_env_name(key), checked_env_value(text)))
        return _Step(
            name=name,
            version=checked_version(build.version),
            # a local clone only where the project's own overlay names it (checked by the loader too)
            url=checked_local_url(vcs.url) if vcs.url in local_repositories else checked_url(vcs.url),
            commit=commit,
            subdirectory=checked_subdirectory(vcs.subdirectory),
            status=checked_status(build.status),
            source=checked_url(build.source),
            system=tuple(checked_note(s) for s in _seq(build.system)),
            requires=tuple(checked_requirement(r) for r in _seq(build.build_requires)),
            env=tuple(env),
        )
    except UnsafeValue as exc:
        raise LockError(f"{shown(p.name)}: {exc}") from None


def _seq(value: object) -> Sequence[object]:
    if not isinstance(value, (list, tuple)):
        raise UnsafeValue("list", value)
    return value


def _python_of(target: str) -> str:
    match = re.search(r"-cp3(\d+)", target)
    return f"3.{match[1]}" if match else ""


def _arch_of(target: str) -> str:
    return target.split("-")[1] if target.count("-") >= 2 else ""


def build_script(
    lock: Lock,
    target: str,
    *,
    constraints: str | None = None,
    only_builds: bool = False,
    local_repositories: frozenset[str] = frozenset(),
    via_tripin: bool = False,
    lock_option: str | None = None,
) -> str:
    """`via_tripin`: the script tells users to run `tripin install` (`tripin_install_argv`, with
    `--lock lock_option` where given) instead of pip, where pip would merge indexes
    (`merged_namesakes`)."""
    try:
        target = checked_target(target)
        tool_version = checked_version(lock.tool_version)
        _seq(lock.requirements)
    except UnsafeValue as exc:
        raise LockError(f"lock: {exc}") from None
    steps = [_step(p, local_repositories) for p in source_builds(lock, target)]
    try:
        argv = _checked_argv(
            install_argv(lock, target, wheelhouse=None, constraints=constraints, only_builds=only_builds)
        )
        via = None
        if via_tripin:
            lock_name = None if lock_option is None else checked_file_name(lock_option, "lock file name")
            via = tripin_install_argv(target, lock_name)
    except UnsafeValue as exc:
        raise LockError(f"lock: {exc}") from None
    q = shlex.quote
    out = [
        "#!/bin/sh",
        f"# Generated by tripin {tool_version} for target {target}.",
        "# Builds the lock's source-built packages into a wheelhouse, each at its exact commit.",
        "# Usage: sh THIS_SCRIPT [WHEELHOUSE]   (PYTHON=python3.X to choose the interpreter)",
    ]
    for s in steps:
        out.append(f"#   {s.name} {s.version} from {s.url} at {s.commit} [{s.status}: {s.source}]")
        if s.system:
            out.append("#   needs on this machine: " + "; ".join(s.system))
    python, arch = _python_of(target), _arch_of(target)
    out += [
        "set -eu",
        'WHEELHOUSE="${1:-wheelhouse}"',
        'PYTHON="${PYTHON:-python3}"',
        'mkdir -p "$WHEELHOUSE"',
        'WHEELHOUSE=$(cd "$WHEELHOUSE" && pwd)',
        "WORK=$(mktemp -d)",
        "trap 'rm -rf \"$WORK\"' EXIT",
        "",
        f"want_python={q(python)}",
        'have_python=$("$PYTHON" -c \'import sys; print("%d.%d" % sys.version_info[:2])\')',
        'if [ -n "$want_python" ] && [ "$have_python" != "$want_python" ]; then',
        '  echo "tripin: this target needs Python $want_python; $PYTHON is $have_python (set PYTHON=...)" >&2',
        "  exit 1",
        "fi",
        f"want_arch={q(arch)}",
        'if [ -n "$want_arch" ] && [ "$(uname -m)" != "$want_arch" ]; then',
        '  echo "tripin: this target is $want_arch; this machine is $(uname -m)" >&2',
        "  exit 1",
        "fi",
    ]
    for s in steps:
        out += ["", *_build_steps(s)]
    out += [
        "",
        'echo "built into $WHEELHOUSE; install with:"',
        # the wheelhouse shell-quoted, so that the printed line runs as printed from any path
        r"""wheelhouse_q=$(printf '%s' "$WHEELHOUSE" | sed "s/'/'\\\\''/g")""",
        f'printf "  pip install --find-links \'%s\' %s\\n" "$wheelhouse_q" {q(shlex.join(argv[2:]))}'
        if via is None
        else f'printf "  %s --wheelhouse \'%s\'\\n" {q(shlex.join(via))} "$wheelhouse_q"',
    ]
    return "\n".join(out) + "\n"


def _build_steps(s: _Step) -> list[str]:
    q = shlex.quote
    env = " ".join(f"{key}={q(value)}" for key, value in s.env)
    wheel_name = re.sub(r"[-.]+", "_", s.name)
    requires = " ".join(q(r) for r in s.requires)
    return [
        f"# --- {s.name} {s.version}",
        f'src="$WORK"/{q(s.name)}',
        'git init -q "$src"',
        f'git -C "$src" fetch --depth 1 {q(s.url)} {q(s.commit)}',
        'git -C "$src" checkout -q --detach FETCH_HEAD',
        f'if [ "$(git -C "$src" rev-parse HEAD)" != {q(s.commit)} ]; then',
        f"  echo {q(f'tripin: {s.name}: checkout is not commit {s.commit}')} >&2",
        "  exit 1",
        "fi",
        *([f'"$PYTHON" -m pip install -- {requires}'] if requires else []),
        f'(cd "$src"/{q(s.subdirectory)} && {env + " " if env else ""}"$PYTHON" -m pip wheel --no-deps '
        '--no-build-isolation -w "$WHEELHOUSE" .)',
        f'if ! ls "$WHEELHOUSE"/{q(wheel_name + "-" + s.version + "-")}*.whl >/dev/null 2>&1; then',
        f"  echo {q(f'tripin: {s.name}: the build did not produce version {s.version}')} >&2",
        "  exit 1",
        "fi",
    ]


_VALUE_OPTIONS = {"--index-url": checked_index_url, "--extra-index-url": checked_index_url}
_FLAGS = frozenset({"--no-deps"})


def _checked_argv(argv: list[str]) -> list[str]:
    """The install line the script prints: fixed options, index URLs, requirements by name."""
    out = argv[:2]
    values = iter(argv[2:])
    for arg in values:
        if arg in _VALUE_OPTIONS:
            out += [arg, _VALUE_OPTIONS[arg](next(values, None))]
        elif arg == "-c":
            out += [arg, checked_file_name(next(values, ""), "constraints file name")]
        elif arg in _FLAGS:
            out.append(arg)
        else:
            out.append(checked_requirement(arg))
    return out


def install_argv(
    lock: Lock,
    target: str,
    *,
    wheelhouse: str | None,
    constraints: str | None = None,
    only_builds: bool = False,
) -> list[str]:
    """`pip install ...` that installs the target with its source builds: each built package is
    named by its exact version as a requirement (a constraints file never adds a package, and
    torch's aarch64 metadata names no Triton), from the indexes the lock read (`index_options`).
    With `only_builds` (`build-plan --torch`, no lock), just the built packages, without
    dependencies, into the environment that has torch already."""
    built = [f"{p.name}=={p.build.version}" for p in source_builds(lock, target) if p.build is not None]
    argv = ["pip", "install"]
    if only_builds:
        argv.append("--no-deps")
    else:
        argv += index_options(lock.for_target(target))
    if wheelhouse is not None:
        argv += ["--find-links", wheelhouse]
    if constraints and not only_builds:
        argv += ["-c", constraints]
    roots: Sequence[str] = () if only_builds else lock.requirements
    return [*argv, *dict.fromkeys([*roots, *built])]  # a root that names the build exactly: once


def index_options(packages: Sequence[LockedPackage]) -> list[str]:
    """--index-url/--extra-index-url for the indexes a target's packages came from. torch's own
    index (a CUDA build's, download.pytorch.org/whl/cu126) goes last, as an extra index: pip takes
    the best version from all of them (2.6.0+cu126 over PyPI's 2.6.0), and uv searches extra
    indexes first, so both install the locked build. PyPI alone needs no option."""
    torch = next((p.index for p in packages if p.name == "torch" and p.index), None)
    others = list(dict.fromkeys(p.index for p in packages if p.index and p.index != torch))
    out: list[str] = []
    if others and others != [_PYPI]:
        out += ["--index-url", others[0]]
        for extra in others[1:]:
            out += ["--extra-index-url", extra]
    if torch and torch != _PYPI:
        out += ["--extra-index-url" if others else "--index-url", torch]
    return out


def merged_namesakes(lock: Lock, target: str, trusted: Callable[[str], bool]) -> list[LockedPackage]:
    """The packages the pip line could take from another index than the lock's. tripin takes
    each name from the first index that has it, or the one it is pinned to; pip merges every
    index it is given, so a file of the same name and version on another index of the line
    stands in for the locked one: dependency confusion (torchtriton, 2022; pytorch-triton-xpu,
    on PyTorch's XPU index, has no page on PyPI at all, so anyone may upload one). Not at risk:
    a source build (named by its exact version, from the wheelhouse), a version with a local
    label (`2.6.0+cu126`: PyPI refuses those), and a package whose other indexes on the line
    are all `trusted` ones (PyTorch's, which only PyTorch publishes to)."""
    options = index_options(lock.for_target(target))  # pairs: (--index-url | --extra-index-url, URL)
    named = set(options[1::2])
    if "--index-url" not in options[::2]:  # pip's default index
        named.add(_PYPI)
    return [
        p
        for p in lock.for_target(target)
        if p.vcs is None
        and p.index is not None
        and "+" not in str(p.version)  # a hostile lock's version may be a TOML integer
        and any(index != p.index and not trusted(index) for index in named)
    ]


def tripin_install_argv(target: str, lock_path: str | None) -> list[str]:
    """What installs the target's locked files by URL and hash, where the pip line would merge
    indexes (`merged_namesakes`); the wheelhouse option goes last."""
    return ["tripin", "install", "--target", target, *(["--lock", lock_path] if lock_path else [])]


def install_line(
    lock: Lock, target: str, *, wheelhouse: str, constraints: str | None = None, only_builds: bool = False
) -> str:
    return shlex.join(
        install_argv(lock, target, wheelhouse=wheelhouse, constraints=constraints, only_builds=only_builds)
    )


def locked_source_build(
    ruleset: Ruleset,
    build: Build,
    *,
    marker: str | None,
    targets: tuple[str, ...],
    rules: tuple[tuple[str, str], ...],
    requires_python: str | None = None,
) -> LockedPackage:
    """The lock entry of a source build: the commit, and the recipe that turns it into the
    version the rules expect."""
    recipe = ruleset.recipe_for(build.package, build.version)
    if recipe is None:
        raise LockError(f"no source-build recipe in the rules for {build.package} {build.version}")
    version = str(ruleset.source_version(build))
    return LockedPackage(
        name=build.package,
        version=version,
        marker=marker,
        targets=targets,
        requires_python=requires_python,
        vcs=LockedVcs(url=build.repository, commit=build.commit, subdirectory=recipe.subdirectory),
        build=SourceBuild(
            version=version,
            status=build.status,
            source=build.source,
            build_requires=recipe.build_requires,
            env=dict(recipe.env),
            system=recipe.system,
            recipe=recipe.id,
        ),
        rules=rules,
    )


def lock_for_torch(ruleset: Ruleset, torch: Version, target: Target) -> Lock:
    """A one-package lock of the Triton the rules give torch's release line on `target`, built
    from source: `build-plan --torch` needs no lock, so `doctor` and `check` can point to it."""
    from tripin import __version__
    from tripin.judge import release_line

    line = release_line(torch)
    variant = target.variant and ruleset.variant_rule(target.variant)
    if variant and variant.applies != "release":
        # rules/variants.toml: a CPU build runs no Triton; a ROCm or XPU build runs its own
        # distribution from PyTorch's index, which the pins (and so the build rules) do not cover
        what = "runs no Triton" if variant.package == "none" else f"runs {variant.package}, not a build the rules give"
        raise LockError(f"torch {line} on {target} ({target.variant}) {what}: nothing to build [{variant.id}]")
    pin = ruleset.pin_for(line, target.environment())
    if pin is None:
        # torch 2.3's metadata names Triton for Python < 3.12 only: say where the rules do give one
        where = sorted({f"{p.id} ({p.marker})" for p in ruleset.pins if p.torch.contains(line, prereleases=True)})
        elsewhere = f"; the rules give one only where {'; '.join(where)}" if where else ""
        raise LockError(f"no rule names a Triton for torch {line} on {target}{elsewhere}")
    build = ruleset.build_for(pin.package, pin.version)
    if build is None:
        raise LockError(f"the rules give no commit to build {pin.package} {pin.version}")
    version = str(ruleset.source_version(build))
    package = locked_source_build(ruleset, build, marker=None, targets=(target.name,), rules=((pin.id, pin.source),))
    return Lock(
        targets=(LockTarget(name=target.name, marker=str(target.marker)),),
        requirements=(f"{pin.package}=={version}",),
        packages=(package,),
        ruleset_digest=ruleset.digest,
        inputs_digest="",
        tool_version=__version__,
    )


def recipe_differences(
    ruleset: Ruleset,
    torch: Version,
    target: str,
    *,
    commit: str | None,
    subdirectory: object,
    version: object,
    requires: object,
    env: object,
) -> list[str]:
    """Where a lock's source build differs from the recipe the rules give torch's Triton on the
    target: what the build script installs (`requires`), exports (`env`) and builds
    (`subdirectory`), and the version it expects (where the commit is the rules' own: another
    accepted cut of the branch builds another version). Empty where no rule gives a build."""
    from tripin.errors import TripinError
    from tripin.targets import parse_target

    try:
        (expected,) = source_builds(lock_for_torch(ruleset, torch, parse_target(target)), target)
    except (TripinError, ValueError):  # no rule, no build for this torch on this target
        return []
    assert expected.vcs is not None and expected.build is not None
    wanted: list[tuple[str, object, object]] = [
        ("subdirectory", expected.vcs.subdirectory, subdirectory),
        ("requires", list(expected.build.build_requires), list(requires) if isinstance(requires, tuple) else requires),
        ("env", dict(expected.build.env), dict(env) if isinstance(env, Mapping) else env),
    ]
    if commit is not None and commit.lower() == expected.vcs.commit:
        wanted.append(("version", expected.build.version, version))
    return [f"{key} {shown(found, 120)}, not {shown(want, 120)}" for key, want, found in wanted if found != want]


def local_repositories(ruleset: Ruleset) -> frozenset[str]:
    """The file:// repositories a project's overlay names (the loader admits them in overlays
    only): the build script may clone these, and no other non-https URL."""
    return frozenset(b.repository for b in ruleset.builds if b.repository.startswith("file:///"))

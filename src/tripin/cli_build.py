"""`tripin build-plan` and `tripin install`: from a lock to a built and installed environment."""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from tripin.cli_shared import lock_path_of, project_of
from tripin.errors import EXIT_NO_SOLUTION, EXIT_OK, TripinError

if TYPE_CHECKING:
    from collections.abc import Sequence

    from tripin.lock.model import Lock, LockedPackage
    from tripin.rules.model import Ruleset


def run_build_plan(args: argparse.Namespace) -> int:
    from tripin.errors import LockError
    from tripin.lock.atomic import write_atomic
    from tripin.lock.pylock import read_pylock
    from tripin.redact import redact_text
    from tripin.sourcebuild import build_script, install_line, local_repositories, source_builds

    if args.constraints is not None and (
        not args.constraints or args.constraints.startswith("-") or not args.constraints.isprintable()
    ):
        from tripin.errors import ConfigError
        from tripin.scriptvalues import shown

        raise ConfigError(f"--constraints {shown(args.constraints)}: not a file name the script can print")
    from tripin.config import load_rules

    project = project_of(args)  # pyproject.toml read once for the rules and the lock path
    ruleset: Ruleset = load_rules(project)
    lock = _lock_for_torch(args, ruleset) if args.torch else read_pylock(project.lock_path)
    target = args.target
    if target is None:
        needing = [t.name for t in lock.targets if source_builds(lock, t.name)]
        if len(needing) != 1:
            listed = ", ".join(needing) or "none"
            raise LockError(f"choose a target with --target (targets needing source builds: {listed})")
        target = needing[0]
    builds = source_builds(lock, target)
    via_tripin, why = None, ""
    if not args.torch:
        from tripin.check import lock_project
        from tripin.install import check_indexes

        # the script prints an install line with the lock's indexes: not one the project beside
        # the lock does not configure (this shell's PIP_INDEX_URL cannot make it one, see check)
        beside = lock_project(project.lock_path)
        check_indexes(lock.for_target(target), beside, "write a build plan")
        via_tripin, why = _via_tripin(lock, target, args.lock, beside.pytorch_index)
    if builds and not args.torch:
        _require_accepted(lock, builds, ruleset, target, project.lock_path)
    constraints = None if args.torch else _constraints_for(lock, target, args.constraints, project.constraints_path)
    script = build_script(
        lock,
        target,
        constraints=constraints,
        only_builds=bool(args.torch),
        local_repositories=local_repositories(ruleset),
        via_tripin=via_tripin is not None,
        lock_option=args.lock,
    )
    output = args.output or f"build-{target}.sh"
    if why:  # said once the lock passed every check the script makes of it
        print(why, file=sys.stderr)
    if output == "-":
        sys.stdout.write(script)  # redacted by the stream
        return EXIT_OK
    write_atomic(Path(output), redact_text(script), executable=True)
    if not builds:
        print(f"{target} needs no source build; {output} only checks the machine", file=sys.stderr)
    print(f"wrote {output}: builds {', '.join(f'{p.name} {p.version}' for p in builds) or 'nothing'}")
    if via_tripin is None:
        line = install_line(
            lock, target, wheelhouse="wheelhouse", constraints=constraints, only_builds=bool(args.torch)
        )
    else:
        line = shlex.join([*via_tripin, "--wheelhouse", "wheelhouse"])
    print(f"then: sh {shlex.quote(output)} wheelhouse && {line}")
    return EXIT_OK


def _via_tripin(lock: Lock, target: str, lock_option: str | None, pytorch_index: str) -> tuple[list[str] | None, str]:
    """`tripin install ...` (without its wheelhouse) where a pip line with the lock's indexes
    could install another index's file of a locked name and version (sourcebuild's
    merged_namesakes), and the line that says why; (None, "") where the pip line installs what
    the lock holds. PyTorch's own index roots are trusted: the project's, and the one `lock` was
    given on its command line. A hostile lock naming PyPI there gets the pip line, as every lock
    did before."""
    from tripin.config import under_pytorch_index
    from tripin.errors import one_line, quote
    from tripin.index.models import redact_url
    from tripin.sourcebuild import merged_namesakes, tripin_install_argv

    given = lock.extra.get("given")
    given_root = given.get("pytorch-index-url") if isinstance(given, dict) else None
    roots = [pytorch_index, *([given_root] if isinstance(given_root, str) else [])]
    at_risk = merged_namesakes(lock, target, lambda url: under_pytorch_index(url, roots))
    if not at_risk:
        return None, ""
    first, index = at_risk[0], redact_url(at_risk[0].index or "")
    others = f" and {len(at_risk) - 1} more" if len(at_risk) > 1 else ""
    why = one_line(
        f"pip would merge the lock's indexes (--extra-index-url) and could take {quote(first.name, 60)} "
        f"{quote(first.version, 40)}{others} from another of them than {quote(index, 120)}: "
        "tripin install installs the locked files by URL and hash"
    )
    return tripin_install_argv(target, lock_option), why


def _require_accepted(lock: Lock, builds: Sequence[LockedPackage], ruleset: Ruleset, target: str, path: Path) -> None:
    """A lock may come from a hostile pull request, and its source builds are what the script
    clones and runs, so each must be exactly the build the rules give the lock's torch on that
    target: same package, repository and full commit. A passing verdict is not enough here: it
    also accepts other commits (the same source, another cut of the branch), and a script that
    runs a build should run only the one commit the rules cite. A lock tripin wrote always
    passes; for another cut, build the rules' commit instead (the message says how)."""
    from packaging.utils import canonicalize_name
    from packaging.version import InvalidVersion, Version

    from tripin.errors import LockError, TripinError
    from tripin.sourcebuild import lock_for_torch, recipe_differences, source_builds
    from tripin.targets import parse_target

    refuse = "build-plan builds only what the rules give"
    torch = next((p for p in lock.for_target(target) if canonicalize_name(p.name) == "torch"), None)
    if torch is None:
        raise LockError(f"{path}: a source build on {target} with no torch to take it from the rules for; {refuse}")
    try:
        version = Version(torch.version)
        expected = source_builds(lock_for_torch(ruleset, version, parse_target(target)), target)
    except InvalidVersion as exc:
        raise LockError(f"{path}: torch on {target}: {exc}; {refuse}") from None
    except TripinError as exc:
        raise LockError(f"{path}: {exc}; {refuse}") from None
    wanted = {(canonicalize_name(p.name), p.vcs.url, p.vcs.commit) for p in expected if p.vcs is not None}
    if lock.ruleset_digest != ruleset.digest:  # e.g. locked with --overlay, planned without it
        refuse = (
            f"the lock was made with other rules (ruleset {lock.ruleset_digest[:19]}, these are "
            f"{ruleset.digest[:19]}: an --overlay, or another tripin): pass the same --overlay, or lock again; {refuse}"
        )
    for build in builds:
        assert build.vcs is not None  # source_builds: the packages with a vcs entry
        if (canonicalize_name(build.name), build.vcs.url, build.vcs.commit.lower()) not in wanted:
            rules = ", ".join(f"{name} at {commit} from {url}" for name, url, commit in sorted(wanted))
            raise LockError(
                f"{path}: the source build on {target} is not the one the rules give torch {version} "
                f"({rules}); {refuse}: tripin build-plan --torch {version} --target {target}"
            )
        if build.build is not None and (
            differences := recipe_differences(
                ruleset,
                version,
                target,
                commit=build.vcs.commit,
                subdirectory=build.vcs.subdirectory,
                version=build.build.version,
                requires=build.build.build_requires,
                env=build.build.env,
            )
        ):
            from tripin.check import relock_of

            raise LockError(
                f"{path}: the source build on {target} is not the rules' recipe ({'; '.join(differences)}); "
                f"{refuse}: lock again ({relock_of(path)}), or tripin build-plan --torch {version} --target {target}"
            )


def _constraints_for(lock: Lock, target: str, given: str | None, default: Path) -> str | None:
    """The constraints file `tripin lock` wrote for this target, if it is there: constraints.txt,
    or constraints-<variant>.txt where the lock tells builds apart. Never a file that is missing."""
    if given is not None:
        if not Path(given).is_file():
            from tripin.errors import ConfigError

            raise ConfigError(f"--constraints {given}: no such file")
        return given
    variant = next((t.variant for t in lock.targets if t.name == target), None)
    names = [str(default.with_name(f"{default.stem}-{variant or 'pypi'}{default.suffix}"))] if lock.extras else []
    return next((n for n in [*names, str(default)] if Path(n).is_file()), None)


def _lock_for_torch(args: argparse.Namespace, ruleset: Ruleset) -> Lock:
    from packaging.version import InvalidVersion, Version

    from tripin.errors import ConfigError
    from tripin.sourcebuild import lock_for_torch
    from tripin.targets import parse_target

    if not args.target:
        raise ConfigError("--torch needs --target, e.g. --target linux-aarch64-cp312-cu126")
    try:
        torch = Version(args.torch)
    except InvalidVersion:
        raise ConfigError(f"--torch {args.torch!r} is not a version") from None
    return lock_for_torch(ruleset, torch, parse_target(args.target))


def run_install(args: argparse.Namespace) -> int:
    import shlex
    import shutil
    import subprocess
    import tempfile

    from tripin.check import lock_project
    from tripin.doctor import absolute_python, inspect
    from tripin.install import choose_target, describe, install_plan, nothing_selected
    from tripin.lock.pylock import read_pylock

    lock_path = lock_path_of(args)
    lock = read_pylock(lock_path)
    project = lock_project(lock_path)  # whose indexes it names, as check's TP016 judges them
    python = absolute_python(args.python)
    report, _ = inspect(python)
    target = args.target
    if target is None:
        variant = None
        if sum(t.name.startswith(report.target) for t in lock.targets) > 1:
            from tripin.host import detect_variant

            variant = detect_variant()[0]
        target = choose_target(lock, report.target, variant)
    elif target not in {t.name for t in lock.targets}:
        raise TripinError(f"target {target!r} is not in the lock (it has: {', '.join(t.name for t in lock.targets)})")
    elif target != report.target and not target.startswith(report.target + "-"):
        # pip would download every wheel, then refuse the first: "not a supported wheel on this
        # platform"; pure-Python wheels it would install for the wrong platform. A dry run checks
        # the same: the command it prints names this interpreter and must be one that works.
        raise TripinError(
            f"target {target} is not {python}'s ({report.target}): its wheels do not install there; "
            "name that interpreter's target, or another --python"
        )
    installer = args.installer or ("pip" if report.has_pip or not shutil.which("uv") else "uv")
    locked = {p.name: p for p in lock.for_target(target)}
    replace = next(
        (
            t.name
            for t in report.tritons
            if t.name in locked and t.version == locked[t.name].version and t.commit_from == "direct_url.json"
        ),
        None,
    )
    with tempfile.TemporaryDirectory(prefix="tripin-install-") as tmp:
        requirements_file = Path(tmp) / "requirements.txt"  # written when the command line would be too long
        plan = install_plan(
            lock,
            target,
            python=python,
            installer=installer,
            wheelhouse=Path(args.wheelhouse),
            replace_triton=replace,
            extras=args.extras,
            groups=args.groups,
            has_pip=report.has_pip,
            project=project,
            requirements_file=requirements_file,
            glibc=report.glibc,
            macos=report.macos,
        )
        if not plan.argv:
            print(nothing_selected(lock, plan.target, args.extras, args.groups))
            return EXIT_OK
        command = shlex.join(plan.argv)
        why = ""
        if plan.requirements:
            why = (
                f" (a temporary file of the {len(plan.requirements)} packages above, each `name @ URL`: on the"
                f" command line they would make it {plan.length:,} characters long, and Windows takes 32,767)"
            )
        if args.dry_run:
            print(f"target {plan.target} into {python} with {installer}: {len(plan.packages)} packages")
            for p in plan.packages:
                print(describe(p, args.wheelhouse))
            print(f"would run: {command}{why}")
            return EXIT_OK
        if plan.requirements:
            requirements_file.write_text("".join(f"{line}\n" for line in plan.requirements))
        print(f"tripin: running: {command}{why}", file=sys.stderr)
        sys.stderr.flush()
        result = subprocess.run(plan.argv, check=False)
    if result.returncode != 0:
        print(f"tripin: error: {installer} exited with {result.returncode}", file=sys.stderr)
        return EXIT_NO_SOLUTION
    return EXIT_OK

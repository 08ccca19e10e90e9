"""Command line: parse arguments, call the stages, print results, map errors to exit codes."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TextIO, cast

from tripin import __version__
from tripin.errors import EXIT_NO_SOLUTION, EXIT_OK, EXIT_USAGE, TripinError

if TYPE_CHECKING:
    from tripin.config import Project
    from tripin.lock.model import Lock
    from tripin.resolver import TargetResolution
    from tripin.rules.model import Ruleset
    from tripin.targets import Target
    from tripin.verdict import Verdict

__all__ = ["main"]


def _add_rules_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--rules", metavar="DIR", help="read rules/*.toml from DIR instead of the shipped ruleset")
    parser.add_argument(
        "--overlay",
        action="append",
        default=[],
        metavar="FILE",
        help="a rules file of the project's, over the shipped rules (repeatable; also [tool.tripin] rules = [...])",
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tripin",
        description="Lock PyTorch environments with the Triton "
        "build each torch release needs, for every target machine.",
    )
    parser.add_argument("--version", action="version", version=f"tripin {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    lock = sub.add_parser(
        "lock",
        help="resolve requirements for targets; write pylock.toml and constraints.txt",
        description="Resolve for every --target and write one PEP 751 lock and a pip "
        "constraints file. With no REQUIREMENT, reads ./pyproject.toml.",
    )
    lock.add_argument(
        "requirements",
        nargs="*",
        metavar="REQUIREMENT",
        help="PEP 508 requirement (torch==2.6.0), or a requirements file (*.in, *.txt) as pip-compile takes",
    )
    lock.add_argument(
        "-r",
        "--requirement",
        dest="requirement_files",
        action="append",
        default=[],
        metavar="FILE",
        help="read requirements from FILE (pip syntax; repeatable)",
    )
    lock.add_argument(
        "-c",
        "--constraint",
        dest="constraint_files",
        action="append",
        default=[],
        metavar="FILE",
        help="limit versions with FILE (pip syntax; repeatable): a constraint adds no package",
    )
    lock.add_argument(
        "-t",
        "--target",
        dest="targets",
        action="append",
        default=[],
        metavar="NAME",
        help="OS-ARCH-cpXY, e.g. linux-x86_64-cp312, linux-aarch64-cp312 (repeatable)",
    )
    lock.add_argument("-i", "--index-url", metavar="URL", help="simple-API index (default: PyPI)")
    lock.add_argument(
        "--extra-index-url",
        action="append",
        default=[],
        metavar="URL",
        help="further index, used for names the earlier ones lack (repeatable)",
    )
    lock.add_argument("--lock", metavar="PATH", help="lock file to write (default: pylock.toml)")
    lock.add_argument("--constraints", metavar="PATH", help="constraints file to write (default: constraints.txt)")
    lock.add_argument("--offline", action="store_true", help="use only the cache; fail naming what is missing")
    lock.add_argument("--cache-dir", metavar="DIR", help="cache directory (default: the user cache dir)")
    lock.add_argument("--no-cache", action="store_true", help="neither read nor write the cache")
    lock.add_argument("--refresh", action="store_true", help="revalidate cached index pages, however fresh")
    lock.add_argument("--pre", action="store_true", help="allow pre-releases")
    lock.add_argument(
        "--nightly",
        action="store_true",
        help="variant targets read PyTorch's nightly index (URL/nightly/<variant>); implies --pre",
    )
    lock.add_argument(
        "--pytorch-index-url",
        metavar="URL",
        help="where variant targets (-cu126, -cpu, ...) find torch and Triton: URL/<variant> "
        "(default https://download.pytorch.org/whl; a mirror works)",
    )
    lock.add_argument(
        "--group",
        action="append",
        default=[],
        metavar="NAME",
        help="also lock this group of pyproject.toml (optional-dependencies or dependency-groups)",
    )
    lock.add_argument(
        "--exclude-newer",
        metavar="DATE",
        help="ignore files uploaded after DATE (YYYY-MM-DD or RFC 3339), to reproduce a lock later",
    )
    lock.add_argument(
        "-U",
        "--upgrade",
        action="store_true",
        help="re-resolve everything (by default the versions of the lock being replaced are kept while they fit)",
    )
    lock.add_argument(
        "-P",
        "--upgrade-package",
        action="append",
        default=[],
        metavar="NAME[==VERSION]",
        help="let this package move, to VERSION if given; -P torch also moves its companions and Triton (repeatable)",
    )
    lock.add_argument(
        "--print-config", action="store_true", help="print the settings in force and where each comes from, then exit"
    )
    lock.add_argument("--manylinux", metavar="X.Y", help="newest glibc of the Linux targets (default 2.28)")
    lock.add_argument("--musllinux", metavar="X.Y", help="newest musl of musllinux targets (default 1.2)")
    lock.add_argument("--macos", metavar="X.Y", help="newest macOS of macOS targets (default 14.0)")
    lock.add_argument(
        "--check",
        action="store_true",
        help="write nothing; exit 1 with a diff if the lock or constraints would change (for CI)",
    )
    lock.add_argument("-q", "--quiet", action="store_true", help="print errors only")
    lock.add_argument("--format", choices=("text", "json"), default="text", help="summary as text or JSON")
    lock.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=0,
        help="-v: which index serves what, rules applied; -vv: every request, cache hit, candidate",
    )
    _add_rules_options(lock)
    plan = sub.add_parser(
        "build-plan",
        help="write a shell script that builds the lock's source builds",
        description="Write a POSIX sh script that builds every source-built package of the "
        "lock for one target into a wheelhouse, and print the pip line that installs it.",
    )
    plan.add_argument("--lock", metavar="PATH", help="lock to read (default: [tool.tripin] lock, else pylock.toml)")
    plan.add_argument("-t", "--target", metavar="NAME", help="target (default: the one that needs source builds)")
    plan.add_argument("-o", "--output", metavar="PATH", help="script path, or - for stdout (default: build-TARGET.sh)")
    plan.add_argument(
        "--constraints",
        metavar="PATH",
        help="constraints file the printed install line uses (default: the lock's, when it exists)",
    )
    plan.add_argument(
        "--torch",
        metavar="VERSION",
        help="no lock: build the Triton the rules give this torch release (needs --target)",
    )
    _add_rules_options(plan)
    check = sub.add_parser(
        "check",
        help="check locks, constraints and requirements files against the rules (offline; a pre-commit hook)",
        description="Judge the torch/Triton pairs in pylock.toml, uv.lock, constraints and requirements files with the "
        "ruleset. Prints `path:line: CODE message` per violation and exits 1; silent and 0 when all is well; "
        "2 when a file cannot be read.",
    )
    check.add_argument(
        "files", nargs="*", metavar="FILE", help="files to check (default: the project's lock and constraints file)"
    )
    check.add_argument(
        "-t",
        "--target",
        dest="targets",
        action="append",
        default=[],
        metavar="NAME",
        help="targets to judge requirements files for (default: the lock's, else "
        "linux-x86_64-cp312 and linux-aarch64-cp312)",
    )
    check.add_argument("--fix", action="store_true", help="rewrite the offending pins in place")
    check.add_argument(
        "--strict", action="store_true", help="warnings fail too (another cut of the right branch, a main commit)"
    )
    check.add_argument("--format", choices=("text", "json"), default="text")
    _add_rules_options(check)
    explain = sub.add_parser(
        "explain",
        help="why the lock holds this package: chain, rule, source",
        description="For each target (or --target): the requirement chain that pulls the "
        "package in, the rule that decided it with its status and source, and where it comes from.",
    )
    explain.add_argument("package", metavar="PACKAGE")
    explain.add_argument("-t", "--target", metavar="NAME")
    explain.add_argument("--lock", metavar="PATH", help="lock to read (default: [tool.tripin] lock, else pylock.toml)")
    explain.add_argument("--format", choices=("text", "json"), default="text")
    config = sub.add_parser(
        "config",
        help="print the settings every command shares and where each comes from",
        description="The lock and constraints paths, rules overlays, indexes and cache directory that "
        "check, doctor, explain, build-plan, install and rules use (lock adds its own: lock --print-config), "
        "each with its source: command line, environment, [tool.tripin], or default.",
    )
    config.add_argument("--lock", metavar="PATH", help="lock path (default: [tool.tripin] lock, else pylock.toml)")
    config.add_argument("--cache-dir", metavar="DIR", help="cache directory (default: the user cache dir)")
    config.add_argument("--format", choices=("text", "json"), default="text")
    _add_rules_options(config)
    install = sub.add_parser(
        "install",
        help="install the lock for this machine's target into an environment (pip or uv, one command)",
        description="Install every package the lock holds for this machine's target, each at its exact "
        "locked version (a Triton with another +git label is replaced), source builds from the wheelhouse "
        "of the build script. Prints the one pip or uv command it runs.",
    )
    install.add_argument("--lock", metavar="PATH", help="lock to read (default: [tool.tripin] lock, else pylock.toml)")
    install.add_argument(
        "-t", "--target", metavar="NAME", help="the lock's target to install (default: this machine's)"
    )
    install.add_argument(
        "--python", metavar="PATH", default=sys.executable, help="environment's interpreter (default: this one)"
    )
    install.add_argument(
        "--installer", choices=("pip", "uv"), help="default: the environment's pip, else uv when on PATH"
    )
    install.add_argument(
        "--wheelhouse", default="wheelhouse", metavar="DIR", help="where the build script put source builds"
    )
    install.add_argument("--dry-run", action="store_true", help="print the plan and the command; install nothing")
    completion = sub.add_parser(
        "completion",
        help="print a shell completion script",
        description='eval "$(tripin completion bash)"; zsh likewise; fish: tripin completion fish | source',
    )
    completion.add_argument("shell", choices=("bash", "zsh", "fish"))
    from tripin.cli_rules import add_rules_parser

    add_rules_parser(sub)
    doctor = sub.add_parser(
        "doctor",
        help="diagnose the torch and Triton installed in an interpreter",
        description="Report torch and Triton in an interpreter (its files are read, nothing is imported), "
        "judge the pair with the rules and print the fix. Exit 0 healthy, 1 a problem, 2 could not inspect.",
    )
    doctor.add_argument(
        "--python",
        metavar="PATH",
        default=sys.executable,
        help="interpreter to inspect (default: the one running tripin)",
    )
    doctor.add_argument(
        "--probe",
        action="store_true",
        help="also import, in that interpreter, the Triton APIs the installed torch needs",
    )
    doctor.add_argument("--format", choices=("text", "json"), default="text")
    _add_rules_options(doctor)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from tripin.redact import RedactingStream

    stdout, stderr = sys.stdout, sys.stderr
    # every printed line passes here: a proxy (typed as the stream it stands for) that masks
    # credentials in URLs and delegates all but write
    sys.stdout, sys.stderr = cast(TextIO, RedactingStream(stdout)), cast(TextIO, RedactingStream(stderr))
    try:
        return _main(argv)
    finally:
        sys.stdout, sys.stderr = stdout, stderr


def _main(argv: Sequence[str] | None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return EXIT_USAGE
    from tripin.cli_rules import run_rules

    if args.command == "completion":
        from tripin.completion import completion_script

        sys.stdout.write(completion_script(parser, args.shell))
        return EXIT_OK
    commands: dict[str, Callable[[argparse.Namespace], int]] = {
        "lock": _lock,
        "build-plan": _build_plan,
        "doctor": _doctor,
        "rules": run_rules,
        "explain": _explain,
        "install": _install,
        "config": _config,
    }
    try:
        if args.command == "check":  # its memo is keyed by the exact arguments
            return _check(args, list(argv) if argv is not None else sys.argv[1:])
        return commands[args.command](args)
    except TripinError as exc:
        print(f"tripin: error: {exc}", file=sys.stderr)
        if exc.hint:
            print(f"hint: {exc.hint}", file=sys.stderr)
        return exc.exit_code
    except RecursionError:  # input nested past what a parser below tripin can follow
        print("tripin: error: input nested too deeply to read", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("tripin: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `tripin rules list | head`: the reader left; say nothing more
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except OSError as exc:  # a path no handler expected: a name too long, a symlink loop
        from tripin.errors import one_line, quote

        name = f"{quote(exc.filename, 120)}: " if exc.filename else ""
        print(one_line(f"tripin: error: {name}{exc.strerror or exc}"), file=sys.stderr)
        return EXIT_USAGE


def _logging(verbosity: int) -> None:
    """-v/-vv: tripin's log records on stderr. Library code only logs; only this prints them."""
    if not verbosity and "logging" not in sys.modules:
        return  # nothing set up before, nothing to set up: the default shows warnings only
    import logging

    root = logging.getLogger("tripin")
    for old in [h for h in root.handlers if getattr(h, "tripin_cli", False)]:
        root.removeHandler(old)  # main() may run many times in one process (tests, embedding)
    if verbosity:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("tripin: %(message)s"))
        handler.tripin_cli = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    root.setLevel(logging.DEBUG if verbosity > 1 else logging.INFO if verbosity else logging.WARNING)


def _lock(args: argparse.Namespace) -> int:
    _logging(args.verbose)
    import time

    started = time.monotonic()
    from tripin.cli_relock import print_unchanged, remember_lock, unchanged_lock

    unchanged = unchanged_lock(args)  # checked before the settings, packaging and the resolver load
    if unchanged is not None:
        return print_unchanged(args, unchanged, time.monotonic() - started)
    from tripin.config import build_settings, inputs_digest
    from tripin.index import IndexClient
    from tripin.index.cache import Cache, default_cache_dir
    from tripin.lock.atomic import check_writable, write_files
    from tripin.lock.constraints import constraints_files
    from tripin.lock.pylock import dump_pylock
    from tripin.redact import redact_text
    from tripin.resolver import resolve_all
    from tripin.resolver.merge import merge
    from tripin.targets import parse_target

    settings = build_settings(
        cli_requirements=args.requirements,
        cli_targets=args.targets,
        index_url=args.index_url,
        extra_index_urls=args.extra_index_url,
        lock=args.lock,
        constraints=args.constraints,
        manylinux=args.manylinux,
        musllinux=args.musllinux,
        macos=args.macos,
        prereleases=args.pre or args.nightly,
        exclude_newer=args.exclude_newer,
        cli_overlays=args.overlay,
        groups=args.group,
        pytorch_index_url=args.pytorch_index_url,
        pyproject=Path("pyproject.toml"),
        requirement_files=args.requirement_files,
        constraint_files=args.constraint_files,
    )
    names = list(dict.fromkeys(settings.targets))
    if any(n.endswith("-auto") for n in names):
        from tripin.host import detect_variant

        variant, why = detect_variant()
        print(f"tripin: -auto is -{variant}: {why}", file=sys.stderr)
        names = [n.removesuffix("-auto") + f"-{variant}" if n.endswith("-auto") else n for n in names]
    targets = [parse_target(t, glibc=settings.manylinux, musl=settings.musllinux, macos=settings.macos) for t in names]
    _check_distinct_markers(targets)
    from tripin.resolver.preferences import parse_upgrade_packages, preferences_from_lock

    upgrades = parse_upgrade_packages(args.upgrade_package)
    previous = _previous_lock(settings.lock_path)  # its versions are preferred, nothing else of it is used
    preferences = preferences_from_lock(None if args.upgrade else previous, release=upgrades)
    ruleset = _ruleset(args, overlays=settings.overlays)
    if args.print_config:  # after every check `lock` makes before resolving: what it shows, lock would use
        from tripin.config import describe

        rows = describe(settings)
        width = max(len(name) for name, _, _ in rows)
        for name, value, source in rows:
            print(f"{name:<{width}}  {value}  [{source}]")
        return EXIT_OK
    check_writable([settings.lock_path, settings.constraints_path])  # fail before the work, not after
    cache = Cache(None if args.no_cache else Path(args.cache_dir) if args.cache_dir else default_cache_dir())
    from tripin.index.models import Index

    base = f"{settings.pytorch_index}/nightly" if args.nightly else settings.pytorch_index
    routed = [Index(name=f"pytorch-{v}", url=f"{base}/{v}") for v in sorted({t.variant for t in targets if t.variant})]
    client = IndexClient(
        settings.indexes, cache=cache, pins=settings.pins, offline=args.offline, refresh=args.refresh, routed=routed
    )
    from tripin.progress import Progress

    progress = Progress(client.fetcher.stats, len(targets), enabled=not args.quiet and args.format == "text")
    with client, progress:
        resolutions = resolve_all(
            targets,
            settings.requirements,
            client,
            ruleset,
            prereleases=settings.prereleases,
            exclude_newer=settings.exclude_newer,
            on_done=progress.target_done,
            constraints={n: spec for n, spec in upgrades.items() if spec},
            user_constraints=settings.constraints,
            preferences=preferences,
        )
        stats = client.fetcher.stats
    for name in sorted(set(upgrades) - {n for r in resolutions for n in r.packages}):
        print(f"warning: --upgrade-package {name}: no target needs {name}", file=sys.stderr)
    lock = merge(
        resolutions,
        ruleset,
        requirements=[str(r) for r in settings.requirements],
        inputs_digest=inputs_digest(settings),
        groups=settings.groups,
        main=[r for r in settings.requirements if not any(r in reqs for _, reqs in settings.groups.values())],
        extra={
            **({"pyproject-digest": settings.pyproject_digest} if settings.pyproject_digest else {}),
            **({"exclude-newer": settings.exclude_newer.isoformat()} if settings.exclude_newer else {}),
            **(
                {"warnings": [w for r in resolutions for w in r.warnings]}
                if any(r.warnings for r in resolutions)
                else {}
            ),
            **({"notes": [n for r in resolutions for n in r.notes]} if any(r.notes for r in resolutions) else {}),
        },
    )
    pylock_text = redact_text(dump_pylock(lock))  # render every output before writing any
    constraints = {path: redact_text(text) for path, text in constraints_files(lock, settings.constraints_path).items()}
    if args.check:
        return _check_up_to_date({**constraints, settings.lock_path: pylock_text})
    write_files({**constraints, settings.lock_path: pylock_text})  # the lock last: see lock/atomic.py
    remember_lock(args, settings, lock, resolutions, constraints)
    for resolution in resolutions:
        for warning in resolution.warnings:
            print(f"warning: {warning}", file=sys.stderr)
    from tripin.lock.explain import diff_locks

    changes = diff_locks(previous, lock) if previous is not None else None
    elapsed = time.monotonic() - started
    if args.format == "json":
        import json

        print(
            json.dumps(
                {
                    "schema": 1,
                    "lock": str(settings.lock_path),
                    "constraints": ", ".join(str(p) for p in constraints),
                    "packages": len(lock.packages),
                    "seconds": round(elapsed, 3),
                    "requests": stats.requests,
                    "bytes": stats.bytes,
                    "targets": {r.target.name: _target_json(r, ruleset) for r in resolutions},
                    "warnings": [w for r in resolutions for w in r.warnings],
                    "notes": [n for r in resolutions for n in r.notes],
                    "changes": None
                    if changes is None
                    else [{"target": t, "change": c, "package": p, "detail": d} for t, c, p, d in changes],
                },
                indent=2,
            )
        )
        return EXIT_OK
    if not args.quiet:
        print(
            f"Locked {len(lock.packages)} packages for {len(targets)} target(s) in {elapsed:.2f}s "
            f"({stats.requests} requests, {stats.bytes / 1e6:.1f} MB) -> {settings.lock_path}, "
            + ", ".join(str(p) for p in constraints)
        )
        for resolution in resolutions:
            print(f"  {resolution.target}: {_summary(resolution, ruleset)}")
            for note in resolution.notes:
                print(f"    {note.split(': ', 1)[1]}")
        for package in lock.packages:
            if package.build is not None:
                for target in package.targets:
                    print(
                        f"  source build needed on {target}: {package.name} {package.version} "
                        f"[{package.build.status}]; run: tripin build-plan --target {target}"
                    )
        if changes:
            print(f"  changes against the previous {settings.lock_path}:")
            for target, change, package_name, detail in changes:
                print(f"    {target}: {change} {package_name} {detail}")
        elif changes is not None:
            print(f"  no change against the previous {settings.lock_path}")
    return EXIT_OK


def _explain(args: argparse.Namespace) -> int:
    import json

    from tripin.errors import LockError
    from tripin.lock.explain import explain
    from tripin.lock.pylock import read_pylock

    args.lock = str(_project_lock(args))
    lock = read_pylock(Path(args.lock))
    records = explain(lock, args.package, args.target)
    notes = _no_triton_notes(lock, args.package, args.target, {r["target"] for r in records})
    if not records and not notes:
        where = f" for {args.target}" if args.target else ""
        raise LockError(f"{args.lock} holds no {args.package}{where}")
    if args.format == "json":
        print(json.dumps({"schema": 1, "explain": records, "notes": notes}, indent=2))
        return EXIT_OK
    for note in notes:
        print(note)
    for r in records:
        print(f"{r['target']}: {r['package']} {r['version']} from {r['source']}")
        print(
            f"  because: {' -> '.join(r['chain']) or '(not reachable from the requirements)'}"
            f"  [requirements: {', '.join(lock.requirements)}]"
        )
        if r["added_by_rule"]:
            print(f"  added by a rule: torch's metadata names no {r['package']} on {r['target']}")
        for rule in r["rules"]:
            print(f"  rule {rule['id']}: {rule['source']}")
        if r["build"]:
            b = r["build"]
            print(f"  source build: {b['version']} [{b['status']}] recipe {b['recipe']}; evidence {b['evidence']}")
        elif r["wheels"]:
            print(f"  wheels: {', '.join(r['wheels'])}")
    return EXIT_OK


def _check_up_to_date(outputs: dict[Path, str]) -> int:
    """`lock --check`, as `uv lock --check`: a unified diff of every output that would change."""
    import difflib

    stale = 0
    for path, text in outputs.items():
        try:
            old = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            old = None
        if old == text:
            continue
        stale += 1
        before = "/dev/null" if old is None else f"a/{path}"
        sys.stdout.writelines(
            difflib.unified_diff((old or "").splitlines(True), text.splitlines(True), before, f"b/{path}")
        )
    if stale:
        print(f"tripin: {stale} output(s) would change; run tripin lock", file=sys.stderr)
        return EXIT_NO_SOLUTION
    return EXIT_OK


def _no_triton_notes(lock: Lock, package: str, target: str | None, found: set[str]) -> list[str]:
    """Why a target's lock has no Triton (its torch is a CPU build), as the lock recorded it."""
    from tripin.judge import TRITONS

    if package.lower().replace("_", "-") not in TRITONS:
        return []
    notes = [str(n) for n in lock.extra.get("notes", []) if isinstance(n, str)]
    return [n for n in notes if n.split(":", 1)[0] not in found and (target is None or n.startswith(f"{target}:"))]


def _previous_lock(path: Path) -> Lock | None:
    from tripin.errors import LockError
    from tripin.lock.pylock import read_pylock

    if not path.is_file():
        return None
    try:
        return read_pylock(path)
    except LockError:
        return None  # not a tripin lock (or damaged): nothing to compare with


def _target_json(resolution: TargetResolution, ruleset: Ruleset | None = None) -> dict[str, object]:
    from packaging.utils import canonicalize_name

    out: dict[str, object] = {"packages": len(resolution.packages)}
    for name in ("torch", "triton", "pytorch-triton"):
        resolved = resolution.packages.get(canonicalize_name(name))
        if resolved is not None:
            entry: dict[str, object] = {
                "version": str(resolved.candidate.version),
                "source_build": resolved.candidate.build is not None,
                "commit": resolved.candidate.build.commit if resolved.candidate.build else None,
                "rule": resolved.pin.id if resolved.pin else None,
            }
            if (verdict := _build_verdict(resolution, name, ruleset)) is not None:
                entry["verdict"] = {"level": verdict.level, "reason": verdict.reason}
            out[name] = entry
    return out


def _build_verdict(resolution: TargetResolution, name: str, ruleset: Ruleset | None) -> Verdict | None:
    """A source build's commit, judged as `check` judges it (a wheel is judged by its version)."""
    from packaging.utils import canonicalize_name

    from tripin.judge import Pair, pair_verdict

    resolved = resolution.packages.get(canonicalize_name(name))
    torch = resolution.packages.get(canonicalize_name("torch"))
    if ruleset is None or resolved is None or torch is None or resolved.candidate.build is None:
        return None
    pair = Pair(
        torch=torch.candidate.version,
        triton=canonicalize_name(name),
        triton_version=resolved.candidate.version,
        commit=resolved.candidate.build.commit,
        commit_from="rule",
        environment=resolution.target.environment(),
        target=resolution.target.name,
        variant=resolution.target.variant,
    )
    return pair_verdict(ruleset, pair)


def _summary(resolution: TargetResolution, ruleset: Ruleset | None = None) -> str:
    from packaging.utils import canonicalize_name

    parts = []
    for name in ("torch", "triton", "pytorch-triton"):
        resolved = resolution.packages.get(canonicalize_name(name))
        if resolved is not None:
            how = "source build" if resolved.candidate.build else "wheel"
            verdict = _build_verdict(resolution, name, ruleset)
            how += f"; {verdict.level}: {verdict.reason.split(' (')[0]}" if verdict else ""
            parts.append(f"{name} {resolved.candidate.version} ({how})")
    if "torch" in resolution.packages and not any(n in resolution.packages for n in ("triton", "pytorch-triton")):
        parts.append("no Triton")
    return ", ".join(parts) or f"{len(resolution.packages)} packages"


def _check_distinct_markers(targets: Sequence[Target]) -> None:
    from tripin.errors import TargetError

    seen: dict[str, list[Target]] = {}
    for target in targets:
        seen.setdefault(str(target.marker), []).append(target)
    for same in seen.values():
        variants = [t.variant for t in same]
        if len(same) > 1 and (None in variants or len(set(variants)) < len(variants)):
            raise TargetError(
                f"targets {', '.join(t.name for t in same)} share a platform; one lock tells such targets apart "
                "only by their PyTorch variant (-cu126, -cpu, ...), so each needs a different one"
            )


def _build_plan(args: argparse.Namespace) -> int:
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
    ruleset = _project_ruleset(args)
    lock = _lock_for_torch(args, ruleset) if args.torch else read_pylock(_project_lock(args))
    target = args.target
    if target is None:
        needing = [t.name for t in lock.targets if source_builds(lock, t.name)]
        if len(needing) != 1:
            listed = ", ".join(needing) or "none"
            raise LockError(f"choose a target with --target (targets needing source builds: {listed})")
        target = needing[0]
    builds = source_builds(lock, target)
    constraints = None if args.torch else _constraints_for(lock, target, args.constraints)
    script = build_script(
        lock,
        target,
        constraints=constraints,
        only_builds=bool(args.torch),
        local_repositories=local_repositories(ruleset),
    )
    output = args.output or f"build-{target}.sh"
    if output == "-":
        sys.stdout.write(script)  # redacted by the stream
        return EXIT_OK
    write_atomic(Path(output), redact_text(script), executable=True)
    if not builds:
        print(f"{target} needs no source build; {output} only checks the machine", file=sys.stderr)
    print(f"wrote {output}: builds {', '.join(f'{p.name} {p.version}' for p in builds) or 'nothing'}")
    line = install_line(lock, target, wheelhouse="wheelhouse", constraints=constraints, only_builds=bool(args.torch))
    print(f"then: sh {output} wheelhouse && {line}")
    return EXIT_OK


def _constraints_for(lock: Lock, target: str, given: str | None) -> str | None:
    """The constraints file `tripin lock` wrote for this target, if it is there: constraints.txt,
    or constraints-<variant>.txt where the lock tells builds apart. Never a file that is missing."""
    if given is not None:
        if not Path(given).is_file():
            from tripin.errors import ConfigError

            raise ConfigError(f"--constraints {given}: no such file")
        return given
    variant = next((t.variant for t in lock.targets if t.name == target), None)
    names = [f"constraints-{variant or 'pypi'}.txt"] if lock.extras else []
    return next((n for n in [*names, "constraints.txt"] if Path(n).is_file()), None)


def _project(args: argparse.Namespace) -> Project:
    """The settings every command shares, from this command's options (where it has them)."""
    from tripin.config import project_settings

    return project_settings(
        lock=getattr(args, "lock", None),
        overlays=getattr(args, "overlay", None) or (),
        rules=getattr(args, "rules", None),
        cache_dir=getattr(args, "cache_dir", None),
        no_cache=getattr(args, "no_cache", False),
        index_url=getattr(args, "index_url", None),
        pytorch_index_url=getattr(args, "pytorch_index_url", None),
    )


def _project_lock(args: argparse.Namespace) -> Path:
    """--lock, else [tool.tripin] lock of ./pyproject.toml, else pylock.toml: as `tripin lock` wrote it."""
    return _project(args).lock_path


def _project_ruleset(args: argparse.Namespace, *, validate: bool = True) -> Ruleset:
    """The shipped rules under the project's overlays (--overlay, else [tool.tripin] rules of
    ./pyproject.toml): what lock, check, doctor, explain and build-plan all judge by."""
    from tripin.config import load_rules

    ruleset: Ruleset = load_rules(_project(args), validate=validate)
    return ruleset


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


def _ruleset(args: argparse.Namespace, *, validate: bool = True, overlays: Sequence[Path] = ()) -> Ruleset:
    from tripin.errors import ConfigError
    from tripin.memo import rule_files
    from tripin.rules import load_ruleset
    from tripin.rules.overlay import load_with_overlays

    if args.rules is None:
        base = load_ruleset(validate=validate)
    elif not Path(args.rules).is_dir() or not rule_files(args.rules):
        raise ConfigError(f"--rules {args.rules}: not a directory with *.toml rules files")
    else:
        base = load_ruleset(rule_files(args.rules))
    return load_with_overlays(overlays, base=base)


def _check(args: argparse.Namespace, argv: list[str]) -> int:
    """`tripin` replays a remembered answer before importing this module (tripin/__main__.py);
    this lookup serves in-process callers."""
    from tripin import memo

    if not args.fix and (code := memo.replay(argv)) is not None:
        return code
    read: list[Path] = [Path("pyproject.toml")]  # its [tool.tripin] names files and overlays
    output, code, errors = _run_check(args, read)
    sys.stdout.write(output)
    sys.stderr.write(errors)
    if not args.fix:
        memo.store(argv, args.rules, read, output, code, errors)
    return code


def _run_check(args: argparse.Namespace, read: list[Path]) -> tuple[str, int, str]:
    import json

    from tripin.check import check_files
    from tripin.errors import EXIT_NO_SOLUTION, ConfigError
    from tripin.judge import OK_ACCEPTED, WARN_OTHER_CUT
    from tripin.targets import parse_target

    project = _project(args)
    files = [Path(f) for f in args.files] or _default_check_files(project, read)
    if not files:
        raise ConfigError("nothing to check: no pylock.toml or constraints.txt here; name the files")
    read += project.overlays
    from tripin.config import load_rules

    ruleset = load_rules(project, validate=False)
    targets = [parse_target(t) for t in args.targets]
    found = check_files(files, ruleset, targets, read)
    warnings = [v for v in found if v.level == "warning"]
    violations = [v for v in found if v.level == "error"]
    if args.fix and violations:
        from tripin.fix import apply_fixes

        done, skipped = apply_fixes(violations)
        for line in done:
            print(f"fixed {line}", file=sys.stderr)
        for line in skipped:
            print(f"not fixed {line}", file=sys.stderr)
        found = check_files(files, ruleset, targets)
        violations = [v for v in found if v.level == "error"]
    if args.format == "json":
        rows = [
            {
                "path": v.where.path,
                "line": v.where.line,
                "code": v.code,
                "message": v.message,
                "fix": {"text": v.fix, "argv": list(v.argv) or None},
            }
            for v in violations
        ]
        notes = [{"path": v.where.path, "line": v.where.line, "code": v.code, "message": v.message} for v in warnings]
        verdicts = [
            {"path": v.where.path, "line": v.where.line, "level": v.level, "code": v.code, "message": v.message}
            for v in found
            if v.code in (OK_ACCEPTED, WARN_OTHER_CUT, "TP002")
        ]
        output = json.dumps({"schema": 1, "violations": rows, "warnings": notes, "verdicts": verdicts}, indent=2) + "\n"
    else:
        output = "".join(f"{v}\n" for v in violations)
    # on stderr: a hook shows them without failing (--strict: they fail it too)
    errors = "".join(f"warning: {v.where}: {v.code} {v.message}\n" for v in warnings) if args.format == "text" else ""
    failed = violations or (getattr(args, "strict", False) and warnings)
    return output, EXIT_NO_SOLUTION if failed else EXIT_OK, errors


def _config(args: argparse.Namespace) -> int:
    from tripin.config import describe_project

    rows = describe_project(_project(args))
    if args.format == "json":
        import json

        settings = [{"name": n, "value": v, "source": src} for n, v, src in rows]
        print(json.dumps({"schema": 1, "settings": settings}, indent=2))
        return EXIT_OK
    width = max(len(name) for name, _, _ in rows)
    for name, value, source in rows:
        print(f"{name:<{width}}  {value}  [{source}]")
    return EXIT_OK


def _default_check_files(project: Project, read: list[Path]) -> list[Path]:
    from tripin.errors import ConfigError

    names = [project.lock_path, project.constraints_path]
    if Path("uv.lock").is_file() and not project.lock_path.is_file():
        names.append(Path("uv.lock"))  # a uv project: its lock is what the hook guards
    read += names  # a default file that appears later must invalidate the memo
    if any("\0" in str(n) for n in names):  # Path.is_file() raises ValueError on a NUL
        raise ConfigError("pyproject.toml: [tool.tripin] names a file with a NUL character")
    return [n for n in names if n.is_file()]


def _install(args: argparse.Namespace) -> int:
    import shlex
    import shutil
    import subprocess

    from tripin.doctor import absolute_python, inspect
    from tripin.errors import EXIT_NO_SOLUTION, TripinError
    from tripin.install import choose_target, install_plan
    from tripin.lock.pylock import read_pylock

    lock = read_pylock(_project_lock(args))
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
    plan = install_plan(
        lock, target, python=python, installer=installer, wheelhouse=Path(args.wheelhouse), replace_triton=replace
    )
    command = shlex.join(plan.argv)
    if args.dry_run:
        print(f"target {plan.target} into {python} with {installer}: {len(plan.packages)} packages")
        for p in plan.packages:
            how = f"source build {p.build.version} from {args.wheelhouse}" if p.build else f"{p.version} ({p.index})"
            print(f"  {p.name} {how}")
        print(f"would run: {command}")
        return EXIT_OK
    print(f"tripin: running: {command}", file=sys.stderr)
    sys.stderr.flush()
    result = subprocess.run(plan.argv, check=False)
    if result.returncode != 0:
        print(f"tripin: error: {installer} exited with {result.returncode}", file=sys.stderr)
        return EXIT_NO_SOLUTION
    return EXIT_OK


def _doctor(args: argparse.Namespace) -> int:
    import json

    from tripin.doctor import diagnose
    from tripin.errors import EXIT_NO_SOLUTION

    report = diagnose(args.python, _project_ruleset(args, validate=False), probe=args.probe)
    if args.format == "json":
        print(json.dumps(report.to_json(), indent=2))
        return EXIT_OK if report.healthy else EXIT_NO_SOLUTION
    print(f"python: {report.python} ({report.python_version}, {report.platform}; target {report.target})")
    if report.torch is None:
        print("torch: not installed")
    else:
        extra = ", ".join(
            x
            for x in (
                f"git {report.torch_git_version[:12]}" if report.torch_git_version else "",
                f"CUDA {report.cuda}" if report.cuda else "",
                f"HIP {report.hip}" if report.hip else "",
            )
            if x
        )
        print(f"torch: {report.torch.version}" + (f" ({extra})" if extra else "") + f" in {report.torch.location}")
    for t in report.tritons:
        built = f", built from {t.commit} ({t.commit_from})" if t.commit else ""
        print(f"{t.name}: {t.version}{built} in {t.location}")
    if report.verdict is not None:
        print(f"verdict: {report.verdict['level']}: {report.verdict['reason']}")
    if report.torch is not None and not report.tritons:
        print("triton: not installed")
    for probe in report.probes:
        print(f"probe {probe['probe']}: {'ok' if probe['ok'] else 'FAILED'}")
    for note in report.notes:
        print(f"note: {note}")
    for finding in report.findings:
        print(f"problem {finding.code}: {finding.message}")
        print(f"  fix: {finding.fix}")
        if finding.argv:
            import shlex

            print(f"  run: {shlex.join(finding.argv)}")
    if report.healthy:
        print("healthy" if report.torch is not None else "nothing to judge: torch is not installed")
    return EXIT_OK if report.healthy else EXIT_NO_SOLUTION


if __name__ == "__main__":
    raise SystemExit(main())

"""`tripin check`, `doctor`, `explain` and `config`: judge and describe what is there."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from tripin.cli_shared import lock_path_of, project_of, ruleset_of
from tripin.errors import EXIT_NO_SOLUTION, EXIT_OK

if TYPE_CHECKING:
    from collections.abc import Callable

    from tripin.config import Project
    from tripin.errors import TripinError
    from tripin.lock.model import Lock
    from tripin.rules.model import Ruleset


def run_check(args: argparse.Namespace, argv: list[str]) -> int:
    """`tripin` replays a remembered answer before importing this module (tripin/__main__.py);
    this lookup serves in-process callers."""
    from tripin import memo

    if not args.fix and (code := memo.replay(argv)) is not None:
        return code
    read: list[Path] = [Path("pyproject.toml")]  # its [tool.tripin] names files and overlays
    output, code, errors = _run_check(args, read)
    sys.stdout.write(output)
    sys.stderr.write(errors)
    from tripin.reqfile import uses_environment

    if not args.fix and not uses_environment(read):  # a `${NAME}`: the answer depends on the environment
        memo.store(argv, args.rules, read, output, code, errors)
    return code


def _check_options(args: argparse.Namespace) -> list[str]:
    """The options of this check that a printed `tripin check --fix FILE` must repeat."""
    return [a for t in args.targets for a in ("--target", t)] + _rules_options(args)


def _rules_options(args: argparse.Namespace) -> list[str]:
    """check's own --overlay and --rules, for a printed re-lock: absolute, since it may `cd`."""
    out = [a for o in args.overlay for a in ("--overlay", str(Path(o).absolute()))]
    return out + (["--rules", str(Path(args.rules).absolute())] if args.rules else [])


def _run_check(args: argparse.Namespace, read: list[Path]) -> tuple[str, int, str]:
    import json

    from tripin.check import check_files, settle_file_fixes
    from tripin.errors import ConfigError
    from tripin.judge import OK_ACCEPTED, WARN_OTHER_CUT
    from tripin.targets import parse_target

    project = project_of(args)
    unreadable: list[TripinError] = []  # reported after the verdicts on every other file
    if args.files:
        files = _named_files([Path(f) for f in args.files], read, unreadable)
    else:
        files = _project_files(project, Path("pyproject.toml"), read)
        if not files:
            looked = f"{project.lock_path} or {project.constraints_path}"
            raise ConfigError(f"nothing to check: no {looked} here; name the files")
    read += project.overlays
    from tripin.config import load_rules

    ruleset = load_rules(project, validate=False)
    rules_of = _rules_by_project(project, ruleset, read)
    targets = [parse_target(t) for t in args.targets]
    found = check_files(files, ruleset, targets, read, unreadable, rules_of)
    found = settle_file_fixes(found, _check_options(args), _rules_options(args))
    warnings = [v for v in found if v.level == "warning"]
    violations = [v for v in found if v.level == "error"]
    if args.fix and violations:
        from tripin.fix import apply_fixes

        done, skipped = apply_fixes(violations)
        for line in done:
            print(f"fixed {line}", file=sys.stderr)
        for line in skipped:
            print(f"not fixed {line}", file=sys.stderr)
        found = check_files(files, ruleset, targets, errors=[], rules_of=rules_of)
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
    errors += "".join(f"tripin: error: {exc}\n" for exc in unreadable)
    failed = violations or (getattr(args, "strict", False) and warnings)
    code = EXIT_NO_SOLUTION if failed else EXIT_OK
    return output, max([code, *(exc.exit_code for exc in unreadable)]), errors


def _rules_by_project(project: Project, ruleset: Ruleset, read: list[Path]) -> Callable[[Path], Ruleset]:
    """The ruleset each file is judged by: its own project's (check.project_folder), with the
    `rules` overlays of its pyproject.toml, as `lock` run there used (the hook runs at the repository's root,
    where a subproject's lock judged by the root's rules was stale and its fork's Triton
    misjudged). `--overlay` and a file with no pyproject.toml beside it take this directory's."""
    from tripin.check import project_folder
    from tripin.config import project_overlays, rules_with_overlays

    here = Path.cwd().resolve()
    loaded: dict[tuple[Path, ...], Ruleset] = {tuple(o.resolve() for o in project.overlays): ruleset}

    def rules_of(path: Path) -> Ruleset:
        if project.sources.get("rules") == "command line":
            return ruleset
        folder = project_folder(path, read)  # one written later changes the answer: the memo must see it
        pyproject = folder / "pyproject.toml"
        if folder.resolve() == here:
            return ruleset
        if not pyproject.is_file():
            return ruleset
        overlays = project_overlays(pyproject)
        read.extend(overlays)
        key = tuple(o.resolve() for o in overlays)
        if key not in loaded:
            loaded[key] = rules_with_overlays(project.rules_dir, overlays, validate=False)
        return loaded[key]

    return rules_of


def _named_files(files: list[Path], read: list[Path], unreadable: list[TripinError]) -> list[Path]:
    """The files named, each once, a `pyproject.toml` standing for its project's lock and
    constraints files (the pre-commit hook passes it when it changes, as uv's uv-lock hook
    matches it): the lock's pyproject digest then says whether it is older (TP005). A
    pyproject.toml with neither next to it has nothing to check."""
    from tripin.config import project_settings
    from tripin.errors import TripinError

    out: list[Path] = []
    for path in files:
        if path.name != "pyproject.toml" or not path.is_file():  # a missing one: "cannot read", as any file
            out.append(path)
            continue
        read.append(path)
        try:
            out += _project_files(project_settings(pyproject=path), path, read)
        except TripinError as exc:  # a broken pyproject.toml must not hide the verdicts on the others
            unreadable.append(exc)
    return list(dict.fromkeys(out))


def _project_files(project: Project, pyproject: Path, read: list[Path]) -> list[Path]:
    """The project's lock and constraints files that are there, beside its pyproject.toml (its
    uv.lock where it has no pylock.toml)."""
    from tripin.errors import ConfigError

    base = pyproject.parent
    lock = base / project.lock_path
    names = [lock, base / project.constraints_path]
    if (base / "uv.lock").is_file() and not lock.is_file():
        names.append(base / "uv.lock")  # a uv project: its lock is what the hook guards
    read += names  # a default file that appears later must invalidate the memo
    if any("\0" in str(n) for n in names):  # Path.is_file() raises ValueError on a NUL
        raise ConfigError("pyproject.toml: [tool.tripin] names a file with a NUL character")
    return [n for n in names if n.is_file()]


def run_doctor(args: argparse.Namespace) -> int:
    import json

    from tripin.doctor import diagnose, text_lines

    report = diagnose(args.python, ruleset_of(args, validate=False), probe=args.probe)
    if args.format == "json":
        print(json.dumps(report.to_json(), indent=2))
        return EXIT_OK if report.healthy else EXIT_NO_SOLUTION
    for line in text_lines(report):
        print(line)
    return EXIT_OK if report.healthy else EXIT_NO_SOLUTION


def run_explain(args: argparse.Namespace) -> int:
    import json

    from tripin.errors import LockError
    from tripin.lock.explain import explain, explain_lines
    from tripin.lock.pylock import read_pylock

    args.lock = str(lock_path_of(args))
    lock = read_pylock(Path(args.lock))
    ruleset = ruleset_of(args, validate=False)
    records = explain(lock, args.package, args.target, ruleset)
    notes = _no_triton_notes(lock, args.package, args.target, {r["target"] for r in records}, ruleset)
    if not records and not notes:
        where = f" for {args.target}" if args.target else ""
        raise LockError(f"{args.lock} holds no {args.package}{where}")
    if args.format == "json":
        print(json.dumps({"schema": 1, "explain": records, "notes": notes}, indent=2))
        return EXIT_OK
    for line in explain_lines(lock, records, notes):
        print(line)
    return EXIT_OK


def _no_triton_notes(lock: Lock, package: str, target: str | None, found: set[str], ruleset: Ruleset) -> list[str]:
    """Why a target's lock has no Triton: its torch is a CPU build, as the lock recorded it, or
    its variant runs none or another distribution (rules/variants.toml)."""
    from tripin.judge import TRITONS

    if package.lower().replace("_", "-") not in TRITONS:
        return []
    notes = [str(n) for n in lock.extra.get("notes", []) if isinstance(n, str)]
    for t in lock.targets:
        rule = ruleset.variant_rule(t.variant) if t.variant else None
        if rule is None or rule.applies == "release" or t.name in found:
            continue
        what = "runs no Triton" if rule.package == "none" else f"runs {rule.package} (tripin explain {rule.package})"
        if rule.package != package:
            notes.append(f"{t.name}: no {package}: the {t.variant} build {what} [{rule.id}]")
    noted = {n.split(":", 1)[0] for n in notes}
    notes += [n for t in lock.targets if t.name not in noted and (n := _platform_note(lock, t.name))]
    return [n for n in notes if n.split(":", 1)[0] not in found and (target is None or n.startswith(f"{target}:"))]


def _platform_note(lock: Lock, target: str) -> str | None:
    """macOS and Windows get no Triton from any torch: say so rather than "holds no triton"."""
    from tripin.builds import platform_note
    from tripin.errors import TargetError
    from tripin.targets import parse_target

    try:
        os = parse_target(target).os
    except TargetError:  # a target this tripin does not know: nothing to say about it
        return None
    torch = next((p.version for p in lock.for_target(target) if p.name == "torch"), None)
    return platform_note(target, os, torch)


def run_config(args: argparse.Namespace) -> int:
    from tripin.config import describe_project

    print_settings(describe_project(project_of(args)), args.format)
    return EXIT_OK


def print_settings(rows: list[tuple[str, str, str]], fmt: str) -> None:
    """`tripin config` and `tripin lock --print-config`: (name, value, where it came from) rows,
    as a table or as config.json's document."""
    if fmt == "json":
        import json

        settings = [{"name": n, "value": v, "source": src} for n, v, src in rows]
        print(json.dumps({"schema": 1, "settings": settings}, indent=2))
        return
    width = max(len(name) for name, _, _ in rows)
    for name, value, source in rows:
        print(f"{name:<{width}}  {value}  [{source}]")

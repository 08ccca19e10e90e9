"""`tripin lock` when nothing changed: the command line's side of tripin/relock.py (what to
remember after writing a lock, and what to say when a run finds nothing to resolve)."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tripin.errors import EXIT_OK, one_line

if TYPE_CHECKING:
    from tripin.config import Settings
    from tripin.lock.model import Lock
    from tripin.resolver import TargetResolution
    from tripin.rules.model import Ruleset

__all__ = ["print_unchanged", "remember_lock", "unchanged_lock"]


def _relock_key(args: argparse.Namespace, *, from_pages: bool = False) -> tuple[Path | None, str]:
    """`from_pages`: the key of a lock resolved with no version preferred, which a first lock
    and a -U run share (relock.py): -U and --refresh left out, the index pages in the entry."""
    from tripin import relock
    from tripin.memo import code_stamp

    root = _cache_root(args)
    # options that change how a run talks or where it reads from, not what it locks
    left_out = ("quiet", "verbose", "format", "offline", *(("upgrade", "refresh") if from_pages else ()))
    options = {k: v for k, v in vars(args).items() if k not in left_out}
    if from_pages:
        options["resolved-from"] = "pages"
    return root, relock.inputs_key(code_stamp(), options, os.environ)


def _cache_root(args: argparse.Namespace) -> Path | None:
    from tripin.memo import cache_root

    return None if args.no_cache else Path(args.cache_dir) if args.cache_dir else cache_root()


def unchanged_lock(args: argparse.Namespace) -> dict[str, Any] | None:
    """The remembered summary of a lock this machine wrote from the same inputs, if nothing
    changed since (tripin/relock.py); None when there is something to resolve. For -U, the
    index pages it was resolved from must be unchanged too."""
    if args.upgrade_package or args.refresh or args.print_config:
        return None
    from tripin import relock
    from tripin.memo import rule_files

    root, key = _relock_key(args, from_pages=args.upgrade)
    return relock.lookup(root, key, rule_files(args.rules), offline=args.offline)


def remember_lock(
    args: argparse.Namespace,
    settings: Settings,
    lock: Lock,
    resolutions: Sequence[TargetResolution],
    constraints: Iterable[Path],
    argv: Sequence[str],
    ruleset: Ruleset,
    *,
    pages: Mapping[str, str | None] | None = None,
) -> None:
    """`pages`: the project pages the run read (IndexClient.pages), given when it preferred no
    version: then a later -U with the same inputs may reuse the lock while they are unchanged."""
    keep_pins = not (args.upgrade or args.upgrade_package or args.refresh)
    read = {key: digest for key, digest in (pages or {}).items() if digest is not None}
    # a page the cache does not hold (a 404) cannot be checked later: no entry for -U then
    from_pages = bool(read) and len(read) == len(pages or {}) and not args.upgrade_package
    if not (keep_pins or from_pages) or any(t.endswith("-auto") for t in settings.targets):
        return  # such runs are never answered so; an -auto target depends on the host, not on the inputs
    from tripin import relock
    from tripin.memo import rule_files
    from tripin.reqfile import uses_environment
    from tripin.resolver.resolve import warning_lines

    if uses_environment(settings.input_files):
        return  # a `${NAME}` in a requirements file: what it reads depends on a variable the key leaves out
    from tripin.index.http import in_clear_over_network

    if any(in_clear_over_network(url) for url in [*(i.url for i in settings.indexes), settings.pytorch_index]):
        return  # its warning (plain http) is said on every run, as pip says it, never skipped with the work

    outputs = [settings.lock_path, *constraints]
    summary = _relock_summary(lock, resolutions, constraints, ruleset, settings)
    summary["lock"] = str(settings.lock_path)
    # the requirements files' warnings too, on stderr; the JSON lists the resolution's, as a run that resolved does
    summary["warnings"] = [*settings.warnings, *warning_lines(resolutions)]
    inputs = [Path("pyproject.toml"), *settings.overlays, *settings.input_files]
    # what a run with these exact arguments checks before argparse (memo.replay_lock); the rules
    # directory's files and listing are added there. Each file by the path it is read by: a
    # symlink pointed elsewhere is another input
    summary["files"] = [str(p.absolute()) for p in [*inputs, *outputs]]
    # where the constraints files are: one that appears there (an older lock's, which a run that
    # resolves removes, see lock/constraints.py left_behind) ends the answer
    where = settings.constraints_path
    listings = [(str(where.parent.absolute()), where.stem, where.suffix)]
    summary["listings"] = listings
    rules = rule_files(args.rules)
    if from_pages:
        root, key = _relock_key(args, from_pages=True)
        relock.remember(
            root, key, rules=rules, inputs=inputs, outputs=outputs, summary=summary, listings=listings, pages=read
        )
        if not args.refresh:  # the next -U answers before argparse while these pages hold (memo._lock_key)
            _store_answer(args, argv, {**summary, "pages": read})
    if not keep_pins:
        return
    root, key = _relock_key(args)
    relock.remember(root, key, rules=rules, inputs=inputs, outputs=outputs, summary=summary, listings=listings)
    _store_answer(args, argv, summary)


def _relock_summary(
    lock: Lock, resolutions: Sequence[TargetResolution], outputs: Iterable[Path], ruleset: Ruleset, settings: Settings
) -> dict[str, Any]:
    """What `tripin lock` says about this lock, for the run that finds nothing changed: the
    words of a run that resolved (cli_lock), with its notes and its source builds' verdicts."""
    from tripin.cli_lock import _summary, _target_json, lock_option

    lines = []
    for r in resolutions:
        lines.append(f"  {r.target}: {_summary(r, ruleset)}")
        lines += [f"    {note.split(': ', 1)[1]}" for note in r.notes]
    lines += [
        f"  source build needed on {target}: {p.name} {p.version} [{p.build.status}]; "
        f"run: tripin build-plan --target {target}{lock_option(settings)}"
        for p in lock.packages
        if p.build is not None
        for target in p.targets
    ]
    return {
        "packages": len(lock.packages),
        "constraints": [str(p) for p in outputs],
        "targets": {r.target.name: _target_json(r, ruleset) for r in resolutions},
        "lines": lines,
        "json_warnings": [w for r in resolutions for w in r.warnings],
        "notes": [n for r in resolutions for n in r.notes],
    }


def print_unchanged(args: argparse.Namespace, summary: dict[str, Any], elapsed: float, argv: Sequence[str]) -> int:
    """Nothing to resolve or write: the lock and its constraints files are the ones this machine
    wrote from the same inputs (tripin/relock.py). Remembered for these exact arguments too, so
    that the next such run answers before argparse (tripin/memo.py, replay_lock)."""
    from tripin import memo

    answer = render_unchanged(args, summary)
    sys.stderr.write(answer[3])
    sys.stdout.write(memo.with_seconds(*answer[:3], elapsed))
    _store_answer(args, argv, summary, answer)
    return EXIT_OK


def _store_answer(
    args: argparse.Namespace,
    argv: Sequence[str],
    summary: dict[str, Any],
    answer: tuple[str, str, str, str] | None = None,
) -> None:
    """What this run said, for memo.replay_lock to say again to the same arguments while the
    files (and, for -U, the index pages) that it rests on are unchanged."""
    from tripin import memo, relock

    files, listings, pages = summary.get("files"), summary.get("listings"), summary.get("pages")
    root = _cache_root(args)
    if root is None or not isinstance(files, list) or not isinstance(listings, list):
        return
    checks = relock.page_checks(root, pages) if isinstance(pages, dict) else []
    if checks is None:
        return
    where = [(d, prefix, suffix) for d, prefix, suffix in listings]
    answer = answer or render_unchanged(args, summary)
    memo.store_lock(argv, root, args.rules, [Path(f) for f in files], answer, where, checks)


def render_unchanged(args: argparse.Namespace, summary: dict[str, Any]) -> tuple[str, str, str, str]:
    """What a run that finds nothing to resolve prints, as (stdout before the seconds it took,
    stdout after them, "text" or "json", stderr)."""
    lock_path, outputs = summary["lock"], summary["constraints"]
    errors = []
    if args.verbose:
        pages = f" and the {len(summary['pages'])} index pages" if "pages" in summary else ""
        errors.append(f"tripin: {lock_path}: inputs, rules, outputs{pages} as when written: nothing to resolve")
    errors += [one_line(f"warning: {warning}") for warning in summary["warnings"]]
    stderr = "".join(f"{line}\n" for line in errors)
    if args.format == "json":
        import json

        mark = "\x00seconds\x00"
        text = json.dumps(
            {
                "schema": 1,
                "lock": str(lock_path),
                "constraints": ", ".join(outputs),
                "packages": summary["packages"],
                "seconds": mark,
                "requests": 0,
                "bytes": 0,
                "targets": summary["targets"],
                "warnings": summary["json_warnings"],
                "notes": summary["notes"],
                "changes": [],
                **({"stale": []} if getattr(args, "check", False) else {}),
            },
            indent=2,
        )
        before, _, after = text.partition(json.dumps(mark))
        return before, after + "\n", "json", stderr
    if args.quiet:
        return "", "", "none", stderr
    before = f"Locked {summary['packages']} packages for {len(summary['targets'])} target(s) in "
    if "pages" in summary:
        kept = "as cached (--offline)" if args.offline else "fresh in the cache"
        why = (
            f"nothing to resolve: inputs, rules, outputs and the {len(summary['pages'])} index pages it was "
            f"resolved from as when tripin wrote them, the pages {kept}; --refresh resolves again"
        )
    else:
        why = (
            "nothing to resolve: inputs, rules and outputs as when tripin wrote them; -U, -P or --refresh resolve again"
        )
    after = f"s ({why}) -> {lock_path}, " + ", ".join(outputs) + "\n"
    after += "".join(f"{line}\n" for line in summary["lines"])
    after += f"  no package changed against the previous {lock_path}\n"
    return before, after, "text", stderr

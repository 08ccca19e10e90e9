"""`tripin rules list|show|verify|sync`: the ruleset for people, and its upkeep."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tripin.errors import EXIT_NO_SOLUTION, EXIT_OK, ConfigError

if TYPE_CHECKING:  # the parser imports this module for every command: the rules load on use only
    from collections.abc import Sequence

    from tripin.rules.model import Ruleset
    from tripin.rules.sync import ExpectedCompanion, ExpectedPin, IndexView

__all__ = ["add_rules_parser", "run_rules"]


def add_rules_parser(sub: Any, help_text: str) -> None:
    rules = sub.add_parser(
        "rules",
        help=help_text,
        description="The ruleset: list it, show one torch line, verify it (offline: the files; "
        "--online: against the index's metadata), or sync it from the index.",
    )
    rsub = rules.add_subparsers(dest="rules_command", metavar="ACTION", required=True)
    for name, text in (
        ("list", "one row per torch release and platform"),
        ("show", "everything the rules say about one torch line, e.g. 2.6"),
    ):
        p = rsub.add_parser(name, help=text)
        if name == "show":
            p.add_argument("line", metavar="TORCH", help="a release line (2.6) or release (2.6.0)")
        p.add_argument("--format", choices=("text", "json"), default="text")
        p.add_argument("--rules", metavar="DIR", help="rules directory (default: the shipped rules)")
    verify = rsub.add_parser("verify", help="validate the rules; --online: compare with the index's metadata")
    sync = rsub.add_parser("sync", help="rewrite torch.toml and companions.toml of DIR from the index's metadata")
    for p in (verify, sync):
        p.add_argument(
            "--rules",
            metavar="DIR",
            required=p is sync,
            help="rules directory (default: the shipped rules); sync needs the repository's rules/",
        )
        p.add_argument(
            "--index-url",
            metavar="URL",
            help="index to read torch's metadata from (default: as lock: TRIPIN_/UV_/PIP_INDEX_URL, "
            "[tool.tripin] index-url, else PyPI)",
        )
        p.add_argument("--min-torch", default="2.0.0", metavar="VERSION")
    verify.add_argument("--online", action="store_true", help="re-read the index's metadata for every rule")


def _load(args: argparse.Namespace) -> Ruleset:
    from tripin.memo import rule_files
    from tripin.rules import load_ruleset

    if args.rules is None:
        return load_ruleset()
    files = rule_files(args.rules)
    if not files:
        raise ConfigError(f"--rules {args.rules}: not a directory with *.toml rules files")
    return load_ruleset(files)


def _rows(ruleset: Ruleset, line: str | None = None) -> list[dict[str, str]]:
    rows = []
    for pin in ruleset.pins:
        torch = str(pin.torch).removeprefix("==")
        if line is not None and not (torch == line or torch.startswith(line + ".")):
            continue
        build = ruleset.build_for(pin.package, pin.version)
        rows.append(
            {
                "torch": torch,
                "rule": pin.id,
                "marker": str(pin.marker),
                "triton": f"{pin.package} {pin.version}",
                "provides": pin.provides,
                "commit": build.commit if build else "",
                "status": build.status if build else "unknown",
                "source": pin.source,
                "commit_source": build.source if build else "",
            }
        )
    return rows


def run_rules(args: argparse.Namespace) -> int:
    if args.rules_command in ("list", "show"):
        ruleset = _load(args)
        rows = _rows(ruleset, getattr(args, "line", None))
        if args.rules_command == "show" and not rows:
            raise ConfigError(f"no rule speaks of torch {args.line}")
        about = _about(ruleset, rows[0]["torch"]) if args.rules_command == "show" else {}
        if args.format == "json":
            import json

            print(json.dumps({"schema": 1, "rules": rows, **about}, indent=2))
            return EXIT_OK
        if args.rules_command == "list":
            print(f"{'torch':<9} {'platform rule':<28} {'triton':<15} {'provides':<13} {'commit':<13} status")
            for r in rows:
                platform = r["rule"].split("/", 1)[1]
                print(
                    f"{r['torch']:<9} {platform:<28} {r['triton']:<15} {r['provides']:<13} "
                    f"{r['commit'][:12]:<13} {r['status']}"
                )
            return EXIT_OK
        _show(rows, about)
        return EXIT_OK
    if args.rules_command == "verify":
        return _verify(args)
    return _sync(args)


def _about(ruleset: Ruleset, torch: str) -> dict[str, list[dict[str, Any]]]:
    """Every rule beyond the pins that speaks of this torch release, as data: `show` prints it
    as text or as JSON, the same facts either way."""
    from packaging.version import Version

    probe = Version(torch)

    def on(rules: Sequence[Any]) -> list[Any]:
        return [r for r in rules if r.torch.contains(probe, prereleases=True)]

    return {
        "known_bad": [
            {
                "id": b.id,
                "package": b.package,
                "triton": str(b.triton or ""),
                "commits": list(b.commits),
                "symptom": b.symptom,
                "fix": b.fix,
                "source": b.source,
            }
            for b in on(ruleset.bad)
        ],
        "pytorch_pins": [
            {
                "id": p.id,
                "package": p.package,
                "version": str(p.version),
                "commit": p.commit,
                "status": p.status,
                "source": p.source,
            }
            for p in on(ruleset.pytorch_pins)
        ],
        "breaks": [
            {"id": b.id, "package": b.package, "commit": b.commit, "symptom": b.symptom, "source": b.source}
            for b in on(ruleset.breaks)
        ],
        "known_good": [
            {"id": g.id, "package": g.package, "commit": g.commit, "note": g.note, "source": g.source}
            for g in on(ruleset.good)
        ],
        "companions": [
            {"id": c.id, "package": c.package, "version": str(c.version), "torch": str(c.torch), "source": c.source}
            for c in on(ruleset.companions)
        ],
    }


def _show(rows: list[dict[str, str]], about: dict[str, list[dict[str, Any]]]) -> None:
    for r in rows:
        print(f"{r['rule']}: {r['triton']} ({r['provides']}) where {r['marker']}")
        print(f"  source: {r['source']}")
        if r["commit"]:
            print(f"  commit: {r['commit']} [{r['status']}] {r['commit_source']}")
    for bad in about["known_bad"]:
        print(f"known bad [{bad['id']}]: {bad['package']}{bad['triton']} {' '.join(c[:12] for c in bad['commits'])}")
        print(f"  symptom: {bad['symptom']}\n  fix: {bad['fix']}\n  source: {bad['source']}")
    for pin in about["pytorch_pins"]:
        print(f"PyTorch's pin [{pin['id']}]: {pin['package']} {pin['version']} at {pin['commit']} [{pin['status']}]")
        print(f"  source: {pin['source']}")
    for brk in about["breaks"]:
        print(f"break on main [{brk['id']}]: {brk['package']} {brk['commit']} and later: {brk['symptom']}")
        print(f"  source: {brk['source']}")
    for good in about["known_good"]:
        print(f"known good [{good['id']}]: {good['package']} at {good['commit']}\n  {good['note']}")
        print(f"  source: {good['source']}")
    for companion in about["companions"]:
        print(f"companion: {companion['package']} {companion['version']} ({companion['source']})")


def _expected(args: argparse.Namespace) -> IndexView:
    from packaging.version import Version

    from tripin.config import project_settings
    from tripin.index import Index, IndexClient
    from tripin.index.cache import Cache
    from tripin.rules.sync import read_index

    project = project_settings(index_url=args.index_url)  # the same index and cache as every command
    args.index_url = project.index_url
    with IndexClient([Index(name="default", url=project.index_url)], cache=Cache(project.cache_dir)) as client:
        return read_index(client, Version(args.min_torch))


def _verify(args: argparse.Namespace) -> int:

    from tripin.rules.verify import verify_commits

    ruleset = _load(args)
    print(
        f"{len(ruleset.pins)} pins, {len(ruleset.builds)} builds, {len(ruleset.recipes)} recipes, "
        f"{len(ruleset.companions)} companions, {len(ruleset.bad)} known-bad, {len(ruleset.good)} known-good: valid"
    )
    checked, wrong = verify_commits(ruleset)
    for line in wrong:
        print(line)
    if ruleset.history is not None:
        print(f"{checked} commits checked against Triton's history: {len(wrong)} wrong")
    if wrong:
        return EXIT_NO_SOLUTION
    if not args.online:
        return EXIT_OK
    view = _expected(args)
    problems = _pin_problems(ruleset, view) + _companion_problems(ruleset, view)
    _print_unpaired(view.companions)
    for line in problems:
        print(line)
    unshown = [p for p in ruleset.pins if not view.shows_torch(p.torch)]
    unshown_c = [c for c in ruleset.companions if not view.shows_companion(c.id)]
    print(f"{len(problems)} disagreement(s) with {args.index_url}", file=sys.stderr)
    if unshown or unshown_c:
        print(
            f"{len(unshown)} pins and {len(unshown_c)} companions not checked: {_UNSHOWN} (as sync keeps them)",
            file=sys.stderr,
        )
    return EXIT_NO_SOLUTION if problems else EXIT_OK


# a mirror or a trimmed index lacking a release is no evidence that the release is gone
_UNSHOWN = "their releases are not shown by this index, or are older than --min-torch"


def _pin_problems(ruleset: Ruleset, view: IndexView) -> list[str]:
    """What `sync` would change in torch.toml, as disagreements."""
    from packaging.markers import Marker
    from packaging.version import Version

    problems: list[str] = []
    have = {p.id: p for p in ruleset.pins}
    for want in view.pins:
        pin = have.pop(want.id, None)
        if pin is None:
            problems.append(f"{want.id}: no rule; the index says {want.package} {want.version} ({want.provides})")
            continue
        now = (str(pin.version), pin.provides, pin.package, str(pin.marker))
        then = (want.version, want.provides, want.package, str(Marker(want.marker)))
        if now != then:
            problems.append(
                f"{pin.id} ({pin.where}): rules say {pin.package} {pin.version} ({pin.provides}); "
                f"the index says {want.package} {want.version} ({want.provides})"
            )
        if want.pypi_build and pin.pypi_build != want.pypi_build:
            problems.append(
                f"{pin.id} ({pin.where}): rules say PyPI's torch is a {pin.pypi_build} build there; "
                f"its metadata says {want.pypi_build} ({want.pypi_build_source})"
            )
        build = ruleset.build_for(want.package, Version(want.version))
        if want.provides == "source-build" and build is None:
            problems.append(f"{want.id}: a source build of {want.package} {want.version} needs a commit in triton.toml")
    return problems + [
        f"{pin_id} ({pin.where}): the index shows torch{pin.torch} but its metadata gives no such rule"
        for pin_id, pin in have.items()
        if view.shows_torch(pin.torch)
    ]


def _companion_problems(ruleset: Ruleset, view: IndexView) -> list[str]:
    """What `sync` would change in companions.toml, as disagreements."""
    from packaging.specifiers import SpecifierSet

    problems: list[str] = []
    have = {c.id: c for c in ruleset.companions}
    for want in view.companions:
        rule = have.get(want.id)
        if rule is None:
            if want.torch:
                problems.append(f"{want.id}: no companion rule; the index says torch{want.torch}")
        elif not want.torch:
            problems.append(f"{rule.id} ({rule.where}): rules say torch{rule.torch}; its metadata names no torch")
        elif rule.torch != SpecifierSet(want.torch):
            problems.append(f"{rule.id} ({rule.where}): rules say torch{rule.torch}; the index says torch{want.torch}")
    return problems


def _sync(args: argparse.Namespace) -> int:
    from tripin.lock.atomic import write_atomic
    from tripin.rules.sync import merge_companions, merge_pins, render_companions, render_pins

    directory = Path(args.rules)
    if not directory.is_dir():
        raise ConfigError(f"--rules {args.rules}: not a directory")
    old = {p.id for p in _load(args).pins} if list(directory.glob("*.toml")) else set()
    view = _expected(args)
    pins = merge_pins(_old_pins(directory), view)
    companions = merge_companions(_old_companions(directory), view)
    write_atomic(directory / "torch.toml", render_pins(pins.entries, args.index_url))
    write_atomic(directory / "companions.toml", render_companions(companions.entries, args.index_url))
    added = [p for p in view.pins if p.id not in old]
    print(
        f"wrote {directory / 'torch.toml'} ({len(pins.entries)} pins: {len(view.pins)} from the index, "
        f"{len(added)} new, {len(pins.kept)} kept unverified) and {directory / 'companions.toml'} "
        f"({sum(1 for c in companions.entries if c.torch)} companions, {len(companions.kept)} kept unverified); "
        "triton.toml untouched"
    )
    for pin in added:
        print(f"  new: {pin.id}: {pin.package} {pin.version} ({pin.provides})")
    for gone in [p.id for p in pins.removed] + [c.id for c in companions.removed]:
        print(f"  removed: {gone}: the index shows its release, and its metadata no longer gives this rule")
    if pins.kept or companions.kept:
        print(
            f"  kept: {len(pins.kept)} pins and {len(companions.kept)} companions unverified: {_UNSHOWN}; "
            "rules verify --online against an index that has them checks them"
        )
    _print_unpaired(view.companions)
    return EXIT_OK


def _old_pins(directory: Path) -> list[ExpectedPin]:
    """The [[pin]] tables torch.toml has now, as sync would write them."""
    from tripin.rules.sync import pin_of

    return [pin_of(t) for t in _tables(directory / "torch.toml", "pin")]


def _old_companions(directory: Path) -> list[ExpectedCompanion]:
    from tripin.rules.sync import companion_of

    return [companion_of(t) for t in _tables(directory / "companions.toml", "companion")]


def _tables(path: Path, kind: str) -> list[dict[str, Any]]:
    """A rules file's raw tables of one kind (none when there is no such file); _load has
    validated them."""
    from tripin.errors import RulesetError
    from tripin.inputfile import read_toml_file

    if not path.is_file():
        return []
    tables: list[dict[str, Any]] = read_toml_file(path, RulesetError)[1].get(kind, [])
    return tables


def _print_unpaired(companions: Sequence[ExpectedCompanion]) -> None:
    """Releases whose metadata names no torch get no rule; say which, for whoever keeps the rules."""
    for c in companions:
        if not c.torch:
            print(
                f"  no rule: {c.id}: its metadata names no torch ({c.source}); lock keeps it from every torch "
                f"the rules pair with another {c.package} release",
                file=sys.stderr,
            )

"""`tripin lock`: settle the settings, resolve every target, write the outputs, print a summary."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from tripin.cli_shared import ruleset_from, setup_logging
from tripin.errors import EXIT_NO_SOLUTION, EXIT_OK, ResolutionError, TripinError, one_line

if TYPE_CHECKING:
    from packaging.requirements import Requirement
    from packaging.specifiers import SpecifierSet
    from packaging.utils import NormalizedName

    from tripin.config import Settings
    from tripin.index import IndexClient
    from tripin.index.cache import Cache
    from tripin.index.pageworker import PageWorker
    from tripin.lock.model import Lock
    from tripin.resolver import TargetResolution
    from tripin.resolver.preferences import Preferences
    from tripin.rules.model import Ruleset
    from tripin.targets import Target
    from tripin.verdict import Verdict

# the Triton family in the order summaries name them (judge.TRITONS is a set: no order)
_TRITON_NAMES = ("triton", "pytorch-triton", "pytorch-triton-rocm", "pytorch-triton-xpu")


def run_lock(args: argparse.Namespace, argv: Sequence[str]) -> int:
    """`tripin` answers a run identical to one that found nothing to resolve before importing
    this module (memo.replay_lock); that lookup is made here too for in-process callers."""
    setup_logging(args.verbose)
    import time

    started = time.monotonic()
    from tripin import memo
    from tripin.cli_relock import print_unchanged, unchanged_lock

    # -U too: its answers are remembered only with the index pages they hold while (cli_relock)
    fresh = args.upgrade_package or args.refresh or args.print_config
    if not fresh and (code := memo.replay_lock(argv)) is not None:
        return code
    unchanged = unchanged_lock(args)  # checked before the settings, packaging and the resolver load
    if unchanged is not None:
        return print_unchanged(args, unchanged, time.monotonic() - started, argv)
    from tripin.index.cache import Cache, default_cache_dir
    from tripin.workerproc import fewer_arenas

    fewer_arenas()  # before this run's threads start
    cache = Cache(None if args.no_cache else Path(args.cache_dir) if args.cache_dir else default_cache_dir())
    worker = _early_worker(args, cache)
    try:
        return _lock_from_settings(args, argv, started, cache, worker)
    finally:
        if worker is not None:  # the client closes it too: this covers a refusal before the client
            worker.close()


def _lock_from_settings(
    args: argparse.Namespace, argv: Sequence[str], started: float, cache: Cache, worker: PageWorker | None
) -> int:
    from tripin.config import build_settings
    from tripin.index import IndexClient
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
    for warning in settings.warnings:  # requirements-file options tripin does not follow
        print(one_line(f"warning: {warning}"), file=sys.stderr)
    names = list(dict.fromkeys(settings.targets))
    if any(n.endswith("-auto") for n in names):
        from tripin.host import detect_variant

        variant, why = detect_variant()
        print(f"tripin: -auto is -{variant}: {why}", file=sys.stderr)
        names = [n.removesuffix("-auto") + f"-{variant}" if n.endswith("-auto") else n for n in names]
    targets = [parse_target(t, glibc=settings.manylinux, musl=settings.musllinux, macos=settings.macos) for t in names]
    _check_distinct_markers(targets)
    _check_requires_python(targets, settings.requires_python)
    from tripin.index.client import refuse_variant_pins

    refuse_variant_pins(targets, settings.pins)  # before any request
    from tripin.index.models import Index

    base = f"{settings.pytorch_index}/nightly" if args.nightly else settings.pytorch_index
    routed = [Index(name=f"pytorch-{v}", url=f"{base}/{v}") for v in sorted({t.variant for t in targets if t.variant})]
    client = IndexClient(
        settings.indexes,
        cache=cache,
        pins=settings.pins,
        offline=args.offline,
        refresh=args.refresh,
        routed=routed,
        worker=worker,
    )
    with client:
        prefetched = not args.print_config
        if prefetched:
            _fetch_roots_early(client, settings.requirements, targets, warm=worker is None)
        return _lock_with(args, settings, targets, client, started, argv, prefetched=prefetched)


def _extra_indexes(settings: Settings, resolutions: Sequence[TargetResolution]) -> list[str]:
    """The extra indexes (named extra-N by config.py) the lock takes a package from, without
    credentials: one that gave nothing is not the lock's to name."""
    from tripin.index.models import redact_url

    used = {
        r.candidate.index.url for resolution in resolutions for r in resolution.packages.values() if r.candidate.index
    }
    return [redact_url(i.url) for i in settings.indexes if i.name.startswith("extra-") and i.url in used]


def given_by_user(source: str) -> bool:
    """Whether a setting came from the command line or the environment (config.py's sources):
    no file of the project records it, so a command printed for the lock must give it again."""
    return source == "command line" or source.startswith("environment")


def _given(args: argparse.Namespace, settings: Settings, targets: Sequence[Target]) -> dict[str, object]:
    """[tool.tripin.given]: the settings the command line or the environment gave, which no file
    records, so that TP005's fix (remake.py) gives them again and leaves what pyproject.toml
    configures to pyproject.toml as it is then. Without it the fix dropped --manylinux, --pre,
    -c and --constraints, and re-added an index-url or exclude-newer removed from [tool.tripin].
    Written, empty too, in every lock: the fix tells such a lock from one an older tripin wrote.
    Nothing here depends on more than the inputs, so an unchanged re-lock writes the same bytes."""
    user = {key for key, source in settings.sources.items() if given_by_user(source)}
    out: dict[str, object] = {}
    if "targets" in user:
        out["targets"] = [t.name for t in targets]  # as locked: an -auto target's variant settled
    if "exclude-newer" in user and settings.exclude_newer is not None:
        out["exclude-newer"] = settings.exclude_newer.isoformat()
    out |= _given_indexes(args, settings, targets, user)
    if args.pre:
        out["prerelease"] = True
    for level in ("manylinux", "musllinux", "macos"):
        if level in user and (value := getattr(settings, level)):
            out[level] = value
    if args.group:
        out["groups"] = list(dict.fromkeys(args.group))
    if args.constraint_files:
        out["constraint-files"] = [_from_here(f) for f in args.constraint_files]
    if "constraints" in user:
        out["constraints"] = _from_here(str(settings.constraints_path))
    return out


def _given_indexes(
    args: argparse.Namespace, settings: Settings, targets: Sequence[Target], user: set[str]
) -> dict[str, object]:
    """The index options of [tool.tripin.given], without credentials. Every extra index given,
    used or not: a dependency added later may be on one, and the re-lock must not look for it
    elsewhere (another index's package of that name)."""
    from tripin.index.models import redact_url

    out: dict[str, object] = {}
    if "index-url" in user:
        out["index-url"] = redact_url(settings.indexes[-1].url)
    extras = [i for i in settings.indexes if i.name.startswith("extra-")]
    if urls := [redact_url(i.url) for i in extras if given_by_user(settings.sources.get(f"index {i.name}", ""))]:
        out["extra-index-urls"] = urls
    if "pytorch-index-url" in user and any(t.variant for t in targets):
        out["pytorch-index-url"] = redact_url(settings.pytorch_index)
    if args.nightly:
        out["nightly"] = True
    return out


def _from_here(name: str) -> str:
    """A file the command line named, relative to the project's folder (the working directory,
    where the fix runs it) where it is inside that folder, else as given."""
    import os

    path = Path(name)
    if not path.is_absolute():
        return name
    try:
        relative = Path(os.path.relpath(path, Path.cwd()))
    except ValueError:  # another drive
        return name
    return name if relative.parts[:1] == ("..",) else str(relative)


def _check_requires_python(targets: Sequence[Target], requires_python: str | None) -> None:
    """A target whose Python the project does not support: uv refuses it, and so does tripin,
    before anything is fetched. A target names a minor release (cp312), so it fits when some
    3.12.z does: `>=3.12.1` or `==3.12.3` keep cp312, as uv keeps it."""
    if requires_python is None:
        return
    from packaging.specifiers import SpecifierSet
    from packaging.version import Version

    from tripin.errors import ConfigError

    spec = SpecifierSet(requires_python)
    for target in targets:
        python = Version(target.environment()["python_full_version"])
        patches = (Version(f"{python.major}.{python.minor}.{z}") for z in range(100))
        if not any(spec.contains(v, prereleases=True) for v in patches):
            raise ConfigError(
                f"target {target.name}: Python {python.major}.{python.minor} is outside the project's "
                f"requires-python {requires_python} (pyproject.toml)"
            )


def _early_worker(args: argparse.Namespace, cache: Cache) -> PageWorker | None:
    """A cold cache (no project page in it) is a run that fetches every page: the page worker
    starts first thing then, before the settings load, and takes every request (PageWorker.start).
    A warm run starts one only at its first request, if any."""
    from tripin import workerproc
    from tripin.index.pageworker import PageWorker

    worker = PageWorker()
    started = workerproc.adopt()
    if started is not None:
        worker.adopt(started)
    from tripin.memo import pages_cached

    if args.offline or args.print_config or (cache.root is not None and pages_cached(str(cache.root))):
        if started is not None:  # tripin.__main__ was fooled by the words as typed (`--cache X`)
            logging.getLogger("tripin").debug("page worker: started before the command line was read; not needed")
        worker.close()
        return None
    if started is not None:
        logging.getLogger("tripin").debug("page worker: started before the command line was read")
    worker.start(early=True)  # unless adopted
    return worker


def _fetch_roots_early(
    client: IndexClient, requirements: Sequence[Requirement], targets: Sequence[Target], *, warm: bool = True
) -> None:
    """The roots' pages are asked for, and the prefetcher started on them, before the previous
    lock, the rules and the resolver are loaded (about 0.15 s), so that the first round trips,
    the HTTP client's own set-up and the roots' METADATA requests (asked for as their pages come,
    not once the resolver has loaded) overlap that work. The resolver's own asks get the same
    futures. `warm`: set up httpx here (not with a worker started early: it takes the requests)."""
    from packaging.utils import canonicalize_name

    from tripin.families import TORCH_FAMILY

    variants = any(t.variant for t in targets)  # those read torch's family from their own index
    pending = False
    for requirement in requirements:
        if requirement.url or requirement.marker is not None:
            continue
        if not (variants and canonicalize_name(requirement.name) in TORCH_FAMILY):
            pending |= not client.prefetch_project(requirement.name).done()
    if pending and warm:
        # a root needs the network: httpx and TLS are set up here, now, while the pool thread
        # that sends its request waits for them. Set up in that thread, they took turns for the
        # GIL with the resolver and the rules loading here, and the first request left 40 to
        # 60 ms later (torch-only cold lock: 669 -> 587 ms median, uv 543 ms)
        client.fetcher.warm()
    from tripin.resolver.prefetch import Prefetcher

    Prefetcher(client, targets).start(requirements)


def _lock_with(
    args: argparse.Namespace,
    settings: Settings,
    targets: list[Target],
    client: IndexClient,
    started: float,
    argv: Sequence[str],
    *,
    prefetched: bool = False,
) -> int:
    import time

    from tripin.cli_relock import remember_lock
    from tripin.config import inputs_digest
    from tripin.lock.atomic import check_writable, write_files
    from tripin.lock.constraints import constraints_files
    from tripin.lock.pylock import dump_pylock
    from tripin.redact import redact_text
    from tripin.resolver import resolve_all
    from tripin.resolver.merge import merge
    from tripin.resolver.preferences import parse_upgrade_packages, preferences_from_lock

    upgrades = parse_upgrade_packages(args.upgrade_package)
    previous = _previous_lock(settings.lock_path)  # its versions are preferred, nothing else of it is used
    preferences = preferences_from_lock(None if args.upgrade else previous, release=upgrades)
    if previous is None and not args.upgrade:  # a pylock.toml another tool wrote: its versions too
        preferences = _foreign_preferences(settings.lock_path, upgrades) or preferences
    ruleset = ruleset_from(args, overlays=settings.overlays)
    if args.print_config:  # after every check `lock` makes before resolving: what it shows, lock would use
        from tripin.cli_check import print_settings
        from tripin.config import describe

        print_settings(describe(settings), args.format)
        return EXIT_OK
    named = [(settings.lock_path, "--lock"), (settings.constraints_path, "--constraints")]
    check_writable(named, settings.input_files)  # fail before the work, not after
    from tripin.progress import Progress

    progress = Progress(client.fetcher.stats, len(targets), enabled=not args.quiet and args.format == "text")
    with progress:
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
            prefetched=prefetched,
        )
        stats = client.fetcher.stats
    had = {p.name for p in previous.packages} if previous is not None else set()
    for name in sorted(set(upgrades) - {n for r in resolutions for n in r.packages}):
        if upgrades[name] and name in had:
            # asked to move, it left the lock: the resolver kept the limit by dropping what needed
            # it (requests back to a 2017 release that needs no urllib3); nothing is written
            raise ResolutionError(
                f"--upgrade-package {name}{upgrades[name]}: no resolution keeps {name} at that version, "
                f"only one without {name} at all{_unavailable(client, name, upgrades[name])}; nothing was written"
            )
        print(one_line(f"warning: --upgrade-package {name}: no target needs {name}"), file=sys.stderr)
    lock = merge(
        resolutions,
        ruleset,
        requirements=[str(r) for r in settings.requirements],
        inputs_digest=inputs_digest(settings, nightly=args.nightly),
        groups=settings.groups,
        main=[r for r in settings.requirements if not any(r in reqs for _, reqs in settings.groups.values())],
        extra={
            **({"pyproject-digest": settings.pyproject_digest} if settings.pyproject_digest else {}),
            **({"exclude-newer": settings.exclude_newer.isoformat()} if settings.exclude_newer else {}),
            # which indexes were extra ones: TP005's fix (remake.py) names them --extra-index-url,
            # not --index-url, which would leave out the default index a new dependency is on
            **({"extra-index-urls": extras} if (extras := _extra_indexes(settings, resolutions)) else {}),
            **(
                {"warnings": [w for r in resolutions for w in r.warnings]}
                if any(r.warnings for r in resolutions)
                else {}
            ),
            **({"notes": [n for r in resolutions for n in r.notes]} if any(r.notes for r in resolutions) else {}),
            "given": _given(args, settings, targets),
        },
    )
    pylock_text = redact_text(dump_pylock(lock))  # render every output before writing any
    written = constraints_files(lock, settings.constraints_path, settings.lock_path)
    constraints = {path: redact_text(text) for path, text in written.items()}
    outputs = {**constraints, settings.lock_path: pylock_text}
    stale: list[Path] | None = None  # lock --check: the outputs that would change
    from tripin.lock.constraints import left_behind

    behind = left_behind(list(constraints), settings.constraints_path, settings.lock_path)
    if args.check and args.format != "json":
        return _check_up_to_date(outputs, behind, lock_option(settings))
    if args.check:
        stale = [path for path, _, _ in _stale(outputs)] + behind
    else:
        write_files(outputs)  # the lock last: see lock/atomic.py
        for path in behind:
            path.unlink(missing_ok=True)
            print(f"removed {path}: this lock no longer writes it (its targets' builds changed)", file=sys.stderr)
        # with no version preferred, the pages read are all the index gave this lock (cli_relock)
        pages = dict(client.pages) if preferences.empty else None
        remember_lock(args, settings, lock, resolutions, constraints, argv, ruleset, pages=pages)
    from tripin.resolver.resolve import warning_lines

    for warning in warning_lines(resolutions):  # the JSON keeps one per target, as before
        print(one_line(f"warning: {warning}"), file=sys.stderr)
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
                    **({} if stale is None else {"stale": [str(p) for p in stale]}),
                },
                indent=2,
            )
        )
        return EXIT_NO_SOLUTION if stale else EXIT_OK
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
                        f"[{package.build.status}]; run: tripin build-plan --target {target}{lock_option(settings)}"
                    )
        if changes:
            print(f"  changes against the previous {settings.lock_path}:")
            for target, change, package_name, detail in changes:
                print(f"    {target}: {change} {package_name} {detail}")
        elif changes is not None:
            print(f"  no package changed against the previous {settings.lock_path}")
    return EXIT_OK


def _stale(outputs: dict[Path, str]) -> list[tuple[Path, str | None, str]]:
    """(path, what it holds or None, what tripin would write) for every output that would change."""
    out: list[tuple[Path, str | None, str]] = []
    for path, text in outputs.items():
        try:
            old: str | None = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            old = None
        if old != text:
            out.append((path, old, text))
    return out


def lock_option(settings: Settings) -> str:
    """` --lock NAME` where the lock's name came from the command line or the environment: a
    command printed for it finds the project's default lock (pylock.toml) otherwise."""
    import shlex

    if not given_by_user(settings.sources.get("lock", "")):
        return ""
    name = str(settings.lock_path)
    return f" --lock {shlex.quote(name if not name.startswith('-') else f'./{name}')}"


def _check_up_to_date(outputs: dict[Path, str], behind: Sequence[Path] = (), lock: str = "") -> int:
    """`lock --check`, as `uv lock --check`: a unified diff of every output that would change,
    and of the constraints files that would be removed."""
    import difflib

    stale = _stale(outputs)
    for path, old, text in stale:
        before = "/dev/null" if old is None else f"a/{path}"
        sys.stdout.writelines(
            difflib.unified_diff((old or "").splitlines(True), text.splitlines(True), before, f"b/{path}")
        )
    for path in behind:
        old = path.read_text(encoding="utf-8", errors="replace")
        sys.stdout.writelines(difflib.unified_diff(old.splitlines(True), [], f"a/{path}", "/dev/null"))
    if stale or behind:
        print(f"tripin: {len(stale) + len(behind)} output(s) would change; run tripin lock{lock}", file=sys.stderr)
        return EXIT_NO_SOLUTION
    return EXIT_OK


def _unavailable(client: IndexClient, name: str, spec: SpecifierSet) -> str:
    """Why the versions `spec` allows are not candidates, where the index says: yanked (PEP 592)."""
    try:
        project = client.project(name)
    except TripinError:
        return ""
    yanked = [
        str(v)
        for k in range(len(project.releases))
        if spec.contains(v := project.version(k), prereleases=True)
        and (rows := project.rows(k))
        and all(row[4] for row in rows)
    ]
    return f" ({name} {', '.join(yanked)} {'is' if len(yanked) == 1 else 'are'} yanked on the index)" if yanked else ""


def _foreign_preferences(path: Path, release: Iterable[NormalizedName]) -> Preferences | None:
    """The versions of a PEP 751 lock tripin did not write (uv's, pip's), or None."""
    from tripin.errors import LockError
    from tripin.inputfile import read_toml_file
    from tripin.resolver.preferences import preferences_from_foreign_lock

    if not path.is_file():
        return None
    try:
        _, data = read_toml_file(path, LockError)
    except LockError:
        return None  # damaged: nothing to prefer, as before
    if not str(data.get("lock-version", "")).startswith("1."):
        return None
    return preferences_from_foreign_lock(data, release=release)


def _previous_lock(path: Path) -> Lock | None:
    from tripin.errors import LockError
    from tripin.lock.pylock import read_pylock

    if not path.is_file():
        return None
    try:
        # its versions are preferences the resolver checks like any candidate, and the change
        # list names versions: its markers select nothing here (evaluating them for every
        # package and target was a tenth of a warm re-lock)
        return read_pylock(path, check_markers=False)
    except LockError:
        return None  # not a tripin lock (or damaged): nothing to compare with


def _target_json(resolution: TargetResolution, ruleset: Ruleset | None = None) -> dict[str, object]:
    from packaging.utils import canonicalize_name

    out: dict[str, object] = {"packages": len(resolution.packages)}
    for name in ("torch", *_TRITON_NAMES):
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
    for name in ("torch", *_TRITON_NAMES):
        resolved = resolution.packages.get(canonicalize_name(name))
        if resolved is not None:
            how = "source build" if resolved.candidate.build else "wheel"
            verdict = _build_verdict(resolution, name, ruleset)
            how += f"; {verdict.level}: {verdict.reason.split(' (')[0]}" if verdict else ""
            parts.append(f"{name} {resolved.candidate.version} ({how})")
    if "torch" in resolution.packages and not any(n in resolution.packages for n in _TRITON_NAMES):
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

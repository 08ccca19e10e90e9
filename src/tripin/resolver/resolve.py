"""Resolve each target with resolvelib and turn its failures into sentences a user can act on."""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime

from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import NormalizedName
from packaging.version import Version
from resolvelib.resolvers import RequirementInformation, ResolutionImpossible, ResolutionTooDeep

from tripin.errors import ResolutionError
from tripin.index import IndexClient
from tripin.resolver import engine
from tripin.resolver.conflicts import MAX_REORDERS, ConflictTracker, Reorder
from tripin.resolver.factory import Factory, to_reqs
from tripin.resolver.preferences import Preferences
from tripin.resolver.prefetch import Prefetcher
from tripin.resolver.provider import Provider
from tripin.resolver.types import Candidate, Req, Resolved
from tripin.rules.model import Ruleset
from tripin.targets import Target

__all__ = ["Fallback", "PassedOver", "TargetResolution", "resolve_all", "resolve_target", "warning_lines"]

_MAX_ROUNDS = 20000
# a flipped order (tripin/resolver/conflicts.py) on trial: enough to walk one requirement back
# through its releases (`'httpx<0.24' openai anthropic` locks in under 100), not to try every combination
_TRIAL_ROUNDS = 2000
_log = logging.getLogger("tripin.resolver")


@dataclass(frozen=True, slots=True, kw_only=True)
class Fallback:
    """An older release locked because a newer one the requirements allow has no wheel for the
    target (`newer`), or requires a package whose fitting releases have none (`blocked`, for want
    of `dependency`): vllm 0.20.2 has an aarch64 wheel, and llguidance none there."""

    name: str
    chosen: str
    newer: str = ""
    blocked: str = ""
    dependency: str = ""
    wider: str = ""  # the option that would take the newer release (`_wider_option`), if one would

    def warning(self, targets: Sequence[str], every: bool = False) -> str:
        """One target's line, as it always read; several targets' together; or all of them."""
        tail = f"; {self.wider}" if self.wider else ""
        if every:
            why = self._why(f"any of the {len(targets)} targets")
            return f"{why} (tripin locks wheels): {self.chosen} locked on every target{tail}"
        where = "this target" if len(targets) == 1 else "these targets"
        return f"{', '.join(targets)}: {self._why(where)} (tripin locks wheels): {self.chosen} locked{tail}"

    def _why(self, where: str) -> str:
        parts = []
        if self.newer:
            parts.append((Version(self.newer), f"{self.name} {self.newer} has no wheel for {where}"))
        if self.blocked:
            dep = self.dependency
            why = (
                f"{self.name} {self.blocked} requires {dep}, and the {dep} releases that fit have no wheel for {where}"
            )
            parts.append((Version(self.blocked), why))
        return ", ".join(text for _, text in sorted(parts, reverse=True))


@dataclass(frozen=True, slots=True, kw_only=True)
class PassedOver:
    """A release not taken because requirements the resolution needs of it cannot be read (an
    invalid Requires-Dist line): pip (24.1 on) and uv pass it over, and warn."""

    name: str
    version: str
    why: str  # escaped when the metadata was read

    def warning(self, targets: Sequence[str], every: bool = False) -> str:
        """One line for the targets it happened on, as Fallback.warning."""
        where = f" on every one of the {len(targets)} targets" if every else ""
        head = "" if every else f"{', '.join(targets)}: "
        return f"{head}{self.name} {self.version} passed over{where}, its metadata is invalid: {self.why}"


@dataclass(frozen=True, slots=True, kw_only=True)
class TargetResolution:
    target: Target
    packages: dict[NormalizedName, Resolved]
    warnings: tuple[str, ...]  # one per target, "TARGET: ...": the lock and the JSON keep them so
    notes: tuple[str, ...] = ()  # why no Triton (a CPU build): shown in the summary, kept in the lock
    fallbacks: tuple[Fallback | PassedOver, ...] = ()  # those of `warnings` that warning_lines groups across targets


def warning_lines(resolutions: Sequence[TargetResolution]) -> list[str]:
    """The warnings for people: the same fallback on several targets (an sdist-only release is
    one on all of them) is one line naming them, or "on every target", rather than a line each;
    where the fallback differs by target, each keeps its own line."""
    targets_of: dict[Fallback | PassedOver, list[str]] = {}
    for r in resolutions:
        for f in r.fallbacks:
            targets_of.setdefault(f, []).append(r.target.name)
    out: list[str] = []
    for r in resolutions:
        own = {f.warning([r.target.name]): f for f in r.fallbacks}
        for text in r.warnings:
            fallback = own.get(text)
            if fallback is None:
                out.append(text)
            elif (where := targets_of[fallback])[0] == r.target.name:  # said once, where it first occurs
                out.append(fallback.warning(where, every=len(where) == len(resolutions) > 1))
    return out


def resolve_target(
    target: Target,
    requirements: Sequence[Requirement],
    client: IndexClient,
    ruleset: Ruleset,
    *,
    prereleases: bool = False,
    exclude_newer: datetime | None = None,
    preferences: Preferences | None = None,
    constraints: Mapping[NormalizedName, SpecifierSet] | None = None,
    user_constraints: Sequence[Requirement] = (),
) -> TargetResolution:
    """A CPU build of torch needs no Triton, so no rule adds one; but where other packages
    require Triton anyway (liger-kernel, or `triton` asked for by name), torch still imports it
    (torch.compile fails on a Triton its release does not pin), so that Triton must be the one
    the rule gives torch: resolved again, once, with the rule as a limit on that name."""

    def attempt(rule_limits: Mapping[NormalizedName, Req]) -> tuple[Factory, dict[NormalizedName, Resolved]]:
        factory = Factory(
            target,
            client,
            ruleset,
            prereleases=prereleases,
            exclude_newer=exclude_newer,
            preferred=preferences.for_target(target.name) if preferences else None,
            constraints=constraints,
            user_constraints=user_constraints,
            rule_limits=rule_limits,
        )
        return factory, _resolve(factory, target, requirements, client)

    factory, packages = attempt({})
    torch = packages.get(NormalizedName("torch"))
    chosen = f"torch {torch.candidate.version} from" if torch else "\0"  # notes of torch versions tried and left
    notes = tuple(dict.fromkeys(n for n in factory.notes if chosen in n))
    limit = _rule_limit(packages, factory) if notes else None
    if limit is not None:  # a CPU torch, and a Triton that other packages bring
        if not _satisfies(packages[limit.name].candidate, limit):
            factory, packages = attempt({limit.name: limit})
        torch = packages.get(NormalizedName("torch"))
        triton = packages.get(limit.name)
        if torch is not None and triton is not None and _satisfies(triton.candidate, limit):
            who = sorted(str(r.candidate.name) for r in packages.values() if limit.name in r.dependencies)
            notes = (
                f"{target}: torch {torch.candidate.version} is a CPU build, but {', '.join(who) or 'the requirements'} "
                f"require{'s' if len(who) == 1 else ''} {limit.name}: the one the rules give torch "
                f"{torch.candidate.version} ({limit.origin})",
            )
            _attach_pins(packages, factory, added=False)
    elif not notes:  # a CPU build: no rule decided a Triton for it
        _attach_pins(packages, factory)
    fallbacks: list[Fallback | PassedOver] = [*_older_for_want_of_wheels(factory, packages)]
    fallbacks += (PassedOver(name=n, version=str(v), why=why) for (n, v), why in sorted(factory.unreadable.items()))
    return TargetResolution(
        target=target,
        packages=packages,
        # a torch decided again after a backtrack or a restart says its rule's warning again
        warnings=tuple(dict.fromkeys((*factory.warnings, *(f.warning([target.name]) for f in fallbacks)))),
        notes=notes,
        fallbacks=tuple(fallbacks),
    )


def _older_for_want_of_wheels(factory: Factory, packages: Mapping[NormalizedName, Resolved]) -> list[Fallback]:
    """tripin locks wheels: where a newer release that the requirements allow has none for this
    target (cryptography 50.0.2 for macOS x86_64), or requires a package with none (vllm and
    llguidance on aarch64), say which one was locked instead; pip and uv without --only-binary
    would build the newer one, or its dependency, from its sdist."""
    out = []
    for name, resolved in sorted(packages.items()):
        chosen = resolved.candidate.version
        if resolved.candidate.build is not None:
            continue
        between = _between(factory, name, chosen)
        newer = [v for v in factory.wheelless.get(name, ()) if between(v)]
        blocked = {v: deps for v in factory.versions(name) if between(v) and (deps := factory.stuck.get(f"{name} {v}"))}
        if newer or blocked:
            top, newest = max(blocked, default=None), max(newer, default=None)
            dependency = min(blocked[top]) if top is not None else None
            # what a newer glibc, musl or macOS would take: for the newest release the warning names
            hints: list[tuple[NormalizedName, Version, tuple[str, tuple[int, int]]]] = []
            if newest is not None and (level := factory.wider_level(name, newest)) is not None:
                hints.append((name, newest, level))
            found = factory.stuck_wider.get((f"{name} {top}", dependency)) if dependency is not None else None
            if top is not None and dependency is not None and found is not None:
                hints.insert(0 if newest is None or top > newest else len(hints), (dependency, *found))
            out.append(
                Fallback(
                    name=name,
                    chosen=str(chosen),
                    newer=str(newest) if newest is not None else "",
                    blocked=str(top) if top is not None else "",
                    dependency=dependency or "",
                    wider=_wider_option(*hints[0]) if hints else "",
                )
            )
    return out


_LEVEL_OPTIONS = {
    "manylinux": ("--manylinux", "glibc"),
    "musllinux": ("--musllinux", "musl"),
    "macos": ("--macos", "macOS"),
}


def _wider_option(name: str, version: Version, level: tuple[str, tuple[int, int]]) -> str:
    """The option that takes a release whose wheels need a newer glibc, musl or macOS than the
    target allows (llguidance 1.7.6: manylinux_2_31 wheels only): pip on a machine with glibc
    2.35 installs what a 2.28 target passes over."""
    option, what = _LEVEL_OPTIONS[level[0]]
    number = f"{level[1][0]}.{level[1][1]}"
    return f"{option} {number} takes {name} {version} (its wheels need {what} {number} or newer)"


def _between(factory: Factory, name: NormalizedName, chosen: Version) -> Callable[[Version], bool]:
    """Whether a release passed over for want of wheels explains why `chosen` was locked: final,
    newer than it, and older than any release with a wheel that was tried and refused for what it
    requires (google-cloud-pubsub 2.20 with `google-auth<2`); above that one a missing wheel is not
    why, as the release would be refused the same way."""
    refused = [v for v in factory.offered.get(name, ()) if v > chosen and f"{name} {v}" not in factory.stuck]
    ceiling = min(refused, default=None)
    return lambda v: v > chosen and not v.is_prerelease and (ceiling is None or v < ceiling)


def _rule_limit(packages: Mapping[NormalizedName, Resolved], factory: Factory) -> Req | None:
    """The rule's Triton for the resolved torch, where that Triton's name is in the resolution."""
    torch = packages.get(NormalizedName("torch"))
    if torch is None or not factory.rules_apply:
        return None
    pin = factory.pin_of(torch.candidate.version)
    if pin is None or pin.package not in packages:
        return None
    return factory.rule_req(pin)


def _rule_says(factory: Factory, causes: Collection[RequirementInformation[Req, Candidate]]) -> str:
    """Where `-P triton==X` fails and the rules give the locked torch another Triton, that is
    the conflict to name: `-P triton` alone moves nothing the torch's rule does not allow."""
    torch = factory.preferred.get(NormalizedName("torch"))
    if torch is None or factory.constraints.get(NormalizedName("torch")) is not None:
        return ""
    pin = factory.pin_of(torch)
    if pin is None or pin.package not in {c.requirement.name for c in causes} or pin.package not in factory.constraints:
        return ""
    if factory.constraints[pin.package].contains(pin.version, prereleases=True):
        return ""
    return (
        f"; and rule {pin.id} gives the locked torch {torch} {pin.package}{pin.requires} on {factory.target}: "
        f"-P {pin.package} moves nothing that rule does not allow; move torch instead (-P torch==VERSION)"
    )


def _passed_over(factory: Factory, causes: Collection[RequirementInformation[Req, Candidate]]) -> str:
    """Releases of the names in the conflict that would have been tried but have no wheel for the
    target (sentence-transformers 2.2.2 and older are sdists), or requirements that cannot be
    read: uv names them, and without them the message reads as if no such release existed."""
    names = {c.requirement.name for c in causes} | {c.parent.name for c in causes if c.parent is not None}
    wheelless = _releases(names - {n for n, vs in factory.no_wheel.items() if vs}, factory.wheelless)
    out = f" ({wheelless}: passed over, no wheel for {factory.target.name}; tripin locks wheels, not sdists)"
    return (out if wheelless else "") + _unreadable(factory, names)


def _unreadable(factory: Factory, names: Collection[NormalizedName]) -> str:
    """` (pkg 2.0 and 1 older: passed over, Requires-Dist '...' cannot be read: ...)`, the reason
    being the newest release's: a failed resolution prints no warnings, so the error says why."""
    versions: dict[NormalizedName, set[Version]] = {}
    for name, version in factory.unreadable:
        if name in names:
            versions.setdefault(name, set()).add(version)
    return "".join(
        f" ({_releases([name], versions)}: passed over, {factory.unreadable[name, max(versions[name])]})"
        for name in sorted(versions)
    )


def _releases(names: Collection[NormalizedName], versions_of: Mapping[NormalizedName, Collection[Version]]) -> str:
    """`st 2.2 and 1 older, tf 1.0`: the newest of each name's releases, and how many more."""
    parts = []
    for name in sorted(names):
        if versions := versions_of.get(name):
            more = len(versions) - 1
            parts.append(f"{name} {max(versions)}" + (f" and {more} older" if more else ""))
    return ", ".join(parts)


def _satisfies(candidate: Candidate, req: Req) -> bool:
    return req.specifier.contains(candidate.version, prereleases=True) and candidate.build == req.build


def _resolve(
    factory: Factory, target: Target, requirements: Sequence[Requirement], client: IndexClient
) -> dict[NormalizedName, Resolved]:
    roots = to_reqs(requirements, factory.env, "the requirements")
    for root in roots:  # start every root's page download at once
        client.prefetch_project(root.name, factory.routes.get(root.name))
    provider = Provider(factory)
    undo: tuple[list[str], set[str]] | None = None  # the order before a flip on trial
    try:
        for attempt in range(MAX_REORDERS + 1):
            tracker = ConflictTracker(
                provider.order, factory.any_admitted, factory.rule_out, factory.limits_of, final=attempt == MAX_REORDERS
            )
            try:
                rounds = _TRIAL_ROUNDS if undo is not None and attempt < MAX_REORDERS else _MAX_ROUNDS
                result = engine.resolve(provider, tracker, roots, rounds)
                break
            except Reorder as reorder:
                _log.debug("%s: starting again, deciding %s", target, reorder)
                undo = reorder.undo or undo
            except ResolutionTooDeep:
                if undo is None or attempt == MAX_REORDERS:
                    raise
                _log.debug("%s: the flipped order ran out of rounds; starting again in the order before it", target)
                provider.order.restore(undo)
                undo = None
    except ResolutionImpossible as exc:
        message = _explain(target, exc.causes)
        yanked = sorted(f"{n} {v}" for n, vs in factory.yanked.items() for v in vs)
        if yanked:
            message += f" ({', '.join(yanked)} {'is' if len(yanked) == 1 else 'are'} yanked on the index)"
        if factory.exclude_newer is not None:
            newer = sorted(
                f"{n} {min(vs)}-{max(vs)}" if len(vs) > 1 else f"{n} {min(vs)}"
                for n, vs in factory.too_new.items()
                if vs and n in {c.requirement.name for c in exc.causes}
            )
            if newer:
                message += f" ({', '.join(newer)}: uploaded after --exclude-newer {factory.exclude_newer.date()})"
        limited = sorted(
            f"{n}{factory.limits[n]}" for n in {c.requirement.name for c in exc.causes} & factory.limits.keys()
        )
        if limited:
            message += f" (limited by the constraints: {', '.join(limited)})"
        named = sorted({c.requirement.name for c in exc.causes})
        moved = {n: factory.constraints[n] for n in named if n in factory.constraints}
        upgraded = [f"{n}{spec}" for n, spec in moved.items()]
        if upgraded:
            message += f" (--upgrade-package {', '.join(upgraded)})" + _rule_says(factory, exc.causes)
        # `-P pillow==99`: the conflict lists who requires pillow, not that there is no pillow 99
        absent = [f"{n}{s}" for n, s in moved.items() if not factory.any_admitted(n, [Req(name=n, specifier=s)])]
        if absent:
            message += f" ({', '.join(absent)}: no release on the index)"
        missing = sorted(f"{n} {max(vs)}" for n, vs in factory.no_wheel.items() if vs)
        if missing:
            message += f" ({', '.join(missing)}: no wheel for {target.name} that fits its Python and platform)"
        message += _passed_over(factory, exc.causes)
        raise ResolutionError(message) from None
    except ResolutionTooDeep:
        met = tracker.most_met()
        raise ResolutionError(
            f"{target}: gave up after {_MAX_ROUNDS} resolution rounds"
            + (f", meeting one conflict over and over: {met}" if met else ""),
            hint="an upper bound on a package that brings one of those in (`PACKAGE<VERSION`) usually settles it",
        ) from None
    children: dict[NormalizedName, set[NormalizedName]] = {}
    for key, candidate in result.mapping.items():  # an extras node's children belong to its package
        names = children.setdefault(candidate.name, set())
        names.update(result.mapping[c].name for c in result.graph.iter_children(key) if c in result.mapping)
        names.discard(candidate.name)
    packages: dict[NormalizedName, Resolved] = {}
    for candidate in result.mapping.values():
        if candidate.extras:
            continue  # an extras node only pulls in dependencies; the base entry is the package
        packages[candidate.name] = Resolved(
            candidate=candidate,
            metadata=factory.metadata(candidate),
            pin=None,
            dependencies=tuple(sorted(children.get(candidate.name, ()))),
        )
    return packages


def _attach_pins(packages: dict[NormalizedName, Resolved], factory: Factory, *, added: bool = True) -> None:
    """Record which rule decided the Triton entry, for the lock's tool data and comments.
    `added`: false where other packages required that Triton and the rule only chose it."""
    torch = packages.get(NormalizedName("torch"))
    if torch is None or not factory.rules_apply:
        return
    pin = factory.pin_of(torch.candidate.version)
    if pin is None:
        return
    # on aarch64, PyPI's torch 2.6 names no Triton at all: the rule's Triton is then the rule's doing
    named = {r.name for r in to_reqs(torch.metadata.requires_dist, factory.env, "torch")} if torch.metadata else set()
    for name in (NormalizedName("torch"), pin.package):
        if name in packages:
            old = packages[name]
            packages[name] = Resolved(
                candidate=old.candidate,
                metadata=old.metadata,
                pin=pin,
                dependencies=old.dependencies,
                added_by_rule=added and name == pin.package and torch.metadata is not None and name not in named,
            )


def _explain(target: Target, causes: Collection[RequirementInformation[Req, Candidate]]) -> str:
    """One line: which requirements on which name could not all hold, and who asked."""
    asked: dict[tuple[str, str], list[str]] = {}  # (requirement, who) -> the parent releases that asked
    for cause in causes:
        requirement, parent = cause.requirement, cause.parent
        if requirement.pin or parent is None:
            who = f"rule {requirement.pin.id}" if requirement.pin else requirement.origin
            asked.setdefault((str(requirement), who), [])
        else:
            versions = asked.setdefault((str(requirement), parent.identifier), [])
            if str(parent.version) not in versions:
                versions.append(str(parent.version))
    parts: list[str] = []
    for (text, who), versions in asked.items():
        if len(versions) > 2:  # every release of a parent asks the same: one part, not 35
            who = f"{who} {versions[0]} and {len(versions) - 1} other releases, down to {versions[-1]}"
        elif versions:
            who = f"{who} {' and '.join(versions)}"
        parts.append(f"{text} (from {who})")
    names = sorted({c.requirement.name for c in causes if getattr(c, "requirement", None)})
    subject = ", ".join(names) or "the requirements"
    return f"{target}: no version of {subject} satisfies " + "; ".join(parts)


def _report(on_done: Callable[[str], None], name: str) -> Callable[[Future[TargetResolution]], None]:
    def done(future: Future[TargetResolution]) -> None:
        if not future.cancelled() and future.exception() is None:
            on_done(name)

    return done


def resolve_all(
    targets: Sequence[Target],
    requirements: Sequence[Requirement],
    client: IndexClient,
    ruleset: Ruleset,
    *,
    prereleases: bool = False,
    exclude_newer: datetime | None = None,
    on_done: Callable[[str], None] | None = None,
    preferences: Preferences | None = None,
    constraints: Mapping[NormalizedName, SpecifierSet] | None = None,
    user_constraints: Sequence[Requirement] = (),
    prefetched: bool = False,
) -> list[TargetResolution]:
    """Targets resolve in parallel threads over one client, so each page and metadata file is
    fetched once for all of them; a prefetcher walks the likely graph ahead of all of them
    (`prefetched`: the caller started it, on these targets and requirements, earlier)."""
    if not prefetched:
        Prefetcher(client, targets).start(requirements)
    pool = ThreadPoolExecutor(max_workers=min(8, len(targets)) or 1, thread_name_prefix="tripin-target")
    interrupted = False
    try:
        futures = [
            pool.submit(
                resolve_target,
                t,
                requirements,
                client,
                ruleset,
                prereleases=prereleases,
                exclude_newer=exclude_newer,
                preferences=preferences,
                constraints=constraints,
                user_constraints=user_constraints,
            )
            for t in targets
        ]
        if on_done is not None:
            for target, future in zip(targets, futures, strict=True):
                future.add_done_callback(_report(on_done, target.name))
        return [f.result() for f in futures]
    except KeyboardInterrupt:
        interrupted = True
        raise
    finally:
        # Ctrl-C leaves at once (the process exits without joining the resolver threads);
        # otherwise every target's thread has finished, or is waited for, before returning
        pool.shutdown(wait=not interrupted, cancel_futures=interrupted)

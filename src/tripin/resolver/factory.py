"""Make candidates and dependency lists for one target: index data plus the ruleset's pins."""

from __future__ import annotations

import functools
import logging
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime

from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import Version

from tripin.builds import cpu_note, is_gpu_build
from tripin.errors import ConfigError, ProjectNotFound, ResolutionError
from tripin.families import TORCH_FAMILY, VARIANT_FAMILY
from tripin.index import DistFile, IndexClient, Metadata, Project
from tripin.index.client import refuse_variant_pins
from tripin.index.models import requires_python
from tripin.resolver.admits import Admits, specifier_key
from tripin.resolver.types import Candidate, Req, identifier
from tripin.rules.model import Build, Pin, Ruleset
from tripin.targets import Target

__all__ = ["Factory", "to_reqs"]

_log = logging.getLogger("tripin.resolver")
_PREFETCH = 2  # candidates per name whose metadata is fetched before the resolver asks
_AHEAD = 32  # at most this many releases' metadata is kept coming while the resolver walks a name back
# on PyPI these names are placeholders: never take them from there
_PLACEHOLDERS = frozenset({"pytorch-triton", "pytorch-triton-xpu"})
_TORCH = canonicalize_name("torch")
_COMPANIONS = frozenset({canonicalize_name("torchvision"), canonicalize_name("torchaudio")})


_EXTRAS_ONLY = re.compile(r'\(?extra == "[^"]+"(?: or extra == "[^"]+")*\)?')
_EXTRA = re.compile(r'extra == "([^"]+)"')
# id(requirement) -> (requirement, its extras when its marker only names extras); the entry
# keeps the object alive, so an id is never reused while it is here
_extras_only: dict[int, tuple[Requirement, frozenset[str] | None]] = {}


def extras_only(requirement: Requirement) -> frozenset[str] | None:
    """The extras a marker like `extra == "docs"` (or several joined by `or`) names, or None
    for any other marker. Most Requires-Dist lines are such: their answer needs no marker
    evaluation (packaging writes extra names normalized, as resolution compares them)."""
    hit = _extras_only.get(id(requirement))
    if hit is not None and hit[0] is requirement:
        return hit[1]
    text = str(requirement.marker) if requirement.marker is not None else ""
    found = frozenset(_EXTRA.findall(text)) if _EXTRAS_ONLY.fullmatch(text) else None
    _extras_only[id(requirement)] = (requirement, found)
    return found


def to_reqs(
    requirements: Iterable[Requirement],
    env: Mapping[str, str],
    origin: str,
    extras: Iterable[str] = ("",),
    applies: Callable[[Requirement, str], bool] | None = None,
) -> list[Req]:
    """The requirements that apply on the target; `extras` are the ones being installed.
    `applies(requirement, extra)` may stand in for evaluating the marker in `env`."""
    out: list[Req] = []
    extra_list = list(extras)
    for req in requirements:
        if req.marker is not None and not any(
            applies(req, e) if applies is not None else req.marker.evaluate({**env, "extra": e}) for e in extra_list
        ):
            continue
        if req.url:
            if origin in ("the requirements", "the constraints"):  # the user's input: a usage error
                raise ConfigError(
                    f"{req.name} @ URL in {origin}: a direct URL; tripin locks packages from indexes only",
                    hint="publish it to an index (--extra-index-url) and require it by name and version",
                )
            raise ResolutionError(f"{origin} requires {req.name} from a direct URL; tripin locks index packages only")
        out.append(
            Req(
                name=canonicalize_name(req.name),
                extras=frozenset(canonicalize_name(e) for e in req.extras),
                specifier=req.specifier,
                origin=origin,
            )
        )
    return out


class Factory:
    """Everything the provider asks is answered here, so the provider only adapts."""

    def __init__(
        self,
        target: Target,
        client: IndexClient,
        ruleset: Ruleset,
        *,
        prereleases: bool = False,
        exclude_newer: datetime | None = None,
        preferred: Mapping[NormalizedName, Version] | None = None,
        constraints: Mapping[NormalizedName, SpecifierSet] | None = None,
        user_constraints: Sequence[Requirement] = (),
        rule_limits: Mapping[NormalizedName, Req] | None = None,
    ) -> None:
        """`preferred`: versions tried first (the previous lock's); `constraints`: versions a
        name may take wherever something requires it (`--upgrade-package NAME==VERSION`);
        `rule_limits`: the same, from a rule, for a Triton that only other packages ask for."""
        self.target = target
        self.rule_limits = dict(rule_limits or {})
        self.preferred = preferred or {}
        self.constraints = constraints or {}
        # `-c FILE`: limits on versions, applied wherever the name is wanted; they add nothing
        self.limits: dict[NormalizedName, SpecifierSet] = {}
        for req in to_reqs(user_constraints, target.environment(), "the constraints"):
            self.limits[req.name] = self.limits.get(req.name, SpecifierSet()) & req.specifier
        self.client = client
        # a variant target takes the torch and Triton families from its PyTorch index alone
        refuse_variant_pins([target], client.pins)
        self.routes: dict[NormalizedName, str] = (
            {NormalizedName(n): f"pytorch-{target.variant}" for n in VARIANT_FAMILY} if target.variant else {}
        )
        self.ruleset = ruleset
        self.prereleases = prereleases
        self.exclude_newer = exclude_newer
        self.env = target.environment()
        self.python = Version(self.env["python_full_version"])
        self.warnings: list[str] = []
        self.notes: list[str] = []  # why a target gets no Triton (a CPU build), for the summary and explain
        self._wheels_memo: dict[tuple[NormalizedName, Version], list[DistFile]] = {}
        # keyed by id(): each entry keeps its object alive, so an id is never reused meanwhile
        self._marker_memo: dict[tuple[int, str], tuple[Requirement, bool]] = {}
        self._deps_memo: dict[tuple[int, frozenset[str]], tuple[Metadata, list[Req]]] = {}
        self._python_memo: dict[str, bool] = {}
        self.yanked: dict[NormalizedName, set[Version]] = defaultdict(set)  # matched but refused
        self.no_wheel: dict[NormalizedName, set[Version]] = defaultdict(set)  # matched, nothing installable
        # releases that met the requirements but have no wheel for the target (an sdist only, or
        # other platforms' wheels): an older release is locked there, and the summary says so
        self.wheelless: dict[NormalizedName, set[Version]] = defaultdict(set)
        # what asked for a name whose fitting releases have no wheel here (a Req's origin, "vllm
        # 0.20.2"), to that name (llguidance): a release passed over for it, not for its own wheels
        self.stuck: dict[str, set[NormalizedName]] = defaultdict(set)
        # (requirer, name): the newest release in the requirer's range a newer libc or OS level
        # would give a wheel, and that level (None: no level would)
        self.stuck_wider: dict[tuple[str, NormalizedName], tuple[Version, tuple[str, tuple[int, int]]] | None] = {}
        # releases offered to the resolver: one newer than the release locked was refused for its
        # requirements, so wheels are not why an older one was locked
        self.offered: dict[NormalizedName, set[Version]] = defaultdict(set)
        self.wrong_python: dict[NormalizedName, set[Version]] = defaultdict(set)  # Requires-Python excludes
        self.too_new: dict[NormalizedName, set[Version]] = defaultdict(set)  # matched, uploaded after the cutoff
        # releases passed over because the requirements this resolution needs of them cannot be
        # read, with why: one warning each, and named in a conflict's message
        self.unreadable: dict[tuple[NormalizedName, Version], str] = {}
        # releases (by identifier) a requirement of the user's rules out in every state: see rule_out
        self._ruled_out: dict[str, set[tuple[Version, Build | None]]] = defaultdict(set)
        self._limits_memo: dict[NormalizedName, tuple[Req, ...]] = {}
        self.admits = Admits()  # which releases requirements admit: see tripin/resolver/admits.py
        # metadata asked for ahead, by where and for which requirements: the position reached
        self._ahead_memo: dict[tuple[int, tuple[str, ...], int, bool, int], tuple[Project, int]] = {}
        self._best_row: dict[tuple[NormalizedName, Version], int] = {}  # a release's best wheel here, by row
        self._found: set[NormalizedName] = set()  # names whose candidates were asked for
        self._release_memo: dict[tuple[int, int], tuple[Project, Version, bool, list[DistFile], bool]] = {}

    # -- candidates -----------------------------------------------------------------------

    def _wheels(self, project: Project, k: int) -> list[DistFile]:
        """Usable wheels of one release for this target, best tag first; computed once per
        release and target, on the rows' strings: only what survives becomes a DistFile."""
        version = project.version(k)
        key = (project.name, version)
        cached = self._wheels_memo.get(key)
        if cached is not None:
            return cached
        ranked: list[tuple[int, str, int]] = []
        wrong_python = False
        for i, row in enumerate(project.rows(k)):
            if self.exclude_newer is not None and _uploaded_after(row[6], self.exclude_newer):
                self.too_new[project.name].add(version)
                continue
            if row[3] is not None and not self._python_ok(row[3]):
                wrong_python = True
                continue
            rank = self.target.rank_of(row[10]) if row[10] else None
            if rank is not None:
                ranked.append((rank, row[0], i))
        if wrong_python and not ranked:
            # a release for newer Pythons only: pip and uv pass over it in silence, and so does
            # the "older release locked for want of a wheel" warning
            self.wrong_python[project.name].add(version)
        ranked.sort()
        cached = self._wheels_memo[key] = [project.file(k, i) for _, _, i in ranked]
        if ranked:
            self._best_row[key] = ranked[0][2]
        return cached

    def _release(self, project: Project, k: int) -> tuple[Version, bool, list[DistFile], bool]:
        """A release's version, whether it is a pre-release, its usable wheels and whether all of
        them are yanked: asked for every release in range each time resolvelib finds a name's
        candidates again (83,000 times in one resolution), so worked out once."""
        hit = self._release_memo.get((id(project), k))
        if hit is None or hit[0] is not project:
            version = project.version(k)
            wheels = self._wheels(project, k)
            hit = (project, version, version.is_prerelease, wheels, all(w.yanked for w in wheels))
            self._release_memo[(id(project), k)] = hit
        return hit[1:]

    def _python_ok(self, text: str) -> bool:
        ok = self._python_memo.get(text)
        if ok is None:
            spec = requires_python(text)  # unparsable: ignored, as pip does
            ok = self._python_memo[text] = spec is None or spec.contains(self.python, prereleases=True)
        return ok

    def find(
        self, name: NormalizedName, extras: frozenset[str], reqs: Sequence[Req], excluded: Iterable[Candidate]
    ) -> Callable[[], Iterator[Candidate]]:
        """Candidates newest first, made lazily: resolvelib takes the first that fits and
        looks further only when it backtracks, so most releases are never ranked at all."""
        self._found.add(name)
        bad = {(c.version, c.build) for c in excluded} | self._ruled_out.get(identifier(name, extras), set())
        reqs = [*reqs, *self.limits_of(name)]
        builds = {r.build for r in reqs if r.build is not None}
        if len(builds) > 1:
            return lambda: iter(())  # two rules ask for two different commits: no candidate satisfies both
        if builds:
            build = builds.pop()
            version = self.ruleset.source_version(build)
            cand = Candidate(
                name=name,
                version=version,
                extras=extras,
                build=build,
                metadata_from=self._any_wheel(name, build.version),
            )
            ok = all(r.specifier.contains(version, prereleases=True) for r in reqs) and (version, build) not in bad
            return lambda: iter([cand] if ok and self._readable(cand) else [])
        if name in _PLACEHOLDERS and name not in self.routes:
            raise ResolutionError(
                f"{self.target}: {name} is wanted from PyPI, where it is a placeholder (pytorch-triton 0.0.1 was "
                "left after the torchtriton dependency confusion of December 2022; pytorch-triton-xpu is not there)",
                hint="take it from PyTorch's index: a target with a variant, e.g. linux-x86_64-cp312-cu126 or -xpu",
            )
        project = self._project(name)
        pre = self.prereleases or any(r.specifier.prereleases for r in reqs)
        return functools.partial(self._candidates, project, extras, reqs, bad, pre)

    def _candidates(
        self,
        project: Project,
        extras: frozenset[str],
        reqs: Sequence[Req],
        bad: set[tuple[Version, Build | None]],
        pre: bool,
    ) -> Iterator[Candidate]:
        name = project.name
        unusable: list[Version] = []  # matched, but no file fits the target: for the error message
        found = 0
        order = list(range(len(project.releases)))
        preferred = self.preferred.get(name)
        if preferred is not None:
            # the previous lock's version first, if it is still a candidate at all: a preference
            # only reorders what the index, the filters and the rules allow (uv's preferences)
            at = next((k for k in order if project.version(k) == preferred), None)
            if at is not None:
                order.insert(0, order.pop(at))
        # pip and uv take a pre-release when no final release satisfies the requirements
        # (`django>6.0.99` during 6.1's beta): a second pass allows them, and only then. A final
        # release the resolver has set aside while backtracking still counts, as in pip.
        finals = 0
        matching = self._matching(project, reqs)
        # positions in `order` of the releases the requirements admit: `order` is the index's own
        # unless a preference moved one release to the front
        if preferred is None:
            spots = matching
        else:
            admitted = self._admitted_set(project, reqs)
            spots = [at for at, k in enumerate(order) if k in admitted]
        for allow in [pre] if pre else [False, True]:
            if finals:
                break
            ahead = 0  # the position in `order` up to which metadata was asked for ahead
            for at in spots:
                k = order[at]
                version, prerelease, wheels, all_yanked = self._release(project, k)
                if prerelease and not allow:
                    continue
                if not wheels:
                    if version not in self.too_new[name]:
                        unusable.append(version)
                        if version not in self.wrong_python[name]:
                            self.wheelless[name].add(version)
                    continue
                if all_yanked:
                    # PEP 592: a yanked release is taken only where a requirement pins exactly it
                    # (==1.2.3, ===1.2.3), as pip and uv do, with a warning; otherwise it is refused
                    # and named in the error if nothing else fits
                    if not any(_pins_exactly(r.specifier, version) for r in reqs):
                        self.yanked[name].add(version)
                        continue
                    self.warnings.append(
                        f"{self.target}: {name} {version} is yanked on the index; locked because "
                        f"{' and '.join(str(r) for r in reqs if _pins_exactly(r.specifier, version))} pins it (PEP 592)"
                    )
                finals += not prerelease
                if (version, None) in bad:
                    continue
                source = self._shared_source(project, k)
                # releases of this name tried: here, and before the resolver backtracked past them
                tried = found + len(bad)
                if tried < _PREFETCH:  # the resolver asks for it next: start its metadata now
                    self.client.prefetch_metadata([source or wheels[0]])
                elif at >= ahead - min(tried, _AHEAD) // 2:
                    # walking back: `fastapi<0.100 pydantic>=2` read 100 releases' metadata one
                    # round trip at a time (14 s; uv 2 s). As many ahead as were tried already, so
                    # a short walk asks for little that other names' reads would wait behind
                    count = min(tried, _AHEAD)
                    ahead = self._prefetch_after(project, order, max(ahead, at + 1), reqs, allow, count)
                candidate = Candidate(
                    name=name,
                    version=version,
                    extras=extras,
                    wheels=tuple(wheels),
                    index=project.index,
                    metadata_from=source,
                )
                if not self._readable(candidate):
                    continue
                if not found:
                    self._debug(name, reqs, f"newest {version}")
                found += 1
                self.offered[name].add(version)
                yield candidate
        if not found:
            self._debug(name, reqs, "none")
        if not found:  # say why, for the error message: a release that exists but has no usable file
            self.no_wheel[name].update(unusable)
            if unusable:
                limits = self.limits_of(name)
                for r in reqs:  # a requirer is stuck for want of wheels if its own range has none
                    if not self._has_wheels(project, [r, *limits]):
                        self.stuck[r.origin].add(name)
                        if (r.origin, name) not in self.stuck_wider:  # for the fallback's warning
                            self.stuck_wider[(r.origin, name)] = self._wider_in(project, [r, *limits])

    def _has_wheels(self, project: Project, reqs: Sequence[Req]) -> bool:
        """Whether a release all of `reqs` admit has a wheel for this target that is not yanked."""
        return any((r := self._release(project, k))[2] and not r[3] for k in self._matching(project, reqs))

    def _readable(self, candidate: Candidate) -> bool:
        """Whether the requirements this candidate brings (its release's, or an extra's) can be
        read. A release whose cannot is never offered, as pip (24.1 on) and uv pass it over: the
        resolver then tries the next one, where failing in get_dependencies would stop it. Its
        metadata is read here, just before resolvelib would read it for the dependencies."""
        metadata = self.metadata(candidate)
        if metadata is None or not metadata.unreadable:
            return True
        wanted = {"", *candidate.extras}
        why = next((why for extra, why in metadata.unreadable if extra in wanted), None)
        if why is None:
            return True
        self.unreadable.setdefault((candidate.name, candidate.version), why)
        _log.debug("%s: %s passed over: %s", self.target, candidate, why)
        return False

    def _prefetch_after(
        self, project: Project, order: Sequence[int], start: int, reqs: Sequence[Req], pre: bool, count: int
    ) -> int:
        """Start the metadata of the next `count` releases from `start` that could be candidates;
        return the position after the last one looked at. Where fewer than `count` are left in
        the requirements' range, the next older releases make up the number: a name walked back
        because the release that requires it is walked back sees its range move down a release
        or two at a time (`langchain langchain-openai 'pydantic<2'`: each older langchain-openai
        lets in one or two older langchain-core releases, and each was read on its own, 200
        round trips one after another). Only what the constraints and rules allow is taken."""
        key = (id(project), specifier_key(r.specifier for r in reqs), start, pre, count)
        done = self._ahead_memo.get(key)
        if done is not None and done[0] is project:  # asked for already: resolvelib finds again and again
            return done[1]
        files: list[DistFile] = []
        older: list[int] = []  # outside the range, within the limits: to make up the number
        admitted = self._admitted_set(project, reqs)
        allowed = self._admitted_set(project, self.limits_of(project.name))
        at = start
        while at < len(order) and len(files) < count:
            k = order[at]
            at += 1
            if project.version(k).is_prerelease and not pre:
                continue
            if k not in admitted:
                if len(older) < count and k in allowed:
                    older.append(k)
                continue
            if (file := self._metadata_file(project, k)) is not None:
                files.append(file)
        for k in older:
            if len(files) >= count:
                break
            if (file := self._metadata_file(project, k)) is not None:
                files.append(file)
        self.client.prefetch_metadata(files)
        self._ahead_memo[key] = (project, at)
        return at

    def _metadata_file(self, project: Project, k: int) -> DistFile | None:
        """The file whose metadata release `k` would be read from, if it has a usable wheel."""
        _, _, wheels, all_yanked = self._release(project, k)
        if not wheels or all_yanked:
            return None
        return self._shared_source(project, k) or wheels[0]

    def _shared_source(self, project: Project, k: int) -> DistFile | None:
        """The wheel whose METADATA this target reads for release `k`, shared with the targets
        of the same platform (Project.metadata_wheel). torch's family differs per build (a CUDA
        x86_64 wheel, a CPU aarch64 one): each target reads its own wheel's (None here)."""
        best = self._best_row.get((project.name, project.version(k)))
        if best is None or project.name in TORCH_FAMILY:
            return None
        return project.file(k, project.metadata_wheel(k, best))

    def _debug(self, name: NormalizedName, reqs: Sequence[Req], found: str) -> None:
        if _log.isEnabledFor(logging.DEBUG):
            _log.debug(
                "%s: %s: candidate(s) for %s: %s%s",
                self.target,
                name,
                ", ".join(str(r) for r in reqs) or name,
                found,
                f"; yanked: {sorted(map(str, self.yanked[name]))}" if self.yanked.get(name) else "",
            )

    def _any_wheel(self, name: NormalizedName, version: Version) -> DistFile | None:
        """A wheel of the same release on another platform: a source build of the same commit
        has the same dependencies."""
        project = self._project(name)
        for k in range(len(project.releases)):
            if project.version(k) == version:
                return next((project.file(k, j) for j, row in enumerate(project.rows(k)) if row[10]), None)
        return None

    # -- dependencies -----------------------------------------------------------------------

    def metadata(self, candidate: Candidate) -> Metadata | None:
        file = candidate.metadata_file
        return None if file is None else self.client.metadata(file)

    def dependencies(self, candidate: Candidate) -> Iterator[Req]:
        origin = f"{candidate.name} {candidate.version}"
        if candidate.extras:
            yield Req(
                name=candidate.name,
                specifier=SpecifierSet(f"=={candidate.version}"),
                build=candidate.build,
                origin=origin,
            )
        if candidate.name == _TORCH and not candidate.extras:
            # the rule's Triton first: resolvelib finds candidates for each requirement as it is
            # added, and torch's own `triton==3.2.0` alone has none on an index without an aarch64
            # wheel, while with the rule's source build (3.2.0+git9641643d) it is satisfied
            yield from self._rule_reqs(candidate)
        metadata = self.metadata(candidate)
        if metadata is not None:
            # names already found first: resolvelib finds each requirement's candidates as it adds
            # it and stops at the first with none, so a conflict with what is known is met before
            # a new name's page and metadata are read (`'typing-extensions<4.6' pydantic`: every
            # pydantic 2 read its pinned pydantic-core's metadata, one round trip each, before
            # meeting typing-extensions>=4.6.1)
            reqs = self._metadata_reqs(metadata, candidate.extras, origin)
            yield from sorted(reqs, key=lambda r: r.name not in self._found)
        if candidate.name in _COMPANIONS and not candidate.extras and metadata is not None:
            yield from self._companion_reqs(candidate, metadata)

    def _companion_reqs(self, candidate: Candidate, metadata: Metadata) -> Iterator[Req]:
        """A torchvision/torchaudio release whose metadata names no torch (torchaudio 2.11.0 names
        none) goes with any torch to pip, yet it is built against one. The rules pair earlier
        torch releases each with its own release of the package, so this one is kept from those:
        without that, `torch==2.6.0 torchaudio` took torchaudio 2.11.0, built for torch 2.11."""
        if any(canonicalize_name(r.name) == _TORCH for r in metadata.requires_dist):
            return
        rules = [c for c in self.ruleset.companions if c.package == candidate.name]
        if any(c.version == Version(candidate.version.public) for c in rules):
            return
        paired = {Version(s.version).public for c in rules for s in c.torch if s.operator == "=="}
        if not paired:
            return
        taken = sorted(paired, key=Version)
        yield Req(
            name=_TORCH,
            specifier=SpecifierSet(",".join(f"!={v}" for v in taken)),
            origin=f"the companion rules: {candidate.name} {candidate.version} names no torch, and the rules "
            f"pair torch {taken[0]} to {taken[-1]} with other {candidate.name} releases",
        )

    def _metadata_reqs(self, metadata: Metadata, extras: frozenset[str], origin: str) -> list[Req]:
        """Requires-Dist that apply here, once per metadata and extras: resolvelib asks again
        for every candidate it pins, and backtracking pins the same ones again."""
        key = (id(metadata), extras)
        hit = self._deps_memo.get(key)
        if hit is not None and hit[0] is metadata:
            return hit[1]
        reqs = to_reqs(metadata.requires_dist, self.env, origin, sorted(extras) if extras else [""], self._applies)
        if extras:  # the bare requirements already come with the base candidate
            base = {str(r) for r in to_reqs(metadata.requires_dist, self.env, origin, applies=self._applies)}
            reqs = [r for r in reqs if str(r) not in base]
        self._deps_memo[key] = (metadata, reqs)
        return reqs

    def _applies(self, requirement: Requirement, extra: str) -> bool:
        """Marker evaluation, once per requirement object and extra: metadata parsing shares
        one object per distinct Requires-Dist line, and most lines recur across wheels."""
        key = (id(requirement), extra)
        hit = self._marker_memo.get(key)
        if hit is not None and hit[0] is requirement:
            return hit[1]
        assert requirement.marker is not None
        only = extras_only(requirement)
        result = extra in only if only is not None else requirement.marker.evaluate({**self.env, "extra": extra})
        self._marker_memo[key] = (requirement, result)
        return result

    def limits_of(self, name: NormalizedName) -> tuple[Req, ...]:
        """What limits a name in every state of this resolution besides the requirements: the
        constraints files (-c), --upgrade-package NAME==VERSION, and the rule's Triton next to a
        CPU torch."""
        limits = self._limits_memo.get(name)
        if limits is None:
            found = []
            if (user_limit := self.limits.get(name)) is not None:
                found.append(Req(name=name, specifier=user_limit, origin="the constraints"))
            if (limit := self.constraints.get(name)) is not None:
                found.append(Req(name=name, specifier=limit, origin="--upgrade-package"))
            if (rule_limit := self.rule_limits.get(name)) is not None:
                found.append(rule_limit)
            limits = self._limits_memo[name] = tuple(found)
        return limits

    def rule_out(self, candidate: Candidate) -> None:
        """A release whose dependencies the user's own requirements leave no version: no state of
        the resolution can take it, so it is no candidate again. resolvelib forgets a refusal when
        it backtracks: `langchain langchain-openai 'pydantic<2'` refused the same langchain-core
        releases (pydantic>=2.7.4) once for every langchain-openai release, 29,000 rounds."""
        self._ruled_out[candidate.identifier].add((candidate.version, candidate.build))
        _log.debug("%s: %s ruled out: the requirements refuse its dependencies", self.target, candidate)

    def wider_level(self, name: NormalizedName, version: Version) -> tuple[str, tuple[int, int]] | None:
        """The lowest libc or OS level at which a wheel of this release for this Python would
        fit the target (Target.wider_level): what a fallback's warning tells users to raise."""
        project = self._project(name)
        return next(
            (self._wider_at(project, k) for k in range(len(project.releases)) if project.version(k) == version), None
        )

    def _wider_at(self, project: Project, k: int) -> tuple[str, tuple[int, int]] | None:
        found = [
            level
            for row in project.rows(k)
            if row[10]
            and (row[3] is None or self._python_ok(row[3]))
            and not (self.exclude_newer is not None and _uploaded_after(row[6], self.exclude_newer))
            and (level := self.target.wider_level(row[10])) is not None
        ]
        return min(found, default=None)

    def _wider_in(self, project: Project, reqs: Sequence[Req]) -> tuple[Version, tuple[str, tuple[int, int]]] | None:
        """The newest release `reqs` admit that a wider level would give a wheel, and that level."""
        for k in self._matching(project, reqs):
            level = self._wider_at(project, k)
            if level is not None:
                return project.version(k), level
        return None

    def versions(self, name: str) -> list[Version]:
        """Every release on the index, usable here or not."""
        project = self._project(canonicalize_name(name))
        return [project.version(k) for k in range(len(project.releases))]

    def any_admitted(self, name: str, reqs: Sequence[Req]) -> bool:
        """Whether a release on the index, usable here or not, satisfies all of `reqs`: whether
        requirements have any version in common."""
        return bool(self._matching(self._project(canonicalize_name(name)), reqs))

    def _matching(self, project: Project, reqs: Sequence[Req]) -> list[int]:
        """The positions of the releases all of `reqs` admit, in the index's order."""
        return self.admits.positions(project, (r.specifier for r in reqs))

    def _admitted_set(self, project: Project, reqs: Sequence[Req]) -> frozenset[int]:
        return self.admits.admitted(project, (r.specifier for r in reqs))

    def _project(self, name: NormalizedName) -> Project:
        return self.client.project(name, self.routes.get(name))

    @property
    def rules_apply(self) -> bool:
        """Whether the torch.toml pins hold for this target's builds (rules/variants.toml):
        PyPI's builds, and the variants whose rule says `applies = "release"`."""
        variant = self.target.variant
        if variant is None:
            return True
        rule = self.ruleset.variant_rule(variant)
        return rule is not None and rule.applies == "release"

    def _rule_reqs(self, torch: Candidate) -> Iterator[Req]:
        variant = self.target.variant
        if variant is not None and not self.rules_apply:
            rule = self.ruleset.variant_rule(variant)
            if rule is None or rule.applies == "unknown":
                status = rule.status if rule else "unknown"
                self.warnings.append(
                    f"{self.target}: no rule for the {variant} builds (status {status}): torch {torch.version}'s "
                    "own metadata alone decides its Triton"
                )
            return  # applies = "none": these builds run no Triton
        if torch.version.is_devrelease:
            self.warnings.append(
                f"{self.target}: no nightly rule covers torch {torch.version} (the commits nightlies pinned are "
                "not in the rules: status unknown); its own metadata alone decides its Triton"
            )
            return
        pin = self.ruleset.pin_for(torch.version, self.env)
        if pin is None:
            if torch.version >= Version("2.0.0") and not self.ruleset.covers(torch.version):
                self.warnings.append(
                    f"{self.target}: no rule covers torch {torch.version}; its own metadata alone decides Triton"
                )
            return
        if variant is None and not self._gpu_build(torch, pin):
            self.notes.append(cpu_note(self.target.name, str(torch.version), self.env["platform_machine"]))
            return
        _log.info(
            "%s: torch %s: %s %s (%s) by rule %s",
            self.target,
            torch.version,
            pin.package,
            pin.requires,
            pin.provides,
            pin.id,
        )
        yield self.rule_req(pin)

    def rule_req(self, pin: Pin) -> Req:
        """The Triton the rule gives torch on this target: a wheel, or a source build of its commit."""
        origin = f"rule {pin.id}"
        if pin.provides != "source-build":
            return Req(name=pin.package, specifier=pin.requires, pin=pin, origin=origin)
        if pin.package in self.routes and self._has_wheel(pin.package, pin.version):
            # the variant's index builds this Triton for the target: no source build needed
            return Req(name=pin.package, specifier=SpecifierSet(f"=={pin.version}"), pin=pin, origin=origin)
        build = self.ruleset.build_for(pin.package, pin.version)
        if build is None:
            raise ResolutionError(
                f"{self.target}: rule {pin.id} ({pin.where}) needs a source build of {pin.package} {pin.version}, "
                "but the rules name no commit for it"
            )
        return Req(name=pin.package, specifier=SpecifierSet(f"=={pin.version}"), build=build, pin=pin, origin=origin)

    def _gpu_build(self, torch: Candidate, pin: Pin) -> bool:
        """A PyPI torch (no variant label) is a GPU build where its metadata requires nvidia-*
        libraries on this target; without metadata, the rule's record of PyPI's build decides."""
        metadata = self.metadata(torch)
        if metadata is None:
            return not pin.cpu_on_pypi
        return is_gpu_build(metadata.requires_dist, [self.env])

    def _has_wheel(self, name: NormalizedName, version: Version) -> bool:
        try:
            project = self._project(name)
        except ProjectNotFound:
            return False
        return any(
            project.version(k).public == version.public and self._wheels(project, k)
            for k in range(len(project.releases))
        )

    def pin_of(self, torch_version: Version) -> Pin | None:
        return self.ruleset.pin_for(torch_version, self.env)


def _pins_exactly(specifier: SpecifierSet, version: Version) -> bool:
    """`==1.2.3` or `===1.2.3` naming this version (not `==1.2.*`): PEP 592's exact pin."""
    return any(
        (s.operator == "===" and s.version == str(version))
        or (s.operator == "==" and not s.version.endswith(".*") and Version(s.version) == version)
        for s in specifier
    )


def _uploaded_after(upload_time: str | None, cutoff: datetime) -> bool:
    """A file without an upload time (PEP 503 HTML pages have none) cannot be judged and stays."""
    if not upload_time:
        return False
    try:
        uploaded = datetime.fromisoformat(upload_time.replace("Z", "+00:00"))
    except ValueError:
        return False
    return uploaded > cutoff

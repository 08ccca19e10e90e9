"""The resolvelib provider: adapts resolvelib's questions to the Factory, and nothing more."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version
from resolvelib import AbstractProvider

from tripin.resolver.conflicts import DecisionOrder
from tripin.resolver.factory import Factory
from tripin.resolver.types import Candidate, Req

if TYPE_CHECKING:
    from resolvelib.resolvers import RequirementInformation

__all__ = ["Provider"]


class Provider(AbstractProvider[Req, Candidate, str]):
    def __init__(self, factory: Factory) -> None:
        self.factory = factory
        self.order = DecisionOrder()  # settled by the conflicts seen: see tripin.resolver.conflicts
        # keyed by id(): each entry keeps its objects alive, so an id is never reused meanwhile
        self._pinned: dict[int, tuple[SpecifierSet, bool]] = {}
        self._contains: dict[tuple[int, int], tuple[SpecifierSet, Version, bool]] = {}

    def _is_pinned(self, specifier: SpecifierSet) -> bool:
        hit = self._pinned.get(id(specifier))
        if hit is not None and hit[0] is specifier:
            return hit[1]
        pinned = any(s.operator == "==" for s in specifier)
        self._pinned[id(specifier)] = (specifier, pinned)
        return pinned

    def identify(self, requirement_or_candidate: Req | Candidate) -> str:
        return requirement_or_candidate.identifier

    def get_preference(
        self,
        identifier: str,
        resolutions: Mapping[str, Candidate],
        candidates: Mapping[str, Iterator[Candidate]],
        information: Mapping[str, Iterator[RequirementInformation[Req, Candidate]]],
        backtrack_causes: Sequence[RequirementInformation[Req, Candidate]],
    ) -> Any:
        """Cheapest decisions first, as pip orders them: names in a backtrack cause (the name
        that failed and the parent that asked for it: without the parent, a Triton with no
        macOS wheel, which liger-kernel requires, sent the resolver through every jinja2 release
        for 20,000 rounds), names pinned with == or by a rule, then torch (its rules constrain
        Triton), then what the user asked for before what it pulls in (pip and uv do: with
        `'pandas<2.2' matplotlib`, numpy was pinned for matplotlib first, at 2.5.5, and pandas
        stepped back to 2.1.1, the last release that does not say numpy<2 though it needs it),
        then the rest alphabetically so that runs are reproducible. Ahead of all but the first
        two: the order that repeated conflicts settled (tripin.resolver.conflicts)."""
        infos = list(information[identifier])
        causes = {self.identify(c.requirement) for c in backtrack_causes}
        causes |= {self.identify(c.parent) for c in backtrack_causes if c.parent is not None}
        pinned = any(i.requirement.build is not None or self._is_pinned(i.requirement.specifier) for i in infos)
        requested = any(i.parent is None for i in infos)
        return (
            identifier not in causes,
            not pinned,
            self.order.rank(identifier),
            identifier != "torch",
            not requested,
            identifier,
        )

    def find_matches(
        self,
        identifier: str,
        requirements: Mapping[str, Iterator[Req]],
        incompatibilities: Mapping[str, Iterator[Candidate]],
    ) -> Callable[[], Iterator[Candidate]]:
        reqs = list(requirements[identifier])
        name, _, rest = identifier.partition("[")
        extras = frozenset(rest.rstrip("]").split(",")) if rest else frozenset()
        return self.factory.find(canonicalize_name(name), extras, reqs, incompatibilities[identifier])

    def is_satisfied_by(self, requirement: Req, candidate: Candidate) -> bool:
        if requirement.build is not None and requirement.build != candidate.build:
            return False
        # resolvelib asks this for every pin on every round; specifiers and versions are
        # shared objects (one per Requires-Dist line, one per release), so remember answers
        specifier, version = requirement.specifier, candidate.version
        key = (id(specifier), id(version))
        hit = self._contains.get(key)
        if hit is not None and hit[0] is specifier and hit[1] is version:
            return hit[2]
        result = specifier.contains(version, prereleases=True)
        self._contains[key] = (specifier, version, result)
        return result

    def get_dependencies(self, candidate: Candidate) -> Iterable[Req]:
        return list(self.factory.dependencies(candidate))

"""The resolvelib provider: adapts resolvelib's questions to the Factory, and nothing more."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from packaging.utils import canonicalize_name
from resolvelib import AbstractProvider

from tripin.resolver.factory import Factory
from tripin.resolver.types import Candidate, Req

if TYPE_CHECKING:
    from resolvelib.resolvers import RequirementInformation

__all__ = ["Provider"]


class Provider(AbstractProvider[Req, Candidate, str]):
    def __init__(self, factory: Factory) -> None:
        self.factory = factory

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
        """Cheapest decisions first, as pip orders them: names in a backtrack cause, names
        pinned with == or by a rule, then torch (its rules constrain Triton), then the rest
        alphabetically so that runs are reproducible."""
        infos = list(information[identifier])
        causes = {self.identify(c.requirement) for c in backtrack_causes}
        pinned = any(
            i.requirement.build is not None or any(s.operator == "==" for s in i.requirement.specifier) for i in infos
        )
        return (identifier not in causes, not pinned, identifier != "torch", identifier)

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
        return requirement.specifier.contains(candidate.version, prereleases=True)

    def get_dependencies(self, candidate: Candidate) -> Iterable[Req]:
        return list(self.factory.dependencies(candidate))

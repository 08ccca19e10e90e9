"""resolvelib's Resolver, with its check of the pins remembered between rounds.

Every round, resolvelib asks whether each name's pin still satisfies every requirement on the
name, for every name decided so far, and once more after each pin: on the real project's eight
targets that is 33,000 checks and 65,000 requirements walked, about a third of the
resolutions' time in a profile of a warm `-U`. A name's criterion is never changed in place
(resolvelib makes a new one whenever a requirement is added or dropped) and its pin is one
candidate object, so while both are the same objects the answer is too.

This overrides a method of resolvelib's internal Resolution class (resolvelib 1.1 and 1.2, which
pyproject.toml allows up to 2): tests/test_backtracking.py resolves with both and compares the
answers and the number of checks, so a release that renames or reshapes it fails there.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from resolvelib.resolvers.resolution import Resolution, _build_result

from tripin.resolver.types import Candidate, Req

if TYPE_CHECKING:
    from collections.abc import Iterable

    from resolvelib import AbstractProvider, BaseReporter
    from resolvelib.resolvers.abstract import Result
    from resolvelib.resolvers.criterion import Criterion

__all__ = ["resolve"]


class _Resolution(Resolution[Req, Candidate, str]):
    def __init__(
        self, provider: AbstractProvider[Req, Candidate, str], reporter: BaseReporter[Req, Candidate, str]
    ) -> None:
        super().__init__(provider, reporter)
        # name -> the criterion and pin last checked, and the answer; holding both objects
        # keeps their ids from being reused
        self._checked: dict[str, tuple[Criterion[Req, Candidate], Candidate, bool]] = {}

    def _is_current_pin_satisfying(self, name: str, criterion: Criterion[Req, Candidate]) -> bool:
        pin = self.state.mapping.get(name)
        if pin is None:
            return False
        hit = self._checked.get(name)
        if hit is not None and hit[0] is criterion and hit[1] is pin:
            return hit[2]
        answer = super()._is_current_pin_satisfying(name, criterion)
        self._checked[name] = (criterion, pin, answer)
        return answer


def resolve(
    provider: AbstractProvider[Req, Candidate, str],
    reporter: BaseReporter[Req, Candidate, str],
    requirements: Iterable[Req],
    max_rounds: int,
) -> Result[Req, Candidate, str]:
    """What `resolvelib.Resolver(provider, reporter).resolve(requirements, max_rounds)` gives."""
    return _build_result(_Resolution(provider, reporter).resolve(requirements, max_rounds=max_rounds))

"""Which package keeps being refused because of which, and the order of decisions that follows.

resolvelib undoes the most recent decision first. With `'transformers>=4.48,<5' peft datasets
evaluate`, datasets 5.2.0 (huggingface-hub>=1.31) was decided first, then evaluate and peft;
every transformers release (huggingface-hub<1.0) was refused, and the resolver walked back
through 420 peft and evaluate releases, which had nothing to do with it, before it moved
datasets: 15 to 19 s per target (uv: 0.74 s). Without the upper bound it settled instead on
transformers 2.3.0, from 2019, the first release old enough not to need huggingface-hub.

uv's answer since 0.5.10 ("improve backtracking behavior when packages conflict repeatedly"),
done here with resolvelib: count the refusals of a release of A because of a
requirement of B that no version satisfies together with A's; after a few, decide A before B
and B last, and start the resolution again in that order (every page and metadata file read so
far is kept, so a restart costs only resolution rounds). Where a settled pair keeps
conflicting, the same rule goes up to the user's requirements that bring the pair in; and where
that settlement's conflict comes back too, those two are turned round once, on trial: if the
turned order runs out of rounds (tripin/resolver/resolve.py), the order before it is kept.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from packaging.utils import NormalizedName
from resolvelib import BaseReporter

from tripin.resolver.types import Candidate, Req

if TYPE_CHECKING:
    from resolvelib.resolvers.criterion import Criterion

__all__ = ["MAX_REORDERS", "ConflictTracker", "DecisionOrder", "Reorder"]

_THRESHOLD = 5  # refusals of one package because of another before the order changes
MAX_REORDERS = 8  # each one settles a pair for good, so few are ever needed


class Reorder(Exception):  # a signal to start again, not an error
    """Raised from inside resolvelib to stop a resolution whose order has just changed. `undo`
    is the order before a flip: the flipped order is a trial, and if it runs out of rounds the
    resolution goes back to the order it had."""

    def __init__(self, message: str, undo: tuple[list[str], set[str]] | None = None) -> None:
        super().__init__(message)
        self.undo = undo


class DecisionOrder:
    """Names to decide before all others (in the order they were found) and names to decide
    after all others. A pair, once settled, never flips: that would undo the previous restart."""

    def __init__(self) -> None:
        self.early: list[str] = []
        self.late: set[str] = set()
        self.flipped: set[frozenset[str]] = set()  # pairs turned round once: never again

    def rank(self, identifier: str) -> tuple[int, int]:
        if identifier in self.late:
            return (2, 0)
        try:
            return (0, self.early.index(identifier))
        except ValueError:
            return (1, 0)

    def settle(self, first: str, then: str) -> bool:
        """Decide `first` before `then`; false where that would flip an earlier settlement or
        changes nothing (a restart in the same order meets the same conflict: `httpx<0.24 openai`
        restarted eight times for one pair, then ran untracked)."""
        if first in self.late or then in self.early or first == then:
            return False
        if first in self.early and then in self.late:
            return False
        if first not in self.early:
            self.early.append(first)
        self.late.add(then)
        return True

    def snapshot(self) -> tuple[list[str], set[str]]:
        return list(self.early), set(self.late)

    def restore(self, saved: tuple[list[str], set[str]]) -> None:
        """Back to an order saved before a flip; the flip itself is remembered, never tried again."""
        self.early, self.late = list(saved[0]), set(saved[1])

    def flip(self, first: str, then: str) -> bool:
        """Decide `first` before `then` against an earlier settlement, once per pair: the
        earlier order was tried and its conflict came back (`'httpx<0.24' openai anthropic`:
        httpx first made openai go back, but anthropic still needs httpx2; httpx last keeps
        both and takes an httpx old enough for httpcore2's h11)."""
        pair = frozenset((first, then))
        if first == then or pair in self.flipped or (first in self.early and then in self.late):
            return False
        self.flipped.add(pair)
        self.late.discard(first)
        if then in self.early:
            self.early.remove(then)
        return self.settle(first, then)


class ConflictTracker(BaseReporter[Req, Candidate, str]):
    """A resolvelib reporter that counts, for each refused candidate, the decided packages whose
    requirement left its own no version, and raises Reorder once a pair passes the threshold;
    a candidate the user's own requirement refuses is ruled out for good."""

    def __init__(
        self,
        order: DecisionOrder,
        admitted: Callable[[str, Sequence[Req]], bool],
        rule_out: Callable[[Candidate], None],
        limits_of: Callable[[NormalizedName], Sequence[Req]],
        *,
        final: bool,
    ) -> None:
        self.order = order
        self.admitted = admitted  # whether a release on the index satisfies all the requirements
        self.rule_out = rule_out  # a candidate the user's requirements refuse, in every state
        self.limits_of = limits_of  # what limits a name in every state: -c files, -P, a rule
        self.final = final  # the last attempt runs to its end in whatever order it has
        self.counts: Counter[tuple[str, str]] = Counter()
        self.seen: dict[tuple[str, str], str] = {}  # each pair's latest conflict, in words
        self._disjoint: dict[tuple[str, ...], bool] = {}  # by the requirements' text: asked again on every refusal
        self._brought_by: dict[str, str | None] = {}  # who asked for a name lately (None: the user)

    def adding_requirement(self, requirement: Req, parent: Candidate | None) -> None:
        if parent is None or self._brought_by.get(requirement.name, "") is not None:
            self._brought_by[requirement.name] = parent.name if parent is not None else None

    def _chain(self, name: str) -> list[str]:
        """The packages that brought `name` in, nearest first, up to the user's requirement."""
        chain: list[str] = []
        while (name := self._brought_by.get(name) or "") and name not in chain and len(chain) < 6:
            chain.append(name)
        return chain

    def _top(self, name: str) -> str:
        """The requirement of the user's that brought `name` in (itself, if the user asked for it)."""
        return (self._chain(name) or [name])[-1]

    def _from(self, name: str) -> str:
        """` (from httpx2, from openai)`, so that a conflict two levels down names the
        requirement to bound."""
        chain = self._chain(name)
        return f" (from {', from '.join(chain)})" if chain else ""

    def rejecting_candidate(self, criterion: Criterion[Req, Candidate], candidate: Candidate) -> None:
        mine = [i.requirement for i in criterion.information if i.parent is candidate]
        if not mine:
            return
        limits = self.limits_of(mine[0].name)  # `-c` with pydantic<2, as the user's requirement
        if limits and self._none_in_common([*mine, *limits]):
            self.rule_out(candidate)
            return
        for info in criterion.information:
            parent = info.parent
            if parent is not None and parent.identifier == candidate.identifier:
                continue  # the candidate's own requirement
            if not self._none_in_common([*mine, info.requirement]):
                continue
            if parent is None:  # the user's requirement: no order changes it, no state takes it
                self.rule_out(candidate)
                continue
            pair = (candidate.identifier, parent.identifier)
            self.counts[pair] += 1
            self.seen[pair] = (
                f"{candidate}{self._from(candidate.name)} requires {mine[0]}, "
                f"{parent}{self._from(parent.name)} requires {info.requirement}"
            )
            if self.final or self.counts[pair] < _THRESHOLD:
                continue
            if self.order.settle(*pair):
                raise Reorder(f"{pair[0]} before {pair[1]}")
            # settled, and met again: the pair is brought in by others that must move instead
            # (`'httpx<0.24' openai`: httpcore2, from openai 3, against httpx's httpcore), so the
            # same rule one level up, between the requirements of the user's that bring them in
            up = (self._top(candidate.name), self._top(parent.name))
            if up == pair:
                continue
            if self.order.settle(*up):
                raise Reorder(f"{up[0]} before {up[1]}, for {pair[0]} against {pair[1]}")
            if self.counts[pair] >= 2 * _THRESHOLD:  # and that order's conflict came back too
                saved = self.order.snapshot()
                if self.order.flip(*up):
                    raise Reorder(f"{up[0]} before {up[1]} after all, for {pair[0]} against {pair[1]}", saved)

    def most_met(self) -> str | None:
        """The conflict met most often, for a resolution that gave up: what to loosen or bound."""
        if not self.counts:
            return None
        pair, times = self.counts.most_common(1)[0]
        return f"{self.seen[pair]} ({times:,} times)"

    def _none_in_common(self, reqs: Sequence[Req]) -> bool:
        """No known version satisfies all of them (a source build of two commits never does)."""
        key = (reqs[0].name, *(f"{r.specifier}@{r.build.commit if r.build else ''}" for r in reqs))
        answer = self._disjoint.get(key)
        if answer is None:
            if len({r.build for r in reqs if r.build is not None}) > 1:
                answer = True
            else:
                answer = not self.admitted(reqs[0].name, reqs)
            self._disjoint[key] = answer
        return answer

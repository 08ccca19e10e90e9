"""Judge a Triton commit against what a torch release accepts: `ok`, `warning` or `error`, with the
reason a user can act on.

Accepted builds for a torch release are the PyPI wheel's commit (rules/triton.toml `[[build]]`),
PyTorch's own pin (`[[pytorch-pin]]`), known-good commits (`[[good]]`), and every commit with
the same source tree as one of them (rules/triton-history.txt). Anything else is placed in
Triton's history: on the release branch the torch release uses (another cut: a warning), on
`main` before any recorded break for that torch range (a warning) or after one (an error), on
another release branch (an error), or nowhere (an error, unless the history read here stops
before that release: then it cannot be judged, a warning).
"""

from __future__ import annotations

from dataclasses import dataclass

from packaging.version import Version

from tripin.rules.history import SHORT, History
from tripin.rules.model import Build, Pin, Ruleset

__all__ = ["LEVELS", "Verdict", "commit_verdict"]

LEVELS = ("ok", "warning", "error")
_UPSTREAM = frozenset({"https://github.com/triton-lang/triton", "https://github.com/openai/triton"})


@dataclass(frozen=True, slots=True, kw_only=True)
class Verdict:
    level: str  # one of LEVELS
    reason: str


def _line(torch: Version) -> str:
    return f"{torch.major}.{torch.minor}"


def _accepted(ruleset: Ruleset, torch: Version, pin: Pin, build: Build | None) -> list[tuple[str, str]]:
    """(full commit, what it is) for every accepted commit of this torch release."""
    line = Version(torch.base_version)
    out: list[tuple[str, str]] = []
    for p in ruleset.pytorch_pins:
        if p.package == pin.package and p.torch.contains(line, prereleases=True):
            out.append((p.commit, f"PyTorch's pin for {_line(torch)} ({p.status}, {p.source})"))
    if build is not None:
        if build.repository.rstrip("/").removesuffix(".git") in _UPSTREAM:
            what = f"the PyPI wheel's commit for {build.package} {build.version} ({build.status})"
        else:  # an overlay's own build (an internal fork): not what PyPI's wheel was built from
            what = f"the commit of build rule {build.id} for {build.package} {build.version} ({build.repository})"
        out.append((build.commit, what))
    for g in ruleset.good:
        if g.package == pin.package and g.torch.contains(torch, prereleases=True):
            out.append((g.commit, f"a known-good commit for torch {_line(torch)} [{g.id}]"))
    return out


def _ok(history: History | None, commit: str, accepted: list[tuple[str, str]]) -> str | None:
    """What makes `commit` accepted, or None. A full id must equal an accepted commit or a stored
    same-source one; a short one (a build's `+git<hash>` label, all an installed build tells)
    may be a prefix of one: the most a label can say."""
    given = commit.lower()

    def names(full: str) -> bool:
        return full == given if len(given) >= 40 else full.startswith(given)

    resolved = history.resolve(given) if history is not None else None
    exact = [what for full, what in accepted if names(full)]
    same = [
        f"same source as {what.split(' (')[0]} {full[:SHORT]}"
        for full, what in accepted
        if history is not None and not names(full) and resolved is not None and resolved in history.same_source(full)
    ]
    if not exact and not same:
        return None
    # "PyTorch's pin for 2.8 (...), same source as the PyPI wheel's commit ... c817b9b6"
    return ", ".join([*exact, *same])


def _distance(n: int) -> str:
    return f"{abs(n)} commit{'s' if abs(n) != 1 else ''} {'before' if n < 0 else 'after'}"


def commit_verdict(ruleset: Ruleset, torch: Version, commit: str, pin: Pin, build: Build | None) -> Verdict:
    """The verdict on a Triton build of `commit` (full or at least 7 hex digits) with `torch`,
    whose release the rules pin to `pin` (and to `build`, its wheel's commit, when known)."""
    history = ruleset.history
    accepted = _accepted(ruleset, torch, pin, build)
    if (reason := _ok(history, commit, accepted)) is not None:
        return Verdict(level="ok", reason=reason)
    if history is None:
        expected = f"{build.commit[:12]} ({build.status})" if build else "unknown"
        return Verdict(level="error", reason=f"not the commit torch {torch.base_version} runs with: {expected}")
    branch = f"release/{pin.version.major}.{pin.version.minor}.x"
    places = history.places(commit)
    on_branch = next((p for p in places if p.branch == branch), None)
    if on_branch is not None:
        anchor = next(((full, what) for full, what in accepted if history.index_on(branch, full) is not None), None)
        if anchor is not None:
            index = history.index_on(branch, anchor[0])
            assert index is not None
            where = f"{_distance(on_branch.index - index)} {anchor[1].split(' (')[0]} {anchor[0][:SHORT]}"
        else:
            where = f"on the branch as read here (tip {history.tip_date(branch)}), no accepted commit known on it"
        return Verdict(
            level="warning",
            reason=f"another cut of the right branch: {branch}, {where} (calls itself {on_branch.version})",
        )
    releases = [p for p in places if p.branch != "main"]
    if releases:
        other = releases[0]
        return Verdict(
            level="error",
            reason=f"a commit of another release branch: {other.branch} ({other.version}); "
            f"torch {_line(torch)} runs Triton {pin.version} from {branch}",
        )
    on_main = next((p for p in places if p.branch == "main"), None)
    if on_main is not None:
        return _on_main(ruleset, history, torch, on_main.index, on_main.version, branch)
    if build is None and branch not in history.branches:
        return Verdict(
            level="warning",
            reason=f"cannot be placed: the Triton history shipped with tripin has no {branch} "
            f"(main read to {history.tip_date('main')}) and no commit is known for Triton {pin.version}",
        )
    if len(commit) >= 40 and (twin := history.resolve(commit[:SHORT])) is not None:
        return Verdict(
            level="error",
            reason=f"not a commit of triton-lang/triton: it shares its first {SHORT} hex digits with "
            f"{twin}, a different commit (a mistyped or forged id)",
        )
    return Verdict(
        level="error",
        reason=f"found nowhere in Triton's history (main to {history.tip_date('main')}, "
        f"{len(history.branches) - 1} release branches): not a commit of triton-lang/triton",
    )


def _on_main(ruleset: Ruleset, history: History, torch: Version, index: int, version: str, branch: str) -> Verdict:
    breaks = []
    for b in ruleset.breaks:
        if b.torch.contains(torch, prereleases=True):
            at = history.index_on("main", b.commit)
            if at is not None:
                breaks.append((at, b))
    breaks.sort(key=lambda x: x[0])
    if breaks and index >= breaks[0][0]:
        at, b = breaks[0]
        when = "the breaking commit" if index == at else f"a main commit {_distance(index - at)} the breaking commit"
        return Verdict(
            level="error",
            reason=f"{when} {b.commit[:SHORT]} for torch {_line(torch)} [{b.id}]: {b.symptom} ({b.source})",
        )
    base = history.base(branch) if branch in history.branches else None
    at_base = history.index_on("main", base) if base else None
    where = ""
    if at_base is not None:
        where = (
            f", {_distance(index - at_base)} {branch} left main" if index != at_base else f", where {branch} left main"
        )
    if breaks:
        at, b = breaks[0]
        before = f"; {_distance(index - at)} the break {b.commit[:SHORT]} [{b.id}]"
    else:
        before = f"; no break on main is recorded for torch {_line(torch)}"
    return Verdict(
        level="warning",
        reason=f"a main commit, not a release cut (calls itself {version}){where}{before}",
    )

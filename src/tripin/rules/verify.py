"""`tripin rules verify`, offline part: every commit the rules name is in Triton's history
(rules/triton-history.txt) and calls itself the version the rule says."""

from __future__ import annotations

from packaging.version import InvalidVersion, Version

from tripin.rules.model import Ruleset

__all__ = ["verify_commits"]


def _version(text: str | None) -> Version | None:
    try:
        return Version(text) if text else None
    except InvalidVersion:
        return None


def verify_commits(ruleset: Ruleset) -> tuple[int, list[str]]:
    """(commits checked, problems). No history (a rules directory without the file): nothing
    to check against, no problems."""
    history = ruleset.history
    if history is None:
        return 0, []
    problems: list[str] = []
    checked = 0

    def expect(where: str, commit: str, version: Version | None, *, on: str | None = None) -> None:
        nonlocal checked
        checked += 1
        places = history.places(commit)
        if not places:
            problems.append(
                f"{where}: commit {commit[:12]} is not in Triton's history ({len(history.branches)} branches)"
            )
            return
        if on is not None and not any(p.branch == on for p in places):
            problems.append(f"{where}: commit {commit[:12]} is not on {on} (it is on {places[0].branch})")
        found = _version(places[0].version)
        if version is not None and found != version:
            problems.append(f"{where}: commit {commit[:12]} calls itself {places[0].version}, the rule says {version}")

    for build in ruleset.builds:
        expect(f"{build.id} ({build.where})", build.commit, build.version)
    for pin in ruleset.pytorch_pins:
        expect(f"{pin.id} ({pin.where})", pin.commit, pin.version)
        wheel = ruleset.build_for(pin.package, pin.version)
        if wheel is not None and history.branch_of(pin.commit) != history.branch_of(wheel.commit):
            problems.append(f"{pin.id} ({pin.where}): not on the branch of the {pin.version} wheel's commit")
    for good in ruleset.good:
        expect(f"{good.id} ({good.where})", good.commit, None)
    for brk in ruleset.breaks:
        expect(f"{brk.id} ({brk.where})", brk.commit, None, on="main")
    for bad in ruleset.bad:
        for commit in bad.commits:
            checked += 1
            found = _version(history.version_of(commit))
            if found is None:
                problems.append(f"{bad.id} ({bad.where}): commit {commit[:12]} is not in Triton's history")
            elif bad.triton is not None and not bad.triton.contains(found, prereleases=True):
                problems.append(f"{bad.id} ({bad.where}): commit {commit[:12]} calls itself {found}, not {bad.triton}")
    for build in ruleset.builds:  # a same-source commit calls itself what its accepted commit does
        for same in history.same_source(build.commit):
            checked += 1
            found = _version(history.version_of(same))
            if found != build.version:
                problems.append(f"{build.id}: same-source commit {same[:12]} calls itself {found}, not {build.version}")
    return checked, problems

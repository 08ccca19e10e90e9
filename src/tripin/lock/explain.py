"""Why a lock holds what it holds: requirement chains, the deciding rules, what changed."""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING, Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import InvalidWheelFilename, canonicalize_name, parse_wheel_filename

from tripin.errors import TargetError, one_line
from tripin.lock.model import Lock, LockedPackage
from tripin.targets import parse_target

if TYPE_CHECKING:
    from tripin.rules.model import Ruleset

__all__ = ["diff_locks", "explain", "explain_lines"]

_MAX_LINE = 20_000  # a long requirements list stays whole; a 100 MB value does not


def _chain(lock: Lock, target: str, name: str) -> list[str]:
    """The shortest path from a root requirement to `name` on `target`, as `name version` steps."""
    present = {p.name: p for p in lock.for_target(target)}
    roots: list[str] = []
    for text in lock.requirements:
        try:
            roots.append(canonicalize_name(Requirement(text).name))
        except InvalidRequirement:
            continue
    parents: dict[str, str | None] = {root: None for root in roots if root in present}
    queue = deque(parents)
    while queue:
        current = queue.popleft()
        if current == name:
            break
        for child in present[current].dependencies:
            if child in present and child not in parents and _pulls(present[current], present[child]):
                parents[child] = current
                queue.append(child)
    if name not in parents:
        return []
    steps: list[str] = []
    node: str | None = name
    while node is not None:
        steps.append(f"{node} {present[node].version}")
        node = parents[node]
    return list(reversed(steps))


def _pulls(parent: LockedPackage, child: LockedPackage) -> bool:
    """Whether the parent pulls in this entry of the child's name: where the lock names the
    entries (version or commit), only those; torch names the x86_64 Triton wheel, and on aarch64
    the Triton source build is another package's requirement, not torch's."""
    refs = [(v, c) for n, v, c in parent.dependency_refs if n == child.name]
    if not refs or any(v is None and c is None for v, c in refs):
        return True
    return any(
        (c is not None and child.vcs is not None and child.vcs.commit == c) or (v is not None and v == child.version)
        for v, c in refs
    )


def _source(package: LockedPackage) -> str:
    if package.vcs is not None:
        return f"git {package.vcs.url} at {package.vcs.commit}" + (
            f" (subdirectory {package.vcs.subdirectory})" if package.vcs.subdirectory != "." else ""
        )
    return f"index {package.index}"


def _wheels_for(package: LockedPackage, target: str) -> list[str]:
    """The wheels an installer on the target could take: one entry serves every target that
    shares its version, so it lists the other platforms' wheels too."""
    try:
        tags = parse_target(target).tags
    except TargetError:  # a target this tripin does not know: show every wheel rather than none
        return [w.filename for w in package.wheels]
    supported = set(tags)
    out = []
    for wheel in package.wheels:
        try:
            wheel_tags = parse_wheel_filename(wheel.filename)[3]
        except InvalidWheelFilename:
            continue
        if wheel_tags & supported:
            out.append(wheel.filename)
    return out


def _rules_for(package: LockedPackage, target: str, ruleset: Ruleset | None) -> list[dict[str, str]]:
    """The rules that decided the entry on this target. One entry serves every target that shares
    its version, and the lock keeps the rules of all of them (torch 2.6.0's x86_64 rule and its
    aarch64 one): a rule the ruleset knows is shown where its marker holds; one it does not know
    (the lock was made with other rules), and any rule on a target this tripin cannot parse, everywhere."""
    try:
        env = parse_target(target).environment()
    except TargetError:
        env = None
    pins = {pin.id: pin for pin in ruleset.pins} if ruleset is not None else {}
    return [
        {"id": rule_id, "source": src}
        for rule_id, src in package.rules
        if env is None or rule_id not in pins or pins[rule_id].marker.evaluate(env)
    ]


def explain(lock: Lock, name: str, target: str | None = None, ruleset: Ruleset | None = None) -> list[dict[str, Any]]:
    """One record per target that has the package (or the one asked for)."""
    name = canonicalize_name(name)
    out: list[dict[str, Any]] = []
    for t in lock.targets:
        if target is not None and t.name != target:
            continue
        for package in lock.for_target(t.name):
            if package.name != name:
                continue
            added = t.name in package.added_by_rule
            out.append(
                {
                    "target": t.name,
                    "package": package.name,
                    "version": package.version,
                    "source": _source(package),
                    "chain": _chain(lock, t.name, name),
                    "rules": _rules_for(package, t.name, ruleset),
                    # torch's metadata names no such package on this target: a rule put it there
                    "added_by_rule": added,
                    "build": None
                    if package.build is None
                    else {
                        "version": package.build.version,
                        "status": package.build.status,
                        "evidence": package.build.source,
                        "recipe": package.build.recipe,
                    },
                    "wheels": _wheels_for(package, t.name),
                }
            )
    return out


def explain_lines(lock: Lock, records: list[dict[str, Any]], notes: list[str]) -> list[str]:
    """`explain` for people. A lock may come from a hostile pull request, and every value here is
    the lock's (a URL, a version, a rule's source, a note): each line is made one printable line,
    so a newline in a `[packages.vcs] url` cannot forge a line of its own."""
    lines = list(notes)
    for r in records:
        lines.append(f"{r['target']}: {r['package']} {r['version']} from {r['source']}")
        lines.append(
            f"  because: {' -> '.join(r['chain']) or '(not reachable from the requirements)'}"
            f"  [requirements: {', '.join(lock.requirements)}]"
        )
        if r["added_by_rule"]:
            lines.append(f"  added by a rule: torch's metadata names no {r['package']} on {r['target']}")
        lines += [f"  rule {rule['id']}: {rule['source']}" for rule in r["rules"]]
        if r["build"]:
            b = r["build"]
            lines.append(
                f"  source build: {b['version']} [{b['status']}] recipe {b['recipe']}; evidence {b['evidence']}"
            )
        elif r["wheels"]:
            lines.append(f"  wheels: {', '.join(r['wheels'])}")
    return [one_line(line, _MAX_LINE) for line in lines]


def diff_locks(old: Lock, new: Lock) -> list[tuple[str, str, str, str]]:
    """(target, "+"/"-"/"~", package, text) for what changed per target between two locks."""
    changes: list[tuple[str, str, str, str]] = []
    old_targets = {t.name for t in old.targets}
    for t in new.targets:
        if t.name not in old_targets:
            changes.append((t.name, "+", "(target)", "new target"))
            continue
        before = {p.name: p.version for p in old.for_target(t.name)}
        after = {p.name: p.version for p in new.for_target(t.name)}
        for pkg in sorted(before.keys() | after.keys()):
            if pkg not in before:
                changes.append((t.name, "+", pkg, after[pkg]))
            elif pkg not in after:
                changes.append((t.name, "-", pkg, before[pkg]))
            elif before[pkg] != after[pkg]:
                changes.append((t.name, "~", pkg, f"{before[pkg]} -> {after[pkg]}"))
    changes += [
        (name, "-", "(target)", "target dropped") for name in sorted(old_targets - {t.name for t in new.targets})
    ]
    return changes

"""Judge one torch/Triton pair on one target with the ruleset: shared by `check` and `doctor`.

The rule that matters is found by torch's release line (a nightly `2.6.0.dev20241230+cu126`
is judged as 2.6.0), and a Triton built from git is judged by its commit, never by its version:
`triton==3.2.0` accepts `3.2.0+git23753f4f`, which is exactly the build that breaks torch 2.6.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass

from packaging.specifiers import SpecifierSet
from packaging.utils import NormalizedName
from packaging.version import Version

from tripin.rules.model import Pin, Ruleset
from tripin.verdict import Verdict, commit_verdict

__all__ = [
    "OK_ACCEPTED",
    "TRITONS",
    "WARN_OTHER_CUT",
    "Finding",
    "Pair",
    "commit_of_version",
    "fix_argv_for",
    "fix_for",
    "judge_pair",
    "pair_verdict",
    "range_finding",
    "release_line",
    "variant_of",
    "want_for",
]

TRITONS = frozenset({"triton", "pytorch-triton", "pytorch-triton-rocm", "pytorch-triton-xpu"})
WARN_NO_NIGHTLY_RULE = "TP008"  # a warning: reported, never a failure
WARN_OTHER_CUT = "TP011"  # a warning: another cut of the right branch, or main before any break
OK_ACCEPTED = "TP012"  # not a problem: the verdict on an accepted build, for JSON and doctor
_GIT_LABEL = re.compile(r"git([0-9a-f]{7,40})")


@dataclass(frozen=True, slots=True, kw_only=True)
class Pair:
    """What one environment runs; the Triton fields are None when no Triton is there."""

    torch: Version
    triton: NormalizedName | None
    triton_version: Version | None
    commit: str | None  # full or abbreviated hex
    commit_from: str  # how the commit is known: "vcs", "direct reference", "+git label", ""
    environment: Mapping[str, str]
    target: str  # a target name, for the fix's command line
    variant: str | None = None  # a PyTorch build variant; else read from torch's local label
    gpu: bool | None = None  # known GPU (True) or CPU (False) build, e.g. from torch/version.py; None: unknown


@dataclass(frozen=True, slots=True, kw_only=True)
class Finding:
    code: str
    message: str
    fix: str
    argv: tuple[str, ...] = ()  # the fix as one command, run exactly as given (`pip` is the environment's pip)
    # what --fix would write: the Triton version / commit the rule wants on this target
    want_version: str | None = None
    want_commit: str | None = None
    level: str = "error"  # "error" fails check; "warning" fails only with --strict; "ok" never


def release_line(torch: Version) -> Version:
    """2.6.0.dev20241230+cu126 -> 2.6.0: nightlies and local builds follow their release's rule
    until a nightly rule covers their date."""
    return Version(torch.base_version)


def commit_of_version(version: Version) -> str | None:
    """The commit in a `+git<hex>` local label (Triton's own and tripin's source builds)."""
    match = _GIT_LABEL.fullmatch(version.local or "")
    return match[1] if match else None


def _same_commit(a: str, b: str) -> bool:
    return len(a) >= 7 and len(b) >= 7 and (a.startswith(b) or b.startswith(a))


def _fix(pin: Pin, ruleset: Ruleset, pair: Pair) -> tuple[str, tuple[str, ...], str | None, str | None]:
    """(text, argv, version, commit): one command that, run as given, leaves the Triton the rule
    wants. A wheel is installed with `===` and --force-reinstall: `==3.2.0` also accepts an
    installed 3.2.0+git23753f4f (PEP 440 local-version matching), so pip answers "Requirement
    already satisfied" and keeps the bad build; `===3.2.0` is that exact string alone."""
    build = ruleset.build_for(pin.package, pin.version)
    plan = ("tripin", "build-plan", "--torch", str(release_line(pair.torch)), "--target", pair.target)
    if pin.provides == "source-build":
        if build is None:
            return f"no commit is known for {pin.package} {pin.version}; see rules/triton.toml", (), None, None
        version = ruleset.source_version(build)
        return (
            f"build {pin.package} at {build.commit} ({build.status}) as {version}: {' '.join(plan)} "
            "(then run the script it writes and the install line it prints)",
            plan,
            str(version),
            build.commit,
        )
    argv = ("pip", "install", "--force-reinstall", "--no-deps", f"{pin.package}==={pin.version}")
    text = f"pip install --force-reinstall --no-deps '{pin.package}==={pin.version}'"
    if build is None:
        return text, argv, str(pin.version), None
    return (
        f"{text} (the wheel built from {build.commit[:12]}), or build that commit: {' '.join(plan)}",
        argv,
        str(pin.version),
        build.commit,
    )


def fix_for(ruleset: Ruleset, pair: Pair) -> str:
    """What installs the Triton the rules want for this pair's torch and target."""
    pin = ruleset.pin_for(release_line(pair.torch), pair.environment)
    if pin is None:
        return f"no rule names a Triton for torch {pair.torch} on {pair.target}"
    return _fix(pin, ruleset, pair)[0]


def fix_argv_for(ruleset: Ruleset, pair: Pair) -> tuple[str, ...]:
    """`fix_for` as one command line."""
    pin = ruleset.pin_for(release_line(pair.torch), pair.environment)
    return () if pin is None else _fix(pin, ruleset, pair)[1]


def want_for(ruleset: Ruleset, pair: Pair) -> tuple[str | None, str | None]:
    """`fix_for`'s Triton as (version, commit): what a file pins to get it."""
    pin = ruleset.pin_for(release_line(pair.torch), pair.environment)
    return (None, None) if pin is None else _fix(pin, ruleset, pair)[2:]


def _is_gpu(pair: Pair, pin: Pin) -> bool:
    """Whether this torch can use Triton: a CUDA/ROCm/XPU build. Known from the environment
    (torch/version.py), else from a variant label (the variant rules already set CPU builds
    apart), else the rule's record of what PyPI's build is on this platform."""
    if pair.gpu is not None:
        return pair.gpu
    if pair.variant or variant_of(pair.torch):
        return True
    return not pin.cpu_on_pypi


def variant_of(torch: Version) -> str | None:
    """The PyTorch build variant a local label names: 2.6.0+cu126 -> cu126, +cpu, +rocm6.2.4, +xpu."""
    label = torch.local or ""
    match = re.match(r"(cu\d+|cpu|xpu|rocm[\d.]+)", label)
    return match[1] if match else None


def _release_rules_hold(ruleset: Ruleset, variant: str | None) -> bool:
    if variant is None:
        return True
    rule = ruleset.variant_rule(variant)
    return rule is not None and rule.applies == "release"


def _release_pin(ruleset: Ruleset, pair: Pair) -> Pin | None:
    """The pin of the pair's release line for its Triton, where the release rules hold for its
    build variant and the pair runs the Triton that pin names; else None."""
    if pair.triton is None or not _release_rules_hold(ruleset, pair.variant or variant_of(pair.torch)):
        return None
    pin = ruleset.pin_for(release_line(pair.torch), pair.environment)
    return pin if pin is not None and pair.triton == pin.package else None


def pair_verdict(ruleset: Ruleset, pair: Pair) -> Verdict | None:
    """The verdict on the pair's Triton commit, or None when there is no commit to judge (a wheel
    by version, no rule for this torch on this target, a variant the pins do not speak of)."""
    if pair.commit is None or (pin := _release_pin(ruleset, pair)) is None:
        return None
    verdict = commit_verdict(ruleset, pair.torch, pair.commit, pin, ruleset.build_for(pin.package, pin.version))
    if pair.torch.is_devrelease and verdict.level == "ok":
        # no pins of PyTorch's main are recorded: a nightly is judged by its release line
        return Verdict(
            level="warning",
            reason=f"torch {pair.torch} is a nightly, judged against the {release_line(pair.torch)} release "
            f"(no nightly pins are recorded): {verdict.reason}",
        )
    return verdict


_SAME_SOURCE = frozenset({"triton", "pytorch-triton"})


def _nightly_commit_error(ruleset: Ruleset, pair: Pair) -> Finding | None:
    """TP002 for a nightly's pytorch-triton whose commit the release line's rules reject, with
    the remedy that reinstalls the one the nightly requires: its metadata names it exactly, so
    pip replaces the installed build when torch is asked for again from PyTorch's nightly index."""
    if pair.commit is None or pair.triton != "pytorch-triton":
        return None
    if ruleset.history is None or not ruleset.history.places(pair.commit):
        return None  # a nightly may pin a commit newer than the history shipped: not judged
    pin = ruleset.pin_for(release_line(pair.torch), pair.environment)
    if pin is None or pin.package not in _SAME_SOURCE:
        return None
    verdict = commit_verdict(ruleset, pair.torch, pair.commit, pin, ruleset.build_for(pin.package, pin.version))
    if verdict.level != "error":
        return None
    variant = pair.variant or variant_of(pair.torch)
    argv: tuple[str, ...] = ()
    want = f"install the pytorch-triton torch {pair.torch} requires"
    if variant is not None:
        from tripin.config import PYTORCH_INDEX  # the one place PyTorch's index is named

        index = f"{PYTORCH_INDEX}/nightly/{variant}"
        argv = ("pip", "install", "--pre", f"torch=={pair.torch}", "--index-url", index)
        fix = f"{want}: {shlex.join(argv)}"
    else:
        fix = f"{want} (its metadata names it), from PyTorch's nightly index"
    what = f"{pair.triton}{f' {pair.triton_version}' if pair.triton_version else ''}"
    return Finding(
        code="TP002",
        message=f"{what} on {pair.target} is built from commit {pair.commit} ({pair.commit_from}): error: "
        f"judged against the {release_line(pair.torch)} release (no nightly pins are recorded): {verdict.reason}",
        fix=fix,
        argv=argv,
    )


def range_finding(ruleset: Ruleset, pair: Pair, specifier: SpecifierSet) -> Finding | None:
    """TP001 for a range (`triton<3.2`, `~=3.1.0`, `!=3.2.0`) beside a pinned torch that leaves
    out the one Triton the rule gives it: nothing that range installs runs with that torch. A
    range that admits it says nothing exact, and is left alone."""
    if pair.torch.is_devrelease or (pin := _release_pin(ruleset, pair)) is None:
        return None
    build = ruleset.build_for(pin.package, pin.version)
    wanted = [pin.version, *([ruleset.source_version(build)] if build is not None else [])]
    if any(specifier.contains(v, prereleases=True) for v in wanted):
        return None
    fix, argv, want_version, want_commit = _fix(pin, ruleset, pair)
    want = f"{pin.package}{pin.requires}" + (" (source build)" if pin.provides == "source-build" else "")
    return Finding(
        code="TP001",
        message=f"torch {pair.torch} on {pair.target} needs {want} (rule {pin.id}); "
        f"{pair.triton}{specifier} leaves it out",
        fix=fix,
        argv=argv,
        want_version=want_version,
        want_commit=want_commit,
    )


def judge_pair(ruleset: Ruleset, pair: Pair, *, require_triton: bool = True, include_ok: bool = False) -> list[Finding]:
    """Findings for one pair. `require_triton` is false for constraints files, which may leave
    Triton out; a lock or an environment without the Triton a rule asks for is a finding.
    `include_ok` adds the verdict on an accepted commit (level "ok") for reports that show it."""
    findings: list[Finding] = []
    line = release_line(pair.torch)
    # the known-bad pairs' own advice is prose; where a pin covers the pair, the fix is the
    # command that installs it, as for TP001 and TP002 (`triton==3.2.0` would keep 3.2.0+git<main>)
    holds = not pair.torch.is_devrelease and _release_rules_hold(ruleset, pair.variant or variant_of(pair.torch))
    pinned = ruleset.pin_for(line, pair.environment) if holds else None
    for bad in ruleset.bad:
        if not bad.torch.contains(pair.torch, prereleases=True):
            continue
        # a listed commit is bad under either name: a nightly's pytorch-triton is the same source
        same_name = pair.triton == bad.package or (bool(bad.commits) and {pair.triton, bad.package} <= _SAME_SOURCE)
        if not same_name:
            continue
        if bad.commits:  # a listed commit is bad whatever version its build calls itself
            hit = pair.commit is not None and any(_same_commit(pair.commit, c) for c in bad.commits)
        else:
            hit = bad.triton is None or (
                pair.triton_version is not None and bad.triton.contains(pair.triton_version, prereleases=True)
            )
        if hit:
            what = f"{pair.triton} {pair.triton_version or ''}".strip() + (
                f" at {pair.commit[:12]}" if pair.commit else ""
            )
            fix, argv, want_version, want_commit = (
                _fix(pinned, ruleset, pair) if pinned is not None else (bad.fix, (), None, None)
            )
            findings.append(
                Finding(
                    code="TP003",
                    message=f"known-bad pair: torch {pair.torch} with {what}: {bad.symptom} [{bad.id}]",
                    fix=fix,
                    argv=argv,
                    # the pin that ends the pair, as TP001 and TP002 carry it: a file's --fix writes it
                    want_version=want_version,
                    want_commit=want_commit,
                )
            )
    if not _release_rules_hold(ruleset, pair.variant or variant_of(pair.torch)):
        return findings  # the pins speak of PyPI's builds and the variants rules/variants.toml names
    if pair.torch.is_devrelease and pair.triton in ("pytorch-triton", None):
        # a nightly with its own nightly Triton build: no nightly rule says which commit it pinned,
        # but a commit its release line's rules reject (a main build after a recorded break) is
        # rejected under this name too: pytorch-triton is built from Triton's own source
        if (nightly := _nightly_commit_error(ruleset, pair)) is not None:
            findings.append(nightly)
            return findings
        findings.append(
            Finding(
                code=WARN_NO_NIGHTLY_RULE,
                message=f"no nightly rule covers torch {pair.torch} "
                f"on {pair.target}: its {pair.triton or 'Triton'} cannot be judged (status unknown)",
                fix="",
                level="warning",
            )
        )
        return findings
    pin = ruleset.pin_for(line, pair.environment)
    if pin is None:
        return findings
    fix, argv, want_version, want_commit = _fix(pin, ruleset, pair)
    want = f"{pin.package}{pin.requires}" + (" (source build)" if pin.provides == "source-build" else "")
    if pair.triton is None:
        if require_triton and _is_gpu(pair, pin):  # a CPU build never uses Triton
            findings.append(
                Finding(
                    code="TP001",
                    message=f"torch {pair.torch} on {pair.target} needs {want} (rule {pin.id}); no Triton is there",
                    fix=fix,
                    argv=argv,
                    want_version=want_version,
                    want_commit=want_commit,
                )
            )
        return findings
    version_ok = pair.triton_version is None or pin.requires.contains(pair.triton_version, prereleases=True)
    if pair.triton != pin.package or not version_ok:
        found = f"{pair.triton} {pair.triton_version}" if pair.triton_version else f"{pair.triton} at {pair.commit}"
        findings.append(
            Finding(
                code="TP001",
                message=f"torch {pair.torch} on {pair.target} needs {want} (rule {pin.id}); found {found}",
                fix=fix,
                argv=argv,
                want_version=want_version,
                want_commit=want_commit,
            )
        )
        return findings
    verdict = pair_verdict(ruleset, pair)
    if verdict is not None and (verdict.level != "ok" or include_ok):
        what = f"{pair.triton}{f' {pair.triton_version}' if pair.triton_version else ''}"
        findings.append(
            Finding(
                code={"ok": OK_ACCEPTED, "warning": WARN_OTHER_CUT}.get(verdict.level, "TP002"),
                message=f"{what} on {pair.target} is built from commit {pair.commit} ({pair.commit_from}): "
                f"{verdict.level}: {verdict.reason}",
                fix="" if verdict.level == "ok" else fix,
                argv=() if verdict.level == "ok" else argv,
                want_version=want_version,
                want_commit=want_commit,
                level=verdict.level,
            )
        )
    return findings

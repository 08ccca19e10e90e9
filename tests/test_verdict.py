"""Verdicts on Triton builds from what they are made of: `tripin check` on a two-line constraints
file, on a CUDA aarch64 target (where Triton is a source build) and on x86_64 (a wheel target).

Every commit here is real and comes from the shipped rules (rules/triton.toml, known-bad.toml,
triton-history.txt); each test asserts the commit's place in that history before relying on it.
The one made-up commit is made up on purpose, and the test checks the history does not have it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from helpers import Run, tripin
from packaging.version import Version

from tripin.rules import load_ruleset
from tripin.rules.model import Ruleset
from tripin.verdict import commit_verdict

TARGETS = ("linux-aarch64-cp312-cu126", "linux-x86_64-cp312")
WHEEL_320 = "9641643da6c52000c807b5eeed05edaec4402a67"  # the 3.2.0 wheel's commit (matched)
REMOVAL = "67dc6270aa8905b193d72756d5d54b3dccf9e168"  # AttrsDescriptor removed on main, triton#5512


@pytest.fixture(scope="module")
def rules() -> Ruleset:
    return load_ruleset()


@pytest.fixture
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TRIPIN_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path


def _check(
    capsys: pytest.CaptureFixture[str], work: Path, torch: str, triton: str, target: str, *extra: str
) -> tuple[Run, list[dict[str, Any]]]:
    path = work / "constraints.txt"
    path.write_text(f"torch=={torch}\ntriton=={triton}\n")
    run = tripin(capsys, "check", str(path), "--target", target, *extra)
    data = json.loads(tripin(capsys, "check", str(path), "--target", target, "--format", "json").out)
    return run, data["verdicts"]


def _same_source(rules: Ruleset, commit: str) -> list[str]:
    assert rules.history is not None
    return sorted(c[:8] for c in rules.history.same_source(commit) - {commit})


@pytest.mark.parametrize("target", TARGETS)
def test_a_workflow_change_away_from_the_wheel_passes(
    rules: Ruleset, work: Path, capsys: pytest.CaptureFixture[str], target: str
) -> None:
    same = _same_source(rules, WHEEL_320)
    assert same == ["e101b08b"]  # release/3.2.x, differs from the wheel's commit only under .github/
    run, verdicts = _check(capsys, work, "2.6.0", f"3.2.0+git{same[0]}", target)
    assert (run.code, run.out, run.err) == (0, "", "")
    assert [v["level"] for v in verdicts] == ["ok"]
    assert "same source as the PyPI wheel's commit for triton 3.2.0 9641643d" in verdicts[0]["message"]


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize(
    ("torch", "triton", "same_as_wheel"),
    [
        ("2.7.1", "3.3.1+gitc8757738", True),  # release/3.3.x, '[Release-only] Bump version to 3.3.1 release'
        ("2.8.0", "3.4.0+git11ec6354", True),
        ("2.9.0", "3.5.0+git27664085", False),  # another cut than the wheel's, still PyTorch's own
        ("2.12.0", "3.7.0+gitb4e20bbe", False),
        ("2.12.1", "3.7.1+git5d6048aa", False),
    ],
)
def test_pytorchs_own_pins_pass(
    rules: Ruleset,
    work: Path,
    capsys: pytest.CaptureFixture[str],
    target: str,
    torch: str,
    triton: str,
    same_as_wheel: bool,
) -> None:
    commit = triton.split("+git")[1]
    pins = [p for p in rules.pytorch_pins if p.commit.startswith(commit)]
    assert pins and all(p.torch.contains(Version(torch)) for p in pins[:1])
    run, verdicts = _check(capsys, work, torch, triton, target)
    assert (run.code, run.out, run.err) == (0, "", "")
    message = verdicts[0]["message"]
    assert verdicts[0]["level"] == "ok" and f"PyTorch's pin for {torch.rsplit('.', 1)[0]}" in message
    assert ("same source as the PyPI wheel's commit" in message) is same_as_wheel


@pytest.mark.parametrize("target", TARGETS)
def test_the_incident_fails(work: Path, capsys: pytest.CaptureFixture[str], target: str) -> None:
    run, verdicts = _check(capsys, work, "2.6.0", "3.2.0+git23753f4f", target)
    assert run.code == 1
    codes = [line.split()[1] for line in run.out.splitlines()]
    assert codes == ["TP002", "TP003"]  # after the recorded break, and the reported known-bad pair
    assert "the breaking commit 67dc6270 for torch 2.6 [main-attrsdescriptor-removed]" in run.out
    assert [v["level"] for v in verdicts] == ["error"]


def test_every_main_commit_after_the_attrsdescriptor_removal_fails(rules: Ruleset) -> None:
    history = rules.history
    assert history is not None
    start = history.index_on("main", REMOVAL)
    assert start is not None and history.version_of(REMOVAL) == "3.2.0"
    pin = rules.pin_for(Version("2.6.0"), {"platform_system": "Linux", "platform_machine": "aarch64"})
    assert pin is not None
    build = rules.build_for(pin.package, pin.version)
    after = history.commits("main")[start:]
    levels = {commit_verdict(rules, Version("2.6.0"), commit, pin, build).level for commit in after}
    assert len(after) > 3000 and levels == {"error"}
    before = history.commit_at("main", start - 1)
    assert commit_verdict(rules, Version("2.6.0"), before, pin, build).level == "warning"


@pytest.mark.parametrize("target", TARGETS)
def test_a_commit_after_the_removal_fails_from_check(
    rules: Ruleset, work: Path, capsys: pytest.CaptureFixture[str], target: str
) -> None:
    assert rules.history is not None
    start = rules.history.index_on("main", REMOVAL)
    assert start is not None
    commit = rules.history.commit_at("main", start + 1)  # the next main commit, no known-bad entry of its own
    run, _ = _check(capsys, work, "2.6.0", f"3.2.0+git{commit}", target)
    assert run.code == 1 and run.out.count("TP002") == 1 and "1 commit after the breaking commit 67dc6270" in run.out


@pytest.mark.parametrize("target", TARGETS)
def test_a_made_up_commit_fails(rules: Ruleset, work: Path, capsys: pytest.CaptureFixture[str], target: str) -> None:
    made_up = "0123abcd"
    assert rules.history is not None and rules.history.places(made_up) == []
    run, verdicts = _check(capsys, work, "2.6.0", f"3.2.0+git{made_up}", target)
    assert run.code == 1 and "TP002" in run.out and "found nowhere in Triton's history" in run.out
    assert [v["level"] for v in verdicts] == ["error"]


def test_a_full_id_forged_to_share_8_hex_digits_with_an_accepted_commit_fails(rules: Ruleset) -> None:
    """A commit pushed to any fork of triton-lang/triton can be fetched through its URL, and
    about 2**32 tries give one whose id starts with 8 chosen hex digits. Only the label of an
    installed build is judged by 8 digits; a full id in a lock must be the accepted commit."""
    pin = rules.pin_for(Version("2.6.0"), {"platform_system": "Linux", "platform_machine": "aarch64"})
    assert pin is not None and rules.history is not None
    build = rules.build_for(pin.package, pin.version)
    same = next(iter(rules.history.same_source(WHEEL_320) - {WHEEL_320}))
    before_break = rules.history.commit_at("main", rules.history.index_on("main", REMOVAL) - 1)  # type: ignore[operator]
    for real, level in ((WHEEL_320, "ok"), (same, "ok"), (before_break, "warning")):
        assert commit_verdict(rules, Version("2.6.0"), real, pin, build).level == level
        assert commit_verdict(rules, Version("2.6.0"), real[:8], pin, build).level == level
        forged = commit_verdict(rules, Version("2.6.0"), real[:8] + "0" * 32, pin, build)
        assert forged.level == "error" and f"shares its first 8 hex digits with {real}" in forged.reason


@pytest.mark.parametrize("target", TARGETS)
def test_an_older_cut_of_the_right_branch_is_named(
    rules: Ruleset, work: Path, capsys: pytest.CaptureFixture[str], target: str
) -> None:
    assert rules.history is not None
    assert rules.history.branch_of("35c6c7c6") == "release/3.2.x"
    run, verdicts = _check(capsys, work, "2.6.0", "3.2.0+git35c6c7c6", target)
    assert (run.code, run.out) == (0, "")
    assert "TP011" in run.err and "release/3.2.x, 9 commits before the PyPI wheel's commit" in run.err
    assert [v["level"] for v in verdicts] == ["warning"]
    strict, _ = _check(capsys, work, "2.6.0", "3.2.0+git35c6c7c6", target, "--strict")
    assert strict.code == 1


@pytest.mark.parametrize("target", TARGETS)
def test_another_release_branch_fails(
    rules: Ruleset, work: Path, capsys: pytest.CaptureFixture[str], target: str
) -> None:
    wheel_331 = rules.build_for("triton", Version("3.3.1"))
    assert wheel_331 is not None
    run, _ = _check(capsys, work, "2.6.0", f"3.2.0+git{wheel_331.short}", target)
    assert run.code == 1 and "a commit of another release branch: release/3.3.x (3.3.1)" in run.out


def test_main_before_the_break_is_a_warning_that_says_where(
    rules: Ruleset, work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert rules.history is not None
    start = rules.history.index_on("main", REMOVAL)
    assert start is not None
    commit = rules.history.commit_at("main", start - 2)
    run, _ = _check(capsys, work, "2.6.0", f"3.2.0+git{commit}", TARGETS[0])
    assert run.code == 0 and "a main commit, not a release cut" in run.err
    assert "2 commits before the break 67dc6270 [main-attrsdescriptor-removed]" in run.err


def test_a_nightly_is_judged_against_its_release_with_a_warning(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run, verdicts = _check(capsys, work, "2.8.0.dev20250601", "3.4.0+git11ec6354", TARGETS[1])
    assert run.code == 0 and "is a nightly, judged against the 2.8.0 release" in run.err
    assert [v["level"] for v in verdicts] == ["warning"]


@pytest.mark.parametrize("name", ["triton", "pytorch-triton"])
def test_a_nightlys_triton_after_the_break_fails_under_either_name(
    work: Path, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    """The incident's build under the name nightlies require: pytorch-triton is built from
    Triton's source too, so the commit is judged (and known bad) whatever the distribution."""
    path = work / "c.txt"
    path.write_text(f"torch==2.6.0.dev20241230+cu126\n{name}==3.2.0+git23753f4f\n")
    run = tripin(capsys, "check", str(path), "--target", "linux-x86_64-cp312-cu126")
    assert run.code == 1 and "TP002" in run.out and "TP003" in run.out, run.out + run.err
    assert "380 commits after the breaking commit 67dc6270" in run.out
    if name == "pytorch-triton":  # the remedy: torch's own pytorch-triton, from the nightly index
        assert "fix: install the pytorch-triton torch 2.6.0.dev20241230+cu126 requires: pip install --pre " in run.out
    path.write_text(f"torch==2.6.0.dev20241230+cu126\npytorch-triton==3.2.0+git{WHEEL_320[:8]}\n")
    run = tripin(capsys, "check", str(path), "--target", "linux-x86_64-cp312-cu126")
    assert run.code == 0 and "TP008 no nightly rule covers" in run.err  # a commit it accepts: not judged further


def test_a_release_the_history_has_no_commit_for_cannot_be_judged(
    rules: Ruleset, work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert rules.build_for("triton", Version("3.8.0")) is None  # unknown: see rules/triton.toml
    assert rules.history is not None and rules.history.branch_of("10f6be36") == "release/3.8.x"
    run, _ = _check(capsys, work, "2.14.0", "3.8.0+git10f6be36", TARGETS[1])
    assert run.code == 0 and "no accepted commit known on it" in run.err


def test_gits_seven_hex_abbreviation_is_placed_too(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run, verdicts = _check(capsys, work, "2.6.0", "3.2.0+gite101b08", TARGETS[1])
    assert run.code == 0 and [v["level"] for v in verdicts] == ["ok"]

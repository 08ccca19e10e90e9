from __future__ import annotations

import re
from pathlib import Path

import pytest
from packaging.version import Version

from tripin.errors import RulesetError
from tripin.rules import load_ruleset
from tripin.targets import parse_target

FIXTURES = Path(__file__).parent / "rules"


@pytest.mark.parametrize(
    ("fixture", "line", "message"),
    [
        ("unknown-key.toml", 8, "unknown key 'comit' in [[build]]"),
        ("bad-commit.toml", 8, "'commit' is not a full 40-hex lowercase commit id"),
        ("bad-marker.toml", 6, "'marker' is not a PEP 508 marker"),
        ("bad-specifier.toml", 5, "'torch' is not a PEP 440 version specifier"),
        ("overlap.toml", 12, "overlaps pin 'torch-2.6.0/linux-x86_64'"),
        ("bad-toml.toml", 5, "invalid TOML"),
        ("unknown-table.toml", 3, "unknown key 'pins'"),
        ("bad-status.toml", 9, "'status' must be one of verified, matched, candidate"),
        ("http-source.toml", 8, "'source' is not an https URL"),
        ("bad-break-commit.toml", 8, "'commit' is not a full 40-hex lowercase commit id"),
        ("bad-pin-status.toml", 10, "'status' must be one of verified, candidate"),
    ],
)
def test_loader_rejects_with_file_and_line(fixture: str, line: int, message: str) -> None:
    with pytest.raises(RulesetError) as info:
        load_ruleset([FIXTURES / fixture])
    text = str(info.value)
    assert text.startswith(f"{FIXTURES / fixture}:{line}: "), text
    assert message in text
    assert "\n" not in text


def test_shipped_rules_cover_every_torch_release_from_2_0() -> None:
    rules = load_ruleset()
    torch_versions = {Version(p.id.split("/")[0].removeprefix("torch-")) for p in rules.pins}
    assert min(torch_versions) == Version("2.0.0")
    for pin in rules.pins:
        assert pin.source.startswith("https://"), pin.id
    for build in rules.builds:
        assert re.fullmatch(r"[0-9a-f]{40}", build.commit)
        assert build.status in {"verified", "matched", "candidate"}
        assert rules.recipe_for(build.package, build.version) is not None, build.id


@pytest.mark.parametrize(
    ("torch", "target", "package", "version", "provides"),
    [
        ("2.6.0", "linux-x86_64-cp312", "triton", "3.2.0", "metadata"),
        ("2.6.0", "linux-aarch64-cp312", "triton", "3.2.0", "source-build"),
        ("2.9.0", "linux-aarch64-cp312", "triton", "3.5.0", "wheel"),
        ("2.2.1", "linux-x86_64-cp311", "triton", "2.2.0", "metadata"),
        ("2.14.0", "linux-aarch64-cp312", "triton", "3.8.0", "metadata"),
    ],
)
def test_pins_answer_per_platform(torch: str, target: str, package: str, version: str, provides: str) -> None:
    pin = load_ruleset().pin_for(Version(torch), parse_target(target).environment())
    assert pin is not None
    assert (pin.package, str(pin.version), pin.provides) == (package, version, provides)


@pytest.mark.parametrize(
    ("torch", "target"),
    [("2.6.0", "macos-arm64-cp312"), ("2.6.0", "windows-x86_64-cp312"), ("2.2.1", "linux-x86_64-cp312")],
)
def test_no_triton_where_torch_has_none(torch: str, target: str) -> None:
    assert load_ruleset().pin_for(Version(torch), parse_target(target).environment()) is None


def test_source_build_version_names_its_commit() -> None:
    rules = load_ruleset()
    build = rules.build_for("triton", Version("3.2.0"))
    assert build is not None and build.commit == "9641643da6c52000c807b5eeed05edaec4402a67"
    assert str(rules.source_version(build)) == "3.2.0+git9641643d"
    recipe = rules.recipe_for("triton", Version("3.2.0"))
    assert recipe is not None and recipe.subdirectory == "python"


def test_known_bad_attrsdescriptor_rules() -> None:
    bad = {b.id: b for b in load_ruleset().bad}
    removed = bad["torch-2.6-attrsdescriptor-triton-3.3"]
    assert removed.triton is not None and removed.triton.contains("3.3.0")
    assert removed.torch.contains("2.6.0") and removed.torch.contains("2.6.0.dev20241230", prereleases=True)
    assert "AttrsDescriptor" in removed.symptom
    main_build = bad["torch-2.6-attrsdescriptor-triton-main-3.2.0-git"]
    assert "23753f4f24eaf54afbd224a8fa810f1167082807" in main_build.commits


def test_every_source_build_pin_has_a_commit_and_a_recipe() -> None:
    rules = load_ruleset()
    needing = [p for p in rules.pins if p.provides == "source-build"]
    assert len(needing) >= 18  # linux-aarch64 for every torch release from 2.0.0 to 2.8.0
    for pin in needing:
        build = rules.build_for(pin.package, pin.version)
        assert build is not None, pin.id
        assert rules.recipe_for(build.package, build.version) is not None, pin.id


@pytest.mark.parametrize(
    ("variant", "package", "applies", "status"),
    [
        ("cu126", "triton", "release", "candidate"),
        ("cu128", "triton", "release", "candidate"),
        ("cpu", "none", "none", "candidate"),
        ("rocm6.2", "pytorch-triton-rocm", "unknown", "unknown"),
        ("xpu", "pytorch-triton-xpu", "unknown", "unknown"),
    ],
)
def test_variant_rules(variant: str, package: str, applies: str, status: str) -> None:
    rule = load_ruleset().variant_rule(variant)
    assert rule is not None
    assert (rule.package, rule.applies, rule.status) == (package, applies, status)
    assert rule.source.startswith("https://")


def test_pypi_build_of_aarch64_torch_is_recorded_per_release() -> None:
    """PyPI's aarch64 torch 2.0-2.10 are CPU builds (each pin cites that wheel's metadata); 2.11
    on is covered by the metadata pin, which names Triton for all of Linux."""
    ruleset = load_ruleset()
    arm = parse_target("linux-aarch64-cp312").environment()
    for torch in ("2.0.0", "2.6.0", "2.9.1", "2.10.0"):
        pin = ruleset.pin_for(Version(torch), arm)
        assert pin is not None and pin.cpu_on_pypi, torch
        assert "aarch64.whl.metadata" in pin.pypi_build_source and f"torch-{torch}-" in pin.pypi_build_source
    newer = ruleset.pin_for(Version("2.11.0"), arm)
    assert newer is not None and newer.provides == "metadata" and not newer.cpu_on_pypi


def test_a_cpu_build_needs_no_triton() -> None:
    from tripin.judge import Pair, judge_pair

    ruleset = load_ruleset()
    arm = parse_target("linux-aarch64-cp312").environment()

    def codes(torch: str, gpu: bool | None) -> set[str]:
        pair = Pair(
            torch=Version(torch),
            triton=None,
            triton_version=None,
            commit=None,
            commit_from="",
            environment=arm,
            target="linux-aarch64-cp312",
            gpu=gpu,
        )
        return {f.code for f in judge_pair(ruleset, pair)}

    assert codes("2.6.0", None) == set()  # PyPI's: a CPU build
    assert codes("2.6.0", True) == {"TP001"}  # doctor read CUDA in torch/version.py
    assert codes("2.6.0+cu126", None) == {"TP001"}  # a CUDA variant build

from __future__ import annotations

import pytest
from packaging.markers import Marker
from packaging.tags import Tag

from tripin.errors import TargetError
from tripin.targets import parse_target


@pytest.mark.parametrize(
    ("name", "machine", "sys_platform", "best", "accepts", "rejects"),
    [
        (
            "linux-x86_64-cp312",
            "x86_64",
            "linux",
            "cp312-cp312-manylinux_2_28_x86_64",
            "cp312-cp312-manylinux1_x86_64",
            "cp312-cp312-manylinux_2_34_x86_64",
        ),
        (
            "linux-aarch64-cp311",
            "aarch64",
            "linux",
            "cp311-cp311-manylinux_2_28_aarch64",
            "cp311-cp311-manylinux2014_aarch64",
            "cp312-cp312-manylinux2014_aarch64",
        ),
        (
            "macos-arm64-cp312",
            "arm64",
            "darwin",
            "cp312-cp312-macosx_14_0_arm64",
            "cp312-none-macosx_11_0_arm64",
            "cp312-cp312-macosx_15_0_arm64",
        ),
        ("windows-x86_64-cp312", "AMD64", "win32", "cp312-cp312-win_amd64", "py3-none-any", "cp312-cp312-win32"),
        (
            "musllinux-aarch64-cp39",
            "aarch64",
            "linux",
            "cp39-cp39-musllinux_1_2_aarch64",
            "cp39-abi3-musllinux_1_1_aarch64",
            "cp39-cp39-manylinux_2_17_aarch64",
        ),
    ],
)
def test_foreign_target_tags_and_markers(
    name: str, machine: str, sys_platform: str, best: str, accepts: str, rejects: str
) -> None:
    target = parse_target(name)
    env = target.environment()
    assert env["platform_machine"] == machine and env["sys_platform"] == sys_platform
    assert str(target.tags[0]) == best
    assert target.tag_rank(frozenset([Tag(*accepts.split("-"))])) is not None
    assert target.tag_rank(frozenset([Tag(*rejects.split("-"))])) is None
    assert target.marker.evaluate(env)


def test_manylinux_level_is_configurable() -> None:
    target = parse_target("linux-aarch64-cp312", glibc="2.35")
    assert str(target.tags[0]) == "cp312-cp312-manylinux_2_35_aarch64"


def test_markers_tell_targets_apart() -> None:
    x86, arm = parse_target("linux-x86_64-cp312"), parse_target("linux-aarch64-cp312")
    assert not Marker(str(x86.marker)).evaluate(arm.environment())
    assert Marker('platform_machine == "aarch64" and python_version >= "3.12"').evaluate(arm.environment())


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("linux-x86_64", "expected OS-ARCH-cpXY"),
        ("solaris-x86_64-cp312", "expected OS-ARCH-cpXY"),
        ("linux-ppc64le-cp312", "no architecture 'ppc64le' for linux"),
        ("linux-x86_64-cp38", "CPython 3.9 or later"),
        ("linux-x86_64-cp399", "no CPython 3.99"),  # a typo for cp39 or cp313, not a Python
        ("macos-arm64-cp312-cu126", "PyTorch builds only -cpu for macOS"),
        ("windows-x86_64-cp312-rocm6.2", "ROCm builds are for Linux"),
    ],
)
def test_bad_target_names(name: str, message: str) -> None:
    with pytest.raises(TargetError, match=message):
        parse_target(name)

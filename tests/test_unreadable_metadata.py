"""A release whose Requires-Dist cannot be read (mlflow 1.27.0's `scikit-learn (>=1.0.*)`) is
passed over where the resolution needs those requirements, as pip (24.1 on) and uv do: the next
release is tried, with one warning naming the one left, instead of the lock stopping."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from helpers import lock_args, read_toml, tripin
from indexserver import IndexServer, build_wheel

X86 = "linux-x86_64-cp312"
ARM = "linux-aarch64-cp312"
BAD = "foo (>=1.0.*)"  # `.*` only goes with == and !=: no parser reads it


def _index(make_index: object, tmp_path: Path) -> tuple[IndexServer, Callable[..., None]]:
    server: IndexServer = make_index()  # type: ignore[operator]

    def publish(name: str, version: str, *requires: str) -> None:
        server.publish(build_wheel(tmp_path / "w", name, version, requires_dist=requires))

    return server, publish


def _versions(work: Path) -> dict[str, str]:
    return {p["name"]: p["version"] for p in read_toml(work / "pylock.toml")["packages"]}


@pytest.mark.parametrize("line", [BAD, f"{BAD} ; extra == 'x'"])
def test_a_release_whose_requirements_cannot_be_read_is_passed_over_once(
    make_index: object, work: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path, line: str
) -> None:
    """pkg 2.0's line stopped the lock (exit 3 outside an extra, exit 1 for `pkg[x]`); pkg 1.0
    is locked instead, with one warning for both targets, however often the resolver looks."""
    server, publish = _index(make_index, tmp_path)
    publish("foo", "1.0")
    publish("pkg", "2.0", "foo", line)
    publish("pkg", "1.0", "foo ; extra == 'x'")
    run = tripin(capsys, *lock_args(server.simple_url, work / "c", X86, ARM, extra=["pkg[x]"]))
    assert run.code == 0, run.err
    assert _versions(work) == {"foo": "1.0", "pkg": "1.0"}
    warning = "pkg 2.0 passed over on every one of the 2 targets, its metadata is invalid: Requires-Dist "
    assert run.err.count("pkg 2.0 passed over") == 1, run.err
    assert warning + f"{line!r} cannot be read: " in run.err


def test_a_release_is_kept_where_only_an_extra_not_asked_for_is_unreadable(
    make_index: object, work: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    server, publish = _index(make_index, tmp_path)
    publish("foo", "1.0")
    publish("pkg", "2.0", "foo", f"{BAD} ; extra == 'x'")
    publish("pkg", "1.0")
    run = tripin(capsys, *lock_args(server.simple_url, work / "c", X86, extra=["pkg"]))
    assert run.code == 0, run.err
    assert _versions(work) == {"foo": "1.0", "pkg": "2.0"}
    assert "passed over" not in run.err


def test_the_parent_moves_back_when_the_release_it_needs_is_unreadable(
    make_index: object, work: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """app 2.0 needs pkg>=2, whose only release cannot be read: the resolver backtracks to
    app 1.0 and pkg 1.0, as it would from a release a requirement refuses."""
    server, publish = _index(make_index, tmp_path)
    publish("foo", "1.0")
    publish("pkg", "1.0", "foo")
    publish("pkg", "2.0", BAD)
    publish("app", "1.0", "pkg")
    publish("app", "2.0", "pkg>=2")
    run = tripin(capsys, *lock_args(server.simple_url, work / "c", X86, extra=["app"]))
    assert run.code == 0, run.err
    assert _versions(work) == {"app": "1.0", "foo": "1.0", "pkg": "1.0"}
    assert run.err.count("pkg 2.0 passed over") == 1, run.err


@pytest.mark.parametrize("extra", ["", "[x]"])
def test_no_readable_release_left_is_a_one_line_error(
    make_index: object, work: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path, extra: str
) -> None:
    """The metadata may be hostile: the escape character in its line is shown escaped."""
    server, publish = _index(make_index, tmp_path)
    publish("foo", "1.0")
    line = f"{BAD} \x1b[31m" + (" ; extra == 'x'" if extra else "")
    publish("pkg", "2.0", line)
    run = tripin(capsys, *lock_args(server.simple_url, work / "c", X86, extra=[f"pkg{extra}"]))
    assert run.code == 1, run.err
    lines = run.err.strip().splitlines()
    assert lines[0].startswith("tripin: error:") and "Traceback" not in run.err, run.err
    assert "no version of pkg satisfies" in lines[0]
    assert f"(pkg 2.0: passed over, Requires-Dist {line!r} cannot be read: .* suffix can only" in lines[0]
    assert "\x1b" not in run.err and "\\x1b" in run.err
    assert not (work / "pylock.toml").exists() and not (work / "constraints.txt").exists()

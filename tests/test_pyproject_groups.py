"""What tripin reads from a pyproject.toml's [project] and groups, as pip and uv read it: a
requirement moved between the main ones and a group is an edit `check` sees, dynamic
dependencies are refused rather than dropped, a self-reference names extras only, and names
that normalize alike are refused. Errors are one line naming pyproject.toml."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from helpers import project_dir, read_toml, tripin
from indexserver import IndexServer, build_wheel

X86 = "linux-x86_64-cp312"
HEAD = '[project]\nname = "proj"\nversion = "0.1"\n'


@pytest.fixture
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project directory as cwd, with no index or tripin setting from the environment."""
    return project_dir(tmp_path, monkeypatch)


@pytest.fixture
def small(make_index: Callable[..., IndexServer], tmp_path: Path) -> IndexServer:
    server = make_index()
    for name in ("six", "idna", "attrs"):
        server.publish(build_wheel(tmp_path / "w", name, "1.0", "py3-none-any"))
    return server


def _write(work: Path, text: str, index: IndexServer | None = None) -> None:
    tool = f'[tool.tripin]\ntargets = ["{X86}"]\n' + (f'index-url = "{index.simple_url}"\n' if index else "")
    (work / "pyproject.toml").write_text(text + tool)


def _one_error(run: object, *parts: str) -> None:
    code, err = run.code, run.err  # type: ignore[attr-defined]
    assert code == 2, err
    assert err.count("\n") == 1 and err.startswith("tripin: error: pyproject.toml"), err
    for part in parts:
        assert part in err, err


def test_check_sees_a_requirement_moved_out_of_a_group(
    work: Path, small: IndexServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """idna only in `dev` is marked `'dev' in dependency_groups`; moved to the main requirements
    it is not: the lock changes, so the pyproject digest must."""
    _write(work, HEAD + 'dependencies = ["six"]\n[dependency-groups]\ndev = ["idna"]\n', small)
    (work / "pyproject.toml").write_text((work / "pyproject.toml").read_text() + 'groups = ["dev"]\n')
    assert tripin(capsys, "lock", "-q").code == 0
    assert tripin(capsys, "check").code == 0
    text = (work / "pyproject.toml").read_text()
    (work / "pyproject.toml").write_text(
        text.replace('["six"]', '["six", "idna"]').replace('dev = ["idna"]', "dev = []")
    )
    assert tripin(capsys, "lock", "--check").code == 1  # the lock would change
    run = tripin(capsys, "check")
    assert run.code == 1 and "TP005 pyproject.toml changed since the lock was written" in run.out, run.out
    assert tripin(capsys, "lock", "-q").code == 0
    assert tripin(capsys, "check").code == 0


def test_a_lock_without_groups_keeps_its_digest(
    work: Path, small: IndexServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """Locks written before this change stay current: the digest of a lock of no group and no
    [tool.uv] index setting is computed as it was."""
    from tripin.config import pyproject_digest

    _write(work, HEAD + 'dependencies = ["six", "idna"]\n', small)
    assert tripin(capsys, "lock", "-q").code == 0
    tool = read_toml(work / "pyproject.toml")["tool"]["tripin"]
    recorded = read_toml(work / "pylock.toml")["tool"]["tripin"]["pyproject-digest"]
    assert recorded == pyproject_digest(["six", "idna"], tool)


@pytest.mark.parametrize("group", [True, False])
def test_dynamic_dependencies_are_refused(
    work: Path, small: IndexServer, capsys: pytest.CaptureFixture[str], group: bool
) -> None:
    _write(
        work,
        HEAD
        + 'dynamic = ["dependencies"]\n[tool.setuptools.dynamic]\ndependencies = {file = ["requirements.in"]}\n'
        + ('[dependency-groups]\ndev = ["idna"]\n' if group else ""),
        small,
    )
    (work / "requirements.in").write_text("six\n")
    _one_error(tripin(capsys, "lock", *(["--group", "dev"] if group else [])), ":4: [project].dependencies are dynamic")
    assert not (work / "pylock.toml").exists()
    run = tripin(capsys, "lock", "-q", "requirements.in")  # given as requirements: locked
    assert run.code == 0, run.err
    assert {p["name"] for p in read_toml(work / "pylock.toml")["packages"]} == {"six"}


def test_no_project_table_is_named(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _write(work, "")
    _one_error(tripin(capsys, "lock"), "has no [project] table")
    _write(work, HEAD)
    _one_error(tripin(capsys, "lock"), "[project].dependencies is empty")


def test_a_self_reference_names_extras_only(work: Path, small: IndexServer, capsys: pytest.CaptureFixture[str]) -> None:
    """`proj[dev]` inside an extra is proj's extra dev; the dependency group dev is another
    thing. proj has no such extra: uv and pip warn and add nothing, and so does tripin."""
    _write(
        work,
        HEAD + 'dependencies = ["six"]\n[project.optional-dependencies]\ngpu = ["attrs", "proj[dev]"]\n'
        '[dependency-groups]\ndev = ["idna"]\n',
        small,
    )
    run = tripin(capsys, "lock", "--group", "gpu")
    assert run.code == 0, run.err
    names = {p["name"]: p.get("marker") for p in read_toml(work / "pylock.toml")["packages"]}
    assert names == {"six": None, "attrs": "'gpu' in extras"}
    assert run.err == (
        "warning: pyproject.toml: project.optional-dependencies.gpu: proj[dev]: proj has no extra 'dev'; ignored\n"
    )


@pytest.mark.parametrize(
    ("table", "message"),
    [
        (
            '[dependency-groups]\ndev = ["idna"]\nDev = ["six"]\n',
            ":7: duplicate dependency group: dependency-groups has 'dev' and 'Dev'",
        ),
        ('[project.optional-dependencies]\nGPU = ["idna"]\ngpu = ["six"]\n', ":7: duplicate extra"),
    ],
)
def test_names_that_normalize_alike_are_refused(
    work: Path, capsys: pytest.CaptureFixture[str], table: str, message: str
) -> None:
    _write(work, HEAD + 'dependencies = ["six"]\n' + table)
    for command in (["lock", "--group", "dev"], ["lock"], ["config"]):
        _one_error(tripin(capsys, *command), message)


def test_an_extra_and_a_group_of_one_name_are_refused_where_named(
    work: Path, small: IndexServer, capsys: pytest.CaptureFixture[str]
) -> None:
    _write(
        work,
        HEAD
        + 'dependencies = ["six"]\n[project.optional-dependencies]\nDev = ["idna"]\n'
        + '[dependency-groups]\ndev = ["attrs"]\n',
        small,
    )
    run = tripin(capsys, "lock", "--group", "dev")
    assert run.code == 2 and run.err.count("\n") == 1, run.err
    assert "--group dev: 'dev' names both project.optional-dependencies.Dev and dependency-groups.dev" in run.err
    assert tripin(capsys, "lock", "-q").code == 0  # not asked for: no question which one


def test_group_errors_name_the_chain_and_the_group(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _write(
        work,
        HEAD + 'dependencies = ["six"]\n[dependency-groups]\na = [{include-group = "b"}]\nb = [{include-group = "a"}]\n'
        'c = ["idna", {include-group = "nope"}]\nd = [{include-group = "x"}]\n'
        '[project.optional-dependencies]\nx = ["six"]\n',
    )
    _one_error(tripin(capsys, "lock", "--group", "a"), ":6: dependency-groups.a includes itself: a -> b -> a")
    _one_error(tripin(capsys, "lock", "--group", "c"), ":8: dependency-groups.c[1] includes group 'nope'")
    # PEP 735: include-group names a dependency group, not an extra
    _one_error(tripin(capsys, "lock", "--group", "d"), "dependency-groups.d[0] includes group 'x'")


@pytest.mark.parametrize("key", ["lock", "index-url", "constraints", "exclude-newer", "macos"])
def test_empty_strings_in_tool_tripin_are_refused(work: Path, capsys: pytest.CaptureFixture[str], key: str) -> None:
    _write(work, HEAD + 'dependencies = ["six"]\n')
    (work / "pyproject.toml").write_text((work / "pyproject.toml").read_text() + f'{key} = ""\n')
    for command in (["lock"], ["config"]):
        _one_error(tripin(capsys, *command), f":7: tool.tripin.{key} must not be empty")


@pytest.mark.parametrize(
    ("key", "what", "example"),
    [("macos", "macOS", "14.0"), ("manylinux", "manylinux glibc", "2.28"), ("musllinux", "musllinux", "1.2")],
)
def test_a_bad_platform_level_names_where_it_came_from(
    work: Path, capsys: pytest.CaptureFixture[str], key: str, what: str, example: str
) -> None:
    _write(work, HEAD + 'dependencies = ["six"]\n')
    (work / "pyproject.toml").write_text((work / "pyproject.toml").read_text() + f'{key} = "14"\n')
    expected = f"invalid {what} level {{!r}}: expected MAJOR.MINOR, e.g. {example}"
    _one_error(tripin(capsys, "lock"), "pyproject.toml [tool.tripin]: " + expected.format("14"))
    run = tripin(capsys, "lock", f"--{key}", "x1")  # the command line's value wins, and is blamed
    assert run.code == 2 and run.err == f"tripin: error: command line: {expected.format('x1')}\n", run.err

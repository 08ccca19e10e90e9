"""`tripin check uv.lock`: a lock the real `uv lock` writes against the local index, and hand-edited
variants of it (a Triton git source at a bad commit, a dev group, broken files)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import tomlkit
from helpers import tripin
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from indexserver import IndexServer
from packaging.version import Version

from tripin.errors import LockError
from tripin.targets import parse_target
from tripin.uvlock import Selection, read_uv_lock

X86, ARM = "linux-x86_64-cp312", "linux-aarch64-cp312"
GOOD_320 = "9641643da6c52000c807b5eeed05edaec4402a67"  # rules/triton.toml: the release/3.2.x tip torch 2.6 runs
BAD_MAIN = "23753f4f24eaf54afbd224a8fa810f1167082807"  # rules/known-bad.toml: a main build without AttrsDescriptor
REPO = "https://github.com/triton-lang/triton"

PYPROJECT = """\
[project]
name = "demo"
version = "0.1.0"
requires-python = ">=3.11"
dependencies = ["torch==2.6.0"]

[tool.uv]
package = false
environments = [
    "python_version == '3.12' and sys_platform == 'linux' and platform_machine == 'x86_64'",
    "python_version == '3.12' and sys_platform == 'linux' and platform_machine == 'aarch64'",
]
"""


@pytest.fixture(scope="module")
def uv_lock(index_server: IndexServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """uv.lock as the real uv writes it for `torch==2.6.0` on Linux x86_64 and aarch64."""
    from uv import find_uv_bin

    project = tmp_path_factory.mktemp("uvproject")
    (project / "pyproject.toml").write_text(PYPROJECT)
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "TMPDIR", "LANG")}
    env = {
        **keep,
        "UV_NO_CONFIG": "1",
        "UV_CACHE_DIR": str(project / "uv-cache"),
        "UV_PYTHON_DOWNLOADS": "never",
        "UV_INDEX_URL": "",
        "UV_EXTRA_INDEX_URL": "",
    }
    index_server.advertise_metadata = True  # uv reads metadata only where an index advertises it
    try:
        result = subprocess.run(
            [find_uv_bin(), "lock", "--index-url", index_server.simple_url, "--python", sys.executable],
            cwd=project,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
    finally:
        index_server.advertise_metadata = False
    assert result.returncode == 0, result.stderr
    yield (project / "uv.lock").read_text()


@pytest.fixture
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TRIPIN_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path


def _line_of(text: str, needle: str) -> int:
    """The `[[package]]` line of the entry that starts with `needle`."""
    lines = text.splitlines()
    at = next(i for i, line in enumerate(lines) if line == needle)
    return next(i for i in range(at, -1, -1) if lines[i] == "[[package]]") + 1


def _with_git_triton(text: str, commit: str, version: str, *, group: bool = False) -> str:
    """The edit `[tool.uv.sources] triton = { git = ..., rev = <commit>, marker = aarch64 }` makes
    (by hand, so the test needs no network and no build): a second triton entry with its git source,
    and dependencies that now name which triton they mean, as uv writes them for an ambiguous name."""
    registry = re.search(r'name = "triton"\nversion = "3.2.0"\nsource = (\{ registry = "[^"]+" \})', text)
    assert registry is not None
    git = f'{{ git = "{REPO}?subdirectory=python&rev={commit}#{commit}" }}'
    text = text.replace(
        '{ name = "triton", marker = "platform_machine == \'x86_64\'" }',
        f'{{ name = "triton", version = "3.2.0", source = {registry[1]}, marker = "platform_machine == \'x86_64\'" }}',
    )
    edge = f'{{ name = "triton", version = "{version}", source = {git}, marker = "platform_machine == \'aarch64\'" }}'
    if group:
        text = text.replace(
            "\n[package.metadata]\n",
            f"\n[package.dev-dependencies]\ndev = [\n    {edge},\n]\n\n[package.metadata]\n",
            1,
        )
    else:
        text = text.replace('    { name = "torch" },\n]\n', f'    {{ name = "torch" }},\n    {edge},\n]\n', 1)
    return text + f'\n[[package]]\nname = "triton"\nversion = "{version}"\nsource = {git}\n'


def test_real_uv_lock_is_judged_per_target(uv_lock: str, work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (work / "uv.lock").write_text(uv_lock)
    lock = read_uv_lock(work / "uv.lock")
    names = {t: {p.name: str(p.version) for p in lock.installs(parse_target(t))} for t in (X86, ARM)}
    assert names[X86]["torch"] == "2.6.0" and names[X86]["triton"] == "3.2.0" and "nvidia-cudnn-cu12" in names[X86]
    assert names[ARM]["torch"] == "2.6.0" and "triton" not in names[ARM] and "nvidia-cudnn-cu12" not in names[ARM]
    # uv locks what torch's metadata says: no Triton on aarch64, where PyPI's torch 2.6.0 is a CPU
    # build that never uses one (rules/torch.toml pypi-build = "cpu"); x86_64 has the 3.2.0 wheel
    run = tripin(capsys, "check", "uv.lock")
    assert (run.code, run.out, run.err) == (0, "", "")
    assert tripin(capsys, "check", "uv.lock", "--target", X86).code == 0


def test_git_source_at_the_pinned_commit_passes(uv_lock: str, work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (work / "uv.lock").write_text(_with_git_triton(uv_lock, GOOD_320, "3.2.0+git9641643d"))
    run = tripin(capsys, "check", "uv.lock")
    assert (run.code, run.out, run.err) == (0, "", "")


def test_fix_leaves_uv_lock_to_uv(uv_lock: str, work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = _with_git_triton(uv_lock, BAD_MAIN, "3.2.0+git23753f4f")
    (work / "uv.lock").write_text(text)
    run = tripin(capsys, "check", "--fix", "uv.lock")
    assert run.code == 1 and (work / "uv.lock").read_text() == text
    assert "not fixed uv.lock:" in run.err and "uv lock" in run.err


def test_git_source_at_a_bad_commit(uv_lock: str, work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = _with_git_triton(uv_lock, BAD_MAIN, "3.2.0+git23753f4f")
    (work / "uv.lock").write_text(text)
    run = tripin(capsys, "check", "uv.lock")
    assert run.code == 1
    line = text.splitlines().index(f'source = {{ git = "{REPO}?subdirectory=python&rev={BAD_MAIN}#{BAD_MAIN}" }}')
    codes = [(out.split(":")[1], out.split()[1]) for out in run.out.splitlines()]
    assert codes == [(str(line - 2), "TP002"), (str(line - 2), "TP003")]  # the git entry's [[package]] line
    assert f"built from commit {BAD_MAIN} (git source): error: a main commit" in run.out
    assert f"on {ARM}" in run.out and X86 not in run.out and "AttrsDescriptor" in run.out


@pytest.mark.parametrize(
    ("source", "code"),
    [
        ('{ url = "https://evil.example/triton-3.2.0.tar.gz" }', 1),  # an sdist: whatever it holds
        ('{ path = "wheels/triton-3.2.0+git9641643d-cp312-cp312-linux_aarch64.whl" }', 0),  # its name's label
    ],
)
def test_a_triton_from_a_url_or_path_is_judged_by_what_it_names(
    uv_lock: str, work: Path, capsys: pytest.CaptureFixture[str], source: str, code: int
) -> None:
    git = f'{{ git = "{REPO}?subdirectory=python&rev={GOOD_320}#{GOOD_320}" }}'
    text = _with_git_triton(uv_lock, GOOD_320, "3.2.0+git9641643d").replace(git, source)
    assert source in text
    (work / "uv.lock").write_text(text)
    run = tripin(capsys, "check", "uv.lock")
    assert run.code == code, run.out + run.err
    assert ("TP013 triton on linux-aarch64-cp312 comes from the archive 'triton-3.2.0.tar.gz'" in run.out) == (
        code == 1
    )


def test_uv_reads_the_edited_lock_as_check_does(uv_lock: str, work: Path) -> None:
    """The hand edit is a uv.lock uv itself reads: `uv export --frozen` (no index, no resolution)
    installs the git build on aarch64 only, as check's walk does."""
    from uv import find_uv_bin

    (work / "pyproject.toml").write_text(PYPROJECT)
    (work / "uv.lock").write_text(_with_git_triton(uv_lock, BAD_MAIN, "3.2.0+git23753f4f"))
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "TMPDIR", "LANG")}
    env = {**keep, "UV_NO_CONFIG": "1", "UV_CACHE_DIR": str(work / "uv-cache"), "UV_PYTHON_DOWNLOADS": "never"}
    result = subprocess.run(
        [find_uv_bin(), "export", "--frozen", "--no-hashes", "--python", sys.executable],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    tritons = sorted(line for line in result.stdout.splitlines() if line.startswith("triton"))
    assert tritons == [
        "triton @ git+https://github.com/triton-lang/triton@"
        f"{BAD_MAIN}#subdirectory=python ; python_full_version == '3.12.*' and platform_machine == 'aarch64' "
        "and sys_platform == 'linux'",
        "triton==3.2.0 ; python_full_version == '3.12.*' and platform_machine == 'x86_64' and sys_platform == 'linux'",
    ]
    lock = read_uv_lock(work / "uv.lock")
    walked = {
        t: [(p.version, p.commit) for p in lock.installs(parse_target(t)) if p.name == "triton"] for t in (X86, ARM)
    }
    assert walked == {X86: [(Version("3.2.0"), None)], ARM: [(Version("3.2.0+git23753f4f"), BAD_MAIN)]}


def test_a_dev_group_is_judged_too(uv_lock: str, work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = _with_git_triton(uv_lock, BAD_MAIN, "3.2.0+git23753f4f", group=True)
    (work / "uv.lock").write_text(text)
    lock = read_uv_lock(work / "uv.lock")
    dev = Selection(kind="group", name="dev", project="demo")
    assert lock.selections() == [Selection(), dev]
    assert "triton" not in {p.name for p in lock.installs(parse_target(ARM))}
    assert {p.commit for p in lock.installs(parse_target(ARM), dev) if p.name == "triton"} == {BAD_MAIN}
    run = tripin(capsys, "check", "uv.lock")
    assert run.code == 1
    tp002 = next(line for line in run.out.splitlines() if " TP002 " in line)
    assert "(uv sync --group dev); fix:" in tp002
    assert "TP001" not in run.out  # without the group no Triton, and a CPU torch needs none


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            lambda t: t.replace("version = 1\n", "version = 2\n", 1),
            "uv.lock:1: not a uv.lock tripin can read: version = 2 (uv writes 1)",
        ),
        (lambda t: t + "[[package]\n", "uv.lock:{end}: invalid TOML"),
        (
            lambda t: t.replace('name = "triton"\nversion = "3.2.0"', 'name = "triton"\nversion = "three"'),
            "uv.lock:{triton}: triton: invalid version 'three'",
        ),
        (
            lambda t: t.replace(
                '{ name = "triton", marker = "platform_machine == \'x86_64\'" }', '{ name = "tritton" }'
            ),
            "uv.lock:{torch}: torch: dependencies: no [[package]] matches the dependency tritton",
        ),
        (
            lambda t: t.replace("marker = \"platform_machine == 'x86_64'\"", 'marker = "platform_machine = 1"', 1),
            "uv.lock:{torch}: torch: dependencies: nvidia-cublas-cu12: marker: invalid marker",
        ),
        (
            lambda t: (
                t + f'\n[[package]]\nname = "triton"\nversion = "3.2.0"\nsource = {{ git = "{REPO}?rev=main" }}\n'
            ),
            "does not end in #<40-hex commit>",
        ),
        (
            lambda t: t.replace('source = { virtual = "." }', 'source = { registry = "x" }'),
            "uv.lock:1: no project in the lock",
        ),
        (
            lambda t: t.replace('name = "torch"\nversion', "name = 7\nversion"),
            "uv.lock:{torch}: name: expected a string, got int",
        ),
    ],
)
def test_broken_uv_lock_is_one_line_exit_2(
    uv_lock: str, work: Path, capsys: pytest.CaptureFixture[str], edit: object, message: str
) -> None:
    text = edit(uv_lock)  # type: ignore[operator]
    (work / "uv.lock").write_text(text)
    run = tripin(capsys, "check", "uv.lock")
    expected = message.format(
        end=len(text.splitlines()),
        triton=_line_of(uv_lock, 'name = "triton"'),
        torch=_line_of(uv_lock, 'name = "torch"'),
    )
    assert run.code == 2 and run.out == "", run.err
    assert expected in run.err and len(run.err.strip().splitlines()) == 1 and "Traceback" not in run.err


def test_uv_lock_and_constraints_must_agree(uv_lock: str, work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (work / "uv.lock").write_text(uv_lock)
    (work / "constraints.txt").write_text("torch==2.5.1\n")
    run = tripin(capsys, "check", "uv.lock", "constraints.txt", "--target", X86)
    assert run.code == 1
    assert f"constraints.txt:1: TP007 torch==2.5.1 on {X86}, but uv.lock locks 2.6.0" in run.out


_SCALARS = st.one_of(st.text(max_size=6), st.integers(), st.booleans())
_NOISE = st.recursive(
    _SCALARS,
    lambda inner: st.lists(inner, max_size=2) | st.dictionaries(st.text(max_size=4), inner, max_size=2),
    max_leaves=6,
)


def _mostly(clean: st.SearchStrategy[object]) -> st.SearchStrategy[object]:
    """Well-formed values nineteen times in twenty, so that walks happen, and noise the rest."""
    return st.one_of(*[clean] * 19, _NOISE)


_NAMES = _mostly(st.sampled_from(["demo", "torch", "triton", "Triton_"]))
_VERSIONS = _mostly(st.sampled_from(["0.1.0", "2.6.0", "3.2.0", "3.2.0+git23753f4f", "not a version"]))
_SOURCES = _mostly(
    st.sampled_from(
        [
            {"virtual": "."},
            {"editable": "."},
            {"registry": "https://pypi.org/simple"},
            {"git": f"{REPO}?subdirectory=python&rev={BAD_MAIN}#{BAD_MAIN}"},
            {"git": f"{REPO}?rev=main"},
        ]
    )
)
_MARKERS = _mostly(
    st.sampled_from(
        ["platform_machine == 'aarch64'", "extra == 'extra-4-demo-gpu'", "python_full_version < 'x'", "os_name ==="]
    )
)
_DEP = st.fixed_dictionaries(
    {"name": _NAMES},
    optional={
        "version": _VERSIONS,
        "source": _SOURCES,
        "marker": _MARKERS,
        "extra": _mostly(st.lists(st.sampled_from(["gpu", "dev"]), max_size=2)),
    },
)
_DEPS = _mostly(st.lists(_DEP, max_size=3))
_PACKAGE = st.fixed_dictionaries(
    {"name": st.sampled_from(["demo", "torch", "triton", "Triton_"])},  # noise here would end most reads at once
    optional={
        "version": _VERSIONS,
        "source": _SOURCES,
        "dependencies": _DEPS,
        "optional-dependencies": _mostly(st.dictionaries(st.sampled_from(["gpu", "dev"]), _DEPS, max_size=2)),
        "dev-dependencies": _mostly(st.dictionaries(st.sampled_from(["gpu", "dev"]), _DEPS, max_size=2)),
    },
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(packages=st.lists(_PACKAGE, max_size=5), manifest=st.none() | _NOISE | st.lists(_NAMES, max_size=2))
def test_any_shape_is_read_or_refused_in_one_line(
    tmp_path: Path, packages: list[dict[str, object]], manifest: object
) -> None:
    """Whatever a hostile uv.lock holds, reading it and walking it for a target either works or
    is a LockError naming the file: never another exception."""
    path = tmp_path / "uv.lock"
    data = {"version": 1, "package": packages} | ({} if manifest is None else {"manifest": {"members": manifest}})
    path.write_text(tomlkit.dumps(data))
    try:
        lock = read_uv_lock(path)
        for selection in lock.selections():
            lock.installs(parse_target(ARM), selection)
    except LockError as exc:
        assert str(exc).startswith(f"{path}:") and "\n" not in str(exc)


def test_a_registry_triton_with_an_sdist_fails(uv_lock: str, work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """uv builds the sdist where no wheel fits the machine: for Triton, whatever the sdist holds."""
    at = uv_lock.index('name = "triton"\nversion = "3.2.0"\n')
    end = uv_lock.index("\n[[package]]", at)
    sdist = 'sdist = { url = "https://evil.example/triton-3.2.0.tar.gz", hash = "sha256:' + "0" * 64 + '" }\n'
    text = uv_lock[:end] + "\n" + sdist + uv_lock[end:]
    (work / "uv.lock").write_text(text)
    run = tripin(capsys, "check", "uv.lock", "--target", X86)
    assert run.code == 1 and "TP013 triton on linux-x86_64-cp312 has an sdist" in run.out, run.out + run.err

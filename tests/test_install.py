"""`tripin install` and the lock reader it shares with explain and build-plan: which packages a
target gets (PEP 751 markers, judged by packaging.pylock), which built wheel, and one-line refusals
for locks that are edited, hostile, of another lock-version or written by another tool."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from helpers import python_for, read_toml, recorded_file, tripin
from indexserver import IndexServer, build_wheel
from packaging.pylock import Pylock

from tripin.targets import parse_target

X86, ARM = "linux-x86_64-cp312", "linux-aarch64-cp312"
ARM311, ARM312 = "linux-aarch64-cp311-cu126", "linux-aarch64-cp312-cu126"
BUILT = "triton-3.2.0+git9641643d-{py}-{py}-linux_aarch64.whl"
READERS = (("install", "--dry-run", "--target", X86), ("explain", "triton"), ("build-plan", "--target", X86, "-o", "-"))


# The lock from the report: a Triton source build for aarch64 on CPython 3.11 and 3.12, as tripin
# writes it: one build script per target, both filling the same wheelhouse.
_ENV = (
    r"sys_platform == \"linux\" and platform_machine == \"aarch64\" and python_version == \"3.1{}\""
    r" and implementation_name == \"cpython\""
)
_COMMIT = "9641643da6c52000c807b5eeed05edaec4402a67"
SOURCE_BUILD_LOCK = f"""lock-version = "1.0"
environments = ["{_ENV.format(1)}", "{_ENV.format(2)}"]
created-by = "tripin"

[[packages]]
name = "triton"

[packages.vcs]
type = "git"
url = "https://github.com/triton-lang/triton"
requested-revision = "{_COMMIT}"
commit-id = "{_COMMIT}"
subdirectory = "python"

[packages.tool.tripin]
targets = ["{ARM311}", "{ARM312}"]

[packages.tool.tripin.build]
version = "3.2.0+git9641643d"
status = "matched"
source = "https://github.com/triton-lang/triton/commit/{_COMMIT}"
recipe = "triton-3.2"
requires = ["setuptools>=40.8.0", "wheel", "cmake>=3.18", "ninja>=1.11.1", "pybind11>=2.13.1"]
system = ["git"]

[packages.tool.tripin.build.env]
TRITON_WHEEL_VERSION_SUFFIX = "+git{{short}}"

[tool.tripin]
version = "0.1.0"
ruleset-digest = "sha256:12ce1a2df927b53f177f80e97564cf2aa064aa02e5d82cfdd16c329369f65f50"
inputs-digest = "sha256:391c2d6c9df05f2870844559b1862e9d957a2f790225182784f89a24dac1dd8f"
requirements = ["torch==2.6.0"]
""" + "".join(
    f'\n[[tool.tripin.targets]]\nname = "{name}"\nmarker = "{_ENV.format(minor)}"\n'
    f'environment = "{_ENV.format(minor)}"\nvariant = "cu126"\n'
    for name, minor in ((ARM311, 1), (ARM312, 2))
)


@pytest.fixture
def wheelhouse_lock(work: Path) -> Path:
    (work / "pylock.toml").write_text(SOURCE_BUILD_LOCK)
    (work / "wheelhouse").mkdir()
    return work


def _planned(run_out: str) -> list[str]:
    return shlex.split(run_out.splitlines()[-1].removeprefix("would run: "))


@pytest.mark.parametrize(("target", "py"), [(ARM311, "cp311"), (ARM312, "cp312")])
def test_install_takes_the_built_wheel_for_the_targets_python(
    wheelhouse_lock: Path, capsys: pytest.CaptureFixture[str], target: str, py: str
) -> None:
    """Build scripts for cp311 and cp312 fill the same wheelhouse; pip refuses the other's wheel."""
    for other in ("cp311", "cp312", "cp313"):
        (wheelhouse_lock / "wheelhouse" / BUILT.format(py=other)).touch()
    (wheelhouse_lock / "wheelhouse" / "triton-3.2.0-cp312-cp312-linux_aarch64.whl").touch()  # another build
    run = tripin(
        capsys, "install", "--dry-run", "--target", target, "--python", str(python_for(wheelhouse_lock, target))
    )
    assert run.code == 0, run.err
    built = [a for a in _planned(run.out) if a.endswith(".whl")]
    assert built == [str(wheelhouse_lock / "wheelhouse" / BUILT.format(py=py))]


@pytest.mark.parametrize("points_to", [BUILT.format(py="cp312"), "triton-3.3.0-cp312-cp312-linux_aarch64.whl"])
def test_install_names_a_symlinked_wheel_as_found(
    wheelhouse_lock: Path, capsys: pytest.CaptureFixture[str], points_to: str
) -> None:
    """A wheelhouse entry that links to a file elsewhere: resolved, pip was handed what the link
    pointed to, `triton-3.3.0-...whl`, under the dry run's `source build 3.2.0+git9641643d`, and
    installed it. A link to the same build is passed as found; one to another build is refused:
    pip installs what a file holds, whatever it is called."""
    (wheelhouse_lock / "other").mkdir()
    (wheelhouse_lock / "other" / points_to).touch()
    link = wheelhouse_lock / "wheelhouse" / BUILT.format(py="cp312")
    link.symlink_to(Path("..") / "other" / points_to)
    python = str(python_for(wheelhouse_lock, ARM312))
    run = tripin(capsys, "install", "--dry-run", "--target", ARM312, "--python", python, "--wheelhouse", "wheelhouse")
    if "3.3.0" in points_to:
        assert run.code == 2 and run.out == "", run.out
        assert run.err == (
            f"tripin: error: 'wheelhouse/{link.name}' is a symlink to '{points_to}', a wheel of triton 3.3.0:"
            " pip would install that one; link or copy the build it names\n"
        )
        return
    assert run.code == 0, run.err
    assert "triton source build 3.2.0+git9641643d from wheelhouse" in run.out
    assert [a for a in _planned(run.out) if a.endswith(".whl")] == [str(link)]


@pytest.mark.parametrize(
    ("builds", "taken"), [(("1", "2"), "2"), (("", "1"), "1"), (("9", "10"), "10"), (("2", "2a", "1"), "2a")]
)
def test_install_takes_the_highest_build_tag_as_pip_does(
    wheelhouse_lock: Path, capsys: pytest.CaptureFixture[str], builds: tuple[str, ...], taken: str
) -> None:
    """PEP 427 build tags: pip prefers the highest (a number, then a string), and a tagged file
    over one with none; tripin took the first name in sorted order."""

    def named(build: str) -> str:
        return BUILT.format(py="cp312").replace("-cp312-", f"-{build}-cp312-" if build else "-cp312-", 1)

    for build in builds:
        (wheelhouse_lock / "wheelhouse" / named(build)).touch()
    python = str(python_for(wheelhouse_lock, ARM312))
    run = tripin(capsys, "install", "--dry-run", "--target", ARM312, "--python", python)
    assert run.code == 0, run.err
    assert [a for a in _planned(run.out) if a.endswith(".whl")] == [str(wheelhouse_lock / "wheelhouse" / named(taken))]


def test_install_asks_for_a_build_when_only_another_targets_wheel_is_there(
    wheelhouse_lock: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (wheelhouse_lock / "wheelhouse" / BUILT.format(py="cp311")).touch()
    run = tripin(
        capsys, "install", "--dry-run", "--target", ARM312, "--python", str(python_for(wheelhouse_lock, ARM312))
    )
    assert run.code == 2 and run.out == ""
    error, hint = run.err.splitlines()
    assert error.endswith(f"triton 3.2.0+git9641643d is a source build and wheelhouse has no wheel of it for {ARM312}")
    assert hint == f"hint: build it first: tripin build-plan --target {ARM312} && sh build-{ARM312}.sh wheelhouse"


@pytest.fixture
def two_targets(index: IndexServer, work: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    """torch 2.6.0 for x86_64 (Triton from PyPI) and aarch64 (CPU torch, no Triton): markers."""
    run = tripin(capsys, "lock", "torch==2.6.0", "-t", X86, "-t", ARM, "-i", index.simple_url, "--cache-dir", "c")
    assert run.code == 0, run.err
    return work / "pylock.toml"


@pytest.mark.parametrize("target", [X86, ARM])
def test_install_selects_what_packaging_pylock_selects(
    two_targets: Path, capsys: pytest.CaptureFixture[str], target: str
) -> None:
    """packaging.pylock, an independent PEP 751 reader, is the judge of what a target installs."""
    t = parse_target(target)
    judge = {
        p.name for p, _ in Pylock.from_dict(read_toml(two_targets)).select(environment=t.environment(), tags=t.tags)
    }
    run = tripin(
        capsys, "install", "--dry-run", "--target", target, "--python", str(python_for(two_targets.parent, target))
    )
    assert run.code == 0, run.err
    assert {line.split()[0] for line in run.out.splitlines() if line.startswith("  ")} == judge
    assert ("triton" in judge) == (target == X86)


def _edit_triton(lock: Path, pattern: str, new: str) -> None:
    """Replace what `pattern` matches (once) within triton's entry only."""
    text = lock.read_text()
    start = text.index('name = "triton"\nversion')
    end = text.find("[[packages]]", start)
    end = len(text) if end < 0 else end
    entry, found = re.subn(pattern, lambda _: new, text[start:end], count=1)
    assert found == 1, entry
    lock.write_text(text[:start] + entry + text[end:])


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        # uv and `check` would install Triton on x86_64; tripin's own targets leave it out
        (r"targets = \[.*\]", "targets = []", f"its marker selects '{X86}' but its [packages.tool.tripin] targets"),
        # the marker leaves x86_64 out; tripin's targets still name it
        ("marker = .*", """marker = 'platform_machine == "s390x"'""", f"its marker leaves out '{X86}'"),
    ],
)
def test_readers_refuse_a_lock_whose_markers_and_targets_disagree(
    two_targets: Path, capsys: pytest.CaptureFixture[str], old: str, new: str, message: str
) -> None:
    """tripin writes both from one resolution: a disagreement is an edited lock, and no reader may
    pick a side (install once went by the targets while check and uv went by the markers)."""
    _edit_triton(two_targets, old, new)
    python = str(python_for(two_targets.parent, X86))
    for args in READERS:
        run = tripin(capsys, *args, *(("--python", python) if args[0] == "install" else ()))
        assert run.code == 2 and run.out == "", (args, run.out)
        error, hint = run.err.splitlines()
        assert error.startswith("tripin: error: pylock.toml: packages[") and "'triton'" in error and message in error
        assert error.endswith("the lock was edited") and hint == "hint: `tripin lock` writes it anew"


@pytest.mark.parametrize(
    "marker",
    [
        'platform_machine == "x86_64" or "1" == "1"',  # no such environment name: '1'
        'platform_machine === "aarch64" ; rm -rf /',  # not a marker
        'python_full_version ~= "3"',  # a specifier packaging cannot compare
        'python_version > "1' + "0" * 5000 + '"',  # more digits than int() takes
    ],
)
def test_readers_refuse_a_marker_they_cannot_evaluate(
    two_targets: Path, capsys: pytest.CaptureFixture[str], marker: str
) -> None:
    _edit_triton(two_targets, "marker = .*", f"marker = '''{marker}'''")
    python = str(python_for(two_targets.parent, X86))
    for args in READERS:
        run = tripin(capsys, *args, *(("--python", python) if args[0] == "install" else ()))
        assert run.code == 2 and run.out == "" and len(run.err.splitlines()) == 1, (args, run.err)
        assert re.match(r"tripin: error: pylock.toml: packages\[\d+\] 'triton': marker .* cannot be evaluated", run.err)


@pytest.mark.parametrize("version", ['"2.0"', '"10"', "1.0"])
def test_every_reader_refuses_an_unsupported_lock_version(
    two_targets: Path, capsys: pytest.CaptureFixture[str], version: str
) -> None:
    """PEP 751: a reader MUST refuse a lock-version whose major version it does not support."""
    two_targets.write_text(two_targets.read_text().replace('lock-version = "1.0"', f"lock-version = {version}", 1))
    python = str(python_for(two_targets.parent, X86))
    errors = set()
    for args in (*READERS, ("check", "pylock.toml")):
        run = tripin(capsys, *args, *(("--python", python) if args[0] == "install" else ()))
        assert run.code == 2 and run.out == "" and len(run.err.splitlines()) == 1, (args, run.err)
        errors.add(run.err)
    shown = version.strip('"')
    assert errors == {f"tripin: error: pylock.toml: lock-version '{shown}' is not supported (1.x is)\n"}


UV = shutil.which("uv")


def _env(tmp_path: Path) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "TMPDIR", "LANG")}
    return {
        **keep,
        "UV_NO_CONFIG": "1",
        "UV_CACHE_DIR": str(tmp_path / "uv-cache"),
        "UV_PYTHON_DOWNLOADS": "never",
        "PIP_CONFIG_FILE": os.devnull,
    }


@pytest.mark.skipif(UV is None, reason="uv is not installed")
def test_a_lock_another_tool_wrote_is_named_so_with_commands_that_install_it(
    make_index: Callable[..., IndexServer], work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """uv's pylock.toml: every reader says it is not tripin's and names the commands that install
    it; both are run here as printed (pip 26.1 reads pylock.toml with -r, uv since 0.6.15)."""
    assert UV is not None
    index = make_index()
    index.publish(build_wheel(work / "w", "six", "1.17.0"))
    (work / "req.in").write_text("six\n")
    compile_ = [
        UV,
        "pip",
        "compile",
        "-q",
        "--universal",
        "req.in",
        "-o",
        "pylock.toml",
        "--index-url",
        index.simple_url,
    ]
    subprocess.run(compile_, check=True, cwd=work, env=_env(work))
    assert read_toml(work / "pylock.toml")["created-by"] == "uv"
    python = str(python_for(work, X86))
    for args in READERS:
        run = tripin(capsys, *args, *(("--python", python) if args[0] == "install" else ()))
        assert run.code == 2 and run.out == "", (args, run.out)
        error, hint = run.err.splitlines()
        assert error == "tripin: error: pylock.toml: not a tripin lock: it has no [tool.tripin] table (created-by 'uv')"
        assert hint.startswith("hint: `uv pip install -r pylock.toml` or `pip install -r pylock.toml` (pip 26.1")
        assert hint.endswith("`tripin lock` writes a tripin lock")
    commands = re.findall(r"`((?:uv )?pip install -r pylock.toml)`", hint)
    assert commands == ["uv pip install -r pylock.toml", "pip install -r pylock.toml"]
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(work / "venv")], check=True)
    uv = [UV, *shlex.split(commands[0])[1:], "--python", str(work / "venv" / "bin" / "python")]
    pip = [sys.executable, "-m", *shlex.split(commands[1]), "--isolated", "--target", str(work / "t")]
    for argv in (uv, pip):
        result = subprocess.run(argv, capture_output=True, text=True, cwd=work, env=_env(work))
        assert result.returncode == 0, result.stderr
    assert (work / "t" / "six-1.17.0.dist-info").is_dir()
    installed = subprocess.run(
        [UV, "pip", "list", "--python", str(work / "venv" / "bin" / "python")], capture_output=True, text=True
    )
    assert "six" in installed.stdout and "1.17.0" in installed.stdout


@pytest.mark.parametrize(
    ("line", "table"),
    [
        ('ruleset-digest = "', "[tool.tripin] has no 'ruleset-digest' key"),
        ('inputs-digest = "', "[tool.tripin] has no 'inputs-digest' key"),
    ],
)
def test_a_tripin_lock_missing_a_key_is_named_in_words(
    two_targets: Path, capsys: pytest.CaptureFixture[str], line: str, table: str
) -> None:
    text = two_targets.read_text()
    start = text.index(line)
    two_targets.write_text(text[:start] + text[text.index("\n", start) + 1 :])
    python = str(python_for(two_targets.parent, X86))
    for args in READERS:
        run = tripin(capsys, *args, *(("--python", python) if args[0] == "install" else ()))
        assert run.code == 2 and run.out == "", (args, run.out)
        error, hint = run.err.splitlines()
        assert error == f"tripin: error: pylock.toml: {table} (tripin writes it: an edited or damaged lock)"
        assert hint == "hint: `tripin lock` writes it anew"


def test_a_source_build_missing_its_commit_is_named(wheelhouse_lock: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lock = wheelhouse_lock / "pylock.toml"
    lock.write_text(re.sub(r'commit-id = "[0-9a-f]+"\n', "", lock.read_text()))
    run = tripin(capsys, "build-plan", "--target", ARM312, "-o", "-")
    assert run.code == 2
    assert run.err.splitlines()[0] == (
        "tripin: error: pylock.toml: packages[0].vcs has no 'commit-id' key"
        " (tripin writes it: an edited or damaged lock)"
    )


def test_install_refuses_a_wheel_of_another_version_than_its_entry(
    two_targets: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The entry says triton 3.2.0, its x86_64 wheel's URL and hash were edited to 3.3.0's: the
    dry run listed `triton 3.2.0` and pip would install 3.3.0 (uv and pip 26.3 refuse it)."""
    old = recorded_file("triton", "triton-3.2.0-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl")
    new = recorded_file("triton", "triton-3.3.0-cp312-cp312-manylinux_2_27_x86_64.manylinux_2_28_x86_64.whl")
    text = two_targets.read_text()
    assert old["filename"] in text and old["hashes"]["sha256"] in text
    text = text.replace(old["filename"], new["filename"]).replace(old["hashes"]["sha256"], new["hashes"]["sha256"])
    two_targets.write_text(text)
    run = tripin(capsys, "install", "--dry-run", "--target", X86, "--python", str(python_for(two_targets.parent, X86)))
    assert run.code == 2 and run.out == "", run.out
    assert run.err == (
        f"tripin: error: triton 3.2.0: its wheel '{new['filename']}' is triton 3.3.0, not triton 3.2.0:"
        " the lock was edited\n"
    )


_CP312 = "cp312-cp312-manylinux_2_28_x86_64.whl"


@pytest.mark.parametrize(
    ("name", "version", "filename", "says"),
    [
        ("pytorch-triton", "3.2.0+git35c6c7c6", f"pytorch_triton-3.2.0%2Bgit35c6c7c6-{_CP312}", None),
        ("torch", "2.6.0+cu126", f"torch-2.6.0+cu126-{_CP312}", None),
        ("torch", "2.6.0+cu126", f"torch-2.6.0%2bcu126-{_CP312}", None),
        ("triton", "3.2", f"triton-3.2.0-{_CP312}", None),  # PEP 440: the same version
        ("torch", "2.6.0+cu126", f"torch-2.6.0-{_CP312}", "is torch 2.6.0, not torch 2.6.0+cu126"),
        ("triton", "3.2.0", f"pytorch_triton-3.2.0-{_CP312}", "is pytorch-triton 3.2.0, not triton 3.2.0"),
        ("triton", "3.2.0", "triton.whl", "names no wheel file"),
        ("triton", "three", f"triton-3.2.0-{_CP312}", "'triton' 'three': the version is not PEP 440"),
    ],
)
def test_a_wheel_file_name_is_compared_as_pep_440_and_normalized_names(
    name: str, version: str, filename: str, says: str | None
) -> None:
    from tripin.lock.model import LockedPackage, LockedWheel
    from tripin.lock.pylock import wheel_mismatch

    wheel = LockedWheel(url=f"https://files.example/packages/{filename}", size=1, upload_time=None, hashes=())
    mismatch = wheel_mismatch(LockedPackage(name=name, version=version, marker=None, targets=()), wheel)
    if says is None:
        assert mismatch is None
    else:
        assert mismatch is not None and says in mismatch, mismatch


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (None, "  filelock 3.20.0\n"),
        ("https://i.example/\\u001b[2J", "  filelock 3.20.0 (https://i.example/\\x1b[2J)\n"),
    ],
)
def test_a_dry_run_names_an_entrys_index_only_when_it_has_one(
    two_targets: Path, capsys: pytest.CaptureFixture[str], url: str | None, shown: str
) -> None:
    """PEP 751 makes `index` optional: an entry without one printed `filelock 3.20.0 (None)`.
    The lock's values are printed as one line, escaped."""
    text = two_targets.read_text()
    start = text.index('name = "filelock"\nversion = "3.20.0"\n')
    line = text.index("index = ", start)
    new = "" if url is None else f'index = "{url}"\n'
    two_targets.write_text(text[:line] + new + text[text.index("\n", line) + 1 :])
    run = tripin(capsys, "install", "--dry-run", "--target", X86, "--python", str(python_for(two_targets.parent, X86)))
    assert run.code == 0, run.err
    assert shown in run.out and "None" not in run.out and "\x1b" not in run.out, run.out


@pytest.fixture
def group_only(index: IndexServer, work: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    """A project whose packages are all in a dependency group `train` or an extra `docs`."""
    (work / "pyproject.toml").write_text(
        '[project]\nname = "app"\nversion = "0"\ndependencies = []\n'
        '[project.optional-dependencies]\ndocs = ["jinja2"]\n[dependency-groups]\ntrain = ["filelock"]\n'
        f'[tool.tripin]\ntargets = ["{X86}"]\ngroups = ["train", "docs"]\nindex-url = "{index.simple_url}"\n'
    )
    run = tripin(capsys, "lock", "--cache-dir", "c")
    assert run.code == 0, run.err
    return work


@pytest.mark.parametrize("dry_run", [(), ("--dry-run",)])
def test_install_with_nothing_selected_says_which_groups_hold_packages(
    group_only: Path, capsys: pytest.CaptureFixture[str], dry_run: tuple[str, ...]
) -> None:
    """pip said "You must give at least one requirement" and uv failed: tripin ran either with
    no requirement when the lock holds its packages only for its groups."""
    python = str(python_for(group_only, X86))
    run = tripin(capsys, "install", "--target", X86, "--python", python, "--installer", "pip", *dry_run)
    assert run.code == 0 and run.err == "", run.err
    assert run.out == (
        f"nothing to install for {X86} without --group or --extra: the lock has packages for it with"
        " --extra docs, --group train\n"
    )
    run = tripin(capsys, "install", "--dry-run", "--target", X86, "--python", python, "--group", "train")
    assert run.code == 0 and "  filelock " in run.out and "jinja2" not in run.out, run.out


@pytest.mark.parametrize(
    ("option", "message"),
    [
        (
            ("--extra", "train"),
            "--extra train: the lock has no such extra (it has: docs); train is a dependency group: --group train",
        ),
        (
            ("--group", "docs"),
            "--group docs: the lock has no such group (it has: train); docs is an extra: --extra docs",
        ),
        (("--extra", "dev"), "--extra dev: the lock has no such extra (it has: docs)"),
    ],
)
def test_an_unknown_extra_is_called_an_extra(
    group_only: Path, capsys: pytest.CaptureFixture[str], option: tuple[str, str], message: str
) -> None:
    python = str(python_for(group_only, X86))
    run = tripin(capsys, "install", "--dry-run", "--target", X86, "--python", python, *option)
    assert run.code == 2 and run.err == f"tripin: error: {message}\n", run.err

"""What `tripin lock` takes in, the way pip-compile and `uv pip compile` users write it:
requirements files as positional arguments or with -r, constraints with -c (pip syntax, with
includes), and a constraint that never adds a package. The lock is then read by real pip."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from helpers import pip_constrained_install, read_toml, tripin
from indexserver import IndexServer, build_wheel
from packaging.specifiers import SpecifierSet
from packaging.utils import NormalizedName
from packaging.version import Version

from tripin.index import Index, IndexClient
from tripin.index.cache import Cache
from tripin.resolver.factory import Factory
from tripin.resolver.types import Candidate, Req
from tripin.rules import load_ruleset
from tripin.targets import parse_target

X86 = "linux-x86_64-cp312"


def _versions(path: Path) -> dict[str, str]:
    return {p["name"]: p.get("version", "") for p in read_toml(path)["packages"]}


def _lock(index: IndexServer, capsys: pytest.CaptureFixture[str], *args: str) -> str:
    run = tripin(capsys, "lock", *args, "-t", X86, "-i", index.simple_url, "--cache-dir", "c")
    assert run.code == 0, run.err
    return run.out


def test_a_positional_requirements_in_is_read_as_a_file(
    work: Path, index: IndexServer, capsys: pytest.CaptureFixture[str]
) -> None:
    (work / "requirements.in").write_text("# the project\ntorch==2.6.0  # for torch.compile\n")
    _lock(index, capsys, "requirements.in")
    assert _versions(work / "pylock.toml")["torch"] == "2.6.0"
    assert read_toml(work / "pylock.toml")["tool"]["tripin"]["requirements"] == ["torch==2.6.0"]


def test_dash_r_and_dash_c_with_includes(work: Path, index: IndexServer, capsys: pytest.CaptureFixture[str]) -> None:
    (work / "base.txt").write_text("torch==2.6.0\n")
    (work / "requirements.txt").write_text("-r base.txt\n")
    (work / "limits.txt").write_text("-c more-limits.txt\nnumpy==2.3.3\n")  # numpy: wanted by nothing here
    (work / "more-limits.txt").write_text("fsspec<2025.10\nfilelock==3.19.1 ; sys_platform == 'linux'\n")
    _lock(index, capsys, "-r", "requirements.txt", "-c", "limits.txt")
    versions = _versions(work / "pylock.toml")
    assert versions["fsspec"] == "2025.9.0" and versions["filelock"] == "3.19.1"
    assert "numpy" not in versions  # a constraint limits, it adds nothing
    # without the constraints the pins stay (the previous lock is preferred); -U takes the newest
    _lock(index, capsys, "-r", "requirements.txt")
    assert _versions(work / "pylock.toml")["fsspec"] == "2025.9.0"
    _lock(index, capsys, "-r", "requirements.txt", "-U")
    versions = _versions(work / "pylock.toml")
    assert versions["fsspec"] == "2025.10.0" and versions["filelock"] == "3.20.0"
    # and real pip installs what the constraints file of the constrained lock says
    _lock(index, capsys, "-r", "requirements.txt", "--constraint", "limits.txt")
    assert pip_constrained_install(index.simple_url, work, "constraints.txt") == ["3.19.1"]  # filelock


def test_a_constraint_no_release_meets_is_a_resolution_error(
    work: Path, index: IndexServer, capsys: pytest.CaptureFixture[str]
) -> None:
    (work / "c.txt").write_text("fsspec>2030\n")
    run = tripin(capsys, "lock", "torch==2.6.0", "-c", "c.txt", "-t", X86, "-i", index.simple_url, "--cache-dir", "c")
    assert run.code == 1 and "fsspec" in run.err and "the constraints" in run.err


def test_a_missing_requirements_file_is_one_line(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for args in (["requirements.in"], ["-r", "nope.txt"], ["torch", "-c", "nope.txt"]):
        run = tripin(capsys, "lock", *args, "-t", X86)
        assert run.code == 2 and "no such requirements file" in run.err and len(run.err.splitlines()) == 1


def test_print_config_names_the_files(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (work / "requirements.in").write_text("torch==2.6.0\n")
    (work / "c.txt").write_text("fsspec<2025.10\n")
    run = tripin(capsys, "lock", "requirements.in", "-c", "c.txt", "-t", X86, "--print-config")
    assert run.code == 0
    assert "requirements.in (file)" in run.out and "fsspec<2025.10" in run.out and "c.txt (-c)" in run.out


def test_a_group_from_the_command_line_is_blamed_on_it(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (work / "pyproject.toml").write_text(
        '[project]\nname = "a"\nversion = "0"\ndependencies = ["torch==2.6.0"]\n'
        '[project.optional-dependencies]\naudio = ["torchaudio"]\n'
        f'[tool.tripin]\ntargets = ["{X86}"]\n'
    )
    run = tripin(capsys, "lock", "--group", "audoi")
    assert run.code == 2 and run.err.startswith("tripin: error: --group audoi: no requirements group 'audoi'")
    assert "did you mean 'audio'?" in run.err


def test_a_misspelled_name_is_a_resolution_error_with_a_suggestion(
    work: Path, index: IndexServer, capsys: pytest.CaptureFixture[str]
) -> None:
    _lock(index, capsys, "torch==2.6.0")  # the cache now holds the pages of torch's dependencies
    run = tripin(capsys, "lock", "fileock", "-t", X86, "-i", index.simple_url, "--cache-dir", "c")
    assert run.code == 1, run.err
    assert "package 'fileock' not found" in run.err and "did you mean 'filelock'?" in run.err


def test_an_edited_requirements_file_is_resolved_again(
    work: Path, index: IndexServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """The re-lock memo skips resolving only while every input is as it was: requirements and
    constraints files, and the files they include, are inputs like pyproject.toml."""
    (work / "requirements.in").write_text("-r base.in\n")
    (work / "base.in").write_text("filelock\n")
    (work / "limits.txt").write_text("-c more.txt\n")
    (work / "more.txt").write_text("fsspec<2025.10\n")
    args = ("requirements.in", "-c", "limits.txt")
    _lock(index, capsys, *args)
    assert "nothing to resolve" in _lock(index, capsys, *args)  # unchanged: the memo answers
    (work / "base.in").write_text("filelock\nfsspec\n")  # an include of a positional file
    assert "nothing to resolve" not in _lock(index, capsys, *args)
    assert _versions(work / "pylock.toml")["fsspec"].startswith("2025.9")
    (work / "more.txt").write_text("fsspec>=2025.10\n")  # an include of a -c file
    assert "nothing to resolve" not in _lock(index, capsys, *args)
    assert _versions(work / "pylock.toml")["fsspec"] == "2025.10.0"
    (work / "requirements.in").write_text("-r base.in\nnumpy\n")  # the named file itself
    assert "nothing to resolve" not in _lock(index, capsys, *args)
    assert "numpy" in _versions(work / "pylock.toml")


def test_an_extra_index_is_asked_before_the_default_one(
    work: Path, index: IndexServer, make_index: object, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """uv's order: --extra-index-url first, then --index-url; the first index that has a name
    gives it. A project's own index thus wins over PyPI for its names (a package of the same
    name uploaded to PyPI cannot shadow it), and PyPI still gives what that index lacks."""
    from indexserver import build_wheel

    internal = make_index()  # type: ignore[operator]
    internal.publish(build_wheel(tmp_path / "wheels", "mpmath", "0.1"))  # older than the default index's
    extra = ["--extra-index-url", internal.simple_url]
    run = tripin(capsys, "lock", "mpmath", "filelock", "-t", X86, "-i", index.simple_url, *extra, "--cache-dir", "c")
    assert run.code == 0, run.err
    versions = _versions(work / "pylock.toml")
    assert versions["mpmath"] == "0.1"  # from the extra index, though the default one has newer
    assert "filelock" in versions  # which the extra index does not have


def test_small_input_cases_as_pip_reads_them(
    work: Path, index: IndexServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """A byte-order mark is read past, as pip does; a FIFO is named as what it is; the
    constraints file names the lock it was written with."""
    import os

    (work / "requirements.in").write_text("\ufefffilelock\n", encoding="utf-8")
    _lock(index, capsys, "requirements.in", "--lock", "pylock.dev.toml")
    assert "filelock" in _versions(work / "pylock.dev.toml")
    header = (work / "constraints.dev.txt").read_text().splitlines()[0]  # a named lock's own
    assert header.endswith(" with pylock.dev.toml; do not edit by hand.")
    assert not (work / "constraints.txt").exists()
    os.mkfifo(work / "f.in")
    run = tripin(capsys, "lock", "f.in", "-t", X86, "-i", index.simple_url, "--cache-dir", "c")
    assert run.code == 2 and run.err == "tripin: error: f.in: not a regular file\n"


def test_named_locks_write_their_own_constraints(
    work: Path, index: IndexServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """pylock.toml and pylock.dev.toml side by side: each writes its constraints file
    (constraints.txt, constraints.dev.txt), so neither overwrites the other's and `check` finds
    no disagreement that a shared file made up."""
    _lock(index, capsys, "filelock==3.20.0")
    _lock(index, capsys, "filelock==3.19.1", "--lock", "pylock.dev.toml")
    assert "filelock==3.20.0" in (work / "constraints.txt").read_text()
    assert "filelock==3.19.1" in (work / "constraints.dev.txt").read_text()
    assert tripin(capsys, "check").code == 0
    assert tripin(capsys, "check", "pylock.dev.toml", "constraints.dev.txt").code == 0


def test_a_direct_url_requirement_is_a_usage_error(
    work: Path, index: IndexServer, capsys: pytest.CaptureFixture[str]
) -> None:
    (work / "c.txt").write_text("filelock @ https://example.invalid/filelock-3.20.0-py3-none-any.whl\n")
    run = tripin(capsys, "lock", "filelock", "-c", "c.txt", "-t", X86, "-i", index.simple_url, "--cache-dir", "c")
    assert run.code == 2
    assert run.err.splitlines()[0] == (
        "tripin: error: filelock @ URL in the constraints: a direct URL; tripin locks packages from indexes only"
    )


def test_requirements_may_come_between_options(
    index: IndexServer, work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """As pip-compile and uv take them; argparse alone refused the second run of positionals."""
    run = tripin(capsys, "lock", "filelock", "-t", "linux-x86_64-cp312", "numpy", "-i", index.simple_url, "sympy")
    assert run.code == 0, run.err
    names = {p["name"] for p in read_toml(work / "pylock.toml")["packages"]}
    assert {"filelock", "numpy", "sympy"} <= names
    with pytest.raises(SystemExit) as exited:  # argparse's own exit, as for any usage error
        tripin(capsys, "lock", "filelock", "-t", "linux-x86_64-cp312", "--bogus", "x")
    assert exited.value.code == 2 and "unrecognized arguments: --bogus x" in capsys.readouterr().err


def test_what_the_user_asked_for_is_decided_before_what_it_pulls_in(
    make_index: Callable[..., IndexServer], work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`'pandas<2.2' matplotlib` took numpy 2.x for matplotlib (alphabetically first) and then
    stepped pandas back to 2.1.1, the last release that does not say numpy<2 though it is built
    against numpy 1: the lock installed and `import pandas` crashed. pip and uv decide requested
    names first. tests/index-order holds the real pages and metadata (scripts/record_index.py)."""
    server = make_index(Path(__file__).parent / "index-order")
    meta = (Path(__file__).parent / "index-order" / "files").glob("pandas-2.1.1-*.metadata")
    assert "Requires-Dist: numpy<2" not in next(meta).read_text()  # what the old order fell back to
    run = tripin(capsys, "lock", "pandas<2.2", "matplotlib", "-t", X86, "-i", server.simple_url)
    assert run.code == 0, run.err
    versions = {p["name"]: p["version"] for p in read_toml(work / "pylock.toml")["packages"]}
    assert (versions["pandas"], versions["numpy"]) == ("2.1.4", "1.26.4")  # as uv and pip give


def test_a_pre_release_is_taken_only_when_no_final_release_fits(
    make_index: Callable[..., IndexServer], work: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """As pip and uv: `django>6.0.99` during 6.1's beta takes 6.1b1; tripin said no version fits."""
    server = make_index()
    for version in ("1.0", "2.0b1", "2.0rc1"):
        server.publish(build_wheel(tmp_path / "w", "pkg", version))

    def locked(requirement: str) -> str:
        run = tripin(capsys, "lock", requirement, "-t", X86, "-i", server.simple_url, "-U")
        assert run.code == 0, run.err
        return str(next(p["version"] for p in read_toml(work / "pylock.toml")["packages"] if p["name"] == "pkg"))

    assert locked("pkg") == "1.0"  # a final release fits: no pre-release
    assert locked("pkg>1.0") == "2.0rc1"  # none does: the newest pre-release
    assert locked("pkg>1.0,!=2.0rc1") == "2.0b1"


def test_an_older_release_locked_for_want_of_a_wheel_is_said(
    make_index: Callable[..., IndexServer], work: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """tripin locks wheels: cryptography 50.0.2 has none for macOS x86_64, so 48.0.1 went into the
    lock there without a word (pip or uv without --only-binary would build 50.0.2)."""
    server = make_index()
    server.publish(build_wheel(tmp_path / "w", "pkg", "1.0"))
    server.publish(build_wheel(tmp_path / "w", "pkg", "2.0", "py3-none-macosx_11_0_arm64"))
    run = tripin(capsys, "lock", "pkg", "-t", X86, "-t", "macos-arm64-cp312", "-i", server.simple_url)
    assert run.code == 0, run.err
    assert f"warning: {X86}: pkg 2.0 has no wheel for this target (tripin locks wheels): 1.0 locked" in run.err
    assert "macos-arm64-cp312: pkg" not in run.err  # the newest fits there


def test_a_fallback_for_want_of_a_newer_glibc_or_macos_names_the_option(
    make_index: Callable[..., IndexServer], work: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """llguidance 1.7.6's Linux wheels are manylinux_2_31 only: on 2.28 targets vllm fell back to
    0.21.0 (x86_64) and 0.11.2 (aarch64), and the warnings did not say that a newer glibc, which
    the machines may well have, takes the newer releases. They name the option now."""
    server = make_index()
    for name, version, tag, requires in [
        ("pkg", "1.0", "py3-none-manylinux_2_17_x86_64", []),
        ("pkg", "2.0", "cp39-abi3-manylinux_2_31_x86_64", []),
        ("pkg", "3.0", "cp39-abi3-manylinux_2_35_aarch64", []),  # another platform: no level takes it here
        ("app", "1.0", "py3-none-any", ["pkg<2"]),
        ("app", "2.0", "py3-none-any", ["pkg>=2"]),
        ("macpkg", "1.0", "py3-none-any", []),
        ("macpkg", "2.0", "py3-none-macosx_15_0_arm64", []),
    ]:
        server.publish(build_wheel(tmp_path / "w", name, version, tag, requires_dist=requires))
    run = tripin(capsys, "lock", "app", "-t", X86, "-i", server.simple_url)
    assert run.code == 0, run.err
    hint = "--manylinux 2.31 takes pkg 2.0 (its wheels need glibc 2.31 or newer)"
    assert run.err.splitlines() == [
        f"warning: {X86}: app 2.0 requires pkg, and the pkg releases that fit have no wheel for this target "
        f"(tripin locks wheels): 1.0 locked; {hint}",
        f"warning: {X86}: pkg 3.0 has no wheel for this target (tripin locks wheels): 1.0 locked",  # no level would
    ]
    wider = tripin(capsys, "lock", "app", "-t", X86, "-i", server.simple_url, "--manylinux", "2.31", "-U")
    assert wider.code == 0 and "app 2.0 requires" not in wider.err, wider.err
    versions = {p["name"]: p["version"] for p in read_toml(work / "pylock.toml")["packages"]}
    assert versions == {"app": "2.0", "pkg": "2.0"}
    mac = tripin(capsys, "lock", "macpkg", "-t", "macos-arm64-cp312", "-i", server.simple_url, "-U")
    assert mac.err == (
        "warning: macos-arm64-cp312: macpkg 2.0 has no wheel for this target (tripin locks wheels): 1.0 locked; "
        "--macos 15.0 takes macpkg 2.0 (its wheels need macOS 15.0 or newer)\n"
    )


def test_the_same_fallback_on_several_targets_is_one_warning(
    make_index: Callable[..., IndexServer], work: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """rouge-score 0.1.2 is an sdist only: `lock -t linux-x86_64 -t linux-aarch64 -t macos-arm64
    rouge-score` said the same fallback three times, a line per target. The same fallback on
    every target is one line, on some of them one line naming them; one that differs by target
    keeps its own line; the JSON and the lock keep one entry per target, as before."""
    server = make_index()
    sdist = tmp_path / "sdist" / "allsdist-2.0.tar.gz"
    sdist.parent.mkdir()
    sdist.write_bytes(b"not read: tripin locks wheels")
    server.publish(sdist)
    mac_arm, linux_only = "py3-none-macosx_11_0_arm64", "py3-none-manylinux_2_17_x86_64"
    for name, version, tag in [
        ("allsdist", "1.0", "py3-none-any"),
        ("maconly", "1.0", "py3-none-any"),
        ("maconly", "2.0", mac_arm),  # X86 and ARM fall back alike, macOS not
        ("differs", "1.0", "py3-none-any"),
        ("differs", "2.0", linux_only),  # X86 gets 2.0, the others 1.0: not the same fallback
        ("differs", "3.0", mac_arm),
    ]:
        server.publish(build_wheel(tmp_path / "w", name, version, tag))
    arm, mac = "linux-aarch64-cp312", "macos-arm64-cp312"
    args = ["lock", "allsdist", "maconly", "differs", "-t", X86, "-t", arm, "-t", mac, "-i", server.simple_url]
    run = tripin(capsys, *args)
    assert run.code == 0, run.err
    assert run.err.splitlines() == [
        "warning: allsdist 2.0 has no wheel for any of the 3 targets (tripin locks wheels): 1.0 locked on every target",
        f"warning: {X86}: differs 3.0 has no wheel for this target (tripin locks wheels): 2.0 locked",
        f"warning: {X86}, {arm}: maconly 2.0 has no wheel for these targets (tripin locks wheels): 1.0 locked",
        f"warning: {arm}: differs 3.0 has no wheel for this target (tripin locks wheels): 1.0 locked",
    ]
    again = tripin(capsys, *args)  # nothing changed: answered from what the first run remembered, in its words
    assert "nothing to resolve" in again.out and again.err == run.err
    per_target = [
        f"{t}: {name} has no wheel for this target (tripin locks wheels): {locked} locked"
        for t, name, locked in [
            (X86, "allsdist 2.0", "1.0"),
            (X86, "differs 3.0", "2.0"),
            (X86, "maconly 2.0", "1.0"),
            (arm, "allsdist 2.0", "1.0"),
            (arm, "differs 3.0", "1.0"),
            (arm, "maconly 2.0", "1.0"),
            (mac, "allsdist 2.0", "1.0"),
        ]
    ]
    data = json.loads(tripin(capsys, *args, "-U", "--format", "json").out)
    assert data["warnings"] == per_target
    assert read_toml(work / "pylock.toml")["tool"]["tripin"]["warnings"] == per_target


def test_a_release_for_newer_pythons_is_passed_over_in_silence(
    make_index: Callable[..., IndexServer], work: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """requests 2.34.2 needs Python 3.10: pip and uv lock 2.32.5 for 3.9 without a word, and a
    warning that it "has no wheel for this target" was false (its py3-none-any wheel is there)."""
    server = make_index()
    server.publish(build_wheel(tmp_path / "w", "pkg", "1.0"))
    server.publish(build_wheel(tmp_path / "w", "pkg", "2.0", requires_python=">=3.13"), requires_python=">=3.13")
    run = tripin(capsys, "lock", "pkg", "-t", X86, "-t", "linux-x86_64-cp313", "-i", server.simple_url)
    assert run.code == 0, run.err
    assert "warning" not in run.err and "no wheel" not in (work / "pylock.toml").read_text()
    versions = {p["version"] for p in read_toml(work / "pylock.toml")["packages"] if p["name"] == "pkg"}
    assert versions == {"1.0", "2.0"}


@pytest.mark.parametrize(
    ("line", "named"),
    [("--foo-bar", "'--foo-bar'"), ("-Z", "'-Z'"), ("filelock --foo-bar", "'--foo-bar'"), ("--no", "'--no'")],
)
def test_an_option_pip_does_not_know_is_an_error_at_its_line(
    work: Path, capsys: pytest.CaptureFixture[str], line: str, named: str
) -> None:
    """pip refuses the file (`error: no such option: --foo-bar`), and so does pip-compile: a
    lock made without the line would not be what pip installs from the file."""
    (work / "requirements.in").write_text(f"filelock\n{line}\n")
    for command in (
        ["lock", "requirements.in", "-t", X86, "-i", "http://127.0.0.1:9/simple"],
        ["check", "requirements.in"],
    ):
        run = tripin(capsys, *command)
        assert run.code == 2 and len(run.err.splitlines()) == 1, run.err
        assert run.err.startswith("tripin: error: requirements.in:2: ") and named in run.err
    assert not (work / "pylock.toml").exists()


def test_every_option_pip_reads_in_a_file_is_known(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """pip's own parser of requirements-file lines (pip/_internal/req/req_file.py) is the list:
    each of its spellings is read, none is refused."""
    from pip._internal.req.req_file import build_parser

    parser = build_parser()
    for option in parser.option_list:
        for spelled in [*option._short_opts, *option._long_opts]:
            if option.dest in ("requirements", "constraints"):
                continue  # includes: a file name, tested on their own
            line = f"{spelled} x" if option.takes_value() else spelled
            (work / "r.txt").write_text(f"{line}\ntorch==2.6.0\n")
            run = tripin(capsys, "check", "r.txt", "--target", X86)
            assert (run.code, run.err) == (0, ""), (line, run.err)


def test_options_tripin_does_not_follow_are_said_once_with_their_equivalent(
    work: Path, index: IndexServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """pip applies a file's --index-url, --pre or --find-links to the whole run, and uv pip
    compile its index URLs: tripin takes those from the command line and [tool.tripin] only,
    so it says where each belongs, once, on every run, including one that resolves nothing."""
    (work / "requirements.in").write_text(
        "--extra-index-url http://127.0.0.1:9/simple\n-i http://127.0.0.1:9/simple\n--pre\n"
        "--find-links ./wheels\n--no-binary :all:\n--only-binary=:all:\n--prefer-binary\n-r more.in\nfilelock\n"
    )
    (work / "more.in").write_text("--pre\n--extra-index-url http://127.0.0.1:9/other\nfsspec\n")
    for _ in range(2):
        run = tripin(capsys, "lock", "requirements.in", "-t", X86, "-i", index.simple_url, "--cache-dir", "c")
        assert run.code == 0, run.err
        warnings = [line for line in run.err.splitlines() if line.startswith("warning: ")]
        assert warnings == [
            "warning: --extra-index-url in requirements.in:1 is not read by tripin: pass --extra-index-url on the "
            "command line or set extra-index-urls in [tool.tripin]",
            "warning: --index-url in requirements.in:2 is not read by tripin: pass --index-url on the command line "
            "or set index-url in [tool.tripin]",
            "warning: --pre in requirements.in:3 is not read by tripin: pass --pre on the command line or set "
            "prerelease = true in [tool.tripin]",
            "warning: --find-links in requirements.in:4 is not read by tripin: tripin locks from indexes only: "
            "serve those files as an index and pass --extra-index-url",
            "warning: --no-binary in requirements.in:5 is not read by tripin: tripin locks wheels only",
        ]
    assert "nothing to resolve" in run.out  # the second run: its warnings came from the memo
    assert {"filelock", "fsspec"} <= set(_versions(work / "pylock.toml"))


def test_no_index_in_a_file_is_refused(work: Path, index: IndexServer, capsys: pytest.CaptureFixture[str]) -> None:
    """pip installs from --find-links alone with --no-index; tripin locks from indexes only, and
    must not lock from PyPI what the file meant to take from elsewhere."""
    (work / "requirements.in").write_text("--no-index\n--find-links ./wheels\nfilelock\n")
    run = tripin(capsys, "lock", "requirements.in", "-t", X86, "-i", index.simple_url, "--cache-dir", "c")
    assert run.code == 2 and len(run.err.splitlines()) == 1
    assert run.err.startswith("tripin: error: requirements.in:1: --no-index: tripin resolves from package indexes only")
    assert not (work / "pylock.toml").exists() and not index.requests
    assert tripin(capsys, "check", "requirements.in", "--target", X86).code == 0  # no pins to judge there


def test_environment_variables_are_expanded_as_pip_does(
    work: Path, index: IndexServer, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`${NAME}` (upper case, digits, `_`) is the variable's value, in includes and in
    requirements; an unset one stays as written, as do `$NAME` and `${name}`. A lock made with
    one value is not reused for another (the re-lock memo keys on TRIPIN_* variables only)."""
    for sub, version in (("a", "3.19.1"), ("b", "3.20.0")):
        (work / sub).mkdir()
        (work / sub / "b.in").write_text("filelock==${FILELOCK_VERSION}\n")
        monkeypatch.setenv("SUBDIR", sub)
        monkeypatch.setenv("FILELOCK_VERSION", version)
        (work / "env.in").write_text("-r ${SUBDIR}/b.in\n")
        assert "nothing to resolve" not in _lock(index, capsys, "env.in")
        assert _versions(work / "pylock.toml")["filelock"] == version
    monkeypatch.delenv("SUBDIR")
    run = tripin(capsys, "lock", "env.in", "-t", X86, "-i", index.simple_url, "--cache-dir", "c")
    assert run.code == 2 and run.err == "tripin: error: ${SUBDIR}/b.in: cannot read: No such file or directory\n"
    monkeypatch.setenv("subdir", "a")
    for line in ("-r ${subdir}/b.in", "-r $SUBDIR/b.in"):
        (work / "env.in").write_text(f"{line}\n")
        run = tripin(capsys, "lock", "env.in", "-t", X86, "-i", index.simple_url, "--cache-dir", "c")
        assert run.code == 2 and "/b.in: cannot read" in run.err and line.split()[1] in run.err


@pytest.mark.parametrize("newest_wheelless", [False, True])
def test_a_release_passed_over_for_a_dependency_with_no_wheel_names_that_dependency(
    make_index: Callable[..., IndexServer],
    work: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    newest_wheelless: bool,
) -> None:
    """vllm on aarch64: a release with a wheel for the target, walked back from because a
    dependency (llguidance) has none there. The warning said the newest vllm "has no wheel",
    or nothing: it names the dependency that had none."""
    server = make_index()
    server.publish(build_wheel(tmp_path / "w", "app", "1.0"))
    server.publish(build_wheel(tmp_path / "w", "app", "2.0", requires_dist=["dep>=1"]))
    server.publish(build_wheel(tmp_path / "w", "dep", "1.0", "py3-none-macosx_11_0_arm64"))
    sdist = tmp_path / "sdist" / "dep-1.1.tar.gz"
    sdist.parent.mkdir()
    sdist.write_bytes(b"not read: tripin locks wheels")
    server.publish(sdist)
    if newest_wheelless:
        server.publish(build_wheel(tmp_path / "w", "app", "3.0", "py3-none-macosx_11_0_arm64"))
    run = tripin(capsys, "lock", "app", "-t", X86, "-i", server.simple_url)
    assert run.code == 0, run.err
    assert read_toml(work / "pylock.toml")["packages"][0]["version"] == "1.0"
    passed = "app 2.0 requires dep, and the dep releases that fit have no wheel for this target"
    if newest_wheelless:
        expected = f"warning: {X86}: app 3.0 has no wheel for this target, {passed} (tripin locks wheels): 1.0 locked"
    else:
        expected = f"warning: {X86}: {passed} (tripin locks wheels): 1.0 locked"
    assert expected in run.err, run.err
    assert "app 2.0 has no wheel" not in run.err


def test_no_missing_wheel_is_blamed_where_a_newer_release_was_refused_for_its_requirements(
    make_index: Callable[..., IndexServer], work: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`'google-auth<2' google-cloud-storage google-cloud-pubsub`: pubsub 2.29.1 is an sdist, and
    every pubsub from 2.20 needs google-auth>=2. The warning said 2.29.1 has no wheel, as if a
    source build would give it; the wheels were not why 2.19 was locked, and nothing is said."""
    server = make_index()
    server.publish(build_wheel(tmp_path / "w", "auth", "1.0"))
    server.publish(build_wheel(tmp_path / "w", "auth", "2.0"))
    server.publish(build_wheel(tmp_path / "w", "pubsub", "1.0"))
    server.publish(build_wheel(tmp_path / "w", "pubsub", "2.0", requires_dist=["auth>=2"]))
    sdist = tmp_path / "sdist" / "pubsub-3.0.tar.gz"
    sdist.parent.mkdir()
    sdist.write_bytes(b"not read: tripin locks wheels")
    server.publish(sdist)
    run = tripin(capsys, "lock", "pubsub", "auth<2", "-t", X86, "-i", server.simple_url)
    assert run.code == 0, run.err
    assert _versions(work / "pylock.toml")["pubsub"] == "1.0"
    assert "warning" not in run.err, run.err


def test_a_release_without_wheels_below_one_refused_for_its_requirements_is_still_named(
    make_index: Callable[..., IndexServer], work: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """x 3.0 has a wheel and needs d>=2, which `d<2` refuses; x 2.0 has no wheel for Linux; x 1.0
    is locked. A refusal above x 2.0 does not explain skipping it: the warning names it."""
    server = make_index()
    server.publish(build_wheel(tmp_path / "w", "d", "1.0"))
    server.publish(build_wheel(tmp_path / "w", "d", "2.0"))
    server.publish(build_wheel(tmp_path / "w", "x", "1.0"))
    server.publish(build_wheel(tmp_path / "w", "x", "2.0", "cp312-cp312-win_amd64"))
    server.publish(build_wheel(tmp_path / "w", "x", "3.0", requires_dist=["d>=2"]))
    run = tripin(capsys, "lock", "x", "d<2", "-t", X86, "-i", server.simple_url)
    assert run.code == 0, run.err
    assert _versions(work / "pylock.toml")["x"] == "1.0"
    assert f"warning: {X86}: x 2.0 has no wheel for this target (tripin locks wheels): 1.0 locked" in run.err
    assert "x 3.0" not in run.err


def test_a_requirer_is_not_said_stuck_on_a_dependency_whose_own_range_has_wheels(
    make_index: Callable[..., IndexServer], tmp_path: Path
) -> None:
    """`'httpx<0.24' openai anthropic` warned that httpx 0.23.3 "requires certifi, and the
    certifi releases that fit have no wheel": certifi's releases had all been set aside while
    backtracking, and its oldest is an sdist. A requirer is stuck for want of wheels only where
    the range it asks for itself has none."""
    server = make_index()
    server.publish(build_wheel(tmp_path / "w", "dep", "1.0"))
    sdist = tmp_path / "sdist" / "dep-0.1.tar.gz"
    sdist.parent.mkdir()
    sdist.write_bytes(b"not read: tripin locks wheels")
    server.publish(sdist)
    client = IndexClient([Index(name="local", url=server.simple_url)], cache=Cache(tmp_path / "cache"))
    factory = Factory(parse_target(X86), client, load_ruleset())
    dep = NormalizedName("dep")
    set_aside = [Candidate(name=dep, version=Version("1.0"))]  # backtracked past
    assert not list(factory.find(dep, frozenset(), [Req(name=dep, origin="app 2.0")], set_aside)())
    pinned = Req(name=dep, specifier=SpecifierSet("==0.1"), origin="app 1.0")  # only the sdist
    assert not list(factory.find(dep, frozenset(), [pinned], [])())
    client.close()
    assert dict(factory.stuck) == {"app 1.0": {"dep"}}

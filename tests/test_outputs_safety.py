"""What tripin writes and prints under hostile or careless input: no credential in any output, no
impostor index through a name clash, outputs written as one (or not at all), through symlinks,
never over a device, with the mode the file had, and untouched when nothing changed."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from helpers import lock_args, read_toml, tripin
from indexserver import IndexServer

X86 = "linux-x86_64-cp312"
ARM = "linux-aarch64-cp312"
SECRET = "pl4nted-s3cret"


# ---- credentials ---------------------------------------------------------------------------


def test_a_planted_secret_reaches_no_output(work: Path, index: IndexServer, capsys: pytest.CaptureFixture[str]) -> None:
    """Every output mode of every command, with the secret in every place a URL is accepted."""
    url = index.simple_url.replace("http://", f"http://alice:{SECRET}@")
    pytorch = f"https://bob:{SECRET}@download.example.org/whl"
    outputs: list[str] = []

    def run(*args: str) -> int:
        result = tripin(capsys, *args)
        outputs.extend([result.out, result.err])
        return result.code

    base = ["torch==2.6.0", "-t", X86, "-t", ARM, "--cache-dir", "c", "--pytorch-index-url", pytorch]
    assert run("lock", *base, f"-i{url}", "-v") == 0  # an option glued to its value
    assert run("lock", *base, "--index-url", url, "-vv", "--format", "json") == 0
    assert run("lock", *base, f"--index-url={url}", "--print-config") == 0
    assert run("lock", *base, "--index-url", url, "--extra-index-url", url, "-q") == 0
    assert run("check") in (0, 1)
    assert run("check", "--format", "json", "pylock.toml", "constraints.txt") in (0, 1)
    assert run("explain", "torch") == 0
    assert run("explain", "triton", "--format", "json") == 0
    assert run("build-plan", "--target", ARM) == 0
    assert run("build-plan", "--target", ARM, "-o", "-") == 0
    # errors quoting a URL
    assert run("lock", "torch==2.6.0", "-t", X86, "-i", f"http://alice:{SECRET}@127.0.0.1:99999/simple") == 2
    assert run("lock", "nonexistent-project-zz", "-t", X86, "-i", url, "--cache-dir", "c") != 0
    for text in outputs:
        assert SECRET not in text, text
    for path in work.rglob("*"):
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes(), path
    assert any("****@" in text for text in outputs)  # masked, not silently dropped from messages


# ---- index names ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tables", "message"),
    [
        ('[[tool.tripin.index]]\nname = "extra-1"\nurl = "{url}"\npackages = ["torch"]\n', "reserved"),
        ('[[tool.tripin.index]]\nname = "default"\nurl = "{url}"\n', "reserved"),
        ('[[tool.tripin.index]]\nname = "pytorch-cu126"\nurl = "{url}"\n', "reserved"),
        (
            '[[tool.tripin.index]]\nname = "corp"\nurl = "{url}"\n'
            '[[tool.tripin.index]]\nname = "corp"\nurl = "{url}"\n',
            "two [[tool.tripin.index]] tables are named 'corp'",
        ),
        (
            '[[tool.tripin.index]]\nname = "a"\nurl = "{url}"\npackages = ["torch"]\n'
            '[[tool.tripin.index]]\nname = "b"\nurl = "{url}"\npackages = ["Torch"]\n',
            "pinned to two indexes",
        ),
    ],
)
def test_index_names_cannot_clash(
    work: Path, index: IndexServer, capsys: pytest.CaptureFixture[str], tables: str, message: str
) -> None:
    """The reported attack: an extra index (automatically named extra-1) serving torch 99.0.0,
    and a [[tool.tripin.index]] named extra-1 pinning torch. The name is refused, so no pin can
    mean an index the user did not name."""
    (work / "pyproject.toml").write_text(
        '[project]\nname = "a"\nversion = "0"\ndependencies = ["torch==2.6.0"]\n[tool.tripin]\n'
        f'targets = ["{X86}"]\nextra-index-urls = ["http://127.0.0.1:9/simple"]\n' + tables.format(url=index.simple_url)
    )
    run = tripin(capsys, "lock", "--cache-dir", "c")
    assert run.code == 2 and message in run.err and len(run.err.splitlines()) == 1, run.err
    assert "pyproject.toml:" in run.err
    assert not (work / "pylock.toml").exists()


# ---- [tool.tripin] as a schema -------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("lock = 1", "tool.tripin.lock must be a string, not an integer"),
        ("constraints = []", "tool.tripin.constraints must be a string, not a list"),
        ("manylinux = 2.28", "tool.tripin.manylinux must be a string, not a number"),
        ("musllinux = true", "tool.tripin.musllinux must be a string, not a boolean"),
        ("macos = {}", "tool.tripin.macos must be a string, not a table"),
        ('prerelease = "false"', "tool.tripin.prerelease must be true or false, not a string"),
        ("targets = [1]", "tool.tripin.targets must be a string or a list of strings"),
        ("index = 3", "tool.tripin.index must be [[tool.tripin.index]] tables"),
        ("exclude-newer = 3", "tool.tripin.exclude-newer must be a date"),
        ('index-url = "http://127.0.0.1:99999/simple"', "invalid index URL"),
        ('index-url = "http://127.0.0.1:x1/simple"', "invalid index URL"),
        ('index-url = "http://127.0.0.1/simple "', "white space"),
        ('index-url = "ftp://127.0.0.1/simple"', "must be http(s)"),
    ],
)
def test_tool_tripin_types_are_one_line_errors(
    work: Path, capsys: pytest.CaptureFixture[str], line: str, message: str
) -> None:
    (work / "pyproject.toml").write_text(
        f'[project]\nname = "a"\nversion = "0"\ndependencies = ["torch==2.6.0"]\n[tool.tripin]\n'
        f'targets = ["{X86}"]\n{line}\n'.replace(f'targets = ["{X86}"]\ntargets', "targets")
    )
    for args in (["lock", "--cache-dir", "c"], ["lock", "--print-config"]):
        run = tripin(capsys, *args)
        assert run.code == 2, run.err
        assert message in run.err and len(run.err.splitlines()) <= 2 and "Traceback" not in run.err, run.err
    assert not (work / "pylock.toml").exists()


def test_a_bad_dependency_group_entry_is_a_one_line_error(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (work / "pyproject.toml").write_text(
        '[project]\nname = "a"\nversion = "0"\ndependencies = ["torch==2.6.0"]\n'
        f'[dependency-groups]\ndev = ["pytest", 3]\n[tool.tripin]\ntargets = ["{X86}"]\ngroups = ["dev"]\n'
    )
    run = tripin(capsys, "lock", "--cache-dir", "c")
    assert run.code == 2 and "dependency-groups.dev[1] must be a requirement string" in run.err


def test_print_config_validates_what_lock_validates(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = tripin(capsys, "lock", "torch==2.6.0", "-t", "linux-sparc-cp312", "--print-config")
    assert run.code == 2 and "sparc" in run.err


# ---- writing outputs -----------------------------------------------------------------------


def _lock(index: IndexServer, capsys: pytest.CaptureFixture[str], *extra: str) -> int:
    return tripin(capsys, *lock_args(index.simple_url, Path("c"), X86, extra=["torch==2.6.0", *extra])).code


def test_a_failed_output_path_leaves_the_previous_lock(
    work: Path, index: IndexServer, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _lock(index, capsys) == 0
    before = (work / "pylock.toml").read_bytes()
    (work / "cdir").mkdir()
    run = tripin(capsys, *lock_args(index.simple_url, Path("c"), ARM, extra=["torch==2.6.0", "--constraints", "cdir"]))
    assert run.code == 2 and "cdir: is a directory" in run.err
    assert (work / "pylock.toml").read_bytes() == before
    assert not list(work.glob(".*.tmp"))


def test_an_output_that_is_an_input_or_the_other_output_is_refused(
    work: Path, index: IndexServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """`constraints.txt` is the default output and the usual name of a hand-written `-c` file:
    writing over it would lose the user's pins and then lock them as inputs."""
    mine = "# team pins, reviewed\nfilelock<3.18\n"
    (work / "constraints.txt").write_text(mine)
    (work / "req.in").write_text("filelock\n")
    (work / "inc.txt").write_text("-r req.in\n")
    base = lock_args(index.simple_url, work / "c", X86)
    cases = [
        (["filelock", "-c", "constraints.txt"], "constraints.txt: is also an input of this lock (constraints.txt)"),
        (["inc.txt", "--constraints", "./req.in"], "req.in: is also an input of this lock (req.in)"),  # an include
        (["filelock", "--constraints", "pylock.toml"], "pylock.toml (--constraints) and pylock.toml (--lock) are one"),
    ]
    for extra, message in cases:
        run = tripin(capsys, *base, *extra)
        assert run.code == 2 and message in run.err and run.err.count("\n") == 1, run.err
    (work / "pylock.toml").symlink_to("c2.txt")
    run = tripin(capsys, *base, "filelock", "--constraints", "c2.txt")
    assert run.code == 2 and "c2.txt (--constraints) and pylock.toml (--lock) are one file" in run.err
    assert (work / "constraints.txt").read_text() == mine and not (work / "c2.txt").exists()
    assert sorted(p.name for p in work.iterdir() if p.is_file()) == ["constraints.txt", "inc.txt", "req.in"]


def test_unchanged_outputs_keep_their_mtime_and_a_header_without_flags(
    work: Path, index: IndexServer, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _lock(index, capsys) == 0
    stamps = {p: p.stat().st_mtime_ns for p in (work / "pylock.toml", work / "constraints.txt")}
    os.utime(work / "pylock.toml", ns=(1, 1))
    os.utime(work / "constraints.txt", ns=(1, 1))
    assert _lock(index, capsys, "-q", "--format", "json") == 0  # flags that do not change the result
    assert (work / "pylock.toml").stat().st_mtime_ns == 1 and (work / "constraints.txt").stat().st_mtime_ns == 1
    assert stamps  # the first run wrote both
    assert "--format" not in (work / "constraints.txt").read_text()


def test_outputs_are_written_through_symlinks_and_keep_their_mode(
    work: Path, index: IndexServer, capsys: pytest.CaptureFixture[str]
) -> None:
    shared = work / "shared"
    shared.mkdir()
    (shared / "constraints.txt").write_text("# old\n")
    (shared / "constraints.txt").chmod(0o640)
    (work / "constraints.txt").symlink_to(shared / "constraints.txt")
    assert _lock(index, capsys) == 0
    assert (work / "constraints.txt").is_symlink()
    assert "torch==2.6.0" in (shared / "constraints.txt").read_text()
    assert stat.S_IMODE((shared / "constraints.txt").stat().st_mode) == 0o640
    umask = os.umask(0o022)
    os.umask(umask)
    assert stat.S_IMODE((work / "pylock.toml").stat().st_mode) == 0o666 & ~umask


def test_check_fix_writes_through_a_symlinked_constraints_file(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    shared = work / "shared.txt"
    shared.write_text("torch==2.6.0\ntriton==3.1.0\n")
    (work / "constraints.txt").symlink_to(shared)
    tripin(capsys, "check", "--fix", "constraints.txt", "-t", X86)
    assert (work / "constraints.txt").is_symlink()
    assert "triton==3.1.0" not in shared.read_text()


@pytest.mark.skipif(os.geteuid() != 0, reason="making a device node needs root")
def test_build_plan_never_replaces_a_device(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The report: `-o /dev/null` as root turned /dev/null into a regular file. A private node
    with /dev/null's numbers stands in for it, so a regression cannot break this machine."""
    os.mknod(work / "null", stat.S_IFCHR | 0o666, os.makedev(1, 3))
    run = tripin(capsys, "build-plan", "--torch", "2.6.0", "--target", ARM, "-o", str(work / "null"))
    assert run.code == 2 and "not a regular file" in run.err
    assert stat.S_ISCHR((work / "null").stat().st_mode)


def test_build_plan_to_a_fifo_or_directory_is_refused(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    os.mkfifo(work / "fifo")
    (work / "dir").mkdir()
    for output, kind in (("fifo", "not a regular file"), ("dir", "is a directory")):
        run = tripin(capsys, "build-plan", "--torch", "2.6.0", "--target", ARM, "-o", output)
        assert run.code == 2 and kind in run.err
    run = tripin(capsys, "build-plan", "--torch", "2.6.0", "--target", ARM, "-o", "build.sh")
    assert run.code == 0 and os.access(work / "build.sh", os.X_OK)


def test_a_cache_on_a_full_disk_leaves_no_temp_files(tmp_path: Path) -> None:
    """A file-size limit stands in for a full disk: every cache write fails part way."""
    code = textwrap.dedent(
        f"""
        import resource, signal
        from pathlib import Path
        from tripin.index.cache import Cache, Entry
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (4096, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))
        cache = Cache(Path({str(tmp_path / "cache")!r}))
        for i in range(50):
            cache.put("pages", f"key-{{i}}", Entry(body=b"x" * 100_000, content_type="text/html"))
        """
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    leftovers = [p for p in (tmp_path / "cache").rglob("*") if p.is_file()]
    assert leftovers == [], leftovers[:5]
    assert signal.SIGXFSZ  # the platform has the signal the test relies on


def test_json_lock_summary_names_no_command_line(
    work: Path, index: IndexServer, capsys: pytest.CaptureFixture[str]
) -> None:
    run = tripin(capsys, *lock_args(index.simple_url, Path("c"), X86, extra=["torch==2.6.0", "--format", "json"]))
    assert run.code == 0
    assert json.loads(run.out)["lock"] == "pylock.toml"
    assert read_toml(work / "pylock.toml")["lock-version"] == "1.0"


# ---- lock --check and PEP 751 file names ---------------------------------------------------


def test_lock_check_touches_nothing_and_diffs_what_would_change(
    work: Path, index: IndexServer, capsys: pytest.CaptureFixture[str]
) -> None:
    args = lock_args(index.simple_url, Path("c"), X86, extra=["torch==2.6.0"])
    run = tripin(capsys, *args, "--check")
    assert run.code == 1 and "+++ b/pylock.toml" in run.out and "--- /dev/null" in run.out
    assert not (work / "pylock.toml").exists() and not (work / "constraints.txt").exists()
    assert tripin(capsys, *args).code == 0
    stamps = {p.name: p.stat().st_mtime_ns for p in work.glob("*.t*") if p.is_file()}
    run = tripin(capsys, *args, "--check")
    assert (run.code, run.out) == (0, "")
    (work / "constraints.txt").write_text((work / "constraints.txt").read_text().replace("2.6.0", "2.5.1"))
    run = tripin(capsys, *args, "--check")
    assert run.code == 1 and "-torch==2.5.1" in run.out and "+torch==2.6.0" in run.out
    assert "would change" in run.err
    assert {p.name: p.stat().st_mtime_ns for p in work.glob("*.t*") if p.is_file()}.keys() == stamps.keys()
    assert "2.5.1" in (work / "constraints.txt").read_text()


@pytest.mark.parametrize("name", ["lock.toml", "pylock.a.b.toml", "pylock.txt", "my-pylock.toml"])
def test_lock_names_follow_pep_751(work: Path, capsys: pytest.CaptureFixture[str], name: str) -> None:
    run = tripin(capsys, "lock", "torch==2.6.0", "-t", X86, "--lock", name)
    assert run.code == 2 and "must be named pylock.toml or pylock.NAME.toml" in run.err


def test_a_named_lock_is_accepted(work: Path, index: IndexServer, capsys: pytest.CaptureFixture[str]) -> None:
    args = lock_args(index.simple_url, Path("c"), X86, extra=["torch==2.6.0", "--lock", "pylock.gpu.toml"])
    assert tripin(capsys, *args).code == 0 and (work / "pylock.gpu.toml").is_file()


def test_a_line_separator_in_a_marker_cannot_add_a_constraint(
    work: Path, index: IndexServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """packaging accepts U+2028 inside a marker string; pip reads files with splitlines(), which
    breaks a line there: the constraints header must not carry it raw."""
    hostile = 'torch==2.6.0 ; extra != "x\u2028evil-package==1.0"'
    assert tripin(capsys, *lock_args(index.simple_url, Path("c"), X86, extra=[hostile])).code == 0
    lines = (work / "constraints.txt").read_text().splitlines()
    assert not any(line.startswith("evil-package") for line in lines)
    assert all(line.startswith("#") or "==" in line for line in lines)

"""Input written to break tripin (issue 10): each case once crashed with a traceback, hung, grew
without bound or passed as correct. Each must now end in one line on stderr and exit 2, or do
the right thing, within seconds and bounded memory."""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

import pytest
from clirun import run_tripin
from helpers import lock_args, tripin
from indexserver import IndexServer

from tripin.errors import IndexFetchError
from tripin.index import Index, IndexClient
from tripin.index.cache import Cache
from tripin.reqfile import parse_requirements_file
from tripin.resolver.prefetch import Prefetcher
from tripin.targets import parse_target

ARM = "linux-aarch64-cp312"
FORK_OVERLAY = Path(__file__).parent / "rules" / "overlay-internal-fork.toml"


@pytest.fixture
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TRIPIN_CACHE_DIR", str(tmp_path / "cache"))
    (tmp_path / "c.txt").write_text("torch==2.6.0\ntriton==3.2.0\n")
    return tmp_path


def _one_line_error(err: str, *needles: str) -> str:
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("tripin: error: "), err[:2000]
    assert "Traceback" not in err
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


# -- crashes -------------------------------------------------------------------------------------

DEEP = "a = " + "[" * 1000 + "]" * 1000 + "\n"


@pytest.mark.parametrize(
    ("toml", "needle"),
    [(DEEP, "nested too deeply"), (f"a = {'9' * 5000}\n", "an integer over 4,300 digits")],  # the second: fuzz
)
@pytest.mark.parametrize("kind", ["pylock", "overlay", "pyproject"])
def test_toml_nested_a_thousand_deep_or_a_huge_integer(
    work: Path, capsys: pytest.CaptureFixture[str], kind: str, toml: str, needle: str
) -> None:
    """tomllib raises RecursionError for the first and a bare ValueError for the second."""
    if kind == "pylock":
        (work / "pylock.toml").write_text('lock-version = "1.0"\n' + toml)
        run = tripin(capsys, "check", "pylock.toml")
    elif kind == "overlay":
        (work / "deep.toml").write_text(toml)
        run = tripin(capsys, "check", "c.txt", "--overlay", "deep.toml")
    else:
        (work / "pyproject.toml").write_text('[project]\nname = "a"\nversion = "0"\n' + toml)
        run = tripin(capsys, "lock", "--index-url", "http://127.0.0.1:9/simple")
    assert run.code == 2
    _one_line_error(run.err, needle)


def test_three_thousand_chained_includes(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for i in range(3000):
        (work / f"r{i}.txt").write_text(f"-r r{i + 1}.txt\n")
    (work / "r3000.txt").write_text("torch==2.6.0\n")
    run = tripin(capsys, "check", "r0.txt")
    assert run.code == 2
    _one_line_error(run.err, "r100.txt:1: includes nested deeper than 100 files")


@pytest.mark.parametrize("line", ["-r https://example.com/base.txt", "-c file:///etc/passwd", "--requirement=s3://b/r"])
def test_a_url_include_is_named_as_written(work: Path, capsys: pytest.CaptureFixture[str], line: str) -> None:
    """pip fetches URL includes; tripin says it does not, quoting the URL as written (the path
    join once collapsed `https://` to `https:/`)."""
    (work / "r.in").write_text(f"{line}\ntorch==2.6.0\n")
    for run in (tripin(capsys, "check", "r.in"), tripin(capsys, "lock", "r.in", "-t", "linux-x86_64-cp312")):
        assert run.code == 2
        url = line.split("=", 1)[1] if line.startswith("--") else line.split(" ", 1)[1]
        _one_line_error(run.err, f"r.in:1: {line.split(' ')[0].split('=')[0]} {url}: a URL include is not supported")


@pytest.mark.parametrize(
    "marker", ["'dev' in dependency_groups", "sys_platform === 'linux'", "python_version ~= '3'"]
)  # the second found by the fuzz test
def test_markers_packaging_cannot_evaluate(
    index: IndexServer, work: Path, capsys: pytest.CaptureFixture[str], marker: str
) -> None:
    (work / "r.txt").write_text(f"torch==2.6.0 ; {marker}\n")
    run = tripin(capsys, "check", "r.txt")
    assert run.code == 2
    _one_line_error(run.err, "r.txt:1:", "marker cannot be evaluated")
    run = tripin(capsys, *lock_args(index.simple_url, work / "c", ARM, extra=[f"torch==2.6.0 ; {marker}"]))
    assert run.code == 2
    _one_line_error(run.err, "command line: invalid requirement", "marker cannot be evaluated")


@pytest.mark.parametrize("kind", ["requirements", "marker", "pylock", "overlay"])
def test_a_version_of_100000_digits(work: Path, capsys: pytest.CaptureFixture[str], kind: str) -> None:
    """int() refuses over 4,300 digits with a ValueError wherever the version is compared; the
    marker and overlay cases were found by the fuzz test."""
    version = "1" * 100_000
    args = ["check", "f.txt"]
    if kind == "requirements":
        (work / "f.txt").write_text(f"torch=={version}\n")
    elif kind == "marker":
        (work / "f.txt").write_text(f"torch==2.6.0 ; python_version >= '{version}'\n")
    elif kind == "pylock":
        (work / "f.toml").write_text(f'lock-version = "1.0"\n[[packages]]\nname = "torch"\nversion = "{version}"\n')
        args = ["check", "f.toml"]
    else:
        overlay = FORK_OVERLAY.read_text().replace('version = "3.2.0"', f'version = "3.{version}"')
        (work / "f.toml").write_text(overlay)
        args = ["check", "c.txt", "--overlay", "f.toml"]
    run = tripin(capsys, *args)
    assert run.code == 2
    assert len(_one_line_error(run.err, "f.")) < 3000


def _recipe_overlay(work: Path, local_version: str, package: str = "triton") -> None:
    (work / "o.toml").write_text(
        f'schema = 1\n\n[[recipe]]\nid = "r"\npackage = "{package}"\nversions = ">=3.2,<3.3"\n'
        f'local-version = "{local_version}"\nsource = "https://example.org/r"\n'
    )


def test_overlay_local_version_with_stray_braces(
    index: IndexServer, work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _recipe_overlay(work, "+git{}")
    run = tripin(capsys, "check", "c.txt", "--target", ARM, "--overlay", "o.toml")
    assert run.code == 2
    _one_line_error(run.err, "o.toml:7:", "local-version")
    run = tripin(capsys, *lock_args(index.simple_url, work / "c", ARM, extra=["torch==2.6.0", "--overlay", "o.toml"]))
    assert run.code == 2
    _one_line_error(run.err, "o.toml:7:", "local-version")
    _recipe_overlay(work, "+git{short}")  # the one placeholder still works
    assert tripin(capsys, "check", "c.txt", "--target", ARM, "--overlay", "o.toml").code in (0, 1)


def test_prefetch_cancelled_by_shutdown_logs_nothing(
    index: IndexServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A run that ends with queued prefetches (the two-index refusal, say): their callbacks called
    exception() on futures the shutdown had cancelled and logged a CancelledError traceback (on
    9bbf5bd). The client now settles its own futures and leaves queued ones pending, and the
    callbacks check cancelled() first: either keeps this quiet."""
    from packaging.requirements import Requirement

    index.fault("/simple/*", "delay", seconds=0.5)
    client = IndexClient([Index(name="local", url=index.simple_url)], cache=Cache(tmp_path / "c"), workers=1)
    with caplog.at_level(logging.ERROR):
        Prefetcher(client, [parse_target(ARM)]).start(Requirement(n) for n in ("mpmath", "filelock", "sympy", "six"))
        client.close()  # one fetch running, three queued: cancelled
    assert not [r for r in caplog.records if r.name.startswith("concurrent")], caplog.text


@pytest.mark.parametrize("source", ["fifo", "/dev/zero", "/dev/urandom"])
@pytest.mark.parametrize("how", ["named", "included"])
def test_special_files_are_refused(tmp_path: Path, source: str, how: str) -> None:
    if source == "fifo":
        os.mkfifo(tmp_path / "fifo.txt")
        source = "fifo.txt"
    (tmp_path / "r.txt").write_text(f"-r {source}\n")
    run = run_tripin(["check", source if how == "named" else "r.txt"], tmp_path)
    assert run.code == 2, (run.code, run.seconds)
    _one_line_error(run.err, "cannot read: not a regular file")
    assert run.peak_mb < 200


def test_a_fifo_named_as_a_lock(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pylock.toml")
    run = run_tripin(["check", "pylock.toml"], tmp_path)
    assert run.code == 2
    _one_line_error(run.err, "pylock.toml: cannot read: not a regular file (a FIFO)")


def test_comment_stripping_is_linear(tmp_path: Path) -> None:
    (tmp_path / "r.txt").write_text("torch==2.6.0" + " " * 40_000 + "x\n" + " " * 40_000 + "# c\n")
    started = time.monotonic()
    with pytest.raises(Exception, match="invalid requirement"):
        parse_requirements_file(tmp_path / "r.txt")
    assert time.monotonic() - started < 1.0  # 6.7 s with the backtracking regex


class _Budget(list[Path]):
    """A `read` list that stops a parse reading files more often than a diamond needs."""

    def append(self, path: Path) -> None:
        if len(self) > 100:
            raise AssertionError("includes read over and over")
        super().append(path)


def test_a_diamond_of_includes_is_read_once_per_file(tmp_path: Path) -> None:
    """Each of 24 files includes the next twice: 2**24 paths, 24 files."""
    for i in range(24):
        (tmp_path / f"r{i}.txt").write_text(f"pkg{i}==1.0\n-r r{i + 1}.txt\n-r r{i + 1}.txt\n")
    (tmp_path / "r24.txt").write_text("torch==2.6.0\n")
    read = _Budget()
    lines = parse_requirements_file(tmp_path / "r0.txt", read=read)
    assert [ln.requirement.name for ln in lines] == [*(f"pkg{i}" for i in range(24)), "torch"]
    assert {p.name for p in read} == {f"r{i}.txt" for i in range(25)}


def test_a_million_lines(tmp_path: Path) -> None:
    (tmp_path / "r.txt").write_text("".join(f"numpy==1.{i}\n" for i in range(1_000_000)))
    run = run_tripin(["check", "r.txt"], tmp_path, timeout=20)
    assert run.code == 2
    _one_line_error(run.err, "r.txt:100001: more than 100,000 requirement lines")
    assert run.peak_mb < 500 and run.seconds < 10, run


def test_an_error_does_not_repeat_a_huge_line(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (work / "r.txt").write_text("torch==2.6.0 " + "x" * 5_000_000 + "\n")
    run = tripin(capsys, "check", "r.txt")
    assert run.code == 2
    assert len(_one_line_error(run.err, "r.txt:1: invalid requirement", "(5000013 characters)")) < 1000


def test_a_file_over_the_size_limit(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with (work / "r.txt").open("w") as handle:
        handle.write("# filler\n" * (17 * 1024 * 1024 // 9 + 1))
    run = tripin(capsys, "check", "r.txt")
    assert run.code == 2
    _one_line_error(run.err, "r.txt: cannot read: larger than 16 MiB")


def _pins(count: int, extra: str = "") -> str:
    out = ["schema = 1"]
    for i in range(count):
        out.append(
            f'\n[[pin]]\nid = "p{i}"\ntorch = "=={i // 100 + 10}.{i % 100}.0"\n'
            f'marker = "platform_machine == \'x86_64\'"\npackage = "triton"\nversion = "3.2.0"\n'
            f'provides = "wheel"\nsource = "https://example.org/{i}"'
        )
    return "\n".join(out) + "\n" + extra


def test_a_ten_thousand_pin_overlay(tmp_path: Path) -> None:
    (tmp_path / "c.txt").write_text("torch==2.6.0\ntriton==3.2.0\n")
    (tmp_path / "o.toml").write_text(_pins(10_000))
    run = run_tripin(["check", "c.txt", "--target", ARM, "--overlay", "o.toml"], tmp_path, timeout=30)
    assert run.code == 0 and not run.err, run
    assert run.seconds < 20  # over 120 s pair by pair
    clash = '\n[[pin]]\nid = "late"\ntorch = ">=10.5,<10.6"\nmarker = "sys_platform == \'linux\'"\n'
    clash += 'package = "triton"\nversion = "3.2.0"\nprovides = "wheel"\nsource = "https://example.org/x"\n'
    (tmp_path / "o.toml").write_text(_pins(10_000, clash))
    run = run_tripin(["check", "c.txt", "--target", ARM, "--overlay", "o.toml"], tmp_path, timeout=30)
    assert run.code == 2
    _one_line_error(run.err, "pin 'late' overlaps pin 'p5' ", "for torch 10.5.0")


@pytest.mark.parametrize("value", ["-5", "nan", "inf", "abc", "0", "1e9"])
def test_a_bad_http_timeout_is_a_usage_error(
    work: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], value: str
) -> None:
    """nan, inf and negatives reached httpx and the clock as tracebacks; `abc` was exit 3."""
    monkeypatch.setenv("TRIPIN_HTTP_TIMEOUT", value)
    run = tripin(capsys, "lock", "six", "-t", "linux-x86_64-cp312", "-i", "http://127.0.0.1:9/simple", "--refresh")
    assert run.code == 2
    _one_line_error(run.err, f"TRIPIN_HTTP_TIMEOUT={value!r}: must be a number of seconds")


def test_a_redirect_loop_is_one_line(index: IndexServer, work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """httpx's TooManyRedirects is no transport error: it reached the user as a traceback."""
    fault = index.fault("/simple/torch/", "redirect_loop")
    run = tripin(capsys, "lock", "torch==2.6.0", "-t", "linux-x86_64-cp312", "-i", index.simple_url)
    assert run.code == 3 and fault.hits > 1
    _one_line_error(run.err, "/simple/torch/: too many redirects")


def test_a_server_that_never_answers_is_asked_twice(
    index: IndexServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the default 30 s timeout, two waits are 60 s: under pip's 90 s, where four were
    124.5 s. Measured here at 1 s per wait."""
    monkeypatch.setenv("TRIPIN_HTTP_TIMEOUT", "1")
    fault = index.fault("/simple/mpmath/", "hang")
    started = time.monotonic()
    client = IndexClient([Index(name="local", url=index.simple_url)], cache=Cache(tmp_path / "c"))
    with client, pytest.raises(IndexFetchError, match="timed out"):
        client.project("mpmath")
    assert fault.hits == 2
    assert time.monotonic() - started < 4.5  # 2 waits and 0.25 s: 2.25 s; four waits took 5.75 s


# -- wrong answers -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("", "no lock-version"),
        ("[tool.x]\na = 1\n", "no lock-version"),
        ('lock-version = "2.0"\n', "lock-version '2.0' is not supported"),
        ('lock-version = "1.0"\npackages = 3\n', "packages must be an array"),
    ],
)
def test_not_a_lock_fails_check(work: Path, capsys: pytest.CaptureFixture[str], text: str, needle: str) -> None:
    (work / "pylock.toml").write_text(text)
    run = tripin(capsys, "check", "pylock.toml")
    assert run.code == 2
    _one_line_error(run.err, needle)


def test_overlay_with_an_empty_package_name(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (work / "o.toml").write_text(FORK_OVERLAY.read_text().replace('package = "triton"', 'package = ""'))
    run = tripin(capsys, "check", "c.txt", "--overlay", "o.toml")
    assert run.code == 2
    _one_line_error(run.err, "o.toml:6: 'package' is not a package name: ''")


def test_a_newline_in_a_name_stays_on_one_line(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rule = FORK_OVERLAY.read_text().split("schema = 1", 1)[1]
    (work / "o.toml").write_text("schema = 1\n" + rule.replace("internal-triton-3.2.0", "x\\nrm -rf ~\\u2028y") + rule)
    run = tripin(capsys, "check", "c.txt", "--overlay", "o.toml")
    assert run.code == 2
    _one_line_error(run.err, "second build rule for triton 3.2.0 (x\\x0arm -rf ~\\u2028y)")


def test_a_path_too_long_for_the_system(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Found by the fuzz test: Path.is_file() raises ENAMETOOLONG rather than answer False."""
    (work / "pyproject.toml").write_text(
        f'[project]\nname = "a"\nversion = "0"\n[tool.tripin]\nlock = "{"9" * 5000}"\n'
    )
    run = tripin(capsys, "check")
    assert run.code == 2
    assert len(_one_line_error(run.err, "File name too long")) < 2100


@pytest.mark.parametrize("where", ["pyproject", "include"])
def test_a_nul_in_a_file_name(work: Path, capsys: pytest.CaptureFixture[str], where: str) -> None:
    """Found by the fuzz test: os.open and Path.is_file raise ValueError on a NUL."""
    if where == "pyproject":
        (work / "pyproject.toml").write_text(
            '[project]\nname = "a"\nversion = "0"\n[tool.tripin]\nlock = "a\\u0000b"\n'
        )
        run = tripin(capsys, "check")
    else:
        (work / "r.txt").write_text("-r a\0b.txt\n")
        run = tripin(capsys, "check", "r.txt")
    assert run.code == 2
    _one_line_error(run.err, "NUL character" if where == "pyproject" else "'a\\x00b.txt': cannot read")


def test_lock_with_a_5000_digit_marker(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (work / "pyproject.toml").write_text(
        f'[project]\nname = "a"\nversion = "0"\ndependencies = ["torch ; python_version >= \'{"9" * 5000}\'"]\n'
    )
    run = tripin(capsys, "lock", "--offline", "--target", ARM)
    assert run.code == 2
    _one_line_error(run.err, "[project].dependencies: invalid requirement: a number over 100 digits")


@pytest.mark.parametrize("field", ["version", "requires-dist"])
def test_index_metadata_with_a_5000_digit_number(field: str) -> None:
    from tripin.index.metadata import parse_metadata

    huge = "1." + "9" * 5000
    version, requires = (huge, "x") if field == "version" else ("1.0", f"x ; python_version > '{huge}'")
    data = f"Metadata-Version: 2.1\nName: p\nVersion: {version}\nRequires-Dist: {requires}\n"
    with pytest.raises(IndexFetchError, match="5000 digits" if field == "requires-dist" else "invalid Version"):
        parse_metadata(data.encode(), "p.metadata")


@pytest.mark.parametrize(
    ("name", "needle"), [('"torch\\ntriton"', "'torch\\ntriton'"), ("5", "name must be a string, not int")]
)
def test_a_lock_entry_whose_name_is_no_name(
    work: Path, capsys: pytest.CaptureFixture[str], name: str, needle: str
) -> None:
    (work / "pylock.toml").write_text(f'lock-version = "1.0"\n[[packages]]\nname = {name}\nversion = "1"\n')
    run = tripin(capsys, "check", "pylock.toml")
    assert run.code == 2
    _one_line_error(run.err, "pylock.toml:2: malformed package entry", needle)


def test_a_checked_file_replaced_by_a_fifo(tmp_path: Path) -> None:
    """The check memo hashes the files an earlier answer depended on before anything else runs:
    a FIFO there must not block it."""
    (tmp_path / "r.txt").write_text("torch==2.6.0\n")
    assert run_tripin(["check", "r.txt"], tmp_path).code == 0  # remembered
    (tmp_path / "r.txt").unlink()
    os.mkfifo(tmp_path / "r.txt")
    run = run_tripin(["check", "r.txt"], tmp_path)
    assert run.code == 2, run
    _one_line_error(run.err, "r.txt: cannot read: not a regular file (a FIFO)")


@pytest.mark.parametrize("what", ["fifo", "deep"])
def test_a_hostile_uv_lock(tmp_path: Path, what: str) -> None:
    if what == "fifo":
        os.mkfifo(tmp_path / "uv.lock")
    else:
        (tmp_path / "uv.lock").write_text("version = 1\n" + DEEP)
    run = run_tripin(["check", "uv.lock"], tmp_path)
    assert run.code == 2, run
    _one_line_error(run.err, "uv.lock", "not a regular file (a FIFO)" if what == "fifo" else "nested too deeply")


@pytest.mark.parametrize(
    ("body", "kind"),
    [
        (b'<a href="//[">p-1.0-py3-none-any.whl</a>', "html"),
        (b'<base href="//["><a href="p-1.0-py3-none-any.whl">p</a>', "html"),
        (b'{"meta": {"api-version": "1.1"}, "files": [{"filename": "p-1.0-py3-none-any.whl", "url": "//["}]}', "json"),
    ],
)
def test_a_link_urllib_cannot_read_is_a_malformed_page(body: bytes, kind: str) -> None:
    """`//[` opens an IPv6 host and never closes it: urljoin raised ValueError, a traceback out
    of a page an index served (found by test_parsers_property's random anchors)."""
    from tripin.index.simple import JSON_TYPE, parse_page

    content_type = JSON_TYPE if kind == "json" else "text/html"
    with pytest.raises(IndexFetchError, match=r"malformed link '//\[' in project page"):
        parse_page(body, content_type, "https://example.org/simple/p/", "p")


def test_a_page_with_a_link_urllib_cannot_read_is_one_line(
    index: IndexServer, work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    entry = {"filename": "demo-1.0-py3-none-any.whl", "url": "//[", "hashes": {"sha256": "00" * 32}}
    index.set_page("demo", {"meta": {"api-version": "1.1"}, "name": "demo", "files": [entry]})
    run = tripin(capsys, *lock_args(index.simple_url, work / "cache", "linux-x86_64-cp312", extra=["demo"]))
    assert run.code != 0 and "malformed link" in run.err and "Traceback" not in run.err, run.err
    assert len(run.err.strip().splitlines()) == 1, run.err
    assert not (work / "pylock.toml").exists()


def test_python_dash_m_does_not_import_a_module_from_the_working_directory(tmp_path: Path) -> None:
    """`python -m tripin check` in a checked-out pull request: `-m` puts the working directory
    first on sys.path, and its `logging.py` and `tomllib.py` ran before tripin judged anything."""
    import subprocess
    import sys

    marker = tmp_path / "ran"
    for name in ("logging", "tomllib", "argparse"):
        (tmp_path / f"{name}.py").write_text(f"open({str(marker)!r}, 'a').write({name!r})\n")
    (tmp_path / "constraints.txt").write_text("torch==2.6.0\n")
    env = {**os.environ, "TRIPIN_CACHE_DIR": str(tmp_path / "cache")}
    env.pop("PYTHONSAFEPATH", None)
    done = subprocess.run(
        [sys.executable, "-m", "tripin", "check", "constraints.txt"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "Traceback" not in done.stderr, done.stderr
    assert not marker.exists(), marker.read_text()
    assert done.returncode in (0, 1), done.stderr

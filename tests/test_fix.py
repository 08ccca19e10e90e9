"""`tripin check --fix`: files written back as they were read, and every violation left said so."""

from __future__ import annotations

import codecs
import json
from pathlib import Path

import pytest
from helpers import BAD_MAIN, GOOD_320, lock_args, tripin, with_main_build
from indexserver import IndexServer

X86 = "linux-x86_64-cp312"
ARM_CU = "linux-aarch64-cp312-cu126"
WRONG_WHEEL = "https://files.example.org/triton-3.1.0-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"


@pytest.fixture
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TRIPIN_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path


@pytest.mark.parametrize(
    ("bom", "encoding"),
    [
        (codecs.BOM_UTF16_LE, "utf-16-le"),  # PowerShell's `pip freeze > requirements.txt`
        (codecs.BOM_UTF16_BE, "utf-16-be"),
        (codecs.BOM_UTF8, "utf-8"),
        (b"", "utf-8"),
    ],
)
def test_fix_writes_the_file_back_in_its_own_encoding_and_line_endings(
    work: Path, capsys: pytest.CaptureFixture[str], bom: bytes, encoding: str
) -> None:
    path = work / "requirements.txt"
    path.write_bytes(bom + "torch==2.6.0\r\ntriton==3.1.0\r\nnumpy==2.2.0\n# é\r\n".encode(encoding))
    run = tripin(capsys, "check", "--fix", "-t", X86, "requirements.txt")
    assert run.code == 0, run.out + run.err
    assert "fixed requirements.txt:2: triton==3.1.0 -> triton===3.2.0" in run.err
    # only the pin changed: the byte-order mark, the encoding and each line's ending stay
    assert path.read_bytes() == bom + "torch==2.6.0\r\ntriton===3.2.0\r\nnumpy==2.2.0\n# é\r\n".encode(encoding)
    assert tripin(capsys, "check", "-t", X86, "requirements.txt").code == 0


def test_fix_keeps_a_lock_s_crlf_endings(
    index: IndexServer, pytorch: IndexServer, work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    extra = ["torch==2.6.0", "--pytorch-index-url", pytorch.url]
    assert tripin(capsys, *lock_args(index.simple_url, work / "c", ARM_CU, extra=extra)).code == 0
    good = (work / "pylock.toml").read_text().replace("\n", "\r\n")
    bad = with_main_build(good)
    assert bad.count(BAD_MAIN) == 2
    (work / "pylock.toml").write_bytes(bad.encode())
    run = tripin(capsys, "check", "--fix", "pylock.toml")
    assert run.code == 0, run.out + run.err
    assert (work / "pylock.toml").read_bytes() == good.encode()


@pytest.mark.parametrize("line", [f"triton @ {WRONG_WHEEL}", f"triton @ {WRONG_WHEEL} ; sys_platform == 'linux'"])
def test_fix_says_why_it_leaves_a_direct_url(work: Path, capsys: pytest.CaptureFixture[str], line: str) -> None:
    text = f"torch==2.6.0\n{line}\n"
    (work / "requirements.txt").write_text(text)
    run = tripin(capsys, "check", "--fix", "-t", X86, "requirements.txt")
    assert run.code == 1
    assert "TP001" in run.out  # still reported as a violation
    assert (
        "not fixed requirements.txt:2: a direct URL names the file, not a version --fix can rewrite; "
        "replace it with triton===3.2.0 (or the URL of that release's wheel)\n"
    ) in run.err
    assert (work / "requirements.txt").read_text() == text


def test_fix_names_the_violations_it_does_not_rewrite(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """TP006 (hashes missing on some lines) is no pin: --fix says so and what to do, while it
    fixes the pin beside it."""
    sha = "sha256:" + "0" * 64
    (work / "requirements.txt").write_text(f"torch==2.6.0 --hash={sha}\ntriton==3.1.0\nnumpy==2.2.0\n")
    run = tripin(capsys, "check", "--fix", "-t", X86, "requirements.txt")
    assert run.code == 1
    assert "fixed requirements.txt:2: triton==3.1.0 -> triton===3.2.0" in run.err
    assert "not fixed requirements.txt:3: TP006 is not a pin --fix rewrites; regenerate it with its hashes" in run.err
    # the TP006 on line 2 goes with the pin --fix rewrote there: it is reported by the re-check, not here
    assert "not fixed requirements.txt:2" not in run.err


@pytest.mark.parametrize(
    ("url", "edit", "fixed"),
    [
        (  # an archive: no commit, whatever it holds
            "https://evil.example/triton-3.2.0.tar.gz",
            "replace the URL with triton===3.2.0, what the rules give torch 2.6.0",
            "triton===3.2.0",
        ),
        (  # an abbreviated commit of Triton's repository
            f"git+https://github.com/triton-lang/triton@{GOOD_320[:8]}#subdirectory=python",
            f"point the URL at the full commit the rules give torch 2.6.0, @{GOOD_320}, or pin triton===3.2.0 "
            "in its place",
            f"triton @ git+https://github.com/triton-lang/triton@{GOOD_320}#subdirectory=python",
        ),
        (  # a fork's full commit: pip takes a tag named like it first; pointing it elsewhere keeps the fork
            f"git+https://github.com/someone/triton@{GOOD_320}#subdirectory=python",
            "replace the URL with triton===3.2.0, what the rules give torch 2.6.0",
            "triton===3.2.0",
        ),
    ],
)
def test_a_direct_reference_the_fix_cannot_rewrite_names_the_edit(
    work: Path, capsys: pytest.CaptureFixture[str], url: str, edit: str, fixed: str
) -> None:
    """TP013 in a requirements file with no lock: its fix was `pip install --force-reinstall
    --no-deps 'triton===3.2.0'`, printed by check and by --fix, which changed the environment
    and left the line, and the check, failing. It is the edit that fixes the file."""
    text = f"torch==2.6.0\ntriton @ {url}\n"
    (work / "r.txt").write_text(text)
    data = json.loads(tripin(capsys, "check", "-t", X86, "r.txt", "--format", "json").out)
    assert [(v["code"], v["fix"]) for v in data["violations"]] == [
        ("TP013", {"text": f"edit the line: {edit}", "argv": None})
    ], data
    run = tripin(capsys, "check", "--fix", "-t", X86, "r.txt")
    assert run.code == 1 and "pip install" not in run.out + run.err, run.out + run.err
    assert f"not fixed r.txt:2: TP013 is not a pin --fix rewrites; edit the line: {edit}\n" in run.err
    assert (work / "r.txt").read_text() == text
    (work / "r.txt").write_text(f"torch==2.6.0\n{fixed}\n")  # the edit, made as it says
    assert tripin(capsys, "check", "-t", X86, "r.txt").code == 0


def test_a_known_bad_pair_in_a_requirements_file_is_fixed_in_the_file(
    work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """TP003 beside TP002 on one line printed `pip install ...` as its fix, in check and in
    --fix; it is the line's `tripin check --fix`, which ends both."""
    bad = f"triton @ git+https://github.com/triton-lang/triton@{BAD_MAIN}#subdirectory=python"
    (work / "r.txt").write_text(f"torch==2.6.0\n{bad}\n")
    run = tripin(capsys, "check", "-t", ARM_CU, "r.txt")
    assert run.code == 1 and "pip install" not in run.out, run.out
    fixes = {line.split()[1]: line.split("; fix: ", 1)[1] for line in run.out.splitlines()}
    assert set(fixes) == {"TP002", "TP003"} and fixes["TP003"] == fixes["TP002"], fixes
    assert fixes["TP003"].startswith(f"tripin check --fix --target {ARM_CU} r.txt  # pins 3.2.0+git9641643d")
    fixed = tripin(capsys, "check", "--fix", "-t", ARM_CU, "r.txt")
    assert fixed.code == 0 and fixed.err.count("fixed r.txt:2: ") == 1, fixed.err
    assert GOOD_320 in (work / "r.txt").read_text()


def test_a_known_bad_source_build_in_a_lock_is_fixed_once(
    index: IndexServer, pytorch: IndexServer, work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """TP002 and TP003 on one source-build entry are one rewrite of its commit, said once."""
    extra = ["torch==2.6.0", "--pytorch-index-url", pytorch.url]
    assert tripin(capsys, *lock_args(index.simple_url, work / "c", ARM_CU, extra=extra)).code == 0
    good = (work / "pylock.toml").read_text()
    (work / "pylock.toml").write_text(with_main_build(good))
    run = tripin(capsys, "check", "pylock.toml")
    fixes = {line.split()[1]: line.split("; fix: ", 1)[1] for line in run.out.splitlines()}
    assert {"TP002", "TP003"} <= set(fixes) and fixes["TP003"] == fixes["TP002"], run.out
    fixed = tripin(capsys, "check", "--fix", "pylock.toml")
    assert fixed.code == 0, fixed.out + fixed.err
    assert fixed.err.count("fixed pylock.toml:") == 1, fixed.err
    assert (work / "pylock.toml").read_text() == good

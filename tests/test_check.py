"""`tripin check` on constraints, requirements and lock files: offline, one line per violation."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import tomlkit
from helpers import BAD_MAIN, GOOD_320, lock_args, read_toml, tripin, with_main_build
from indexserver import IndexServer

X86, ARM = "linux-x86_64-cp312", "linux-aarch64-cp312"
ARM_CU = "linux-aarch64-cp312-cu126"  # CUDA torch for aarch64 comes from PyTorch's index (GH200)
KNOWN_GOOD_MAIN = "11ef4277afdf4a62d2fdbdf5b9ce4424c0b2e907"
NIGHTLY = "2.6.0.dev20241230+cu126"


@pytest.fixture
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TRIPIN_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path


def _lines(out: str) -> list[str]:
    return [line for line in out.splitlines() if line]


def test_incident_as_a_constraints_file(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (work / "constraints.txt").write_text(f"torch=={NIGHTLY}\ntriton==3.2.0+git23753f4f\n")
    run = tripin(capsys, "check", "constraints.txt")
    assert run.code == 1
    lines = _lines(run.out)
    arm = next(line for line in lines if "TP002" in line and ARM in line)
    assert arm.startswith("constraints.txt:2: TP002 triton 3.2.0+git23753f4f")
    # the file's fix changes the file (the build is doctor's and build-plan's to name); judged
    # for both default targets, the one line needs two pins: it is split first
    assert arm.endswith(
        "(3.2.0 and 3.2.0+git9641643d): split it into one line per platform with markers "
        '(`; platform_machine == "aarch64"`), then run `tripin check --fix` again'
    )
    one = _lines(tripin(capsys, "check", "constraints.txt", "--target", ARM).out)
    pins = f"pins 3.2.0+git{GOOD_320[:8]} (commit {GOOD_320})"
    assert any(line.endswith(f"; fix: tripin check --fix --target {ARM} constraints.txt  # {pins}") for line in one)
    bad = next(line for line in lines if "TP003" in line)
    assert "AttrsDescriptor" in bad
    assert all(line.startswith("constraints.txt:2: TP00") for line in lines), lines


def test_a_known_bad_pair_names_the_command_that_installs_the_pin(
    work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The rule's prose said "install the triton==3.2.0 wheel", which keeps 3.2.0+git23753f4f
    (PEP 440: `==3.2.0` accepts it): TP003's fix is the command TP001 and TP002 give. In a
    file, that is the file's fix (`pip install` changed the environment and left the file, and
    the check, failing), and it writes `===3.2.0`."""
    (work / "c.txt").write_text("torch==2.6.0\ntriton==3.2.0+git23753f4f\n")
    data = json.loads(tripin(capsys, "check", "c.txt", "--target", X86, "--format", "json").out)
    fixes = {v["code"]: v["fix"] for v in data["violations"]}
    assert fixes["TP003"]["argv"] == ["tripin", "check", "--fix", "--target", X86, "c.txt"], fixes
    assert fixes["TP003"] == fixes["TP002"]
    assert tripin(capsys, *fixes["TP003"]["argv"][1:]).code == 0
    assert (work / "c.txt").read_text() == "torch==2.6.0\ntriton===3.2.0\n"


def test_incident_as_a_lock(
    index: IndexServer, pytorch: IndexServer, work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    extra = ["torch==2.6.0", "--pytorch-index-url", pytorch.url]
    assert tripin(capsys, *lock_args(index.simple_url, work / "c", X86, ARM_CU, extra=extra)).code == 0
    assert tripin(capsys, "check", "pylock.toml", "constraints.txt").code == 0  # what tripin wrote is clean
    doc = tomlkit.parse((work / "pylock.toml").read_text())
    for package in doc["packages"]:  # type: ignore[union-attr]
        if package["name"] == "torch":
            package["version"] = NIGHTLY
        if "vcs" in package:
            package["vcs"]["commit-id"] = BAD_MAIN
    (work / "pylock.toml").write_text(tomlkit.dumps(doc))
    run = tripin(capsys, "check", "pylock.toml")
    assert run.code == 1
    tp002 = next(line for line in _lines(run.out) if "TP002" in line)
    assert f"built from commit {BAD_MAIN} (vcs)" in tp002 and GOOD_320 in tp002
    assert "; fix: tripin check --fix pylock.toml  # pins 3.2.0+git9641643d" in tp002
    assert any("TP003" in line and "AttrsDescriptor" in line for line in _lines(run.out))
    line_no = int(tp002.split(":")[1])
    assert (work / "pylock.toml").read_text().splitlines()[line_no - 1].strip() == "[[packages]]"


def test_direct_reference_in_requirements(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (work / "requirements.txt").write_text(
        "# platform stack\n--index-url https://pypi.org/simple\ntorch==2.6.0 \\\n    --hash=sha256:" + "a" * 64 + "\n"
        f"triton @ git+https://github.com/triton-lang/triton@{BAD_MAIN}#subdirectory=python ; "
        'platform_machine == "aarch64"  --hash=sha256:' + "b" * 64 + "\n"
    )
    run = tripin(capsys, "check", "requirements.txt")
    assert run.code == 1
    assert any(line.startswith("requirements.txt:5: TP002") and "direct reference" in line for line in _lines(run.out))
    assert any(line.startswith("requirements.txt:5: TP003") for line in _lines(run.out))


@pytest.mark.parametrize(
    ("triton", "codes"),
    [
        ("triton==3.2.0+git9641643d", set()),  # the release commit
        (f"triton==3.2.0+git{KNOWN_GOOD_MAIN[:8]}", set()),  # a known-good main build
        ("triton==3.3.0", {"TP001", "TP003"}),  # another release line, which lacks AttrsDescriptor
        ("pytorch-triton==3.2.0", {"TP001"}),  # another distribution
        ("triton>=3.0", set()),  # a range: nothing exact to judge
    ],
)
def test_pairs_on_aarch64(work: Path, capsys: pytest.CaptureFixture[str], triton: str, codes: set[str]) -> None:
    (work / "c.txt").write_text(f"torch==2.6.0\n{triton}\n")
    run = tripin(capsys, "check", "c.txt", "--target", ARM)
    assert {line.split()[1] for line in _lines(run.out)} == codes
    assert run.code == (1 if codes else 0)


def test_companion_that_does_not_match_torch(
    work: Path, capsys: pytest.CaptureFixture[str], index: IndexServer
) -> None:
    assert (
        tripin(
            capsys, *lock_args(index.simple_url, work / "c", X86, extra=["torch==2.6.0", "torchvision==0.21.0"])
        ).code
        == 0
    )
    text = (work / "pylock.toml").read_text().replace('version = "2.6.0"', 'version = "2.5.1"', 1)
    (work / "pylock.toml").write_text(text)
    run = tripin(capsys, "check", "pylock.toml")
    assert any(
        "TP004 torchvision 0.21.0 is built for torch==2.6.0, not torch 2.5.1" in line for line in _lines(run.out)
    )


def test_stale_and_hashless_locks(index: IndexServer, work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (work / "pyproject.toml").write_text(
        f'[project]\nname = "a"\nversion = "0"\ndependencies = ["torch==2.6.0"]\n\n[tool.tripin]\n'
        f'targets = ["{X86}"]\nindex-url = "{index.simple_url}"\n'
    )
    assert tripin(capsys, "lock", "--cache-dir", str(work / "c")).code == 0
    assert tripin(capsys, "check").code == 0  # default files: the project's lock and constraints
    (work / "pyproject.toml").write_text((work / "pyproject.toml").read_text().replace("2.6.0", "2.5.1"))
    run = tripin(capsys, "check")
    assert run.code == 1 and "TP005" in run.out and "pyproject.toml changed" in run.out
    doc = tomlkit.parse((work / "pylock.toml").read_text())
    doc["tool"]["tripin"]["ruleset-digest"] = "sha256:" + "0" * 64  # type: ignore[index]
    del doc["packages"][0]["wheels"][0]["hashes"]  # type: ignore[index]
    (work / "pylock.toml").write_text(tomlkit.dumps(doc))
    codes = [line.split()[1] for line in _lines(tripin(capsys, "check", "pylock.toml").out)]
    assert codes.count("TP005") == 2 and "TP006" in codes


def test_requirements_with_some_hashes_missing(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (work / "requirements.txt").write_text("filelock==3.16.1 --hash=sha256:" + "c" * 64 + "\nsympy==1.13.1\n")
    run = tripin(capsys, "check", "requirements.txt")
    assert _lines(run.out) == [
        "requirements.txt:2: TP006 sympy has no --hash while other lines have: pip refuses the file in "
        "hash-checking mode"
    ]


def test_constraints_that_disagree_with_the_lock(
    index: IndexServer, work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert tripin(capsys, *lock_args(index.simple_url, work / "c", X86, ARM, extra=["torch==2.6.0"])).code == 0
    text = (work / "constraints.txt").read_text()
    (work / "constraints.txt").write_text(text.replace("sympy==1.13.1", "sympy==1.13.3"))
    run = tripin(capsys, "check", "pylock.toml", "constraints.txt")
    assert run.code == 1
    assert [line.split()[1] for line in _lines(run.out)] == ["TP007"]
    assert "sympy==1.13.3 on linux-x86_64-cp312, but pylock.toml locks 1.13.1" in run.out


def test_includes_are_followed(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (work / "base.txt").write_text("torch==2.6.0\n")
    (work / "pins.txt").write_text("triton==3.3.0\n")
    (work / "requirements.txt").write_text("-r base.txt\n-c pins.txt\n")
    run = tripin(capsys, "check", "requirements.txt", "--target", X86)
    assert _lines(run.out)[0].startswith("pins.txt:1: TP001")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("torch==2.6.0\ntriton=3.2.0\n", "bad.txt:2: invalid requirement 'triton=3.2.0'"),
        ("-r missing.txt\n", "missing.txt: cannot read"),
    ],
)
def test_unreadable_input_exits_2(work: Path, capsys: pytest.CaptureFixture[str], content: str, message: str) -> None:
    (work / "bad.txt").write_text(content)
    run = tripin(capsys, "check", "bad.txt")
    assert run.code == 2 and message in run.err and run.out == ""


def test_fix_rewrites_lines_and_keeps_the_rest(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (work / "constraints.txt").write_text(
        "# our pins\n"
        f"torch=={NIGHTLY}\n"
        'triton==3.2.0+git23753f4f ; platform_machine == "aarch64"  # built by hand\n'
        f"triton @ git+https://github.com/triton-lang/triton@{BAD_MAIN}#subdirectory=python ; "
        'platform_machine == "x86_64"\n'
    )
    run = tripin(capsys, "check", "--fix", "constraints.txt")
    assert run.code == 0, run.out + run.err
    assert (work / "constraints.txt").read_text() == (
        "# our pins\n"
        f"torch=={NIGHTLY}\n"
        'triton==3.2.0+git9641643d ; platform_machine == "aarch64"  # built by hand\n'
        f"triton @ git+https://github.com/triton-lang/triton@{GOOD_320}#subdirectory=python ; "
        'platform_machine == "x86_64"\n'
    )


def test_fix_refuses_one_line_that_needs_two_builds(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (work / "c.txt").write_text("torch==2.6.0\ntriton==3.2.0+git23753f4f\n")
    run = tripin(capsys, "check", "--fix", "c.txt")
    assert run.code == 1 and "targets need different Triton builds here" in run.err
    assert (work / "c.txt").read_text() == "torch==2.6.0\ntriton==3.2.0+git23753f4f\n"


def test_fix_pins_the_companion_built_for_the_torch(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """TP004 in a requirements file is fixed offline: the rules name the release for the torch."""
    (work / "requirements.txt").write_text("torch==2.6.0+cu126\ntorchvision==0.20.1+cu126  # vision\n")
    run = tripin(capsys, "check", "--fix", "requirements.txt")
    assert run.code == 0, run.out + run.err
    assert "torchvision==0.20.1+cu126  # vision -> torchvision==0.21.0+cu126  # vision" in run.err
    assert (work / "requirements.txt").read_text() == "torch==2.6.0+cu126\ntorchvision==0.21.0+cu126  # vision\n"


def test_fix_rewrites_a_lock_source_build(
    index: IndexServer, pytorch: IndexServer, work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    extra = ["torch==2.6.0", "--pytorch-index-url", pytorch.url]
    assert tripin(capsys, *lock_args(index.simple_url, work / "c", ARM_CU, extra=extra)).code == 0
    good = (work / "pylock.toml").read_text()
    bad = with_main_build(good)
    assert bad.count(BAD_MAIN) == 2
    (work / "pylock.toml").write_text(bad)
    run = tripin(capsys, "check", "--fix", "pylock.toml")
    assert run.code == 0, run.out + run.err
    assert (work / "pylock.toml").read_text() == good  # comments, layout and all


def test_a_lock_naming_a_forged_commit_fails(
    index: IndexServer, pytorch: IndexServer, work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The full id in a lock is compared in full: 8 matching hex digits make a `+git` label, not
    the commit (a hostile pull request can push a commit that starts so to a fork)."""
    extra = ["torch==2.6.0", "--pytorch-index-url", pytorch.url]
    assert tripin(capsys, *lock_args(index.simple_url, work / "c", ARM_CU, extra=extra)).code == 0
    forged = GOOD_320[:8] + "0" * 32
    good = (work / "pylock.toml").read_text()
    (work / "pylock.toml").write_text(good.replace(GOOD_320, forged))
    run = tripin(capsys, "check", "pylock.toml")
    assert run.code == 1 and f"built from commit {forged}" in run.out
    assert f"shares its first 8 hex digits with {GOOD_320}, a different commit" in run.out


@pytest.mark.parametrize(
    ("old", "new", "needle"),
    [
        # an installer resolves a short id in whatever repository the entry names
        (f'commit-id = "{GOOD_320}"', 'commit-id = "9641643d"', "not a full 40-hex id"),
        ('url = "https://github.com/triton-lang/triton"', 'url = "ext::sh -c touch% /tmp/x"', "not an https"),
        ('type = "git"', 'type = "hg"', "'hg' repository"),
        # the recipe the build script runs: its requirements, environment and directory
        ('"setuptools>=40.8.0", ', '"not-evil==6.6.6", ', "not the rules' recipe (requires"),
        ('subdirectory = "python"', 'subdirectory = "."', "not the rules' recipe (subdirectory '.'"),
    ],
)
def test_a_lock_source_build_check_cannot_trust_fails(
    index: IndexServer,
    pytorch: IndexServer,
    work: Path,
    capsys: pytest.CaptureFixture[str],
    old: str,
    new: str,
    needle: str,
) -> None:
    extra = ["torch==2.6.0", "--pytorch-index-url", pytorch.url]
    assert tripin(capsys, *lock_args(index.simple_url, work / "c", ARM_CU, extra=extra)).code == 0
    good = (work / "pylock.toml").read_text()
    assert tripin(capsys, "check", "--strict", "pylock.toml").code == 0
    assert good.count(old) == 1
    (work / "pylock.toml").write_text(good.replace(old, new))
    run = tripin(capsys, "check", "pylock.toml")
    assert run.code == 1 and " TP013 triton on " in run.out and needle in run.out, run.out + run.err
    if "recipe" not in needle:  # a source no verdict rests on gets none (a bad recipe keeps a good commit's)
        assert "TP012" not in tripin(capsys, "check", "pylock.toml", "--format", "json").out


@pytest.mark.parametrize(
    "source",
    [
        'archive = { url = "https://evil.example/triton-3.2.0.tar.gz", hashes = { sha256 = "%s" } }' % ("0" * 64),
        'directory = { path = "triton/python" }',
        'sdist = { url = "https://evil.example/triton-3.2.0.tar.gz", hashes = { sha256 = "%s" } }' % ("0" * 64),
    ],
)
def test_a_triton_from_an_archive_or_directory_fails(
    work: Path, capsys: pytest.CaptureFixture[str], source: str
) -> None:
    """Another tool's pylock (uv, PDM) may give Triton as an sdist, archive or directory, which
    names no commit; its version, or a `tool.tripin.build` table beside it, is only a claim."""
    url = "https://files.example/torch-2.6.0-cp312-cp312-manylinux_2_28_x86_64.whl"
    wheel = f'{{ url = "{url}", hashes = {{ sha256 = "{"0" * 64}" }} }}'
    (work / "pylock.toml").write_text(
        'lock-version = "1.0"\ncreated-by = "uv"\n'
        f'[[packages]]\nname = "torch"\nversion = "2.6.0"\nwheels = [{wheel}]\n'
        f'[[packages]]\nname = "triton"\nversion = "3.2.0"\n{source}\n'
        '[packages.tool.tripin.build]\nversion = "3.2.0+git9641643d"\n'
    )
    run = tripin(capsys, "check", "pylock.toml", "--target", X86)
    assert run.code == 1 and "TP013 triton on linux-x86_64-cp312 " in run.out, run.out + run.err
    assert "it builds whatever it holds" in run.out


def test_a_triton_with_an_sdist_beside_wheels_fails(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """pip and uv build the sdist where no wheel fits the machine (a Windows wheel on Linux)."""
    sha = "0" * 64
    wheel = (
        f'{{ url = "https://files.example/triton-3.2.0-cp312-cp312-win_amd64.whl", hashes = {{ sha256 = "{sha}" }} }}'
    )
    torch_url = "https://files.example/torch-2.6.0-cp312-cp312-manylinux_2_28_x86_64.whl"
    torch = f'{{ url = "{torch_url}", hashes = {{ sha256 = "{sha}" }} }}'
    (work / "pylock.toml").write_text(
        'lock-version = "1.0"\ncreated-by = "x"\n'
        f'[[packages]]\nname = "torch"\nversion = "2.6.0"\nwheels = [{torch}]\n'
        f'[[packages]]\nname = "triton"\nversion = "3.2.0"\nwheels = [{wheel}]\n'
        f'sdist = {{ url = "https://evil.example/triton-3.2.0.tar.gz", hashes = {{ sha256 = "{sha}" }} }}\n'
    )
    run = tripin(capsys, "check", "pylock.toml", "--target", X86)
    assert run.code == 1 and "TP013 triton on linux-x86_64-cp312 has an sdist" in run.out, run.out + run.err


@pytest.mark.parametrize(
    "url",
    [
        f"git+https://github.com/someone/triton@{GOOD_320}#subdirectory=python",  # a fork: a tag may be named so
        f"git+file:///tmp/evil@{GOOD_320}",
        f"hg+https://hg.example.org/triton@{GOOD_320}",
    ],
)
def test_a_full_commit_from_another_repository_fails(work: Path, capsys: pytest.CaptureFixture[str], url: str) -> None:
    """pip looks a 40-hex revision up as a branch or tag name first: a fork's tag named like the
    pin installs the fork's code. Only the repositories the rules build from are trusted."""
    (work / "r.txt").write_text(f"torch==2.6.0\ntriton @ {url}\n")
    run = tripin(capsys, "check", "r.txt", "--target", X86, "--format", "json")
    data = json.loads(run.out)
    assert run.code == 1 and {v["code"] for v in data["violations"]} == {"TP013"}, run.out
    assert not data["verdicts"]
    same = f"git+https://github.com/triton-lang/triton.git@{GOOD_320}#subdirectory=python"
    (work / "r.txt").write_text(f"torch==2.6.0\ntriton @ {same}\n")
    assert tripin(capsys, "check", "r.txt", "--target", X86).code == 0


@pytest.mark.parametrize(
    ("url", "code"),
    [
        (f"git+https://github.com/someone/triton@{GOOD_320[:8]}#subdirectory=python", 1),  # abbreviated
        ("https://evil.example/triton-3.2.0.tar.gz", 1),  # an sdist
        ("git+https://github.com/triton-lang/triton@release/3.2.x#subdirectory=python", 0),  # a branch: TP011
        (f"git+https://github.com/triton-lang/triton@{GOOD_320}#subdirectory=python", 0),  # the pin
    ],
)
def test_a_direct_reference_is_judged_by_a_full_commit(
    work: Path, capsys: pytest.CaptureFixture[str], url: str, code: int
) -> None:
    (work / "r.txt").write_text(f"torch==2.6.0\ntriton @ {url}\n")
    run = tripin(capsys, "check", "r.txt", "--target", ARM)
    assert run.code == code, run.out + run.err
    assert ("TP013" in run.out) == (code == 1)


@pytest.mark.parametrize(
    ("spec", "code"), [("<3.2", 1), ("==3.1.*", 1), ("~=3.1.0", 1), ("!=3.2.0", 1), (">=3.0", 0), ("==3.2.*", 0)]
)
def test_a_triton_range_that_leaves_out_the_pin_fails(
    work: Path, capsys: pytest.CaptureFixture[str], spec: str, code: int
) -> None:
    """Nothing `triton<3.2` installs runs with torch 2.6.0; a range that admits 3.2.0 says nothing exact."""
    (work / "c.txt").write_text(f"torch==2.6.0\ntriton{spec}\n")
    run = tripin(capsys, "check", "c.txt", "--target", X86)
    assert run.code == code, run.out + run.err
    assert (f"needs triton==3.2.0 (rule torch-2.6.0/metadata); triton{spec} leaves it out" in run.out) == bool(code)


def test_json_output(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (work / "c.txt").write_text("torch==2.6.0\ntriton==3.3.0\n")
    data = json.loads(tripin(capsys, "check", "c.txt", "--target", X86, "--format", "json").out)
    assert data["schema"] == 1
    assert {v["code"] for v in data["violations"]} == {"TP001", "TP003"}
    assert all(v["path"] == "c.txt" and v["line"] == 2 for v in data["violations"])


def test_memo_answers_only_for_unchanged_files(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (work / "base.txt").write_text("triton==3.2.0+git9641643d\n")
    (work / "c.txt").write_text("torch==2.6.0\n-c base.txt\n")
    assert tripin(capsys, "check", "c.txt", "--target", ARM).code == 0
    assert list((work / "cache").rglob("*"))  # remembered
    (work / "base.txt").write_text("triton==3.2.0+git23753f4f\n")  # only the include changes
    assert tripin(capsys, "check", "c.txt", "--target", ARM).code == 1
    (work / "base.txt").write_text("triton==3.2.0+git9641643d\n")
    assert tripin(capsys, "check", "c.txt", "--target", ARM).code == 0


def test_warm_memo_replays_before_the_command_line_loads(work: Path) -> None:
    """The `tripin` command answers an unchanged check from the memo without importing the
    command line, argparse or packaging; a new rules file in --rules is a change."""
    (work / "c.txt").write_text("torch==2.6.0\ntriton==3.3.0\n")
    rules = work / "rules"
    import shutil

    from tripin.memo import default_rules_dir

    shutil.copytree(default_rules_dir(), rules)
    code = (
        "import sys\nimport tripin.__main__ as entry\nsys.argv = ['tripin', 'check', 'c.txt', '--rules', 'rules']\n"
        "entry._leave = lambda code: code\n"  # return, so that what was imported can be looked at
        "rc = entry.main()\n"
        "heavy = [m for m in ('tripin.cli', 'argparse', 'packaging', 'tomllib') if m in sys.modules]\n"
        "print(rc, heavy, file=sys.stderr)\n"
    )
    env = {"TRIPIN_CACHE_DIR": str(work / "cache"), "PATH": "/usr/bin:/bin"}

    def run() -> tuple[str, str]:
        result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=work, env=env)
        return result.stdout, result.stderr.splitlines()[-1]

    first_out, first = run()
    assert first.startswith("1 ['tripin.cli'") and "TP001" in first_out
    assert run() == (first_out, "1 []")  # replayed: same lines, same exit code, nothing heavy loaded
    (rules / "extra.toml").write_text("")  # the rules directory changed
    out, status = run()
    assert status.startswith("1 ['tripin.cli'") and out == first_out


def test_a_remembered_answer_is_the_codes_that_gave_it(tmp_path: Path) -> None:
    """An editable install changes tripin's code without changing its version: the memo key
    follows the source files too, so the new code never replays the old code's answer."""
    import os

    from tripin.memo import code_stamp

    package = tmp_path / "tripin"
    (package / "index").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "index" / "http.py").write_text("")
    first = code_stamp(str(package))
    assert code_stamp(str(package)) == first
    os.utime(package / "index" / "http.py", ns=(0, os.stat(package / "index" / "http.py").st_mtime_ns + 10**9))
    second = code_stamp(str(package))
    assert second != first
    (package / "index" / "cache.py").write_text("")
    assert code_stamp(str(package)) not in (first, second)


def test_check_loads_no_network_or_resolver_code(work: Path) -> None:
    (work / "c.txt").write_text(f"torch=={NIGHTLY}\ntriton==3.2.0+git23753f4f\n")
    code = (
        "import sys\nfrom tripin.cli import main\nrc = main(['check', 'c.txt'])\n"
        "loaded = [m for m in ('httpx', 'resolvelib', 'tomlkit', 'truststore') if m in sys.modules]\n"
        "print(rc, loaded)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=work,
        env={"TRIPIN_CACHE_DIR": str(work / "cache"), "PATH": "/usr/bin:/bin"},
    )
    assert result.stdout.splitlines()[-1] == "1 []", result.stdout + result.stderr


def test_good_lock_is_silent(index: IndexServer, work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert tripin(capsys, *lock_args(index.simple_url, work / "c", X86, ARM, extra=["torch==2.9.0"])).code == 0
    run = tripin(capsys, "check", "pylock.toml", "constraints.txt")
    assert (run.code, run.out, run.err) == (0, "", "")
    data = read_toml(work / "pylock.toml")
    assert data["packages"]


def test_memo_answers_only_for_the_same_environment(
    work: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """TRIPIN_CONSTRAINTS (and TRIPIN_LOCK) choose the files a bare `tripin check` reads: an
    answer remembered for one setting is not one for another."""
    (work / "constraints.txt").write_text("torch==2.6.0\ntriton==3.2.0\n")
    (work / "bad.txt").write_text("torch==2.6.0\ntriton==3.2.0+git23753f4f\n")
    assert tripin(capsys, "check", "--target", X86).code == 0
    monkeypatch.setenv("TRIPIN_CONSTRAINTS", "bad.txt")
    run = tripin(capsys, "check", "--target", X86)
    assert run.code == 1 and "bad.txt:2: TP002" in run.out


def test_fix_leaves_a_hashed_line_alone(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A line with --hash options (pip-compile/uv --generate-hashes) pins files by hash: a new
    version with the old version's hashes would fail pip's hash-checking mode at install."""
    text = (
        "torch==2.6.0 \\\n    --hash=sha256:" + "a" * 64 + "\n"
        "triton==3.1.0 \\\n    --hash=sha256:" + "b" * 64 + " \\\n    --hash=sha256:" + "c" * 64 + "\n"
        "    # via torch\n"
    )
    (work / "requirements.txt").write_text(text)
    run = tripin(capsys, "check", "--fix", "requirements.txt", "--target", X86)
    assert run.code == 1 and (work / "requirements.txt").read_text() == text
    assert "not fixed requirements.txt:3: the line carries --hash values" in run.err


def test_companions_in_a_requirements_file(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """torchvision / torchaudio pinned for another torch: TP004 in a requirements or constraints
    file as in a lock, with the release the rules say is built for this torch."""
    (work / "r.txt").write_text("torch==2.6.0\ntriton==3.2.0\ntorchvision==0.20.0\ntorchaudio==2.6.0\n")
    run = tripin(capsys, "check", "r.txt", "--target", X86)
    assert run.code == 1
    assert _lines(run.out) == [
        "r.txt:3: TP004 torchvision 0.20.0 is built for torch==2.5.0, not torch 2.6.0 [torchvision-0.20.0]; "
        f"fix: tripin check --fix --target {X86} r.txt  # pins 0.21.0"
    ]
    assert tripin(capsys, "check", "--fix", "--target", X86, "r.txt").code == 0  # as printed
    (work / "r.txt").write_text("torch==2.6.0\ntriton==3.2.0\ntorchvision==0.21.0\ntorchaudio==2.6.0\n")
    assert tripin(capsys, "check", "r.txt", "--target", X86).code == 0


def test_direct_references_without_a_commit(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A Triton from git at a branch names no commit: a warning (TP011, --strict fails) that
    names the commit to pin. A wheel URL is judged by the version in its file name."""
    (work / "b.txt").write_text(
        "torch==2.6.0\ntriton @ git+https://github.com/triton-lang/triton@release/3.2.x#subdirectory=python\n"
    )
    run = tripin(capsys, "check", "b.txt", "--target", X86)
    assert run.code == 0 and run.out == ""
    assert run.err.startswith("warning: b.txt:2: TP011 triton on linux-x86_64-cp312 comes from ")
    assert f"edit the line: point the URL at the full commit the rules give torch 2.6.0, @{GOOD_320}" in run.err
    assert tripin(capsys, "check", "b.txt", "--target", X86, "--strict").code == 1
    (work / "w.txt").write_text(
        "torch==2.6.0\ntriton @ https://example.com/w/triton-3.3.0-cp312-cp312-linux_x86_64.whl\n"
    )
    run = tripin(capsys, "check", "w.txt", "--target", X86)
    assert run.code == 1 and [line.split()[1] for line in _lines(run.out)] == ["TP001", "TP003"]


def test_each_constraints_file_is_compared_with_its_own_lock(
    index: IndexServer, work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """pre-commit passes every matching file of the repository at once: two named locks side by
    side, and two projects in two folders, each pass as a whole as they pass one by one."""
    base = lock_args(index.simple_url, work / "c", X86)
    assert tripin(capsys, *base, "torch==2.6.0").code == 0
    assert tripin(capsys, *base, "torch==2.5.1", "--lock", "pylock.old.toml").code == 0
    for project, torch in (("a", "2.6.0"), ("b", "2.5.1")):
        (work / project).mkdir()
        run = tripin(
            capsys,
            *base,
            f"torch=={torch}",
            "--lock",
            f"{project}/pylock.toml",
            "--constraints",
            f"{project}/constraints.txt",
        )
        assert run.code == 0, run.err
    files = ["pylock.toml", "constraints.txt", "pylock.old.toml", "constraints.old.txt"]
    files += [f"{p}/{f}" for p in "ab" for f in ("pylock.toml", "constraints.txt")]
    run = tripin(capsys, "check", *files)
    assert (run.code, run.out) == (0, ""), run.out
    # a disagreement with its own lock is still found, and only that one
    text = (work / "constraints.old.txt").read_text()
    (work / "constraints.old.txt").write_text(text.replace("torch==2.5.1", "torch==2.6.0"))
    run = tripin(capsys, "check", *files)
    tp007 = [line for line in run.out.splitlines() if "TP007" in line]
    assert (
        run.code == 1
        and tp007
        == [
            line
            for line in tp007
            if line.startswith("constraints.old.txt:") and "but pylock.old.toml locks 2.5.1" in line
        ]
        and tp007
    )


def test_lines_that_name_no_package_are_left_to_pip(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """uv export and pip-compile write `-e .`; pip takes paths and URLs; a hook handed such a
    file judges the rest, and a file it cannot read hides no verdict on the others."""
    (work / "constraints.txt").write_text("torch==2.6.0\ntriton==3.2.0+git23753f4f\n")  # the incident
    (work / "requirements-dev.txt").write_text(
        "-e .\n-e file:.\n--editable ./sub\n.\n./wheels/foo-1.0-py3-none-any.whl\n"
        "https://example.com/foo-1.0.tar.gz\ngit+https://github.com/triton-lang/triton@abcdef0\nrequests\n"
    )
    (work / "bad.txt").write_text("torch===\n")
    run = tripin(capsys, "check", "requirements-dev.txt", "--target", X86)
    assert (run.code, run.out, run.err) == (0, "", "")
    run = tripin(capsys, "check", "bad.txt", "constraints.txt", "requirements-dev.txt", "--target", X86)
    assert run.code == 2 and "constraints.txt:2: TP002" in run.out and "constraints.txt:2: TP003" in run.out
    assert run.err == "tripin: error: bad.txt:1: invalid requirement 'torch===': " + run.err.split(": ", 4)[-1]
    (work / "u16.txt").write_text("torch==2.6.0\ntriton==3.3.0\n", encoding="utf-16")  # PowerShell's pip freeze >
    assert "u16.txt:2: TP001" in tripin(capsys, "check", "u16.txt", "--target", X86).out


def test_lock_refuses_a_line_that_names_no_package(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (work / "r.in").write_text("-e .\nsix\n")
    run = tripin(capsys, "lock", "r.in", "-t", X86, "-i", "http://127.0.0.1:9/simple")
    assert run.code == 2 and "r.in:1: '.' names a path or URL, not a package" in run.err


def test_nothing_to_check_names_the_files_it_looked_for(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (work / "pyproject.toml").write_text('[tool.tripin]\nlock = "pylock.proj.toml"\n')
    run = tripin(capsys, "check")
    assert run.code == 2 and "no pylock.proj.toml or constraints.proj.txt here" in run.err, run.err


def test_a_triton_only_an_install_without_extras_takes_is_judged(
    work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`'dev' not in extras` chooses triton 3.3.0 for a plain install (uv installs no extra by
    default), while every extra at once chooses 3.2.0: each selection is judged."""
    sha = "0" * 64

    def wheel(name: str, version: str, tag: str) -> str:
        url = f"https://files.example/{name}-{version}-{tag}.whl"
        return f'wheels = [{{ url = "{url}", hashes = {{ sha256 = "{sha}" }} }}]'

    tag = "cp312-cp312-manylinux_2_28_x86_64"
    (work / "pylock.toml").write_text(
        'lock-version = "1.0"\ncreated-by = "x"\nextras = ["dev"]\n'
        f'[[packages]]\nname = "torch"\nversion = "2.6.0"\n{wheel("torch", "2.6.0", tag)}\n'
        f'[[packages]]\nname = "triton"\nversion = "3.2.0"\nmarker = "\'dev\' in extras"\n'
        f"{wheel('triton', '3.2.0', tag)}\n"
        f'[[packages]]\nname = "triton"\nversion = "3.3.0"\nmarker = "\'dev\' not in extras"\n'
        f"{wheel('triton', '3.3.0', tag)}\n"
    )
    run = tripin(capsys, "check", "pylock.toml", "--target", X86)
    assert run.code == 1, run.out + run.err
    assert "found triton 3.3.0 (without extras or groups)" in run.out


@pytest.mark.parametrize(
    ("filename", "needle"),
    [
        (
            "triton-3.3.0-cp312-cp312-manylinux_2_28_x86_64.whl",
            "triton 3.2.0: its wheel 'triton-3.3.0-cp312-cp312-manylinux_2_28_x86_64.whl' is triton 3.3.0",
        ),
        ("evil-3.2.0-cp312-cp312-manylinux_2_28_x86_64.whl", "is evil 3.2.0"),
        ("triton-3.2.0.tar.gz", "is not a wheel file name"),
    ],
)
def test_a_wheel_of_another_version_under_an_entry_fails(
    work: Path, capsys: pytest.CaptureFixture[str], filename: str, needle: str
) -> None:
    """uv and pip refuse a lock whose wheel file names another version than its entry; an edit
    that swaps only a wheel's URL passed check as the version the entry names."""
    sha = "0" * 64
    tag = "cp312-cp312-manylinux_2_28_x86_64"
    ok = f"triton-3.2.0-{tag}.whl"
    text = (
        'lock-version = "1.0"\ncreated-by = "x"\n'
        f'[[packages]]\nname = "torch"\nversion = "2.6.0"\n'
        f'wheels = [{{ url = "https://files.example/torch-2.6.0-{tag}.whl", hashes = {{ sha256 = "{sha}" }} }}]\n'
        f'[[packages]]\nname = "triton"\nversion = "3.2.0"\n'
        f'wheels = [{{ url = "https://files.example/{ok}", hashes = {{ sha256 = "{sha}" }} }}]\n'
    )
    (work / "pylock.toml").write_text(text)
    assert tripin(capsys, "check", "pylock.toml", "--target", X86).code == 0
    (work / "pylock.toml").write_text(text.replace(ok, filename))
    run = tripin(capsys, "check", "pylock.toml", "--target", X86)
    assert run.code == 1 and " TP015 " in run.out and needle in run.out, run.out + run.err


def test_a_hash_given_as_a_separate_word_counts(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """pip reads `--hash sha256:...` as `--hash=sha256:...`: a line written either way is hashed."""
    (work / "requirements.txt").write_text(
        f"torch==2.6.0 --hash sha256:{'a' * 64}\ntriton==3.2.0 \\\n    --hash=sha256:{'b' * 64}\n"
    )
    run = tripin(capsys, "check", "requirements.txt", "--target", X86)
    assert (run.code, run.out, run.err) == (0, "", "")


def test_memo_answers_only_for_the_same_variables_a_file_names(
    work: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A `${NAME}` in a requirements file is the environment's value, as pip reads it; an answer
    remembered with one value is not the answer for another."""
    (work / "constraints.txt").write_text("torch==2.6.0\ntriton==${TRITON_VERSION}\n")
    monkeypatch.setenv("TRITON_VERSION", "3.2.0")
    assert tripin(capsys, "check", "constraints.txt", "--target", X86).code == 0
    monkeypatch.setenv("TRITON_VERSION", "3.2.0+git23753f4f")
    run = tripin(capsys, "check", "constraints.txt", "--target", X86)
    assert run.code == 1 and "constraints.txt:2: TP002 triton 3.2.0+git23753f4f" in run.out


def _group_project(work: Path, index: IndexServer) -> None:
    (work / "pyproject.toml").write_text(
        '[project]\nname = "a"\nversion = "0"\nrequires-python = ">=3.10"\ndependencies = ["filelock"]\n\n'
        '[project.optional-dependencies]\nvision = ["jinja2"]\n\n[dependency-groups]\ndev = ["fsspec"]\n\n'
        f'[tool.tripin]\ntargets = ["{X86}"]\nindex-url = "{index.simple_url}"\n'
    )


def test_a_lock_of_groups_named_on_the_command_line_is_fresh(
    index: IndexServer, work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`lock --group` records the groups in the lock (PEP 751 extras and dependency-groups), not
    in [tool.tripin]: check digests pyproject.toml with the groups the lock records, so a lock
    `lock --check` calls up to date passes, whatever order the groups were given in."""
    _group_project(work, index)
    for groups in (
        ["--group", "dev"],
        ["--group", "dev", "--group", "vision"],
        ["--group", "vision", "--group", "dev"],
    ):
        assert tripin(capsys, "lock", *groups, "--cache-dir", "c").code == 0
        assert tripin(capsys, "lock", "--check", *groups, "--cache-dir", "c").code == 0
        run = tripin(capsys, "check")
        assert (run.code, run.out) == (0, ""), (groups, run.out)
    (work / "pyproject.toml").write_text((work / "pyproject.toml").read_text().replace('"fsspec"', '"fsspec<2025.10"'))
    run = tripin(capsys, "check")
    assert run.code == 1 and run.out.startswith("pylock.toml:1: TP005 pyproject.toml changed")
    (work / "pyproject.toml").write_text((work / "pyproject.toml").read_text().replace("[dependency-groups]", "[x]"))
    run = tripin(capsys, "check")  # the group is gone: as much a change as any
    assert run.code == 1 and "TP005" in run.out and run.err == ""


def test_a_raised_requires_python_makes_the_lock_stale(
    index: IndexServer, work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`lock --check` refuses a target outside requires-python, so a lock for it is stale."""
    _group_project(work, index)
    assert tripin(capsys, "lock", "--cache-dir", "c").code == 0
    assert tripin(capsys, "check").code == 0
    (work / "pyproject.toml").write_text((work / "pyproject.toml").read_text().replace(">=3.10", ">=3.13"))
    assert tripin(capsys, "lock", "--check", "--cache-dir", "c").code == 2
    run = tripin(capsys, "check")
    assert run.code == 1 and run.out.startswith("pylock.toml:1: TP005 pyproject.toml changed")


def test_a_pyproject_toml_stands_for_its_projects_lock(
    index: IndexServer, work: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The hook passes pyproject.toml when it is the file that changed: check judges the lock and
    constraints files configured next to it, in any folder; one with neither has nothing."""
    (work / "app").mkdir()
    (work / "app" / "pyproject.toml").write_text(
        '[project]\nname = "a"\nversion = "0"\ndependencies = ["torch==2.6.0"]\n\n'
        f'[tool.tripin]\ntargets = ["{X86}"]\nindex-url = "{index.simple_url}"\nlock = "pylock.app.toml"\n'
    )
    (work / "lib").mkdir()
    (work / "lib" / "pyproject.toml").write_text('[project]\nname = "b"\nversion = "0"\n')
    monkeypatch.chdir(work / "app")
    assert tripin(capsys, "lock", "--cache-dir", "c").code == 0
    run = tripin(capsys, "check", "pyproject.toml")
    assert (run.code, run.out, run.err) == (0, "", "")
    monkeypatch.chdir(work)
    assert tripin(capsys, "check", "app/pyproject.toml", "lib/pyproject.toml").code == 0
    (work / "app" / "constraints.app.txt").write_text("torch==2.6.0\ntriton==3.2.0+git23753f4f\n")
    (work / "app" / "pyproject.toml").write_text(
        (work / "app" / "pyproject.toml").read_text().replace("2.6.0", "2.5.1")
    )
    run = tripin(capsys, "check", "app/pyproject.toml", "lib/pyproject.toml", "app/pylock.app.toml")
    assert run.code == 1
    assert sorted(line.split(" ")[0] + " " + line.split(" ")[1] for line in _lines(run.out)) == [
        "app/constraints.app.txt:2: TP002",  # the constraints file next to it is judged too
        "app/constraints.app.txt:2: TP003",
        "app/constraints.app.txt:2: TP007",
        "app/pylock.app.toml:1: TP005",  # the lock, once, though named twice
    ], run.out
    run = tripin(capsys, "check", "nowhere/pyproject.toml")
    assert run.code == 2 and "nowhere/pyproject.toml: cannot read" in run.err


def test_a_stale_lock_s_fix_is_the_lock_command_that_makes_it(
    index: IndexServer, work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A bare `tripin lock` said "no requirements given" for a lock made from a requirements
    file, and wrote pylock.toml beside pylock.req.toml: the fix names what made the lock."""
    (work / "requirements.in").write_text("filelock\n")
    args = ["lock", "requirements.in", "-t", X86, "-i", index.simple_url, "--lock", "pylock.req.toml", "-q"]
    args += ["--exclude-newer", "2030-01-01"]
    assert tripin(capsys, *args).code == 0
    data = (work / "pylock.req.toml").read_text()
    (work / "pylock.req.toml").write_text(data.replace('ruleset-digest = "sha256:', 'ruleset-digest = "sha256:0'))
    run = tripin(capsys, "check", "pylock.req.toml")
    assert run.code == 1, run.out
    newer = "2030-01-01T23:59:59.999999+00:00"
    fix = f"tripin lock filelock -t {X86} --exclude-newer {newer} --index-url {index.simple_url} --lock pylock.req.toml"
    assert run.out.endswith(f"; fix: {fix}\n"), run.out  # with the index its packages came from
    assert tripin(capsys, *fix.split()[1:]).code == 0
    assert tripin(capsys, "check", "pylock.req.toml").code == 0


def _uv_x86_lock(work: Path, torch_platform: str, triton: str) -> None:
    """pylock.toml as `uv pip compile` writes it on x86_64: no `environments`, torch 2.6.0+cu126
    with one wheel for `torch_platform`, and `triton` for x86_64."""
    sha = "0" * 64
    base = "https://download.pytorch.org/whl/cu126"
    torch_url = f"{base}/torch-2.6.0%2Bcu126-cp312-cp312-{torch_platform}_x86_64.whl"
    triton_url = f"{base}/triton-{triton}-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"
    (work / "pylock.toml").write_text(
        'lock-version = "1.0"\ncreated-by = "uv"\n'
        f'[[packages]]\nname = "torch"\nversion = "2.6.0+cu126"\n'
        f'wheels = [{{ url = "{torch_url}", hashes = {{ sha256 = "{sha}" }} }}]\n'
        f'[[packages]]\nname = "triton"\nversion = "{triton}"\nmarker = "platform_machine == \'x86_64\'"\n'
        f'wheels = [{{ url = "{triton_url}", hashes = {{ sha256 = "{sha}" }} }}]\n'
    )


def test_a_target_a_lock_s_torch_has_no_wheel_for_is_not_judged(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`uv pip compile -o pylock.toml` on x86_64 writes no `environments`: its torch installs on
    x86_64 alone, so the default aarch64 target is not judged (it said TP001 there)."""
    _uv_x86_lock(work, "manylinux_2_28", "3.2.0")
    run = tripin(capsys, "check", "--strict", "pylock.toml")
    assert run.code == 0, run.out + run.err
    data = json.loads(tripin(capsys, "check", "pylock.toml", "--format", "json").out)
    assert not data["violations"]


def test_a_torch_wheel_for_a_newer_glibc_is_judged(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A lock made with `--manylinux 2.35` may hold a torch whose one wheel is manylinux_2_35: it
    installs on those machines of the target, so the Triton beside it is judged there (it was
    passed over, as for a torch with no wheel for the target at all)."""
    _uv_x86_lock(work, "manylinux_2_35", "3.1.0")
    run = tripin(capsys, "check", "pylock.toml", "--target", X86)
    assert run.code == 1 and "TP001" in run.out and "triton" in run.out, run.out + run.err


def test_a_wheel_for_an_absurd_glibc_level_is_passed_over_at_once(work: Path) -> None:
    """Whether a wheel fits a newer glibc is asked of every level up to the wheel's: a hostile
    lock's manylinux_2_99999999 torch would have made check build a hundred million tags."""
    _uv_x86_lock(work, "manylinux_2_99999999", "3.1.0")
    run = subprocess.run(
        [sys.executable, "-m", "tripin", "check", "pylock.toml", "--target", X86],
        cwd=work,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stdout + run.stderr  # no wheel for the target at any level: not judged


@pytest.mark.parametrize(
    "url",
    [
        f"git+https://github.com/openai/triton.git@{GOOD_320}#subdirectory=python",  # the old name GitHub redirects
        f"git+https://github.com/Triton-Lang/Triton@{GOOD_320}#subdirectory=python",  # GitHub ignores the case
        f"git+ssh://git@github.com/triton-lang/triton.git@{GOOD_320}#subdirectory=python",
    ],
)
def test_triton_s_repository_spelled_otherwise_passes(work: Path, capsys: pytest.CaptureFixture[str], url: str) -> None:
    (work / "r.txt").write_text(f"torch==2.6.0\ntriton @ {url}\n")
    run = tripin(capsys, "check", "--strict", "r.txt", "--target", "linux-aarch64-cp312-cu126")
    assert run.code == 0, run.out + run.err


def test_a_line_that_needs_other_pins_on_other_targets_is_split_before_it_is_fixed(
    work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The incident's unmarked `triton==` line judged for x86_64 (the 3.2.0 wheel) and aarch64
    (the source build): `check --fix` refuses such a line, so the fix says to split it, and once
    split as said, the printed `check --fix` of each line runs and check passes."""
    (work / "k.txt").write_text("torch==2.6.0.dev20241230+cu126\ntriton==3.2.0+git23753f4f\n")
    run = tripin(capsys, "check", "k.txt")
    assert run.code == 1 and "the targets need different pins on this line (3.2.0 and 3.2.0+git9641643d)" in run.out
    assert "fix: tripin check --fix k.txt" not in run.out  # it would not fix the line
    bad = "triton==3.2.0+git23753f4f"
    (work / "k.txt").write_text(
        f'torch==2.6.0.dev20241230+cu126\n{bad}; platform_machine == "x86_64"\n{bad}; platform_machine == "aarch64"\n'
    )
    split = tripin(capsys, "check", "k.txt")
    assert "fix: tripin check --fix k.txt  # pins 3.2.0 " in split.out
    assert "fix: tripin check --fix k.txt  # pins 3.2.0+git9641643d " in split.out
    assert tripin(capsys, "check", "--fix", "k.txt").code == 0
    assert tripin(capsys, "check", "k.txt").code == 0


@pytest.mark.parametrize("name", ["requirements.txt", "constraints.txt"])
def test_a_git_line_both_targets_want_at_one_commit_is_fixed_as_printed(
    work: Path, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    """A git URL of Triton judged for x86_64 (the 3.2.0 wheel, built from 9641643d) and aarch64
    (the source build of 9641643d): --fix points the URL at that commit for both, so the line
    needs no split; the printed `tripin check --fix` runs as printed, and check then passes."""
    import shlex

    line = f"triton @ git+https://github.com/triton-lang/triton@{BAD_MAIN}#subdirectory=python\n"
    (work / name).write_text("torch==2.6.0\n" + line)
    run = tripin(capsys, "check", name)
    assert run.code == 1 and "different pins" not in run.out, run.out
    fixes = {v.split("; fix: ", 1)[1] for v in run.out.splitlines()}
    assert fixes == {f"tripin check --fix {name}  # pins 3.2.0+git9641643d (commit {GOOD_320})"}, fixes
    argv = shlex.split(fixes.pop(), comments=True)
    fixed = tripin(capsys, *argv[1:])
    assert fixed.code == 0 and "not fixed" not in fixed.err, fixed.out + fixed.err
    assert (work / name).read_text() == "torch==2.6.0\n" + line.replace(BAD_MAIN, GOOD_320)
    assert tripin(capsys, "check", name).code == 0

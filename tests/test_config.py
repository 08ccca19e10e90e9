"""Settings: command line over environment over [tool.tripin] over defaults, and --exclude-newer."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import lock_args, read_toml, tripin
from indexserver import IndexServer

X86 = "linux-x86_64-cp312"


@pytest.fixture
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    for key in (
        "PIP_INDEX_URL",
        "UV_INDEX_URL",
        "UV_DEFAULT_INDEX",
        "TRIPIN_INDEX_URL",
        "PIP_EXTRA_INDEX_URL",
        "UV_EXTRA_INDEX_URL",
        "TRIPIN_TARGETS",
        "TRIPIN_EXCLUDE_NEWER",
        "TRIPIN_LOCK",
    ):
        monkeypatch.delenv(key, raising=False)
    return tmp_path


def test_print_config_names_each_source(
    work: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    (work / "pyproject.toml").write_text(
        '[project]\nname = "a"\nversion = "0"\ndependencies = ["torch==2.6.0"]\n[tool.tripin]\n'
        'targets = ["linux-x86_64-cp312"]\nindex-url = "https://mirror.example.org/simple"\n'
        'exclude-newer = "2025-06-01"\n'
    )
    monkeypatch.setenv("UV_INDEX_URL", "https://uv.example.org/simple")
    run = tripin(capsys, "lock", "--print-config", "--constraints", "pins.txt")
    assert run.code == 0
    lines = {
        line.split()[0] + (" " + line.split()[1] if line.startswith("index") else ""): line
        for line in run.out.splitlines()
    }
    assert lines["requirements"].endswith("[pyproject.toml [project].dependencies]")
    assert lines["targets"].endswith("[pyproject.toml [tool.tripin]]")
    assert "https://uv.example.org/simple" in lines["index default"]  # environment beats pyproject
    assert lines["index default"].endswith("[environment (UV_INDEX_URL)]")
    assert lines["constraints"].endswith("[command line]") and "pins.txt" in lines["constraints"]
    assert "2025-06-01T23:59:59.999999+00:00" in lines["exclude-newer"]
    assert lines["lock"].endswith("[default]")


def test_exclude_newer_reproduces_an_older_lock(
    index: IndexServer, work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = lock_args(index.simple_url, work / "c", X86, extra=["torch>=2.5", "--exclude-newer", "2025-10-01"])
    assert tripin(capsys, *args).code == 0
    data = read_toml(work / "pylock.toml")
    torch = next(p for p in data["packages"] if p["name"] == "torch")
    assert torch["version"] == "2.6.0"  # 2.9.0 reached PyPI on 2025-10-15
    assert data["tool"]["tripin"]["exclude-newer"] == "2025-10-01T23:59:59.999999+00:00"
    for package in data["packages"]:
        for wheel in package.get("wheels", []):
            assert str(wheel["upload-time"]) < "2025-10-02"


def test_exclude_newer_names_what_it_left_out(
    index: IndexServer, work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = lock_args(index.simple_url, work / "c", X86, extra=["filelock", "--exclude-newer", "2020-01-01"])
    run = tripin(capsys, *args)
    assert run.code == 1
    assert "uploaded after --exclude-newer 2020-01-01" in run.err


def test_bad_exclude_newer(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = tripin(capsys, "lock", "torch", "-t", X86, "--exclude-newer", "last tuesday")
    assert run.code == 2 and "'last tuesday' is not a date" in run.err


def test_targets_from_the_environment(
    work: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for value in ("linux-x86_64-cp312 linux-aarch64-cp312", "linux-x86_64-cp312, linux-aarch64-cp312"):
        monkeypatch.setenv("TRIPIN_TARGETS", value)  # spaces, or commas as a CI matrix writes them
        run = tripin(capsys, "lock", "torch==2.6.0", "--print-config")
        assert "linux-x86_64-cp312, linux-aarch64-cp312  [environment (TRIPIN_TARGETS)]" in run.out, run.err


def test_requirement_groups(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (work / "pyproject.toml").write_text(
        '[project]\nname = "a"\nversion = "0"\ndependencies = ["torch==2.6.0"]\n'
        '[project.optional-dependencies]\nvision = ["torchvision==0.21.0"]\n'
        '[dependency-groups]\nbase = ["numpy"]\ndev = [{include-group = "base"}, "pillow"]\n'
        '[tool.tripin]\ntargets = ["linux-x86_64-cp312"]\ngroups = ["vision"]\n'
    )
    run = tripin(capsys, "lock", "--group", "dev", "--print-config")
    assert (
        "torch==2.6.0, torchvision==0.21.0, numpy, pillow  [pyproject.toml [project].dependencies + groups" in run.out
    )
    missing = tripin(capsys, "lock", "--group", "nope", "--print-config")
    assert missing.code == 2 and "no requirements group 'nope'" in missing.err
    # requirements on the command line replace pyproject's: a --group beside them is said, not dropped
    beside = tripin(capsys, "lock", "idna", "--group", "dev", "--print-config")
    assert beside.code == 2 and "--group dev: groups belong to pyproject.toml's requirements" in beside.err


def test_print_config_asks_the_index_nothing_and_a_lock_asks_each_root_page_once(
    index: IndexServer, work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """lock asks for the roots' pages before loading the rules and the resolver (cli_lock's
    _fetch_roots_early); --print-config stops before any request, and the resolver's own asks
    are answered by those first fetches, not repeated."""
    index.reset()
    args = lock_args(index.simple_url, work / "cache", "linux-x86_64-cp312", "linux-aarch64-cp312")
    run = tripin(capsys, *args, "torch==2.6.0", "filelock", "--print-config")
    assert run.code == 0 and index.requests == []
    run = tripin(capsys, *args, "torch==2.6.0", "filelock")
    assert run.code == 0, run.err
    pages = [p for p in index.paths("GET") if p.startswith("/simple/")]
    assert pages.count("/simple/torch/") == 1 and pages.count("/simple/filelock/") == 1


def test_nightly_is_an_input_of_the_lock(work: Path) -> None:
    """--nightly sends variant targets to PyTorch's nightly index: a lock made with it was made
    from other inputs. A lock made without it keeps the digest it always had (no rewrite)."""
    from tripin.config import build_settings, inputs_digest

    def settings(prereleases: bool):  # type: ignore[no-untyped-def]
        return build_settings(
            cli_requirements=["torch"],
            cli_targets=["linux-x86_64-cp312-cu126"],
            index_url="https://pypi.example.org/simple",
            extra_index_urls=[],
            lock=None,
            constraints=None,
            manylinux=None,
            musllinux=None,
            macos=None,
            prereleases=prereleases,
            pyproject=work / "pyproject.toml",
            environ={},
        )

    pre = settings(prereleases=True)  # --nightly implies --pre
    assert inputs_digest(pre, nightly=True) != inputs_digest(pre)
    assert inputs_digest(pre, nightly=False) == inputs_digest(pre)
    assert inputs_digest(settings(prereleases=False)) != inputs_digest(pre)


def test_targets_outside_requires_python(work: Path, index: IndexServer, capsys: pytest.CaptureFixture[str]) -> None:
    """A target whose Python the project does not support is refused before anything is fetched,
    as uv refuses it; requirements given on the command line are not the project's."""
    (work / "pyproject.toml").write_text(
        '[project]\nname = "a"\nversion = "0"\nrequires-python = ">=3.11"\ndependencies = ["filelock"]\n'
    )
    run = tripin(capsys, "lock", "-t", "linux-x86_64-cp39", "-t", X86, "-i", index.simple_url, "--cache-dir", "c")
    assert run.code == 2 and index.requests == []
    assert run.err == (
        "tripin: error: target linux-x86_64-cp39: Python 3.9 is outside the project's requires-python >=3.11 "
        "(pyproject.toml)\n"
    )
    assert tripin(capsys, "lock", "-t", X86, "-i", index.simple_url, "--cache-dir", "c").code == 0
    cli = tripin(capsys, "lock", "filelock", "-t", "linux-x86_64-cp39", "-i", index.simple_url, "--cache-dir", "c")
    assert cli.code == 0, cli.err


@pytest.mark.parametrize(("spec", "fits"), [(">=3.12.1", True), ("==3.12.3", True), (">3.12", True), ("<3.12", False)])
def test_requires_python_at_a_patch_level_keeps_the_minor_target(
    work: Path, index: IndexServer, capsys: pytest.CaptureFixture[str], spec: str, fits: bool
) -> None:
    """cp312 stands for every 3.12.z: a patch-level floor such as `>=3.12.1` keeps it, as uv
    keeps it; only a range no 3.12 release meets refuses it."""
    (work / "pyproject.toml").write_text(
        f'[project]\nname = "a"\nversion = "0"\nrequires-python = "{spec}"\ndependencies = ["filelock"]\n'
    )
    run = tripin(capsys, "lock", "-t", X86, "-i", index.simple_url, "--cache-dir", "c")
    assert run.code == (0 if fits else 2), run.err
    if not fits:
        assert "Python 3.12 is outside the project's requires-python" in run.err


def test_a_bad_line_in_a_group_is_blamed_on_the_group(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (work / "pyproject.toml").write_text(
        '[project]\nname = "a"\nversion = "0"\ndependencies = ["attrs"]\n[dependency-groups]\ndev = ["pytest>>1"]\n'
        f'[tool.tripin]\ntargets = ["{X86}"]\ngroups = ["dev"]\n'
    )
    run = tripin(capsys, "lock", "--print-config")
    assert run.code == 2 and run.err.startswith("tripin: error: pyproject.toml group dev: invalid requirement")

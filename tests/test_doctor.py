"""`tripin doctor` on real virtual environments holding small real distributions built here."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import tripin
from indexserver import build_wheel

GOOD_320 = "9641643da6c52000c807b5eeed05edaec4402a67"
BAD_MAIN = "23753f4f24eaf54afbd224a8fa810f1167082807"
NIGHTLY = "2.6.0.dev20241230+cu126"
TAG = "py3-none-any"


def _torch(tmp: Path, version: str = NIGHTLY) -> Path:
    return build_wheel(
        tmp,
        "torch",
        version,
        TAG,
        files={
            # importing this would fail: doctor must read torch as files
            "torch/__init__.py": "raise RuntimeError('tripin imported torch')\n",
            "torch/version.py": (
                "from typing import Optional\n\n__all__ = ['__version__', 'debug', 'cuda', 'git_version', 'hip']\n"
                f"__version__ = '{version}'\ndebug = False\ncuda: Optional[str] = '12.6'\n"
                "git_version = '2236df1770800ffea5697b11b0bb0d910b2e59e1'\nhip: Optional[str] = None\n"
            ),
        },
    )


def _triton(tmp: Path, version: str, *, attrs: bool, name: str = "triton") -> Path:
    backend = "class AttrsDescriptor:\n    pass\n" if attrs else "class GPUTarget:\n    pass\n"
    compiler = (
        "from ..backends.compiler import AttrsDescriptor\n" if attrs else "from ..backends.compiler import GPUTarget\n"
    )
    return build_wheel(
        tmp,
        name,
        version,
        TAG,
        files={
            "triton/__init__.py": f"__version__ = '{version.split('+')[0]}'\n",
            "triton/backends/__init__.py": "",
            "triton/backends/compiler.py": backend,
            "triton/compiler/__init__.py": "",
            "triton/compiler/compiler.py": compiler,
        },
    )


def _venv(tmp_path: Path, *wheels: Path, vcs_commit: str | None = None) -> Path:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(python),
            "install",
            "--quiet",
            "--isolated",
            "--no-index",
            "--no-deps",
            *map(str, wheels),
        ],
        check=True,
    )
    if vcs_commit:  # what pip records for `pip install git+https://...@<commit>` (PEP 610)
        dist_info = next(venv.glob("lib/python*/site-packages/triton-*.dist-info"))
        (dist_info / "direct_url.json").write_text(
            json.dumps(
                {
                    "url": "https://github.com/triton-lang/triton",
                    "vcs_info": {"vcs": "git", "commit_id": vcs_commit, "requested_revision": vcs_commit},
                    "subdirectory": "python",
                }
            )
        )
    return python


def _target() -> str:
    import platform

    return f"linux-{platform.machine()}-cp{sys.version_info[0]}{sys.version_info[1]}"


def test_the_reported_incident(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    python = _venv(tmp_path, _torch(tmp_path), _triton(tmp_path, "3.2.0+git23753f4f", attrs=False))
    run = tripin(capsys, "doctor", "--python", str(python), "--probe")
    assert run.code == 1, run.out + run.err
    out = run.out
    assert f"torch: {NIGHTLY} (git 2236df177080, CUDA 12.6)" in out
    assert "triton: 3.2.0+git23753f4f, built from 23753f4f (+git label)" in out
    assert "probe torch-2.6-attrsdescriptor: FAILED" in out
    tp002 = out[out.index("problem TP002") :]
    assert "the breaking commit 67dc6270" in tp002.splitlines()[0]  # main after AttrsDescriptor's removal
    assert GOOD_320[:12] in tp002.splitlines()[1]  # the fix: the commit torch 2.6 pins
    assert f"tripin build-plan --torch 2.6.0 --target {_target()}" in tp002.splitlines()[1]
    assert "problem TP003" in out and "AttrsDescriptor" in out
    assert "problem TP010: probe torch-2.6-attrsdescriptor failed" in out


def test_a_healthy_source_build(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    python = _venv(tmp_path, _torch(tmp_path), _triton(tmp_path, "3.2.0+git9641643d", attrs=True), vcs_commit=GOOD_320)
    run = tripin(capsys, "doctor", "--python", str(python), "--probe")
    assert run.code == 0, run.out
    assert f"built from {GOOD_320} (direct_url.json)" in run.out
    assert "probe torch-2.6-attrsdescriptor: ok" in run.out and run.out.rstrip().endswith("healthy")
    # the installed torch is a nightly: the wheel's commit is accepted for 2.6.0, said as a warning
    verdict = next(line for line in run.out.splitlines() if line.startswith("verdict: "))
    assert verdict.startswith(f"verdict: warning: torch {NIGHTLY} is a nightly, judged against the 2.6.0 release")
    assert "the PyPI wheel's commit for triton 3.2.0" in verdict


def test_a_vcs_install_at_the_wrong_commit(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    python = _venv(tmp_path, _torch(tmp_path, "2.6.0"), _triton(tmp_path, "3.2.0", attrs=False), vcs_commit=BAD_MAIN)
    data = json.loads(tripin(capsys, "doctor", "--python", str(python), "--format", "json").out)
    assert data["schema"] == 1 and data["healthy"] is False
    assert data["tritons"][0]["commit"] == BAD_MAIN and data["tritons"][0]["commit_from"] == "direct_url.json"
    assert {f["code"] for f in data["findings"]} == {"TP002", "TP003"}


def test_two_tritons_installed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    python = _venv(
        tmp_path,
        _torch(tmp_path, "2.6.0"),
        _triton(tmp_path, "3.2.0", attrs=True),
        _triton(tmp_path / "p", "3.2.0", attrs=True, name="pytorch-triton"),
    )
    run = tripin(capsys, "doctor", "--python", str(python))
    assert run.code == 1 and "problem TP009: more than one Triton is installed" in run.out


def test_torch_without_triton_where_the_rules_want_one(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    python = _venv(tmp_path, _torch(tmp_path, "2.6.0"))
    run = tripin(capsys, "doctor", "--python", str(python))
    if _target().startswith("linux-x86_64") or _target().startswith("linux-aarch64"):
        assert run.code == 1 and "problem TP001" in run.out and "no Triton is there" in run.out
    assert "triton: not installed" in run.out


def test_an_interpreter_that_cannot_be_inspected(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = tripin(capsys, "doctor", "--python", str(tmp_path / "no-python"))
    assert run.code == 2
    assert run.err.startswith("tripin: error: cannot run ") and len(run.err.splitlines()) == 1


def _site_packages(python: Path) -> Path:
    return next(python.parent.parent.glob("lib/python*/site-packages"))


def test_an_invalid_triton_version_cannot_be_inspected(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A traceback exits 1, which says "a problem found"; an environment tripin cannot read is 2."""
    python = _venv(tmp_path, _torch(tmp_path, "2.6.0"), _triton(tmp_path, "3.2.0", attrs=True))
    metadata = next(_site_packages(python).glob("triton-*.dist-info")) / "METADATA"
    metadata.write_text(metadata.read_text().replace("Version: 3.2.0", "Version: not-a-version"))
    run = tripin(capsys, "doctor", "--python", str(python))
    assert run.code == 2 and run.err == "tripin: error: triton has an invalid version 'not-a-version'\n", run.err


@pytest.mark.parametrize(
    "answer",
    ["{}", "[1]", "null", '{"executable": "x", "path": "/", "python": "3.12.1"}', "not json"],
)
def test_an_interpreter_with_an_odd_answer(tmp_path: Path, answer: str, capsys: pytest.CaptureFixture[str]) -> None:
    fake = tmp_path / "python"
    fake.write_text(f"#!/bin/sh\necho '{answer}'\n")
    fake.chmod(0o755)
    run = tripin(capsys, "doctor", "--python", str(fake))
    assert run.code == 2 and run.err == f"tripin: error: {fake} did not answer with its platform\n", run.err


@pytest.mark.parametrize("answer", ["[1]", "{}", "[null]", '[null, ["e"], 3]', "[null, [1], null]"])
def test_an_odd_answer_to_the_import_probe(tmp_path: Path, answer: str, capsys: pytest.CaptureFixture[str]) -> None:
    """The interpreter answers the platform question, then the probe with JSON of another shape."""
    real = _venv(tmp_path, _torch(tmp_path, "2.6.0"), _triton(tmp_path, "3.2.0", attrs=True))
    fake = tmp_path / "python"
    fake.write_text(f"#!/bin/sh\nif [ $# -gt 2 ]; then echo '{answer}'; else exec {real} \"$@\"; fi\n")
    fake.chmod(0o755)
    run = tripin(capsys, "doctor", "--python", str(fake), "--probe")
    assert run.code == 2 and run.err == f"tripin: error: {fake} did not answer the import probe\n", run.err


def test_control_characters_from_the_environment_are_escaped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """torch/version.py and direct_url.json are the environment's: an escape sequence there must
    not reach the terminal, and a newline must not forge a `problem:` line."""
    python = _venv(tmp_path, _torch(tmp_path, "2.6.0"), _triton(tmp_path, "3.2.0", attrs=True), vcs_commit=BAD_MAIN)
    site = _site_packages(python)
    version_py = site / "torch" / "version.py"
    version_py.write_text(version_py.read_text().replace("'12.6'", "'12.4\\x1b[31mRED\\nfake: line'"))
    direct_url = next(site.glob("triton-*.dist-info")) / "direct_url.json"
    direct_url.write_text(direct_url.read_text().replace(BAD_MAIN, "\\u001b[2J\\nproblem: none"))
    run = tripin(capsys, "doctor", "--python", str(python))
    assert "\x1b" not in run.out and not any(
        line.startswith(("fake:", "problem: none")) for line in run.out.splitlines()
    )
    assert "torch: 2.6.0 (git 2236df177080, CUDA 12.4\\x1b[31mRED\\x0afake: line) in " in run.out
    # what is no commit hash is no commit: the wheel is judged by its version, and passes
    assert "built from" not in run.out and run.code == 0, run.out
    data = json.loads(tripin(capsys, "doctor", "--python", str(python), "--format", "json").out)
    assert data["cuda"] == "12.4\x1b[31mRED\nfake: line" and data["tritons"][0]["commit"] is None


def test_a_triton_with_missing_files_is_not_healthy(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Uninstalling a second Triton deletes the `triton/` files both RECORDs list: the one left
    is installed by name and broken (tests/test_remedies.py runs the fix)."""
    python = _venv(tmp_path, _torch(tmp_path, "2.6.0"), _triton(tmp_path, "3.2.0", attrs=True))
    (_site_packages(python) / "triton" / "__init__.py").unlink()
    run = tripin(capsys, "doctor", "--python", str(python))
    assert run.code == 1 and "healthy" not in run.out
    assert "problem TP014: triton 3.2.0 is missing 1 of its files (triton/__init__.py)" in run.out
    assert run.out.rstrip().endswith(" --force-reinstall --no-deps triton===3.2.0"), run.out


@pytest.mark.parametrize(
    ("record", "missing"),
    [("garbage\n\n,,,,,,\n", True), ('"unterminated\n', True), ("triton/__init__.py,,\na\0b,,\n", True), ("", False)],
)
def test_a_malformed_record_is_no_traceback(
    tmp_path: Path, record: str, missing: bool, capsys: pytest.CaptureFixture[str]
) -> None:
    """A RECORD line naming a file that is not there (or cannot be one) is a missing file; an
    empty RECORD names none."""
    python = _venv(tmp_path, _torch(tmp_path, "2.6.0"), _triton(tmp_path, "3.2.0", attrs=True))
    (next(_site_packages(python).glob("triton-*.dist-info")) / "RECORD").write_text(record)
    run = tripin(capsys, "doctor", "--python", str(python))
    assert run.code == int(missing) and not run.err, run.err
    assert ("problem TP014" in run.out) == missing and "\0" not in run.out


def test_the_activated_environment_is_the_default(tmp_path: Path) -> None:
    """`tripin` installed as a tool (pipx, `uv tool`) runs from its own environment: doctor and
    install take the activated one ($VIRTUAL_ENV), as `uv pip install` does, not tripin's, whose
    own dependencies an install replaced (found installing packaging==24.0 into tripin's venv)."""
    import os
    import venv

    env_dir = tmp_path / "project-env"
    venv.create(env_dir, with_pip=False)
    python = env_dir / "bin" / "python"
    environ = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"}
    argv = [sys.executable, "-m", "tripin", "doctor", "--format", "json"]
    activated = subprocess.run(argv, capture_output=True, text=True, env={**environ, "VIRTUAL_ENV": str(env_dir)})
    assert json.loads(activated.stdout)["python"] == str(python)
    plain = subprocess.run(argv, capture_output=True, text=True, env=environ)
    assert json.loads(plain.stdout)["python"] != str(python)
    for command in (["install", "--help"], ["doctor", "--help"]):
        shown = subprocess.run([*argv[:3], *command], capture_output=True, text=True, env=environ).stdout
        assert "$VIRTUAL_ENV" in shown

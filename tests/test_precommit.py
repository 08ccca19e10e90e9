"""The `tripin-check` hook, run by the real pre-commit against a git repository that uses it.

pre-commit installs the hook repository into a virtual environment of its own with pip. The
tests must not reach an index, so that pip gets a wheelhouse made here from the distributions
already installed (all pure Python), and no index at all.
"""

from __future__ import annotations

import csv
import io
import os
import shutil
import subprocess
import sys
import zipfile
from importlib.metadata import Distribution, distribution
from pathlib import Path

import pytest
from helpers import tripin
from indexserver import IndexServer
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tripin import __version__

ROOT = Path(__file__).resolve().parent.parent
GOOD = (
    'torch==2.6.0\ntriton==3.2.0 ; platform_machine == "x86_64"\n'
    'triton==3.2.0+git9641643d ; platform_machine == "aarch64"\n'
)
BAD = "torch==2.6.0.dev20241230+cu126\ntriton==3.2.0+git23753f4f\n"


def _closure(roots: list[str]) -> dict[str, Distribution]:
    """The installed distributions `roots` need, extras included."""
    found: dict[str, Distribution] = {}
    todo = [Requirement(r) for r in roots]
    done: set[tuple[str, frozenset[str]]] = set()
    while todo:
        req = todo.pop()
        name = canonicalize_name(req.name)
        if (name, frozenset(req.extras)) in done:
            continue
        done.add((name, frozenset(req.extras)))
        found[name] = dist = distribution(name)
        for text in dist.requires or []:
            dep = Requirement(text)
            envs = [{**default_environment(), "extra": extra} for extra in ["", *req.extras]]
            if dep.marker is None or any(dep.marker.evaluate(env) for env in envs):
                todo.append(dep)
    return found


def _repack(dist: Distribution, into: Path) -> None:
    """A wheel of an installed pure-Python distribution, from the files its RECORD lists."""
    name = dist.metadata["Name"].replace("-", "_")
    out = into / f"{name}-{dist.version}-py3-none-any.whl"
    record = io.StringIO()
    writer = csv.writer(record, lineterminator="\n")
    with zipfile.ZipFile(out, "w") as wheel:
        for file in dist.files or []:
            path = str(file)
            if (
                path.startswith("..")
                or "__pycache__" in path
                or path.endswith((".pyc", "RECORD", "INSTALLER", "direct_url.json", "REQUESTED"))
            ):
                continue
            data = Path(str(dist.locate_file(file))).read_bytes()
            wheel.writestr(path, data)
            writer.writerow([path, "", ""])
        dist_info = next(str(f).split("/")[0] for f in dist.files or [] if str(f).endswith("METADATA"))
        writer.writerow([f"{dist_info}/RECORD", "", ""])
        wheel.writestr(f"{dist_info}/RECORD", record.getvalue())


def _plain(requirement: Requirement) -> bool:
    return requirement.marker is None or requirement.marker.evaluate({**default_environment(), "extra": ""})


@pytest.fixture(scope="module")
def wheelhouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    house = tmp_path_factory.mktemp("wheelhouse")
    plain = [r for r in distribution("tripin").requires or [] if _plain(Requirement(r))]  # the hook installs no extra
    for dist in _closure(["hatchling", *plain]).values():
        _repack(dist, house)
    return house


def _git(cwd: Path, *args: str) -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.org",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.org",
    }
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True, env=env).stdout.strip()


@pytest.fixture(scope="module")
def hook_repo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """This working tree's tripin as a hook repository (uncommitted changes included)."""
    repo = tmp_path_factory.mktemp("tripin-hook")
    for item in ("src", "rules", "pyproject.toml", "README.md", ".pre-commit-hooks.yaml"):
        source = ROOT / item
        if source.is_dir():
            shutil.copytree(source, repo / item, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        else:
            shutil.copy2(source, repo / item)
    _git(repo, "init", "-q")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", "hook")
    _git(repo, "tag", f"v{__version__}")  # a release tag, as README tells users to name in `rev:`
    return repo, _git(repo, "rev-parse", "HEAD")


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One PRE_COMMIT_HOME for the module: pre-commit installs the hook's environment once."""
    return tmp_path_factory.mktemp("home")


def _pre_commit(project: Path, wheelhouse: Path, home: Path, *which: str) -> subprocess.CompletedProcess[str]:
    """`pre-commit run` on every file, or on those `which` names (`--files F`; none given and
    no `--all-files`: the staged files, as at a commit)."""
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(home),
        "PRE_COMMIT_HOME": str(home / "pre-commit"),
        "PIP_NO_INDEX": "1",
        "PIP_FIND_LINKS": str(wheelhouse),
        "PIP_CONFIG_FILE": os.devnull,
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        "TRIPIN_CACHE_DIR": str(home / "tripin"),
        "VIRTUALENV_NO_DOWNLOAD": "1",
        "GIT_CONFIG_NOSYSTEM": "1",
    }
    return subprocess.run(
        [sys.executable, "-m", "pre_commit", "run", *(which or ["--all-files"]), "--color", "never"],
        cwd=project,
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )


def test_pre_commit_runs_the_hook(tmp_path: Path, wheelhouse: Path, hook_repo: tuple[Path, str], home: Path) -> None:
    repo, rev = hook_repo
    project = tmp_path / "project"
    project.mkdir()
    _git(project, "init", "-q")
    (project / ".pre-commit-config.yaml").write_text(
        f"repos:\n  - repo: {repo}\n    rev: {rev}\n    hooks:\n      - id: tripin-check\n"
    )
    (project / "constraints.txt").write_text(GOOD)
    (project / "notes.txt").write_text("triton==3.3.0\n")  # not a file the hook looks at
    _git(project, "add", "-A")
    good = _pre_commit(project, wheelhouse, home)
    assert good.returncode == 0, good.stdout + good.stderr
    assert "tripin check (torch/Triton pins)" in good.stdout and "Passed" in good.stdout

    (project / "constraints.txt").write_text(BAD)
    _git(project, "add", "-A")
    bad = _pre_commit(project, wheelhouse, home)
    assert bad.returncode == 1
    assert "Failed" in bad.stdout
    assert "constraints.txt:2: TP002 triton 3.2.0+git23753f4f on linux-aarch64-cp312" in bad.stdout
    assert "(3.2.0 and 3.2.0+git9641643d): split it into one line per platform" in bad.stdout
    assert "AttrsDescriptor" in bad.stdout


BAD_MAIN = "23753f4f24eaf54afbd224a8fa810f1167082807"  # rules/known-bad.toml
BAD_PYLOCK = (
    'lock-version = "1.0"\ncreated-by = "hand"\n\n[[packages]]\nname = "torch"\nversion = "2.6.0"\n\n'
    '[[packages]]\nname = "triton"\nversion = "3.2.0+git23753f4f"\n'
)
# the layout uv writes (tests/test_uvlock.py checks the reader on a lock the real uv wrote)
BAD_UV_LOCK = f"""\
version = 1
revision = 3
requires-python = ">=3.12"

[[package]]
name = "demo"
version = "0.1.0"
source = {{ virtual = "." }}
dependencies = [
    {{ name = "torch" }},
    {{ name = "triton" }},
]

[[package]]
name = "torch"
version = "2.6.0"
source = {{ registry = "https://pypi.org/simple" }}

[[package]]
name = "triton"
version = "3.2.0+git23753f4f"
source = {{ git = "https://github.com/triton-lang/triton?subdirectory=python&rev={BAD_MAIN}#{BAD_MAIN}" }}
"""
# where each layout puts its pins, and the line check blames (the triton line or entry)
MATCHED = {
    "constraints.txt": (BAD, 2),
    "requirements.txt": (BAD, 2),
    "requirements-dev.in": (BAD, 2),
    "dev-requirements.txt": (BAD, 2),
    "requirements/base.txt": (BAD, 2),
    "requirements/ci/gpu.in": (BAD, 2),
    "constraints/cu126.txt": (BAD, 2),
    "services/api/requirements.txt": (BAD, 2),
    "pylock.toml": (BAD_PYLOCK, 8),
    "pylock.cu126.toml": (BAD_PYLOCK, 8),
    "uv.lock": (BAD_UV_LOCK, 19),
}
IGNORED = ("notes.txt", "requirements.md", "requirements/README.md", "pylock.toml.orig", "docs/uv.lock.bak")


def test_hook_files_pattern_matches_the_usual_layouts(
    tmp_path: Path, wheelhouse: Path, hook_repo: tuple[Path, str], home: Path
) -> None:
    """Every usual place for pins reaches the hook (each reports its own violation), and
    nothing else does (those files hold pins that would fail). The hook is named by its release
    tag, as the README's example does."""
    repo, _ = hook_repo
    readme = (ROOT / "README.md").read_text()
    assert f"rev: v{__version__}" in readme  # the documented tag is this version's
    project = tmp_path / "project"
    project.mkdir()
    _git(project, "init", "-q")
    (project / ".pre-commit-config.yaml").write_text(
        f"repos:\n  - repo: {repo}\n    rev: v{__version__}\n    hooks:\n      - id: tripin-check\n"
    )
    for name, (text, _) in MATCHED.items():
        (project / name).parent.mkdir(parents=True, exist_ok=True)
        (project / name).write_text(text)
    for name in IGNORED:
        (project / name).parent.mkdir(parents=True, exist_ok=True)
        (project / name).write_text(BAD)  # would fail, were it checked
    _git(project, "add", "-A")
    run = _pre_commit(project, wheelhouse, home)
    assert run.returncode == 1, run.stdout + run.stderr
    blamed = {line.split(":")[0]: int(line.split(":")[1]) for line in run.stdout.splitlines() if ": TP00" in line}
    assert blamed == {name: line for name, (_, line) in MATCHED.items()}, run.stdout


def test_a_pyproject_edit_runs_the_hook(
    tmp_path: Path,
    wheelhouse: Path,
    hook_repo: tuple[Path, str],
    home: Path,
    index: IndexServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A commit that changes only pyproject.toml's dependencies leaves the lock behind: the hook
    runs on it (as uv's uv-lock hook does) and says the lock is older (TP005). A pyproject.toml
    with no lock next to it passes."""
    repo, rev = hook_repo
    project = tmp_path / "project"
    (project / "lib").mkdir(parents=True)
    _git(project, "init", "-q")
    (project / ".pre-commit-config.yaml").write_text(
        f"repos:\n  - repo: {repo}\n    rev: {rev}\n    hooks:\n      - id: tripin-check\n"
    )
    (project / "pyproject.toml").write_text(
        '[project]\nname = "demo"\nversion = "0"\ndependencies = ["filelock"]\n\n'
        f'[tool.tripin]\ntargets = ["linux-x86_64-cp312"]\nindex-url = "{index.simple_url}"\n'
    )
    (project / "lib" / "pyproject.toml").write_text('[project]\nname = "lib"\nversion = "0"\n')
    monkeypatch.chdir(project)
    assert tripin(capsys, "lock", "--cache-dir", str(tmp_path / "cache")).code == 0
    _git(project, "add", "-A")
    _git(project, "commit", "-qm", "locked", "--no-verify")
    text = (project / "pyproject.toml").read_text()
    (project / "pyproject.toml").write_text(text.replace('["filelock"]', '["filelock", "fsspec"]'))
    (project / "lib" / "pyproject.toml").write_text('[project]\nname = "lib"\nversion = "1"\n')
    _git(project, "add", "pyproject.toml", "lib/pyproject.toml")
    run = _pre_commit(project, wheelhouse, home)  # the staged files only, as at a commit
    assert run.returncode == 1, run.stdout + run.stderr
    assert "pylock.toml:1: TP005 pyproject.toml changed since the lock was written; fix: tripin lock" in run.stdout
    assert tripin(capsys, "lock", "--cache-dir", str(tmp_path / "cache")).code == 0
    _git(project, "add", "-A")
    run = _pre_commit(project, wheelhouse, home, "--files", "pyproject.toml", "lib/pyproject.toml")
    assert run.returncode == 0 and "Passed" in run.stdout, run.stdout + run.stderr

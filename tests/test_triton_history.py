"""scripts/triton_history.py on a real git repository built here, and the parser that reads its
output (src/tripin/rules/history.py): branches, versions, same-source sets."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from tripin.rules.history import parse_history

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "triton_history.py"


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("triton_history", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["triton_history"] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def _git(repo: Path, *args: str) -> str:
    env = {
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.org",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.org",
        "HOME": str(repo),
        "PATH": "/usr/bin:/bin",
    }
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True, env=env).stdout


def _commit(repo: Path, files: dict[str, str], message: str) -> str:
    for name, text in files.items():
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text(text)
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", message)
    return _git(repo, "rev-parse", "HEAD").strip()


@pytest.fixture
def repo(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """main: two commits; release/9.1.x cut from the first, with a source fix, the release
    commit, and a workflow-only change after it."""
    repo = tmp_path / "triton"
    repo.mkdir()
    _git(repo, "init", "-q", "-b", "main")
    c: dict[str, str] = {}
    c["base"] = _commit(repo, {"python/triton/__init__.py": "__version__ = '9.0.0'\n", "lib/a.cpp": "1"}, "base")
    c["main2"] = _commit(repo, {"python/triton/__init__.py": "__version__ = '9.2.0'\n"}, "bump main")
    _git(repo, "checkout", "-q", "-b", "release/9.1.x", c["base"])
    c["bump"] = _commit(repo, {"python/triton/__init__.py": "__version__ = '9.1.0'\n"}, "bump 9.1")
    c["fix"] = _commit(repo, {"lib/a.cpp": "2"}, "fix")
    c["wheel"] = _commit(repo, {".github/workflows/wheels.yml": "x"}, "release to pypi")
    c["ci"] = _commit(repo, {".github/workflows/wheels.yml": "y", "README.md": "r"}, "ci only")
    return repo / ".git", c


def test_the_script_writes_what_the_parser_reads(repo: tuple[Path, dict[str, str]]) -> None:
    git_dir, c = repo
    text = _script().build([git_dir], accepted=[(c["wheel"], "the wheel")])
    history = parse_history(text)
    assert history.branches == ("main", "release/9.1.x")
    assert history.commits("main") == (c["base"], c["main2"])
    assert history.base("release/9.1.x") == c["base"]
    assert history.commits("release/9.1.x") == tuple(c[k] for k in ("bump", "fix", "wheel", "ci"))
    assert history.version_of(c["fix"]) == "9.1.0" and history.version_of(c["main2"]) == "9.2.0"
    assert history.version_of(c["base"]) == "9.0.0"
    # the fix changes lib/: another build; the release commit and the CI change have one source tree
    assert history.same_source(c["wheel"]) == {c["wheel"], c["fix"], c["ci"]}
    assert history.places("0123abcd") == []
    # a build's `+git<hash>` label names a commit by its first 8 hex digits; a full id only by itself
    assert history.resolve(c["wheel"][:8]) == c["wheel"] and history.places(c["wheel"][:8])
    forged = c["wheel"][:8] + "0" * 32
    assert history.resolve(forged) is None and history.places(forged) == [] and history.same_source(forged) == set()


def test_the_script_refuses_a_directory_without_main(tmp_path: Path) -> None:
    repo = tmp_path / "r"
    repo.mkdir()
    _git(repo, "init", "-q", "-b", "other")
    _commit(repo, {"a": "1"}, "a")
    with pytest.raises(SystemExit, match="no git directory has a `main` branch"):
        _script().build([repo / ".git"], accepted=[])

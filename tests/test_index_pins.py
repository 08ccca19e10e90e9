"""Which index serves which name: a project's named indexes before the default one, extra
indexes from the command line or the environment added to the project's, pins that name a
package, and a lock whose `index` is not one the project configures (TP016)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from helpers import read_toml, tripin
from indexserver import IndexServer, build_wheel

X86 = "linux-x86_64-cp312"


@pytest.fixture
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "p").mkdir()
    monkeypatch.chdir(tmp_path / "p")
    for key in (
        "PIP_INDEX_URL",
        "UV_INDEX_URL",
        "UV_DEFAULT_INDEX",
        "TRIPIN_INDEX_URL",
        "PIP_EXTRA_INDEX_URL",
        "UV_EXTRA_INDEX_URL",
        "TRIPIN_EXTRA_INDEX_URL",
        "TRIPIN_TARGETS",
        "TRIPIN_LOCK",
        "TRIPIN_CONSTRAINTS",
        "TRIPIN_PYTORCH_INDEX_URL",
    ):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("TRIPIN_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "p"


def _index(make_index: Callable[..., IndexServer], wheels: Path, *releases: tuple[str, str]) -> IndexServer:
    server = make_index()
    for name, version in releases:
        server.publish(build_wheel(wheels, name, version, "py3-none-any"))
    return server


@pytest.fixture
def public(make_index: Callable[..., IndexServer], tmp_path: Path) -> IndexServer:
    """B: a public index where someone uploaded an impostor `mypriv 1.0`."""
    return _index(make_index, tmp_path / "wb", ("mypriv", "1.0"))


@pytest.fixture
def internal(make_index: Callable[..., IndexServer], tmp_path: Path) -> IndexServer:
    """C: the company's index with the real `mypriv 0.5` and a package only it has."""
    return _index(make_index, tmp_path / "wc", ("mypriv", "0.5"), ("privonly", "1.0"))


@pytest.fixture
def other(make_index: Callable[..., IndexServer], tmp_path: Path) -> IndexServer:
    """A: another index, given on the command line or in the environment."""
    return _index(make_index, tmp_path / "wa", ("mypriv", "1.0"))


def _project(work: Path, tool: str, deps: str = '"mypriv"') -> Path:
    (work / "pyproject.toml").write_text(
        f'[project]\nname = "app"\nversion = "0"\ndependencies = [{deps}]\n[tool.tripin]\ntargets = ["{X86}"]\n{tool}'
    )
    return work


def _named(url: str, packages: str = '["triton"]', name: str = "internal") -> str:
    return f'[[tool.tripin.index]]\nname = "{name}"\nurl = "{url}"\npackages = {packages}\n'


def _locked(work: Path, name: str) -> dict[str, object]:
    return next(p for p in read_toml(work / "pylock.toml")["packages"] if p["name"] == name)


def test_a_named_index_is_asked_before_the_default_one(
    work: Path, public: IndexServer, internal: IndexServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """uv asks [[tool.uv.index]] before the default index: a package the project's index has
    is never taken from the public one, pinned or not (dependency confusion)."""
    _project(work, f'index-url = "{public.simple_url}"\n' + _named(internal.simple_url))
    run = tripin(capsys, "lock")
    assert run.code == 0, run.err
    mypriv = _locked(work, "mypriv")
    assert (mypriv["version"], mypriv["index"]) == ("0.5", internal.simple_url)
    assert not public.requests_for("/simple/mypriv/*")  # the impostor's page is never read


def test_print_config_says_what_a_pin_means(
    work: Path, public: IndexServer, internal: IndexServer, capsys: pytest.CaptureFixture[str]
) -> None:
    _project(work, f'index-url = "{public.simple_url}"\n' + _named(internal.simple_url))
    run = tripin(capsys, "lock", "--print-config")
    assert run.code == 0, run.err
    rows = [line for line in run.out.splitlines() if line.startswith("index ")]
    assert rows[0].startswith("index internal") and f"{internal.simple_url} (pinned: triton)" in rows[0]
    assert rows[1].startswith("index default")
    assert "only:" not in run.out


@pytest.mark.parametrize("value", ["mypriv ", "", "torch*", "torch==2.6", "my\x1bpriv"])
def test_a_pin_must_name_a_package(
    work: Path, public: IndexServer, internal: IndexServer, capsys: pytest.CaptureFixture[str], value: str
) -> None:
    _project(work, f'index-url = "{public.simple_url}"\n' + _named(internal.simple_url, f"[{json.dumps(value)}]"))
    for command in (["lock"], ["config"], ["lock", "--print-config"]):
        run = tripin(capsys, *command)
        assert run.code == 2, (command, run.out)
        assert run.err.count("\n") == 1 and "pyproject.toml" in run.err, run.err
        assert repr(value) in run.err and "not a package name" in run.err
        assert "\x1b" not in run.err
    assert not (work / "pylock.toml").exists()


@pytest.mark.parametrize("how", ["--extra-index-url", "UV_EXTRA_INDEX_URL", "PIP_EXTRA_INDEX_URL"])
def test_extra_indexes_given_at_run_time_add_to_the_projects(
    work: Path,
    public: IndexServer,
    internal: IndexServer,
    other: IndexServer,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    how: str,
) -> None:
    """As uv: the command line's (or the environment's) extra indexes come first, then the
    project's, which are kept: a package only the project's index has still resolves."""
    _project(
        work, f'index-url = "{public.simple_url}"\nextra-index-urls = ["{internal.simple_url}"]\n', '"mypriv", "privonly"'
    )
    extra = [how, other.simple_url] if how.startswith("--") else []
    if not extra:
        monkeypatch.setenv(how, other.simple_url)
    run = tripin(capsys, "lock", *extra)
    assert run.code == 0, run.err
    assert _locked(work, "privonly")["index"] == internal.simple_url
    assert _locked(work, "mypriv")["index"] == other.simple_url  # asked first, as uv asks it
    source = "command line" if extra else f"environment ({how})"
    shown = tripin(capsys, "lock", "--print-config", *extra).out
    assert re.search(rf"index extra-1 +{re.escape(other.simple_url)}  \[{re.escape(source)}\]", shown), shown
    assert re.search(rf"index extra-2 +{re.escape(internal.simple_url)}  \[pyproject.toml \[tool.tripin\]\]", shown)
    if not extra:  # `tripin config` has no --extra-index-url; it shows the environment's
        shown = tripin(capsys, "config").out
        assert re.search(rf"index extra-1 +{re.escape(other.simple_url)}  \[{re.escape(source)}\]", shown), shown
        assert f"{internal.simple_url}  [pyproject.toml [tool.tripin]]" in shown

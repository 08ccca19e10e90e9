"""A uv or pip-tools user's index settings in pyproject.toml: [[tool.uv.index]] with
[tool.uv.sources] pins, [tool.uv] and [tool.pip-tools] index-url / extra-index-url, read as
tripin's own; what tripin does not follow there is said in a warning. Each test has a public
index where someone uploaded an impostor of the project's private package."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from helpers import project_dir, read_toml, tripin
from indexserver import IndexServer
from test_index_pins import _edit, _index

X86 = "linux-x86_64-cp312"


@pytest.fixture
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project directory as cwd, with no index or tripin setting from the environment."""
    return project_dir(tmp_path, monkeypatch)


@pytest.fixture
def public(make_index: Callable[..., IndexServer], tmp_path: Path) -> IndexServer:
    """PyPI's stand-in: an impostor `mypriv 9.0`, and `six`, which only it has."""
    return _index(make_index, tmp_path / "wb", ("mypriv", "9.0"), ("six", "1.17.0"))


@pytest.fixture
def internal(make_index: Callable[..., IndexServer], tmp_path: Path) -> IndexServer:
    """The company's index: the real `mypriv 0.5`, and a `six` of its own."""
    return _index(make_index, tmp_path / "wc", ("mypriv", "0.5"), ("six", "99.0"))


def _project(work: Path, public: IndexServer, tool: str, deps: str = '"mypriv", "six"') -> None:
    (work / "pyproject.toml").write_text(
        f'[project]\nname = "app"\nversion = "0"\ndependencies = [{deps}]\n'
        f'[tool.tripin]\ntargets = ["{X86}"]\nindex-url = "{public.simple_url}"\n{tool}'
    )


def _uv_index(url: str, name: str = "internal", explicit: bool = True) -> str:
    return f'[[tool.uv.index]]\nname = "{name}"\nurl = "{url}"\nexplicit = {str(explicit).lower()}\n'


def _locked(work: Path) -> dict[str, tuple[str, str]]:
    return {p["name"]: (p["version"], p["index"]) for p in read_toml(work / "pylock.toml")["packages"]}


def test_a_uv_source_pins_a_package_to_an_explicit_index(
    work: Path, public: IndexServer, internal: IndexServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """As `uv lock`: mypriv from the internal index (never the impostor), and six, pinned to
    nothing, from the default index alone: an explicit index serves only what is pinned to it."""
    _project(work, public, _uv_index(internal.simple_url) + '[tool.uv.sources]\nmypriv = { index = "internal" }\n')
    run = tripin(capsys, "lock")
    assert run.code == 0, run.err
    assert run.err == ""
    assert _locked(work) == {"mypriv": ("0.5", internal.simple_url), "six": ("1.17.0", public.simple_url)}
    assert not public.requests_for("/simple/mypriv/*") and not internal.requests_for("/simple/six/*")
    shown = tripin(capsys, "config").out
    row = rf"index internal +{re.escape(internal.simple_url)} \(explicit\) \(pinned: mypriv\)  "
    row += r"\[pyproject.toml \[\[tool.uv.index\]\]\]"
    assert re.search(row, shown), shown
    assert tripin(capsys, "check").code == 0
    # a lock edited to take mypriv from the public index is refused, as for a [tool.tripin] pin
    _edit(work / "pylock.toml", public.simple_url)
    run = tripin(capsys, "check")
    assert run.code == 1 and "TP016 mypriv is pinned to index 'internal'" in run.out, run.out


def test_a_uv_index_that_is_not_explicit_is_asked_first_for_every_name(
    work: Path, public: IndexServer, internal: IndexServer, capsys: pytest.CaptureFixture[str]
) -> None:
    _project(work, public, _uv_index(internal.simple_url, explicit=False))
    assert tripin(capsys, "lock").code == 0
    assert _locked(work) == {"mypriv": ("0.5", internal.simple_url), "six": ("99.0", internal.simple_url)}


def test_tripin_settings_win_over_uvs(
    work: Path, public: IndexServer, internal: IndexServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """[[tool.tripin.index]] of the same name replaces uv's, and a [tool.tripin] pin of the same
    package replaces uv's source."""
    tool = (
        f'[[tool.tripin.index]]\nname = "pub"\nurl = "{public.simple_url}"\npackages = ["six"]\n'
        + _uv_index(internal.simple_url, explicit=False)
        + _uv_index("http://127.0.0.1:9/simple", name="pub")
        + '[tool.uv.sources]\nsix = { index = "internal" }\nmypriv = { index = "internal" }\n'
    )
    _project(work, public, tool)
    run = tripin(capsys, "lock")
    assert run.code == 0, run.err
    assert _locked(work) == {"mypriv": ("0.5", internal.simple_url), "six": ("1.17.0", public.simple_url)}


@pytest.mark.parametrize(
    ("tool", "source"),
    [
        ('[tool.uv]\nextra-index-url = ["{url}"]\n', "[tool.uv] extra-index-url"),
        ('[tool.pip-tools]\nextra-index-url = "{url}"\n', "[tool.pip-tools] extra-index-url"),
        ('[tool.pip-tools]\nextra_index_url = ["{url}"]\n', "[tool.pip-tools] extra-index-url"),
    ],
)
def test_extra_index_urls_of_uv_and_pip_tools(
    work: Path, public: IndexServer, internal: IndexServer, capsys: pytest.CaptureFixture[str], tool: str, source: str
) -> None:
    _project(work, public, tool.format(url=internal.simple_url))
    assert tripin(capsys, "lock").code == 0
    assert _locked(work)["mypriv"] == ("0.5", internal.simple_url)
    shown = tripin(capsys, "config").out
    assert f"{internal.simple_url}  [pyproject.toml {source}]" in shown, shown


@pytest.mark.parametrize(
    ("tool", "source"),
    [
        ('[tool.uv]\nindex-url = "{url}"\n', "pyproject.toml [tool.uv] index-url"),
        ('[[tool.uv.index]]\nname = "corp"\nurl = "{url}"\ndefault = true\n', "(default = true)"),
        ('[tool.pip-tools]\nindex-url = "{url}"\n', "pyproject.toml [tool.pip-tools] index-url"),
    ],
)
def test_a_default_index_of_uv_or_pip_tools_replaces_pypi(
    work: Path, internal: IndexServer, capsys: pytest.CaptureFixture[str], tool: str, source: str
) -> None:
    (work / "pyproject.toml").write_text(
        f'[project]\nname = "app"\nversion = "0"\ndependencies = ["mypriv"]\n[tool.tripin]\ntargets = ["{X86}"]\n'
        + tool.format(url=internal.simple_url)
    )
    assert tripin(capsys, "lock").code == 0
    assert _locked(work)["mypriv"] == ("0.5", internal.simple_url)
    row = next(line for line in tripin(capsys, "config").out.splitlines() if line.startswith("index-url"))
    assert internal.simple_url in row and source in row, row


def test_what_tripin_does_not_follow_is_said_on_every_run(
    work: Path, public: IndexServer, internal: IndexServer, capsys: pytest.CaptureFixture[str]
) -> None:
    tool = (
        _uv_index(internal.simple_url)
        + '[tool.uv]\nconstraint-dependencies = ["six<2"]\noverride-dependencies = ["six==1.0"]\n'
        + '[tool.uv.sources]\nmypriv = { index = "internal" }\nfoo = { git = "https://example.com/foo" }\n'
        + 'six = [{ index = "internal", marker = "sys_platform == \'linux\'" }]\n'
        + '[tool.pip-tools]\nfind-links = ["wheels"]\n'
    )
    _project(work, public, tool)
    for _ in range(2):  # the second run finds nothing to resolve, and says it again
        run = tripin(capsys, "lock")
        assert run.code == 0, run.err
        lines = run.err.splitlines()
        assert all(line.startswith("warning: pyproject.toml: [tool.") for line in lines), lines
        for key in (
            "[tool.uv] constraint-dependencies",
            "[tool.uv] override-dependencies",
            "[tool.uv.sources] foo: a git source",
            "[tool.uv.sources] six: a list of sources",
            "[tool.pip-tools] find-links",
        ):
            assert sum(key in line for line in lines) == 1, (key, lines)
    assert _locked(work)["mypriv"] == ("0.5", internal.simple_url)


def test_uvs_torch_per_platform_sources_are_answered_with_variant_targets(
    work: Path, capsys: pytest.CaptureFixture[str], public: IndexServer
) -> None:
    """uv's way to take torch's CUDA build on Linux and PyPI's elsewhere (a list of sources with
    markers): pinning torch to one index, the generic advice, would send macOS to the CUDA index;
    tripin's way is a variant target per platform, and the warning says so."""
    (work / "pyproject.toml").write_text(
        '[project]\nname = "app"\nversion = "0"\ndependencies = ["six"]\n'
        '[tool.uv.sources]\ntorch = [{ index = "pytorch-cu128", marker = "sys_platform == \'linux\'" }]\n'
        '[[tool.uv.index]]\nname = "pytorch-cu128"\nurl = "https://download.pytorch.org/whl/cu128"\nexplicit = true\n'
        f'[tool.tripin]\ntargets = ["{X86}"]\nindex-url = "{public.simple_url}"\n'
    )
    run = tripin(capsys, "lock")
    assert run.code == 0, run.err
    assert "[tool.uv.sources] torch: a list of sources is not followed" in run.err
    assert "a variant target per platform instead (linux-x86_64-cp312-cu128" in run.err
    assert "pin it to one index" not in run.err


@pytest.mark.parametrize(
    ("tool", "message"),
    [
        ('[tool.uv.sources]\nmypriv = { index = "nope" }\n', "mypriv names index 'nope', which no [[tool.uv.index]]"),
        ('[[tool.uv.index]]\nname = "f"\nurl = "{url}"\nformat = "flat"\n', "tripin reads simple-API indexes only"),
        ("[tool.uv]\nno-index = true\n", "[tool.uv] no-index"),
        ('[[tool.uv.index]]\nname = "a b"\nurl = "{url}"\n', "must be letters, digits"),
        ('[[tool.uv.index]]\nname = "i"\nurl = "ftp://x/\\u001b"\n', "index URL has white space or control characters"),
        ("[tool.uv]\nextra-index-url = [1]\n", "extra-index-url must be a URL string"),
        ('[tool.uv.sources]\n"my priv" = { index = "x" }\n', "'my priv' is not a package name"),
    ],
)
def test_bad_uv_settings_are_one_line_errors(
    work: Path, public: IndexServer, capsys: pytest.CaptureFixture[str], tool: str, message: str
) -> None:
    _project(work, public, tool.replace("{url}", public.simple_url))
    for command in (["lock"], ["config"]):
        run = tripin(capsys, *command)
        assert run.code == 2, (command, run.err)
        assert run.err.count("\n") == 1 and message in run.err and "\x1b" not in run.err, run.err
    assert not (work / "pylock.toml").exists()


def test_a_uv_index_named_as_tripin_names_its_own_is_renamed(
    work: Path, public: IndexServer, internal: IndexServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """uv's docs name a PyTorch index `pytorch-cu126`; tripin names its variant indexes so."""
    _project(
        work,
        public,
        _uv_index(internal.simple_url, name="pytorch-cu126") + '[tool.uv.sources]\nsix = { index = "pytorch-cu126" }\n',
    )
    assert tripin(capsys, "lock").code == 0
    assert _locked(work)["six"] == ("99.0", internal.simple_url)
    assert "index uv:pytorch-cu126" in tripin(capsys, "config").out


def test_check_sees_an_edit_of_the_uv_index_settings(
    work: Path, public: IndexServer, internal: IndexServer, capsys: pytest.CaptureFixture[str]
) -> None:
    _project(work, public, _uv_index(internal.simple_url) + '[tool.uv.sources]\nmypriv = { index = "internal" }\n')
    assert tripin(capsys, "lock").code == 0
    assert tripin(capsys, "check").code == 0
    text = (work / "pyproject.toml").read_text()
    (work / "pyproject.toml").write_text(text.replace('mypriv = { index = "internal" }\n', ""))
    run = tripin(capsys, "check")
    assert run.code == 1 and "TP005" in run.out, run.out

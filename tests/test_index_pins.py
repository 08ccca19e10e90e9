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
        work,
        f'index-url = "{public.simple_url}"\nextra-index-urls = ["{internal.simple_url}"]\n',
        '"mypriv", "privonly"',
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


EVIL_INDEX = "https://evil.example.com/simple"
EVIL_URL = "https://evil.example.com/files/mypriv-0.5-py3-none-any.whl"


@pytest.fixture
def pinned_lock(work: Path, public: IndexServer, internal: IndexServer, capsys: pytest.CaptureFixture[str]) -> Path:
    """A project that pins mypriv to its internal index, locked: mypriv 0.5 from there."""
    _project(work, f'index-url = "{public.simple_url}"\n' + _named(internal.simple_url, '["mypriv"]'))
    run = tripin(capsys, "lock")
    assert run.code == 0, run.err
    assert tripin(capsys, "check").code == 0
    return work / "pylock.toml"


def _edit(lock: Path, index: str | None, url: str | None = None) -> None:
    text = lock.read_text()
    old = re.search(r'^index = "([^"]*)"\n', text, re.M)
    assert old is not None
    text = text.replace(old[0], "" if index is None else f'index = "{index}"\n')
    if url is not None:
        text = re.sub(r'url = "[^"]*mypriv-0.5-py3-none-any.whl"', f'url = "{url}"', text)
        text = re.sub(r'sha256 = "[0-9a-f]{64}"', f'sha256 = "{"ab" * 32}"', text)
    lock.write_text(text)


def _install(capsys: pytest.CaptureFixture[str], lock: Path) -> tuple[int, str, str]:
    from helpers import python_for

    run = tripin(capsys, "install", "--dry-run", "--target", X86, "--python", str(python_for(lock.parent, X86)))
    return run.code, run.out, run.err


def test_check_and_install_refuse_a_lock_that_moves_a_package_to_another_index(
    pinned_lock: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The hostile edit: mypriv's index and wheel now name evil.example.com, with another hash."""
    code, out, _ = _install(capsys, pinned_lock)
    assert code == 0 and "mypriv-0.5" in out  # the lock as written installs
    _edit(pinned_lock, EVIL_INDEX, EVIL_URL)
    run = tripin(capsys, "check")
    assert run.code == 1
    lines = run.out.splitlines()
    assert len(lines) == 1 and "TP016" in lines[0] and "mypriv is pinned to index 'internal'" in lines[0], run.out
    assert EVIL_INDEX in lines[0]
    code, out, err = _install(capsys, pinned_lock)
    assert code == 2 and "evil.example.com" not in out
    assert err.startswith("tripin: error: refusing to install: mypriv is pinned to index 'internal'"), err
    assert len([line for line in err.splitlines() if not line.startswith("hint:")]) == 1


def test_build_plan_refuses_a_lock_that_moves_a_package_to_another_index(
    pinned_lock: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The build script prints an install line with the lock's indexes: from a hostile edit,
    `pip install --index-url https://evil.example.com/simple ...` for whoever runs it."""
    assert tripin(capsys, "build-plan", "--target", X86, "-o", "b.sh").code == 0
    _edit(pinned_lock, EVIL_INDEX)
    run = tripin(capsys, "build-plan", "--target", X86, "-o", "b2.sh")
    assert run.code == 2 and "refusing to write a build plan: mypriv is pinned to index 'internal'" in run.err
    assert not (pinned_lock.parent / "b2.sh").exists()


@pytest.mark.parametrize(
    ("index", "problem"),
    [
        (None, "names no index"),
        ("{public}", "is pinned to index 'internal'"),  # configured, but not where mypriv is pinned
        ("https://evil.example.com/simple\x1b[2J", "is pinned to index 'internal'"),
    ],
)
def test_a_pinned_name_must_keep_its_index(
    pinned_lock: Path, public: IndexServer, capsys: pytest.CaptureFixture[str], index: str | None, problem: str
) -> None:
    _edit(pinned_lock, None if index is None else index.format(public=public.simple_url).replace("\x1b", "\\u001b"))
    run = tripin(capsys, "check")
    assert run.code == 1 and "TP016" in run.out and problem in run.out, run.out
    assert "\x1b" not in run.out and run.out.count("\n") == 1
    assert _install(capsys, pinned_lock)[0] == 2


def test_the_same_index_spelled_otherwise_passes(
    pinned_lock: Path, internal: IndexServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """Compared as URLs: scheme and host case, a trailing slash and credentials do not matter."""
    spelled = internal.simple_url.replace("http://127.0.0.1", "HTTP://user:secret@127.0.0.1") + "/"
    _edit(pinned_lock, spelled)
    run = tripin(capsys, "check")
    assert run.code == 0, run.out
    assert _install(capsys, pinned_lock)[0] == 0


def test_an_unpinned_name_may_come_from_any_configured_index(
    work: Path, public: IndexServer, internal: IndexServer, capsys: pytest.CaptureFixture[str]
) -> None:
    _project(work, f'index-url = "{public.simple_url}"\n' + _named(internal.simple_url))
    assert tripin(capsys, "lock").code == 0
    lock = work / "pylock.toml"
    _edit(lock, public.simple_url)  # another configured index: not what check can tell offline
    assert tripin(capsys, "check").code == 0
    _edit(lock, EVIL_INDEX)
    run = tripin(capsys, "check")
    assert run.code == 1 and "TP016 mypriv: index 'https://evil.example.com/simple' is not one the project" in run.out
    # an index in the checking shell's environment is not one the project configures: the hook
    # would pass on the machine that sets it and fail in CI (or for the reviewer)
    for variable in ("UV_EXTRA_INDEX_URL", "PIP_EXTRA_INDEX_URL", "TRIPIN_EXTRA_INDEX_URL"):
        with pytest.MonkeyPatch.context() as env:
            env.setenv(variable, EVIL_INDEX)
            assert "TP016 mypriv: index 'https://evil.example.com/simple'" in tripin(capsys, "check").out, variable


@pytest.mark.parametrize("variable", ["PIP_INDEX_URL", "UV_INDEX_URL", "UV_DEFAULT_INDEX", "TRIPIN_INDEX_URL"])
def test_the_projects_index_in_the_checker_s_environment_keeps_tp016(
    work: Path,
    public: IndexServer,
    other: IndexServer,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    variable: str,
) -> None:
    """A hostile pull request's lock takes mypriv from another index than pyproject.toml's
    index-url. With that same index-url set in the shell (PIP_INDEX_URL on a CI runner), the
    environment became the setting's source, nothing counted as configured, TP016 judged
    nothing, and install would have installed the other index's file."""
    _project(work, f'index-url = "{public.simple_url}"\n')
    assert tripin(capsys, "lock", "--index-url", other.simple_url).code == 0
    message = f"TP016 mypriv: index '{other.simple_url}' is not one the project configures"
    assert message in tripin(capsys, "check").out
    monkeypatch.setenv(variable, public.simple_url)
    run = tripin(capsys, "check")
    assert run.code == 1 and message in run.out, run.out
    code, out, err = _install(capsys, work / "pylock.toml")
    assert code == 2 and "refusing to install" in err and other.simple_url not in out, (out, err)
    plan = tripin(capsys, "build-plan", "-t", X86, "-o", "-")  # its install line would name the other index
    assert plan.code == 2 and "refusing to write a build plan" in plan.err and other.simple_url not in plan.out


def test_another_tools_lock_is_judged_where_it_names_an_index(
    work: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # the project names its index (not the environment: see the test below)
    (work / "pyproject.toml").write_text('[tool.tripin]\nindex-url = "https://pypi.org/simple"\n')
    sha = "ab" * 32
    wheel = f'wheels = [{{url = "https://files.example.org/a-1.0-py3-none-any.whl", hashes = {{sha256 = "{sha}"}}}}]'
    lock = work / "pylock.toml"
    body = f'lock-version = "1.0"\ncreated-by = "other"\n\n[[packages]]\nname = "a"\nversion = "1.0"\n{wheel}\n'
    lock.write_text(body)
    assert tripin(capsys, "check", "pylock.toml").code == 0  # no index named: nothing to judge
    lock.write_text(body.replace('version = "1.0"\n', f'version = "1.0"\nindex = "{EVIL_INDEX}"\n'))
    run = tripin(capsys, "check", "pylock.toml")
    assert run.code == 1 and "TP016 a: index" in run.out, run.out
    lock.write_text(body.replace('version = "1.0"\n', 'version = "1.0"\nindex = "https://PyPI.org/simple/"\n'))
    assert tripin(capsys, "check", "pylock.toml").code == 0


def test_a_project_that_configures_no_index_has_its_pins_judged_only(
    work: Path, pytorch: IndexServer, index: IndexServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """Its lock was made with `tripin lock --index-url ...` (the local index here), which no
    file records: check and install cannot tell that index from another, and take it."""
    args = ["--index-url", index.simple_url, "--pytorch-index-url", pytorch.url, "--target", f"{X86}-cu126"]
    run = tripin(capsys, "lock", "torch==2.6.0", *args)
    assert run.code == 0, run.err
    assert tripin(capsys, "check").code == 0
    _project(work, f'index-url = "{index.simple_url}"\n')  # now it configures one, not the PyTorch index
    run = tripin(capsys, "check")
    assert run.code == 1 and f"TP016 torch: index '{pytorch.url}/cu126' is not one the project configures" in run.out
    _project(work, f'index-url = "{index.simple_url}"\npytorch-index-url = "{pytorch.url}/"\n')
    assert tripin(capsys, "check").code == 0, tripin(capsys, "check").out  # its /<variant> roots are


def test_a_pin_of_a_variant_targets_triton_is_refused(
    work: Path,
    index: IndexServer,
    pytorch: IndexServer,
    make_index: Callable[..., IndexServer],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A cu126 target reads torch and Triton from the PyTorch index's /cu126 root: a pin of
    triton to another index cannot hold there, and is said so, before any request."""
    vetted = _index(make_index, tmp_path / "wv", ("triton", "3.2.0"))
    _project(
        work,
        f'index-url = "{index.simple_url}"\npytorch-index-url = "{pytorch.url}"\n'
        + _named(vetted.simple_url, '["triton"]', name="vetted"),
        '"torch==2.6.0"',
    )
    run = tripin(capsys, "lock", "--target", f"{X86}-cu126")
    assert run.code == 2, run.err
    assert run.err.startswith("tripin: error: triton is pinned to index 'vetted'") and run.err.count("\n") == 1
    assert f"{X86}-cu126" in run.err
    assert not vetted.requests and not pytorch.requests
    assert not (work / "pylock.toml").exists()


@pytest.mark.parametrize("variable", ["PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "UV_INDEX_URL"])
def test_an_index_in_the_checker_s_environment_does_not_fail_a_committed_lock(
    work: Path, index: IndexServer, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    """CI runners and corporate shells set PIP_INDEX_URL to a PyPI proxy: a lock made against
    the project's indexes must not fail check or install for whoever has it set."""
    assert tripin(capsys, "lock", "filelock", "-t", X86, "--index-url", index.simple_url).code == 0
    monkeypatch.setenv(variable, "https://artifactory.example.com/api/pypi/pypi/simple")
    run = tripin(capsys, "check", "--strict")
    assert run.code == 0, run.out + run.err

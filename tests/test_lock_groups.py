"""pyproject groups stay selectable in the lock: what only an optional-dependencies group needs is
marked `'NAME' in extras`, what only a PEP 735 group needs `'NAME' in dependency_groups` (PEP 751),
so a plain install leaves them out. Judged by packaging.pylock, real uv and real pip."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from helpers import python_for, read_toml, tripin
from indexserver import IndexServer, build_wheel
from packaging.pylock import Pylock
from test_e2e_tools import _env, uv_dry_install

from tripin.targets import parse_target

X86 = "linux-x86_64-cp312"


def _clean_project_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A project directory as cwd, with no index or tripin setting from the environment."""
    monkeypatch.chdir(tmp_path)
    for key in list(os.environ):
        if key.startswith(("PIP_", "UV_", "TRIPIN_")):
            monkeypatch.delenv(key)


@pytest.fixture
def locked(
    index: IndexServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Path:
    _clean_project_dir(tmp_path, monkeypatch)
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "app"\nversion = "0"\ndependencies = ["torch==2.6.0"]\n'
        '[project.optional-dependencies]\nvision = ["torchvision==0.21.0"]\n'
        '[dependency-groups]\ndev = ["numpy"]\n'
        f'[tool.tripin]\ntargets = ["{X86}"]\ngroups = ["vision", "dev"]\nindex-url = "{index.simple_url}"\n'
    )
    run = tripin(capsys, "lock", "--cache-dir", "c")
    assert run.code == 0, run.err
    return tmp_path


def test_group_markers_and_lock_level_lists(locked: Path) -> None:
    data = read_toml(locked / "pylock.toml")
    assert data["extras"] == ["vision"] and data["dependency-groups"] == ["dev"]
    marker = {p["name"]: p.get("marker") for p in data["packages"]}
    assert marker["torch"] is None and marker["triton"] is None
    assert marker["torchvision"] == "'vision' in extras" and marker["pillow"] == "'vision' in extras"
    assert marker["numpy"] == "'dev' in dependency_groups or 'vision' in extras"


@pytest.mark.parametrize(
    ("extras", "groups", "has", "lacks"),
    [
        ((), (), {"torch", "triton"}, {"torchvision", "pillow", "numpy"}),
        (("vision",), (), {"torch", "torchvision", "pillow", "numpy"}, set()),
        ((), ("dev",), {"torch", "numpy"}, {"torchvision", "pillow"}),
    ],
)
def test_packaging_pylock_selects_by_group(
    locked: Path, extras: tuple[str, ...], groups: tuple[str, ...], has: set[str], lacks: set[str]
) -> None:
    lock = Pylock.from_dict(read_toml(locked / "pylock.toml"))
    target = parse_target(X86)
    names = {
        p.name
        for p, _ in lock.select(
            environment=target.environment(), tags=target.tags, extras=set(extras), dependency_groups=set(groups)
        )
    }
    assert has <= names and not (lacks & names), names


def test_uv_installs_a_group_only_when_asked(locked: Path) -> None:
    plain = uv_dry_install(locked)
    assert " + torch==2.6.0" in plain and "torchvision" not in plain and "numpy" not in plain
    vision = uv_dry_install(locked, "--extra", "vision")
    assert " + torchvision==0.21.0" in vision and " + numpy==" in vision
    dev = uv_dry_install(locked, "--group", "dev")
    assert " + numpy==" in dev and "torchvision" not in dev


def test_check_judges_every_group(locked: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = tripin(capsys, "check", "pylock.toml", "constraints.txt")
    assert run.code == 0, run.out + run.err
    assert "torchvision==0.21.0" in (locked / "constraints.txt").read_text()


def test_a_lock_without_groups_has_no_group_lists(
    index: IndexServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    run = tripin(capsys, "lock", "torch==2.6.0", "-t", X86, "-i", index.simple_url, "--cache-dir", "c")
    assert run.code == 0
    data = read_toml(tmp_path / "pylock.toml")
    assert "extras" not in data and "dependency-groups" not in data


@pytest.mark.skipif(
    sys.platform != "linux" or os.uname().machine != "x86_64", reason="pip installs for this machine: an x86_64 Linux"
)
def test_pip_installs_a_group_only_when_asked(
    make_index: Callable[..., IndexServer],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """pip >= 25.1 reads pylock.toml: `-r pylock.toml[EXTRA]` and `--group pylock.toml:GROUP`.
    pip fetches the locked wheels even for a dry run, so small real wheels are served here."""
    monkeypatch.chdir(tmp_path)
    server = make_index()
    for name in ("base-pkg", "extra-pkg", "group-pkg"):
        server.publish(build_wheel(tmp_path / "wheels", name, "1.0"))
    host = f"linux-x86_64-cp3{sys.version_info.minor}"  # pip installs for the interpreter it runs in
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "app"\nversion = "0"\ndependencies = ["base-pkg"]\n'
        '[project.optional-dependencies]\nx = ["extra-pkg"]\n[dependency-groups]\ng = ["group-pkg"]\n'
        f'[tool.tripin]\ntargets = ["{host}"]\ngroups = ["x", "g"]\nindex-url = "{server.simple_url}"\n'
    )
    assert tripin(capsys, "lock", "--cache-dir", "c").code == 0
    env = {**_env(tmp_path), "PIP_CONFIG_FILE": os.devnull}

    def pip(*args: str) -> str:
        result = subprocess.run(
            [sys.executable, "-m", "pip", "install", "--isolated", "--dry-run", "--target", "t", *args],
            capture_output=True,
            text=True,
            env=env,
            cwd=tmp_path,
        )
        assert result.returncode == 0, result.stderr
        return result.stdout.rpartition("Would install")[2]

    assert pip("-r", "pylock.toml").split() == ["base-pkg-1.0"]
    assert pip("-r", "pylock.toml[x]").split() == ["base-pkg-1.0", "extra-pkg-1.0"]
    assert pip("--group", "pylock.toml:g").split() == ["base-pkg-1.0", "group-pkg-1.0"]


def test_self_references_and_names_as_pip_and_uv_read_them(
    index: IndexServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`all = ["app[vision]"]` is the project's own extra, not a package `app` from the index
    (which has none: the lock failed); `Dev_Tools` is written `dev-tools` (PEP 685/735/751:
    packaging.pylock and pip refuse a lock with the other spelling) and found as `dev-tools`."""
    _clean_project_dir(tmp_path, monkeypatch)
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "App"\nversion = "0"\ndependencies = ["torch==2.6.0"]\n'
        '[project.optional-dependencies]\nVision = ["torchvision==0.21.0"]\nall = ["app[vision]"]\n'
        '[dependency-groups]\nDev_Tools = ["numpy", {include-group = "Lint"}]\nlint = ["App[Vision]"]\n'
        f'[tool.tripin]\ntargets = ["{X86}"]\ngroups = ["all"]\nindex-url = "{index.simple_url}"\n'
    )
    run = tripin(capsys, "lock", "--cache-dir", "c", "--group", "dev-tools")
    assert run.code == 0, run.err
    data = read_toml(tmp_path / "pylock.toml")
    Pylock.from_dict(data)  # packaging's PEP 751 validation: normalized names only
    assert data["extras"] == ["all"] and data["dependency-groups"] == ["dev-tools"]
    marker = {p["name"]: p.get("marker") for p in data["packages"]}
    assert "app" not in marker
    assert marker["torchvision"] == "'all' in extras or 'dev-tools' in dependency_groups"
    (tmp_path / "pyproject.toml").write_text(
        (tmp_path / "pyproject.toml")
        .read_text()
        .replace('lint = ["App[Vision]"]', 'lint = [{include-group = "dev-tools"}]')
    )
    cycle = tripin(capsys, "lock", "--cache-dir", "c", "--group", "dev-tools")
    assert cycle.code == 2 and "includes itself" in cycle.err and len(cycle.err.splitlines()) == 1


@pytest.mark.parametrize(
    ("options", "has", "lacks"),
    [
        ((), {"torch", "triton"}, {"torchvision", "pillow", "numpy"}),
        (("--extra", "vision"), {"torch", "torchvision", "pillow", "numpy"}, set()),
        (("--group", "dev"), {"torch", "numpy"}, {"torchvision", "pillow"}),
    ],
)
def test_install_leaves_groups_out_unless_asked(
    locked: Path, capsys: pytest.CaptureFixture[str], options: tuple[str, ...], has: set[str], lacks: set[str]
) -> None:
    """`tripin install` selects as `uv pip install -r pylock.toml --extra/--group` does."""
    python = str(python_for(locked, X86))  # install plans only for the interpreter's own target
    run = tripin(capsys, "install", "--dry-run", "--target", X86, "--python", python, *options)
    assert run.code == 0, run.err
    names = {line.split()[0] for line in run.out.splitlines() if line.startswith("  ")}
    assert has <= names and not lacks & names


def test_install_names_an_unknown_group(locked: Path, capsys: pytest.CaptureFixture[str]) -> None:
    python = str(python_for(locked, X86))
    run = tripin(capsys, "install", "--dry-run", "--target", X86, "--python", python, "--group", "docs")
    assert run.code == 2 and "--group docs: the lock has no such group (it has: dev)" in run.err


def test_extras_that_require_each_other_lock_as_pip_and_uv_read_them(
    index: IndexServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """x = ["app[y]", ...] with y = ["app[x]"] is legal in [project.optional-dependencies]
    (uv pip compile --extra x resolves it), unlike a PEP 735 include-group cycle."""
    _clean_project_dir(tmp_path, monkeypatch)
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "app"\nversion = "0"\ndependencies = ["filelock"]\n'
        '[project.optional-dependencies]\nx = ["app[y]", "numpy"]\ny = ["app[x]", "torch==2.6.0"]\n'
        'dev = ["app[x]"]\n[dependency-groups]\ndev = ["app[dev]"]\n'
        f'[tool.tripin]\ntargets = ["{X86}"]\nindex-url = "{index.simple_url}"\n'
    )
    for group in ("x", "y"):
        run = tripin(capsys, "lock", "--cache-dir", "c", "--group", group)
        assert run.code == 0, run.err
        marker = {p["name"]: p.get("marker") for p in read_toml(tmp_path / "pylock.toml")["packages"]}
        assert marker["numpy"] == marker["torch"] == f"'{group}' in extras" and marker["filelock"] is None
    # an extra and a dependency group of one name: --group cannot tell which is meant
    run = tripin(capsys, "lock", "--cache-dir", "c", "--group", "dev")
    assert run.code == 2 and "'dev' names both project.optional-dependencies.dev and dependency-groups.dev" in run.err
    # x and y bring each other's requirements: each is listed once
    run = tripin(capsys, "lock", "--cache-dir", "c", "--group", "x", "--group", "y", "--print-config")
    listed = next(line for line in run.out.splitlines() if line.startswith("requirements"))
    assert listed.count("numpy") == 1 and listed.count("torch==2.6.0") == 1, listed

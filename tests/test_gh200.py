"""A GH200 user from lock to install: CUDA torch for aarch64 from PyTorch's index (a stand-in on
127.0.0.1), whose index has no aarch64 Triton 3.2.0 wheel, so the lock takes a source build.

The build runs for real: the generated script clones a local git repository standing in for
Triton (reached through the project's overlay, the one way a file:// repository is allowed), whose
python/setup.py builds a tiny wheel with the version rule of the real release/3.2.x one
("3.2.0" + $TRITON_WHEEL_VERSION_SUFFIX). Then the install command build-plan printed is
resolved by real uv for aarch64 (dry run): torch's CUDA build and the built Triton, by exact version.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from helpers import python_for, read_toml, tripin
from indexserver import IndexServer, build_wheel

PY = f"cp{sys.version_info[0]}{sys.version_info[1]}"
TARGET = f"linux-aarch64-{PY}-cu126"
UV = shutil.which("uv")

# The version rule of Triton's python/setup.py on release/3.2.x, as a PEP 517 in-tree backend so
# that building needs nothing but the standard library (no network, no setuptools).
SETUP_PY = '''\
"""Stand-in for triton/python/setup.py: version = "3.2.0" + TRITON_WHEEL_VERSION_SUFFIX."""
import base64, hashlib, os, zipfile


def _version():
    return "3.2.0" + os.environ.get("TRITON_WHEEL_VERSION_SUFFIX", "")


def get_requires_for_build_wheel(config_settings=None):
    return []


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    version = _version()
    info = f"triton-{version}.dist-info"
    files = {
        "triton/__init__.py": f"__version__ = {version.split('+')[0]!r}\\n",
        # what torch 2.6 imports from Triton, as release/3.2.x has it
        "triton/backends/__init__.py": "",
        "triton/backends/compiler.py": "class AttrsDescriptor:\\n    pass\\n",
        "triton/compiler/__init__.py": "",
        "triton/compiler/compiler.py": "from ..backends.compiler import AttrsDescriptor\\n",
        f"{info}/METADATA": f"Metadata-Version: 2.1\\nName: triton\\nVersion: {version}\\n",
        f"{info}/WHEEL": "Wheel-Version: 1.0\\nGenerator: stand-in\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n",
    }
    record = []
    for path, text in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=").decode()
        record.append(f"{path},sha256={digest},{len(text.encode())}")
    files[f"{info}/RECORD"] = "\\n".join(record + [f"{info}/RECORD,,"]) + "\\n"
    name = f"triton-{version}-py3-none-any.whl"
    with zipfile.ZipFile(os.path.join(wheel_directory, name), "w") as zf:
        for path, text in files.items():
            zf.writestr(path, text)
    return name
'''
PYPROJECT = '[build-system]\nrequires = []\nbuild-backend = "setup"\nbackend-path = ["."]\n'

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs git")


def _git(repo: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.org"}
    env |= {"GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.org", "GIT_CONFIG_GLOBAL": os.devnull}
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True, env=env).stdout


def _triton_repo(path: Path) -> str:
    (path / "python").mkdir(parents=True)
    (path / "python" / "setup.py").write_text(SETUP_PY)
    (path / "python" / "pyproject.toml").write_text(PYPROJECT)
    _git(path, "init", "-q", "-b", "release/3.2.x")
    _git(path, "add", "-A")
    _git(path, "commit", "-q", "-m", "stand-in for release/3.2.x")
    return _git(path, "rev-parse", "HEAD").strip()


def _overlay(repo: Path, commit: str) -> str:
    return f'''schema = 1

[[build]]
id = "gh200-fork-triton-3.2.0"
package = "triton"
version = "3.2.0"
repository = "{repo.as_uri()}"
commit = "{commit}"
status = "candidate"
source = "https://github.com/triton-lang/triton/tree/release/3.2.x"

[[recipe]]
id = "gh200-fork-triton-3.2"
package = "triton"
versions = ">=3.2,<3.3"
subdirectory = "python"
build-requires = ["pip"]
env = {{ TRITON_WHEEL_VERSION_SUFFIX = "+git{{short}}" }}
local-version = "+git{{short}}"
source = "https://github.com/triton-lang/triton/blob/9641643da6c52000c807b5eeed05edaec4402a67/python/setup.py"
'''


@pytest.fixture
def gh200(
    index: IndexServer, make_index: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[Path, str, IndexServer]:
    """(project dir, commit, PyTorch index): a project locking torch 2.6.0 for the GH200 target."""
    pytorch: IndexServer = make_index()  # type: ignore[operator]
    aarch64 = f"{PY}-{PY}-manylinux_2_28_aarch64"
    torch = build_wheel(tmp_path / "w", "torch", "2.6.0+cu126", aarch64, requires_dist=["filelock"])
    pytorch.add_variant_wheel("cu126", torch)
    x86 = "cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64"  # the index's only Triton: x86_64
    pytorch.add_variant_wheel("cu126", build_wheel(tmp_path / "w", "triton", "3.2.0", x86))
    commit = _triton_repo(tmp_path / "triton")
    project = tmp_path / "project"
    project.mkdir()
    (project / "fork.toml").write_text(_overlay(tmp_path / "triton", commit))
    (project / "pyproject.toml").write_text(
        '[project]\nname = "app"\nversion = "0"\ndependencies = ["torch==2.6.0"]\n\n[tool.tripin]\n'
        f'targets = ["{TARGET}"]\nindex-url = "{index.simple_url}"\npytorch-index-url = "{pytorch.url}"\n'
        'rules = ["fork.toml"]\n'
    )
    monkeypatch.chdir(project)
    monkeypatch.setenv("TRIPIN_CACHE_DIR", str(tmp_path / "cache"))
    return project, commit, pytorch


def test_lock_build_install(
    gh200: tuple[Path, str, IndexServer], index: IndexServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project, commit, pytorch = gh200
    short = commit[:8]
    locked = tripin(capsys, "lock")
    assert locked.code == 0, locked.err
    assert f"{TARGET}: torch 2.6.0+cu126 (wheel), triton 3.2.0+git{short} (source build; ok: " in locked.out
    triton = next(p for p in read_toml(project / "pylock.toml")["packages"] if p["name"] == "triton")
    assert triton["vcs"]["url"] == (tmp_path / "triton").as_uri() and triton["vcs"]["commit-id"] == commit

    plan = tripin(capsys, "build-plan", "--target", TARGET)
    assert plan.code == 0, plan.err
    then = next(line for line in plan.out.splitlines() if line.startswith("then: "))
    build, install = then.removeprefix("then: ").split(" && ", 1)
    assert build == f"sh build-{TARGET}.sh wheelhouse"

    fake = tmp_path / "bin"  # this machine is x86_64; the script checks it runs on the target's
    fake.mkdir()
    (fake / "uname").write_text("#!/bin/sh\necho aarch64\n")
    (fake / "uname").chmod(0o755)
    env = {
        "PATH": f"{fake}:{Path(sys.executable).parent}:/usr/bin:/bin",
        "PYTHON": sys.executable,  # its pip is there already: `pip install pip` needs no network
        "PIP_NO_INDEX": "1",
        "PIP_CONFIG_FILE": os.devnull,
        "GIT_CONFIG_GLOBAL": os.devnull,
        "HOME": str(tmp_path),
    }
    built = subprocess.run(shlex.split(build), capture_output=True, text=True, env=env)
    assert built.returncode == 0, built.stdout + built.stderr
    wheels = sorted(p.name for p in (project / "wheelhouse").iterdir())
    assert wheels == [f"triton-3.2.0+git{short}-py3-none-any.whl"]
    assert f"triton==3.2.0+git{short}" in built.stdout  # the script prints the same install line

    argv = shlex.split(install)
    assert argv[:2] == ["pip", "install"] and f"triton==3.2.0+git{short}" in argv  # a requirement, not a constraint
    assert "-c" in argv and (project / argv[argv.index("-c") + 1]).is_file()
    if UV is None:
        pytest.skip("uv is not installed")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    uv_env = {
        **os.environ,
        "UV_PYTHON_DOWNLOADS": "never",
        "UV_NO_CONFIG": "1",
        "UV_CACHE_DIR": str(tmp_path / "uv-cache"),
    }
    uv = [UV, "pip", "install", "--dry-run", "--python", str(venv / "bin" / "python")]
    dry = subprocess.run(
        [*uv, "--python-platform", "aarch64-manylinux_2_28", *argv[2:]],
        capture_output=True,
        text=True,
        cwd=project,
        env=uv_env,
    )
    assert dry.returncode == 0, dry.stderr
    assert f" + triton==3.2.0+git{short}" in dry.stderr and " + torch==2.6.0+cu126" in dry.stderr
    assert " + filelock==" in dry.stderr
    print(locked.out, plan.out, dry.stderr, sep="\n")  # shown with -s: what the README walks through
    hosts = {r.path.split("/")[1] for r in pytorch.requests}
    assert hosts <= {"cu126", "files"}  # uv read only the local indexes

    # tripin install: the same packages at their exact versions, the built Triton from the wheelhouse
    aarch64 = str(python_for(tmp_path, TARGET))  # this machine is x86_64: an interpreter that says aarch64
    plan_run = tripin(capsys, "install", "--target", TARGET, "--python", aarch64, "--dry-run")
    assert plan_run.code == 0, plan_run.err
    assert f"triton source build 3.2.0+git{short} from wheelhouse" in plan_run.out
    command = shlex.split(plan_run.out.splitlines()[-1].removeprefix("would run: "))
    built = [a for a in command if Path(a).name.startswith(f"triton-3.2.0+git{short}-") and a.endswith(".whl")]
    assert len(built) == 1 and Path(built[0]).is_absolute() and Path(built[0]).parent.name == "wheelhouse"
    torch = next(a for a in command if a.startswith("torch @ "))  # the locked file, its hash checked
    entry = next(p for p in read_toml(project / "pylock.toml")["packages"] if p["name"] == "torch")
    wheel = next(w for w in entry["wheels"] if w["url"] == torch.split(" @ ")[1].split("#")[0])
    assert torch.endswith(f"#sha256={wheel['hashes']['sha256']}") and f"+cu126-{PY}-{PY}-" in wheel["name"]
    assert "--find-links" not in command and "--index-url" not in command and "--extra-index-url" not in command


def _fake_aarch64(tmp_path: Path) -> dict[str, str]:
    fake = tmp_path / "bin"
    fake.mkdir(exist_ok=True)
    (fake / "uname").write_text("#!/bin/sh\necho aarch64\n")
    (fake / "uname").chmod(0o755)
    return {
        "PATH": f"{fake}:{Path(sys.executable).parent}:/usr/bin:/bin",
        "PYTHON": sys.executable,
        "PIP_NO_INDEX": "1",
        "PIP_CONFIG_FILE": os.devnull,
        "GIT_CONFIG_GLOBAL": os.devnull,
        "HOME": str(tmp_path),
    }


def test_the_fix_check_and_doctor_give_builds_and_installs(
    gh200: tuple[Path, str, IndexServer], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The remedy for a wrong source build: the file's fix (check --fix, with check's own
    --target) pins the build, then build-plan --torch (no lock), the script, then the printed
    install line, run with real pip in the environment that has torch: doctor passes."""
    from test_doctor import _torch, _triton, _venv

    project, commit, _ = gh200
    short = commit[:8]
    (project / "c.txt").write_text("torch==2.6.0.dev20241230+cu126\ntriton==3.2.0+git23753f4f\n")
    import json

    checked = json.loads(tripin(capsys, "check", "c.txt", "--target", TARGET, "--format", "json").out)
    argv = next(v["fix"]["argv"] for v in checked["violations"] if v["code"] == "TP002")
    assert argv == ["tripin", "check", "--fix", "--target", TARGET, "c.txt"]
    assert tripin(capsys, *argv[1:]).code == 0  # run as printed: the file now pins the build
    assert f"triton==3.2.0+git{short}\n" in (project / "c.txt").read_text()
    assert tripin(capsys, "check", "c.txt", "--target", TARGET).code == 0
    plan = tripin(capsys, "build-plan", "--torch", "2.6.0", "--target", TARGET)
    assert plan.code == 0, plan.err
    build, install = (
        next(x for x in plan.out.splitlines() if x.startswith("then: ")).removeprefix("then: ").split(" && ")
    )
    assert install == f"pip install --no-deps --find-links wheelhouse triton==3.2.0+git{short}"
    built = subprocess.run(shlex.split(build), capture_output=True, text=True, env=_fake_aarch64(tmp_path))
    assert built.returncode == 0, built.stdout + built.stderr
    python = _venv(
        tmp_path / "env", _torch(tmp_path / "t"), _triton(tmp_path / "bad", "3.2.0+git23753f4f", attrs=False)
    )
    assert tripin(capsys, "doctor", "--python", str(python)).code == 1
    pip = [sys.executable, "-m", "pip", "--python", str(python)]  # the venv has no pip of its own
    subprocess.run([*pip, *shlex.split(install)[1:]], check=True, env=_fake_aarch64(tmp_path), cwd=project)
    healed = tripin(capsys, "doctor", "--python", str(python), "--probe")
    assert healed.code == 0, healed.out
    assert f"triton: 3.2.0+git{short}, built from {short} (+git label)" in healed.out


def test_a_file_repository_needs_the_overlay(
    gh200: tuple[Path, str, IndexServer], capsys: pytest.CaptureFixture[str]
) -> None:
    """The lock names a file:// repository; without the overlay that named it, build-plan refuses
    (the rules without it give another build, and the URL's form alone would be refused too)."""
    project, _, _ = gh200
    assert tripin(capsys, "lock").code == 0
    text = (project / "pyproject.toml").read_text()
    (project / "pyproject.toml").write_text(text.replace('rules = ["fork.toml"]\n', ""))
    refused = tripin(capsys, "build-plan", "--target", TARGET)
    assert refused.code == 2 and "is not the one the rules give torch 2.6.0+cu126" in refused.err
    assert tripin(capsys, "build-plan", "--target", TARGET, "--overlay", "fork.toml").code == 0


def test_a_file_repository_outside_an_overlay_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "triton.toml").write_text(_overlay(tmp_path / "triton", "a" * 40))
    run = tripin(capsys, "rules", "verify", "--rules", str(rules))
    assert run.code == 2 and "'repository' is not an https URL" in run.err


def test_aarch64_torch_naming_triton_on_an_index_without_its_wheel_takes_the_source_build(
    index: IndexServer,
    make_index: Callable[..., IndexServer],
    work: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A mirror (or a later variant index) whose aarch64 CUDA torch names `triton==3.2.0`, with
    no Triton wheel for aarch64 there: the rules' source build (3.2.0+git9641643d) satisfies
    that requirement, as it does where torch names none (PyTorch's cu126 index)."""
    server = make_index()
    arm = "cp312-cp312-manylinux_2_28_aarch64"
    requires = ["filelock", 'triton==3.2.0; platform_system == "Linux"']
    server.add_variant_wheel("cu129", build_wheel(tmp_path / "w", "torch", "2.6.0+cu129", arm, requires_dist=requires))
    x86 = "cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64"
    server.add_variant_wheel("cu129", build_wheel(tmp_path / "w", "triton", "3.2.0", x86))
    target = "linux-aarch64-cp312-cu129"
    run = tripin(
        capsys, "lock", "torch==2.6.0", "-i", index.simple_url, "--pytorch-index-url", server.url, "-t", target
    )
    assert run.code == 0, run.err
    (triton,) = [p for p in read_toml(work / "pylock.toml")["packages"] if p["name"] == "triton"]
    assert triton["vcs"]["commit-id"] == "9641643da6c52000c807b5eeed05edaec4402a67"

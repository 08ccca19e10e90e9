"""Parser fuzzing through the command line: hostile variants of a real pylock.toml, constraints
file, pyproject.toml ([project] dependencies, extras, dependency groups) and rules overlay,
fed to `tripin check`. Whatever the input, tripin answers (exit 0 or 1, one line per finding)
or refuses it with one line on stderr and exit 2: never a traceback, never a hang, never
unbounded memory.

Every case runs in-process; a sample also runs as a real subprocess, with a 10 s limit and its
peak RSS measured. Cases come from a seeded generator, so a failure names a reproducible case.
TRIPIN_FUZZ_CASES and TRIPIN_FUZZ_SEED run more (`TRIPIN_FUZZ_CASES=20000 pytest
tests/test_fuzz_cli.py`).
"""

from __future__ import annotations

import contextlib
import io
import os
import random
import shutil
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from clirun import run_tripin

from tripin.cli import main

SEEDS = Path(__file__).parent / "fuzz"
CASES = int(os.environ.get("TRIPIN_FUZZ_CASES", "240"))
SEED = int(os.environ.get("TRIPIN_FUZZ_SEED", "10"))
SUBPROCESS_EVERY = 12  # every 12th case also runs as a real process: 20 of the default 240
KINDS = ("pylock", "constraints", "pyproject", "overlay")

# Values that broke tripin or tools like it: line and terminal controls, format braces, shell
# metacharacters, deep nesting, huge numbers and lines, markers only locks may use, includes of
# special files and of the file itself, wrong TOML types.
HOSTILE = [
    "\n",
    "\r",
    "\r\n",
    "\x00",
    "\x0b",
    "\x1b[2J",
    "\u2028",
    "\u0085",
    "\ufeff",
    "{",
    "}",
    "{}",
    "{short}",
    "{0}",
    "%s",
    "$(touch pwned)",
    "`id`",
    "'",
    '"',
    '\\"',
    "\\",
    "#",
    "[",
    "]",
    "[[",
    "=",
    "==",
    "===",
    "@",
    ";",
    " ; 'x' in dependency_groups",
    " ; extra == 'cu126'",
    " ; python_version > '3' and",
    " ; os_name == 'posix' or 'a' in 'b'",
    "+git{}",
    "+",
    "..",
    "/",
    "-",
    "--",
    "--hash=",
    "--hash=sha256:" + "0" * 64,
    "-r self.txt",
    "-r fifo",
    "-r /dev/zero",
    "-c /dev/urandom",
    "-r missing.txt",
    "-r .",
    "-e .",
    "git+https://x.invalid/y@" + "a" * 40,
    "torch==2.6.0",
    "triton==3.2.0+git23753f4f",
    "pytorch-triton==3.2.0+git" + "1" * 8,
    "é",
    "\U0001f600",
    " " * 5000,
    "9" * 5000,
    "1" * 100,
    "x" * 70_000,
    "[" * 2000,
    "[[packages]]",
    "[tool.tripin]",
    "[[pin]]",
    "[project]",
    "[dependency-groups]",
    "{ include-group = 'dev' }",
    'name = ""',
    "lock-version = 2",
    'lock-version = "2.0"',
    "version = 1",
    "packages = 3",
    "schema = 2",
    "1979-05-27T07:32:00Z",
    "inf",
    "nan",
    "true",
]
WRONG_VALUES = ['""', "0", "-1", "1e400", "true", "[]", "{}", "[1, [2]]", '{ a = "b" }', "1979-05-27", '"\\u0000"']


@dataclass(frozen=True)
class Case:
    number: int
    kind: str
    steps: tuple[str, ...]  # what was done to the seed, for the failure message

    def __str__(self) -> str:
        return f"case {self.number} (seed {SEED}) {self.kind}: {'; '.join(self.steps)}"


def _insert(rng: random.Random, text: str) -> tuple[str, str]:
    token = rng.choice(HOSTILE)
    at = rng.randrange(len(text) + 1)
    return text[:at] + token + text[at:], f"insert {token[:20]!r} at {at}"


def _replace_value(rng: random.Random, text: str) -> tuple[str, str]:
    lines = text.split("\n")
    spots = [i for i, line in enumerate(lines) if " = " in line]
    if not spots:
        return _insert(rng, text)
    i = rng.choice(spots)
    value = rng.choice([*WRONG_VALUES, repr(rng.choice(HOSTILE))])
    lines[i] = lines[i].split(" = ", 1)[0] + " = " + value
    return "\n".join(lines), f"line {i + 1} value -> {value[:20]!r}"


def _delete(rng: random.Random, text: str) -> tuple[str, str]:
    at = rng.randrange(len(text) + 1)
    size = rng.choice([1, 2, 10, 100, 1000])
    return text[:at] + text[at + size :], f"delete {size} at {at}"


def _repeat_line(rng: random.Random, text: str) -> tuple[str, str]:
    lines = text.split("\n")
    i = rng.randrange(len(lines))
    times = min(rng.choice([2, 100, 5000]), 40_000_000 // (len(lines[i]) + 1) + 2)  # up to 40 MB
    return "\n".join(lines[:i] + [lines[i]] * times + lines[i:]), f"line {i + 1} x{times}"


def _truncate(rng: random.Random, text: str) -> tuple[str, str]:
    at = rng.randrange(len(text) + 1)
    return text[:at], f"truncate at {at}"


def _nest(rng: random.Random, text: str) -> tuple[str, str]:
    depth = rng.choice([50, 400, 1200])
    return text + "\nx = " + "[" * depth + "]" * depth + "\n", f"nest {depth}"


MUTATORS: list[Callable[[random.Random, str], tuple[str, str]]] = [
    _insert,
    _insert,
    _insert,
    _replace_value,
    _replace_value,
    _delete,
    _repeat_line,
    _truncate,
    _nest,
]

FILES = {"pylock": "pylock.toml", "constraints": "constraints.txt", "pyproject": "pyproject.toml"}
FILES["overlay"] = "overlay.toml"


def _cases() -> Iterator[tuple[Case, str]]:
    rng = random.Random(SEED)
    seeds = {kind: (SEEDS / FILES[kind]).read_text() for kind in KINDS}
    for number in range(CASES):
        kind = KINDS[number % len(KINDS)]
        text, steps = seeds[kind], []
        for _ in range(rng.choice([1, 1, 2, 3])):
            text, step = rng.choice(MUTATORS)(rng, text)
            steps.append(step)
        yield Case(number, kind, tuple(steps)), text


def _write(root: Path, case: Case, text: str) -> list[str]:
    """The case's files in `root` and the `check` arguments that read the mutated one."""
    for seed in SEEDS.iterdir():
        shutil.copy(seed, root / seed.name)
    raw = text.encode("utf-8", "surrogatepass")
    if case.number % 17 == 5:  # now and then bytes that are not UTF-8
        raw = raw[: len(raw) // 2] + b"\xff\xfe" + raw[len(raw) // 2 :]
    (root / FILES[case.kind]).write_bytes(raw)
    (root / "self.txt").write_text("-r self.txt\ntorch==2.6.0\n")
    os.mkfifo(root / "fifo")
    if case.kind == "pyproject":
        return ["check"]  # reads [project], the groups, [tool.tripin] and the files it names
    if case.kind == "overlay":
        return ["check", "constraints.txt", "--overlay", "overlay.toml"]
    return ["check", FILES[case.kind]]


def _judge(case: Case, code: int | None, out: str, err: str) -> None:
    assert code in (0, 1, 2), f"{case}: exit {code}\n{err[-3000:]}"
    assert "Traceback" not in err, f"{case}:\n{err[-3000:]}"
    lines = err.splitlines()
    if code == 2:
        assert lines and lines[0].startswith("tripin: error: "), f"{case}: {err[:500]!r}"
        assert len(lines) == 1 or (len(lines) == 2 and lines[1].startswith("hint: ")), f"{case}: {err[:2000]!r}"
        assert len(err) < 5000, f"{case}: a {len(err)}-character error"
    else:
        assert all(line.startswith("warning: ") for line in lines), f"{case}: {err[:2000]!r}"
        files = (*FILES.values(), "self.txt")
        assert all(line.startswith(files) for line in out.splitlines()), f"{case}: {out[:2000]!r}"


def _in_process(args: list[str], root: Path) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.chdir(root), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(args)
    return code, out.getvalue(), err.getvalue()


def test_fuzzed_inputs_fail_cleanly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRIPIN_CACHE_DIR", str(tmp_path / "cache"))
    tally = {"cases": 0, "ok": 0, "violations": 0, "refused": 0, "subprocess": 0}
    worst = {"seconds": 0.0, "peak_mb": 0.0}
    for case, text in _cases():
        root = tmp_path / str(case.number)
        root.mkdir()
        args = _write(root, case, text)
        try:
            code, out, err = _in_process(args, root)
        except BaseException as exc:  # the finding is which case raised what
            raise AssertionError(f"{case}: {exc.__class__.__name__}: {str(exc)[:500]}") from exc
        _judge(case, code, out, err)
        tally["cases"] += 1
        tally[{0: "ok", 1: "violations", 2: "refused"}[code]] += 1
        if case.number % SUBPROCESS_EVERY == 0:
            run = run_tripin(args, root, timeout=10)
            assert run.code is not None, f"{case}: no answer within 10 s"
            assert run.peak_mb < 500, f"{case}: {run.peak_mb:.0f} MB"
            assert run.code == code, f"{case}: exit {run.code} in a process, {code} in-process"
            _judge(case, run.code, run.out, run.err)
            tally["subprocess"] += 1
            worst["seconds"] = max(worst["seconds"], run.seconds)
            worst["peak_mb"] = max(worst["peak_mb"], run.peak_mb)
        shutil.rmtree(root)
    print(f"fuzz: {tally}; slowest process {worst['seconds']:.2f}s, largest {worst['peak_mb']:.0f} MB")
    assert tally["refused"] and tally["ok"] + tally["violations"], tally  # the mutations reach both outcomes


def test_fuzzed_locks_fail_cleanly_in_build_plan_and_explain(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The lock variants again, through the commands that turn a lock into a shell script
    (build-plan) and into words (explain): a script is written only whole and valid for sh, and
    a refusal is one line."""
    monkeypatch.setenv("TRIPIN_CACHE_DIR", str(tmp_path / "cache"))
    tally = {"scripts": 0, "refused": 0, "explained": 0}
    for case, text in _cases():
        if case.kind != "pylock":
            continue
        root = tmp_path / str(case.number)
        root.mkdir()
        _write(root, case, text)
        for args in (["build-plan", "--target", "linux-aarch64-cp312", "-o", "b.sh"], ["explain", "triton"]):
            try:
                code, _, err = _in_process(args, root)
            except BaseException as exc:  # the finding is which case raised what
                raise AssertionError(f"{case} {args[0]}: {exc.__class__.__name__}: {str(exc)[:500]}") from exc
            assert code in (0, 2) and "Traceback" not in err, f"{case} {args[0]}: exit {code}\n{err[-3000:]}"
            if code == 2:
                lines = err.splitlines()
                assert lines[0].startswith("tripin: error: ") and len(lines) <= 2, f"{case} {args[0]}: {err[:2000]!r}"
                assert args[0] != "build-plan" or not (root / "b.sh").exists(), f"{case}: a script after a refusal"
                tally["refused"] += 1
            elif args[0] == "build-plan":
                syntax = subprocess.run(["sh", "-n", str(root / "b.sh")], capture_output=True, text=True)
                assert syntax.returncode == 0, f"{case}: {syntax.stderr}"
                tally["scripts"] += 1
            else:
                tally["explained"] += 1
        shutil.rmtree(root)
    print(f"fuzz, build-plan and explain: {tally}")
    assert tally["scripts"] and tally["refused"], tally  # the seed lock builds, and the mutations reach refusals

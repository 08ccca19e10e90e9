"""Keeping the previous lock's pins: `tripin lock` re-locks, `-U` and `-P` move versions, on the
recorded index served on 127.0.0.1."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from helpers import lock_args, read_toml, recorded_file, tripin
from indexserver import IndexServer

from tripin.memo import default_rules_dir
from tripin.resolver.preferences import parse_upgrade_packages

X86, ARM = "linux-x86_64-cp312", "linux-aarch64-cp312"
REQS = ["torch==2.6.0", "torchvision", "numpy", "filelock"]
# on the recorded index, newer releases than on 2025-09-10 exist for exactly these
MOVED_SINCE = {"numpy": ("2.3.3", "2.3.4"), "filelock": ("3.19.1", "3.20.0"), "fsspec": ("2025.9.0", "2025.10.0")}
MOVED_SINCE |= {"markupsafe": ("3.0.2", "3.0.3"), "pillow": ("11.3.0", "12.0.0")}


@pytest.fixture
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _pins(path: Path) -> dict[tuple[str, str], str]:
    """(target, name) -> version, source builds by the version they produce."""
    out: dict[tuple[str, str], str] = {}
    for p in read_toml(path)["packages"]:
        tool = p["tool"]["tripin"]
        version = p.get("version") or tool["build"]["version"]
        for target in tool["targets"]:
            out[(target, p["name"])] = version
    return out


def _pins_only(constraints: bytes) -> list[bytes]:
    return [line for line in constraints.splitlines() if not line.startswith(b"#")]


def _changed(old: dict[tuple[str, str], str], new: dict[tuple[str, str], str]) -> dict[str, tuple[str, str]]:
    return {
        name: (old.get((t, name), "-"), new.get((t, name), "-"))
        for t, name in set(old) | set(new)
        if old.get((t, name)) != new.get((t, name))
    }


def _lock(
    capsys: pytest.CaptureFixture[str], index: IndexServer, work: Path, *extra: str, reqs: list[str] = REQS
) -> None:
    run = tripin(capsys, *lock_args(index.simple_url, work / "cache", X86, ARM, extra=[*extra, *reqs]))
    assert run.code == 0, run.err


def test_relock_keeps_pins_and_p_moves_one_and_u_moves_all(
    index: IndexServer, work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lock = work / "pylock.toml"
    _lock(capsys, index, work, "--exclude-newer", "2025-09-10")
    dated = _pins(lock)
    assert {dated[(X86, n)] for n in MOVED_SINCE} == {old for old, _ in MOVED_SINCE.values()}

    _lock(capsys, index, work)  # the cutoff is gone, newer releases are there: every pin stays
    assert _pins(lock) == dated

    _lock(capsys, index, work, "-P", "numpy")  # numpy moves, and nothing else
    assert _changed(dated, _pins(lock)) == {"numpy": MOVED_SINCE["numpy"]}

    _lock(capsys, index, work, "--upgrade")  # everything may move
    upgraded = _pins(lock)
    assert _changed(dated, upgraded) == MOVED_SINCE

    _lock(capsys, index, work, "--upgrade-package", "pillow==11.3.0", "-P", "fsspec<2025.10")  # a version to go to
    assert _changed(upgraded, _pins(lock)) == {
        "pillow": ("12.0.0", "11.3.0"),
        "fsspec": ("2025.10.0", "2025.9.0"),
    }


def test_a_new_target_takes_the_versions_the_lock_agrees_on(
    index: IndexServer, work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = lock_args(index.simple_url, work / "cache", X86, extra=["--exclude-newer", "2025-09-10", *REQS])
    assert tripin(capsys, *args).code == 0
    dated = _pins(work / "pylock.toml")
    _lock(capsys, index, work)  # ARM is new, and the cutoff is gone
    both = _pins(work / "pylock.toml")
    assert {k: v for k, v in both.items() if k[0] == X86} == dated
    assert {n: both[(ARM, n)] for n in MOVED_SINCE} == {n: old for n, (old, _) in MOVED_SINCE.items()}


def test_a_previous_lock_gives_versions_only(
    index: IndexServer, work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A lock edited in a pull request: its URLs and hashes are ignored (the index's are written),
    versions the index lacks or the cutoff excludes are ignored, and the other pins are kept."""
    lock = work / "pylock.toml"
    _lock(capsys, index, work, "--exclude-newer", "2025-09-10")
    dated = _pins(lock)
    text = lock.read_text()
    real = recorded_file("filelock", "filelock-3.19.1-py3-none-any.whl")
    assert real["hashes"]["sha256"] in text
    text = text.replace(real["hashes"]["sha256"], "0" * 64).replace("filelock-3.19.1-py3-none-any.whl", "evil.whl")
    text = text.replace('name = "numpy"\nversion = "2.3.3"', 'name = "numpy"\nversion = "9.9.9"')
    text = text.replace('name = "pillow"\nversion = "11.3.0"', 'name = "pillow"\nversion = "12.0.0"')
    lock.write_text(text)

    _lock(capsys, index, work, "--exclude-newer", "2025-09-10")
    text = lock.read_text()
    assert "evil.whl" not in text and "0" * 64 not in text and real["hashes"]["sha256"] in text
    assert _pins(lock) == dated  # 9.9.9 does not exist, 12.0.0 is newer than the cutoff: both as before


def test_p_torch_moves_the_family_through_the_rules(
    index: IndexServer, work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lock = work / "pylock.toml"
    reqs = ["torch>=2.5,<2.7"]
    _lock(capsys, index, work, reqs=["torch==2.5.1"])
    old = _pins(lock)
    assert old[(X86, "torch")] == "2.5.1" and old[(X86, "triton")] == "3.1.0"
    _lock(capsys, index, work, reqs=reqs)  # the inputs changed, the pins still satisfy them: kept
    assert _pins(lock) == old
    _lock(capsys, index, work, "-P", "triton", reqs=reqs)  # the rules for torch 2.5.1 still decide it
    assert _pins(lock) == old
    _lock(capsys, index, work, "-P", "torch", reqs=reqs)
    new = _pins(lock)
    assert new[(X86, "torch")] == "2.6.0" and new[(X86, "triton")] == "3.2.0"
    assert (ARM, "triton") not in new  # PyPI's aarch64 torch is a CPU build: no Triton there
    # a Triton the locked torch's rule does not allow: the rule is named, and the way out
    run = tripin(capsys, *lock_args(index.simple_url, work / "cache", X86, ARM, extra=[*reqs, "-P", "triton==3.3.0"]))
    assert run.code == 1 and "--upgrade-package triton==3.3.0" in run.err
    assert "rule torch-2.6.0/metadata gives the locked torch 2.6.0 triton==3.2.0 on linux-x86_64-cp312" in run.err
    assert "move torch instead (-P torch==VERSION)" in run.err and _pins(lock) == new


@pytest.mark.parametrize("value", ["numpy[extra]", "numpy ; sys_platform == 'linux'", "numpy @ https://x/y.whl", "=="])
def test_bad_upgrade_package_is_one_line(
    value: str, index: IndexServer, work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = tripin(capsys, *lock_args(index.simple_url, work / "cache", X86, extra=["-P", value, "numpy"]))
    assert run.code == 2 and run.err.startswith("tripin: error: --upgrade-package") and len(run.err.splitlines()) == 1
    assert not (work / "pylock.toml").exists()


def test_upgrade_package_version_that_cannot_hold_says_so(
    index: IndexServer, work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = tripin(capsys, *lock_args(index.simple_url, work / "cache", X86, extra=["-P", "numpy==1.0", "numpy"]))
    assert run.code == 1 and "--upgrade-package numpy==1.0" in run.err
    assert "(numpy==1.0: no release on the index)" in run.err  # not only who requires numpy


def test_upgrade_package_to_a_release_the_index_has_names_no_absence(
    index: IndexServer, work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = tripin(capsys, *lock_args(index.simple_url, work / "cache", X86, extra=["-P", "numpy==2.3.4", "numpy<2"]))
    assert run.code == 1 and "--upgrade-package numpy==2.3.4" in run.err
    assert "no release on the index" not in run.err


def test_upgrade_package_nobody_needs_is_a_warning(
    index: IndexServer, work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = tripin(capsys, *lock_args(index.simple_url, work / "cache", X86, extra=["-P", "Not_There", "numpy"]))
    assert run.code == 0 and "warning: --upgrade-package not-there: no target needs not-there" in run.err


def test_parse_upgrade_packages_joins_repeats() -> None:
    assert {n: str(s) for n, s in parse_upgrade_packages(["NumPy", "numpy<3", "torch==2.6.0"]).items()} == {
        "numpy": "<3",
        "torch": "==2.6.0",
    }


def test_nothing_changed_nothing_resolved(
    index: IndexServer, work: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A re-lock of this machine's own lock with the same inputs makes no request and reports the
    same; any edit of an output file, or -U, resolves again (and writes the index's data back)."""
    args = [*lock_args(index.simple_url, work / "cache", X86, ARM, extra=["torch==2.6.0", "numpy"])]
    first = tripin(capsys, *args, "--format", "json")
    assert first.code == 0
    lock, constraints = work / "pylock.toml", work / "constraints.txt"
    written = lock.read_bytes(), constraints.read_bytes()
    mtimes = lock.stat().st_mtime_ns, constraints.stat().st_mtime_ns
    index.reset()
    again = tripin(capsys, *args, "--format", "json")
    assert again.code == 0 and index.requests == []
    assert json.loads(again.out)["targets"] == json.loads(first.out)["targets"]
    text = tripin(capsys, *args)
    assert "nothing to resolve" in text.out and f"{X86}: torch 2.6.0 (wheel), triton 3.2.0 (wheel)" in text.out
    assert index.requests == [] and (lock.read_bytes(), constraints.read_bytes()) == written
    assert (lock.stat().st_mtime_ns, constraints.stat().st_mtime_ns) == mtimes  # nothing was written

    rules = work / "rules"
    shutil.copytree(default_rules_dir(), rules)
    rules_arg = ["--rules", str(rules)]
    cases = {
        "lock edited": (lambda: lock.write_bytes(written[0] + b"\n"), []),  # not the bytes this machine wrote
        "constraints gone": (constraints.unlink, []),
        "rules given": (lambda: None, rules_arg),  # another input
        "-U": (lambda: None, ["-U"]),
        "--refresh": (lambda: None, ["--refresh"]),
        "environment": (lambda: monkeypatch.setenv("TRIPIN_HTTP_TIMEOUT", "31"), []),
        "rules file": (lambda: (rules / "extra.toml").write_text("# a new file is a new ruleset\n"), rules_arg),
    }
    for label, (edit, extra) in cases.items():
        edit()
        index.reset()
        run = tripin(capsys, *args, *extra)
        assert run.code == 0 and "nothing to resolve" not in run.out, label
        assert "nothing to resolve" in tripin(capsys, *args, *extra).out or extra in (["-U"], ["--refresh"]), label
        assert index.requests, label  # resolved again: the pages were (re)validated
        # a new rules file changes the ruleset digest the lock records, and nothing else
        assert lock.read_bytes() == written[0] or label == "rules file", label
        # the header names the command line, which differs here (-U, --format json)
        assert _pins_only(constraints.read_bytes()) == _pins_only(written[1]), label


def test_a_lock_another_tool_wrote_keeps_its_versions(
    index: IndexServer, work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A pylock.toml from `uv pip compile -o pylock.toml` has no [tool.tripin]: its versions are
    still preferred (one per name, on every target), as pip-tools and uv keep a previous output's."""
    (work / "pylock.toml").write_text(
        'lock-version = "1.0"\ncreated-by = "uv"\n\n[[packages]]\nname = "filelock"\nversion = "3.19.1"\n'
        'index = "https://pypi.org/simple"\n'
    )
    assert tripin(capsys, *lock_args(index.simple_url, work / "c", X86, extra=["filelock"])).code == 0
    versions = {p["name"]: p["version"] for p in read_toml(work / "pylock.toml")["packages"]}
    assert versions == {"filelock": "3.19.1"}  # 3.20.0 is newer
    assert tripin(capsys, *lock_args(index.simple_url, work / "c", X86, extra=["filelock", "-U"])).code == 0
    assert {p["name"]: p["version"] for p in read_toml(work / "pylock.toml")["packages"]} == {"filelock": "3.20.0"}

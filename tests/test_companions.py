"""torchvision/torchaudio with torch: the release built for the locked torch, even where the
companion's metadata no longer names torch (torchaudio 2.11.0 names none: pip and uv take it
with any torch, and it is built against torch 2.11).

The index is tests/index-companions: real PyPI pages and metadata for torch 2.6.0 and 2.11.0 and
torchaudio 2.6.0, 2.11.0 and 2.11.1 (py3-none wheels, `torch>=2.11`), recorded by
scripts/record_index.py.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from helpers import lock_args, read_toml, tripin
from indexserver import IndexServer

ROOT = Path(__file__).resolve().parent / "index-companions"
X86 = "linux-x86_64-cp312"


@pytest.fixture
def companions(make_index: Callable[..., IndexServer]) -> Iterator[IndexServer]:
    yield make_index(ROOT)


def _versions(work: Path) -> dict[str, str]:
    return {p["name"]: p["version"] for p in read_toml(work / "pylock.toml")["packages"] if "version" in p}


def test_the_recorded_torchaudio_2_11_names_no_torch() -> None:
    """What the test relies on, read from the recorded metadata."""
    meta = (ROOT / "files" / "torchaudio-2.11.0-cp312-cp312-manylinux_2_28_x86_64.whl.metadata").read_text()
    assert "Version: 2.11.0" in meta and "Requires-Dist: torch" not in meta
    meta = (ROOT / "files" / "torchaudio-2.6.0-cp312-cp312-manylinux1_x86_64.whl.metadata").read_text()
    assert "Requires-Dist: torch==2.6.0" in meta


@pytest.mark.parametrize(("torch", "torchaudio"), [("2.6.0", "2.6.0"), ("2.11.0", "2.11.1")])
def test_torchaudio_follows_the_locked_torch(
    companions: IndexServer, work: Path, capsys: pytest.CaptureFixture[str], torch: str, torchaudio: str
) -> None:
    run = tripin(capsys, *lock_args(companions.simple_url, work / "c", X86, extra=[f"torch=={torch}", "torchaudio"]))
    assert run.code == 0, run.err
    assert (_versions(work)["torch"], _versions(work)["torchaudio"]) == (torch, torchaudio)
    assert tripin(capsys, "check", "--strict").code == 0


def test_asking_for_both_names_the_conflict(
    companions: IndexServer, work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    extra = ["torch==2.6.0", "torchaudio==2.11.0"]
    run = tripin(capsys, *lock_args(companions.simple_url, work / "c", X86, extra=extra))
    assert run.code == 1 and "no version of torch satisfies torch==2.6.0" in run.err
    assert "!=2.6.0" in run.err and "from torchaudio 2.11.0" in run.err
    assert not (work / "pylock.toml").exists()


def test_check_warns_of_a_release_the_rules_do_not_pair(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (work / "r.txt").write_text("torch==2.6.0\ntorchaudio==2.11.0\n")
    run = tripin(capsys, "check", "r.txt")
    assert run.code == 0 and "TP004 torchaudio 2.11.0 has no companion rule" in run.err
    assert "the rules pair torch 2.6.0 with torchaudio 2.6.0" in run.err
    assert tripin(capsys, "check", "r.txt", "--strict").code == 1
    (work / "r.txt").write_text("torch==2.11.0\ntorchaudio==2.11.0\n")  # no == rule pairs torch 2.11: nothing to say
    run = tripin(capsys, "check", "r.txt", "--strict")
    assert (run.code, run.out, run.err) == (0, "", "")


def test_sync_reads_every_torch_specifier_and_py3_wheels(
    companions: IndexServer, work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Companion rules from the metadata: `==` and `>=` alike, from a py3-none wheel where a
    release has no cpXY one; a release whose metadata names no torch gets no rule."""
    rules = work / "rules"
    rules.mkdir()
    run = tripin(capsys, "rules", "sync", "--rules", str(rules), "--index-url", companions.simple_url)
    assert run.code == 0, run.err
    synced = (rules / "companions.toml").read_text()
    assert 'id = "torchaudio-2.6.0"' in synced and 'torch = "==2.6.0"' in synced
    assert 'id = "torchaudio-2.11.1"' in synced and 'torch = ">=2.11"' in synced
    assert "torchaudio-2.11.1-py3-none-manylinux_2_28_x86_64.whl.metadata" in synced
    assert "torchaudio-2.11.0" not in synced
    assert "no rule: torchaudio-2.11.0: its metadata names no torch" in run.err  # said, for the rules' keepers

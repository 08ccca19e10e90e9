"""`tripin cache dir|clean|prune` on a cache a real lock filled, with what other tripins left
beside it: an index cache of an older form (`v1`), a kind of entry this one does not keep inside
a folder it reads, a form it does not know (`v99`), and interrupted writes."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from helpers import lock_args, tripin
from indexserver import IndexServer

from tripin.memo import INDEX_CACHE_FORMAT, cache_folders

X86 = "linux-x86_64-cp312"


@pytest.fixture
def filled(
    index: IndexServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Path:
    """A cache after one lock (its pages, metadata and lock memo), plus what older tripins left."""
    monkeypatch.chdir(tmp_path)
    cache = tmp_path / "cache"
    run = tripin(capsys, *lock_args(index.simple_url, cache, X86, extra=["filelock", "-q"]))
    assert run.code == 0, run.err
    current = cache / f"v{INDEX_CACHE_FORMAT}"
    for folder, kinds in cache_folders().items():  # a lock writes every kind but check's memo
        assert all(list((cache / folder / kind).iterdir()) for kind in kinds - {"check"}), (folder, kinds)
    for stale in ("v1/projects/ab/entry", f"v{INDEX_CACHE_FORMAT}/pages/entry", "v99/check/entry"):
        (cache / stale).parent.mkdir(parents=True, exist_ok=True)
        (cache / stale).write_bytes(b"x" * 1000)
    for name, age in ((".tmp-old", 7200), (".tmp-writing", 0)):  # an interrupted write; one in progress
        (current / "metadata" / name).write_bytes(b"partial")
        when = time.time() - age
        os.utime(current / "metadata" / name, (when, when))
    (cache / "notes.txt").write_text("not tripin's")
    return cache


def test_dir_names_the_cache_the_commands_use(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TRIPIN_CACHE_DIR", str(tmp_path / "from-env"))
    assert tripin(capsys, "cache", "dir").out == f"{tmp_path / 'from-env'}\n"
    assert tripin(capsys, "cache", "dir", "--cache-dir", "elsewhere").out == "elsewhere\n"


def test_prune_removes_what_this_tripin_no_longer_reads_and_keeps_the_rest(
    filled: Path, index: IndexServer, capsys: pytest.CaptureFixture[str]
) -> None:
    current = filled / f"v{INDEX_CACHE_FORMAT}"
    run = tripin(capsys, "cache", "prune", "--cache-dir", str(filled))
    assert run.code == 0, run.err
    assert run.out == f"removed 4 files (0.0 MiB) from {filled}\n"
    assert not (filled / "v1").exists() and not (filled / "v99").exists() and not (current / "pages").exists()
    for folder, kinds in cache_folders().items():
        assert {p.name for p in (filled / folder).iterdir()} == kinds - {"check"}
    assert not (current / "metadata" / ".tmp-old").exists()
    assert (current / "metadata" / ".tmp-writing").exists()
    assert (filled / "notes.txt").exists()
    # what is kept still serves: the same lock offline, from the cache alone
    run = tripin(capsys, *lock_args(index.simple_url, filled, X86, extra=["filelock", "-q", "--offline", "-U"]))
    assert run.code == 0, run.err


def test_clean_removes_every_entry_and_nothing_else(
    filled: Path, index: IndexServer, capsys: pytest.CaptureFixture[str]
) -> None:
    run = tripin(capsys, "cache", "clean", "--cache-dir", str(filled))
    assert run.code == 0, run.err
    assert run.out.startswith("removed ") and run.out.endswith(f" from {filled}\n")
    assert sorted(p.name for p in filled.iterdir()) == ["notes.txt"]
    run = tripin(capsys, *lock_args(index.simple_url, filled, X86, extra=["filelock", "-q", "--offline", "-U"]))
    assert run.code != 0 and "offline: no cached project page for 'filelock'" in run.err


def test_a_symlinked_folder_is_removed_not_followed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    elsewhere = tmp_path / "elsewhere"
    (elsewhere / "projects").mkdir(parents=True)
    (elsewhere / "projects" / "keep").write_text("someone else's")
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "v1").symlink_to(elsewhere, target_is_directory=True)
    run = tripin(capsys, "cache", "prune", "--cache-dir", str(cache))
    assert run.code == 0, run.err
    assert not (cache / "v1").exists() and (elsewhere / "projects" / "keep").read_text() == "someone else's"


def test_no_cache_yet_removes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for action in ("clean", "prune"):
        run = tripin(capsys, "cache", action, "--cache-dir", str(tmp_path / "none"))
        assert (run.code, run.out) == (0, f"removed 0 files (0.0 MiB) from {tmp_path / 'none'}\n")

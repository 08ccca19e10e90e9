"""`tripin lock -U` with nothing changed upstream is answered without resolving (tripin/relock.py):
a lock resolved with no version preferred is a function of its inputs and of the index pages it
read, so while every one of those pages is in the cache with the same body and still fresh, a
new resolution could only give the same lock. These run the real `python -m tripin` against a
real index on 127.0.0.1 and count the requests it gets; `-X importtime` tells whether the answer
came before argparse (memo.replay_lock) or after it."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from helpers import read_toml
from indexserver import IndexServer, build_wheel

X86 = "linux-x86_64-cp312"
MEMO = "nothing to resolve: inputs, rules, outputs and the"


def _index(make_index: Callable[..., IndexServer], tmp_path: Path, max_age: int) -> IndexServer:
    server = make_index()
    server.cache_control = f"max-age={max_age}, public"
    _publish(server, tmp_path, "app", "1.0", "lib>=1")
    _publish(server, tmp_path, "lib", "1.0")
    _publish(server, tmp_path, "lib", "2.0")
    return server


def _publish(server: IndexServer, tmp_path: Path, name: str, version: str, *requires: str) -> None:
    server.publish(build_wheel(tmp_path / "wheels", name, version, requires_dist=list(requires)))


def _lock(work: Path, *args: str) -> tuple[str, bool]:
    """(stdout, whether argparse was imported)."""
    argv = [sys.executable, "-X", "importtime", "-m", "tripin", "lock", "app", "-t", X86, "--cache-dir", "c", *args]
    run = subprocess.run(argv, cwd=work, capture_output=True, text=True, env=dict(os.environ), timeout=60)
    assert run.returncode == 0, run.stderr[-2000:]
    imported = {line.rsplit("|", 1)[-1].strip() for line in run.stderr.splitlines() if line.startswith("import time:")}
    return run.stdout, "argparse" in imported


def _lib(work: Path) -> str:
    return next(p["version"] for p in read_toml(work / "pylock.toml")["packages"] if p["name"] == "lib")


def test_u_with_every_page_fresh_and_unchanged_is_answered_without_a_request(
    work: Path, make_index: Callable[..., IndexServer], tmp_path: Path
) -> None:
    server = _index(make_index, tmp_path, max_age=600)
    url = ("-i", server.simple_url)
    out, _ = _lock(work, *url)
    assert MEMO not in out and _lib(work) == "2.0"
    written = {p: (work / p).stat().st_mtime_ns for p in ("pylock.toml", "constraints.txt")}
    server.reset()
    out, parsed = _lock(work, *url, "-U")  # the first lock left this answer: before argparse
    assert f"{MEMO} 2 index pages it was resolved from" in out and not parsed
    again, parsed = _lock(work, "--upgrade", *url, "-v")  # other arguments: answered after argparse
    assert MEMO in again and parsed
    assert MEMO in _lock(work, "--upgrade", *url, "-v")[0]
    assert not _lock(work, "--upgrade", *url, "-v")[1]  # which left the answer to these
    assert server.requests == [] and {p: (work / p).stat().st_mtime_ns for p in written} == written
    # a release made since is not on the pages a -U reads while they are fresh; --refresh reads them again
    _publish(server, tmp_path, "lib", "3.0")
    assert MEMO in _lock(work, *url, "-U")[0] and _lib(work) == "2.0"
    out, _ = _lock(work, *url, "-U", "--refresh")
    assert MEMO not in out and _lib(work) == "3.0"
    server.reset()
    out, _ = _lock(work, *url, "-U")  # the pages --refresh read are the ones -U would
    assert MEMO in out and server.requests == [] and _lib(work) == "3.0"


def test_a_stale_or_changed_page_is_resolved_again(
    work: Path, make_index: Callable[..., IndexServer], tmp_path: Path
) -> None:
    server = _index(make_index, tmp_path, max_age=1)
    url = ("-i", server.simple_url)
    _lock(work, *url)
    _lock(work, *url, "-U")  # leaves an answer to replay while the pages hold
    time.sleep(1.2)
    out, _ = _lock(work, *url, "-U", "--offline")  # offline, a run reads the stale pages: the same lock
    assert f"{MEMO} 2 index pages" in out and "as cached (--offline)" in out
    server.reset()
    out, parsed = _lock(work, *url, "-U")
    assert MEMO not in out and parsed and server.requests  # stale: revalidated (304) and resolved
    _publish(server, tmp_path, "lib", "3.0")
    time.sleep(1.2)
    out, _ = _lock(work, *url, "-U")
    assert MEMO not in out and _lib(work) == "3.0"


def test_a_lock_that_kept_or_moved_pins_is_no_answer_to_u(
    work: Path, make_index: Callable[..., IndexServer], tmp_path: Path
) -> None:
    server = _index(make_index, tmp_path, max_age=600)
    url = ("-i", server.simple_url)
    _lock(work, *url)
    _lock(work, *url, "-P", "lib==1.0")
    out, _ = _lock(work, *url)  # resolved again (-P leaves no re-lock answer), lib 1.0 preferred
    assert MEMO not in out and "nothing to resolve" not in out and _lib(work) == "1.0"
    out, _ = _lock(work, *url, "-U")  # the lock on disk is not the one the pages gave with nothing preferred
    assert MEMO not in out and _lib(work) == "2.0"


def test_a_page_answered_404_leaves_no_answer_for_u(
    work: Path, make_index: Callable[..., IndexServer], tmp_path: Path
) -> None:
    first, second = make_index(), _index(make_index, tmp_path, max_age=600)
    first.cache_control = second.cache_control
    _publish(first, tmp_path, "other", "1.0")
    # an extra index is searched first (as uv does): app and lib are 404 there, which is not cached
    url = ("-i", second.simple_url, "--extra-index-url", first.simple_url)
    _lock(work, *url)
    assert first.requests_for("/simple/app/")
    out, _ = _lock(work, *url, "-U")
    assert MEMO not in out and _lib(work) == "2.0"

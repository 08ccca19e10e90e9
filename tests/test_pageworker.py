"""Pages fetched and parsed by the worker process give what fetching them in-process gives:
the same lock, the same errors and retries, the same log lines; a worker that dies changes
nothing but speed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from helpers import lock_args, tripin
from indexserver import IndexServer, build_wheel, wait_for
from packaging.utils import NormalizedName
from test_index import redirecting_to

import tripin.index.client as client_module
from tripin.index.models import Index, Project
from tripin.index.pageworker import PageWorker
from tripin.index.simple import JSON_TYPE, parse_page

TARGETS = ("linux-x86_64-cp312", "linux-aarch64-cp312", "windows-x86_64-cp312")


@pytest.fixture
def worker_only(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every page goes through the worker: requests wait until it is ready (a real run fetches
    the first pages itself meanwhile), and parsing a page in this process fails the test."""
    fetch = PageWorker.fetch

    def ready_first(self: PageWorker, url: str, headers: dict[str, str], max_bytes: int, **kw: float) -> object:
        assert self._ready.wait(30), "the page worker never became ready"
        return fetch(self, url, headers, max_bytes, **kw)

    def not_here(*args: object) -> object:
        raise AssertionError("a page was parsed in-process")

    monkeypatch.setattr(PageWorker, "fetch", ready_first)
    monkeypatch.setattr(client_module, "parse_page", not_here)
    yield


def _lock(capsys: pytest.CaptureFixture[str], index: IndexServer, work: Path, *extra: str) -> tuple[int, str, bytes]:
    work.mkdir()
    run = tripin(capsys, *lock_args(index.simple_url, work / "cache", *TARGETS, extra=["torch==2.6.0", *extra]))
    lock = work / "pylock.toml"
    return run.code, run.err, lock.read_bytes() if lock.exists() else b""


@pytest.fixture
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_lock_is_the_same_with_and_without_the_worker(
    index: IndexServer, work: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TRIPIN_PAGE_WORKER", "0")
    alone = _lock(capsys, index, work / "alone")
    monkeypatch.delenv("TRIPIN_PAGE_WORKER")
    with pytest.MonkeyPatch.context() as patch:
        fetch = PageWorker.fetch
        used: list[str] = []

        def counted(self: PageWorker, url: str, headers: dict[str, str], max_bytes: int, **kw: float) -> object:
            assert self._ready.wait(30)
            page = fetch(self, url, headers, max_bytes, **kw)
            used.append(url)
            return page

        patch.setattr(PageWorker, "fetch", counted)
        patch.setattr(client_module, "parse_page", lambda *a: pytest.fail("a page was parsed in-process"))
        through = _lock(capsys, index, work / "through")
    assert alone[0] == through[0] == 0, (alone[1], through[1])
    assert alone[2] == through[2]
    assert any(u.endswith("/simple/torch/") for u in used) and len(used) > 10
    assert any(u.endswith(".whl.metadata") for u in used)  # metadata files go through it too


@pytest.mark.parametrize(("kind", "said"), [("garbage", "invalid JSON project page"), ("status", "HTTP 500")])
def test_an_index_error_through_the_worker_reads_as_it_does_in_process(
    kind: str,
    said: str,
    index: IndexServer,
    work: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    index.fault("/simple/torch/", kind, **({"code": 500} if kind == "status" else {}))
    monkeypatch.setenv("TRIPIN_PAGE_WORKER", "0")
    alone = _lock(capsys, index, work / "alone")
    monkeypatch.delenv("TRIPIN_PAGE_WORKER")
    with pytest.MonkeyPatch.context() as patch:
        fetch = PageWorker.fetch
        patch.setattr(PageWorker, "fetch", lambda self, *a, **kw: (self._ready.wait(30), fetch(self, *a, **kw))[1])
        patch.setattr(client_module, "parse_page", lambda *a: pytest.fail("a page was parsed in-process"))
        through = _lock(capsys, index, work / "through")
    assert alone[0] == through[0] == 3 and said in through[1]
    assert alone[1] == through[1]  # the same one-line error, hint included


@pytest.mark.usefixtures("worker_only")
def test_the_worker_retries_and_its_log_lines_are_shown(
    index: IndexServer, work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    index.reset()
    index.fault("/simple/torch/", "status", code=503, times=1)
    code, err, _ = _lock(capsys, index, work / "retry", "-vv")
    assert code == 0, err
    assert [r.status for r in index.requests_for("/simple/torch/")] == [503, 200]
    assert "HTTP 503, retrying" in err and "/simple/torch/ -> 200" in err


def test_a_dead_worker_is_not_used_again(index: IndexServer) -> None:
    worker = PageWorker()
    try:
        worker.start()
        assert worker._ready.wait(30) and worker._proc is not None
        page = worker.fetch(f"{index.simple_url}/filelock/", {"Accept": client_module._ACCEPT}, 1 << 20)
        assert page is not None and page.status == 200 and page.releases
        worker._proc.kill()
        worker._proc.wait()
        assert worker.fetch(f"{index.simple_url}/filelock/", {}, 1 << 20) is None
        assert worker.fetch(f"{index.simple_url}/filelock/", {}, 1 << 20) is None
    finally:
        worker.close()


def test_a_worker_that_takes_too_long_is_left_for_in_process_fetching(index: IndexServer) -> None:
    index.fault("/simple/filelock/", "hang", seconds=5)
    worker = PageWorker()
    try:
        worker.start()
        assert worker._ready.wait(30)
        assert worker.fetch(f"{index.simple_url}/filelock/", {}, 1 << 20, timeout=0.5) is None
        assert worker.fetch(f"{index.simple_url}/torch/", {}, 1 << 20) is None  # not used again
    finally:
        index.clear_faults()
        worker.close()


def test_a_worker_whose_parent_is_gone_exits_at_once(index: IndexServer) -> None:
    """Killed by SIGTERM, the parent never closes its worker: the worker sees its input end, and
    must not wait for a fetch in flight (it lived on for twice the HTTP timeout)."""
    import threading
    import time

    index.fault("/simple/filelock/", "hang", seconds=20)
    worker = PageWorker()
    try:
        worker.start()
        assert worker._ready.wait(30) and worker._proc is not None
        proc = worker._proc
        threading.Thread(target=worker.fetch, args=(f"{index.simple_url}/filelock/", {}, 1 << 20), daemon=True).start()
        assert wait_for(lambda: index.in_flight > 0, timeout=10)
        assert proc.stdin is not None
        proc.stdin.close()  # what the parent's death does
        started = time.monotonic()
        assert proc.wait(timeout=5) == 0
        assert time.monotonic() - started < 2
    finally:
        index.clear_faults()
        worker.close()


def test_a_worker_never_ready_is_waited_for_once(monkeypatch: pytest.MonkeyPatch, index: IndexServer) -> None:
    """A worker started early that never says it is ready (stuck in its start-up) is given up
    after one wait; the requests after it are fetched in-process at once (each used to wait)."""
    import subprocess
    import sys
    import time

    from tripin import workerproc
    from tripin.index import pageworker

    def silent() -> subprocess.Popen[bytes]:
        code = "import sys, time; time.sleep(60)"
        return subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE)

    monkeypatch.setattr(workerproc, "spawn", silent)
    monkeypatch.setattr(pageworker, "_STARTUP", 0.5)
    worker = PageWorker()
    try:
        worker.start(early=True)
        started = time.monotonic()
        assert worker.fetch(f"{index.simple_url}/filelock/", {}, 1 << 20) is None
        assert 0.4 < time.monotonic() - started < 5
        started = time.monotonic()
        assert worker.fetch(f"{index.simple_url}/torch/", {}, 1 << 20) is None
        assert time.monotonic() - started < 0.2
    finally:
        worker.close()


def test_a_module_in_the_working_directory_does_not_run_in_the_worker(index: IndexServer, tmp_path: Path) -> None:
    """`python -c` puts the working directory first on sys.path; the worker runs with -P, so a
    `logging.py` in a checked-out pull request is not imported by it (it was, before -P)."""
    import os
    import subprocess
    import sys

    marker = tmp_path / "ran"
    (tmp_path / "logging.py").write_text(f"open({str(marker)!r}, 'w').close()\n")
    script = Path(sys.executable).with_name("tripin")
    argv = [str(script)] if script.exists() else [sys.executable, "-P", "-m", "tripin"]
    args = lock_args(index.simple_url, tmp_path / "cache", "linux-x86_64-cp312", extra=["filelock", "-q"])
    env = {k: v for k, v in os.environ.items() if k != "TRIPIN_PAGE_WORKER"}
    done = subprocess.run([*argv, *args], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert not marker.exists()


def test_a_cold_lock_leaves_every_request_to_the_worker(index: IndexServer, tmp_path: Path) -> None:
    """With a cold cache the worker starts first and takes every request: the main process,
    busy with the settings, the rules and the resolvers, never loads httpx."""
    import os
    import subprocess
    import sys

    index.advertise_metadata = True  # as PyPI does: else METADATA is read from the wheel by range requests, here
    args = lock_args(index.simple_url, tmp_path / "cache", *TARGETS, extra=["torch==2.6.0", "-q"])
    code = (
        "import sys; from tripin.cli import main; code = main(sys.argv[1:]); "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('httpx', 'httpcore', 'ssl'))); sys.exit(code)"
    )
    env = {k: v for k, v in os.environ.items() if k != "TRIPIN_PAGE_WORKER"}
    done = subprocess.run(
        [sys.executable, "-P", "-c", code, *args], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
    assert (tmp_path / "pylock.toml").exists()


@pytest.mark.parametrize("fault", [None, "ignore_range"])
def test_range_reads_go_through_the_worker_until_this_process_can_make_them(
    make_index: Callable[..., IndexServer],
    work: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    fault: str | None,
) -> None:
    """An index that advertises no metadata files: each METADATA is read out of its wheel with
    range requests. The first is the worker's to make (this process has no HTTP client yet, and
    sets one up meanwhile), and the lock is the one in-process reads give, also where the
    server ignores Range and sends a small wheel whole."""
    server = make_index()
    for name, requires in (("alpha", ["beta>=1"]), ("beta", [])):
        wheel = build_wheel(work / "wheels", name, "1.0", requires_dist=requires)
        server.publish(wheel, metadata=False)
        if fault:
            server.fault(f"/files/{wheel.name}", fault)
    args = lock_args(server.simple_url, Path("cache"), "linux-x86_64-cp312", extra=["alpha"])
    kinds: list[str] = []
    fetch = PageWorker.fetch

    def counted(self: PageWorker, url: str, headers: dict[str, str], max_bytes: int, **kw: str) -> object:
        assert self._ready.wait(30), "the page worker never became ready"
        kinds.append(kw.get("kind", "page"))
        return fetch(self, url, headers, max_bytes, **kw)

    locks = []
    for alone in (True, False):
        folder = work / ("alone" if alone else "through")
        folder.mkdir()
        monkeypatch.chdir(folder)
        with pytest.MonkeyPatch.context() as patch:
            if alone:
                patch.setenv("TRIPIN_PAGE_WORKER", "0")
            else:
                patch.setattr(PageWorker, "fetch", counted)
            run = tripin(capsys, *args)
        assert run.code == 0, run.err
        locks.append((folder / "pylock.toml").read_text())
    assert "range" in kinds, kinds
    assert locks[0] == locks[1]
    assert 'name = "beta"' in locks[1]
    wheel_requests = server.requests_for("/files/alpha-1.0-py3-none-any.whl")
    assert wheel_requests and all(r.range for r in wheel_requests)


@pytest.mark.parametrize(
    "bad", [["-t", "linux-sparc-cp312"], ["-t", "linux-x86_64-cp312", "--index-url", "ftp://example.org/simple"]]
)
def test_a_worker_started_early_is_closed_when_the_lock_is_refused(
    index: IndexServer, work: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], bad: list[str]
) -> None:
    """The worker starts before the settings are read: a refusal after that (a bad target, a
    bad index URL) must not leave it running."""
    started: list[PageWorker] = []
    start = PageWorker.start

    def counted(self: PageWorker, **kw: bool) -> None:
        started.append(self)
        start(self, **kw)

    monkeypatch.setattr(PageWorker, "start", counted)
    run = tripin(capsys, "lock", "filelock", "--cache-dir", str(work / "cache"), "--index-url", index.simple_url, *bad)
    assert run.code == 2 and run.err.startswith("tripin: error: ") and "Traceback" not in run.err, run.err
    assert started and all(w._proc is None for w in started)


def _command(index: IndexServer, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`python -m tripin`, as the `tripin` script runs it (tripin.__main__)."""
    env = {k: v for k, v in os.environ.items() if k not in ("TRIPIN_PAGE_WORKER", "TRIPIN_CACHE_DIR")}
    env["TRIPIN_CACHE_DIR"] = str(cwd / "default-cache")
    return subprocess.run(
        [sys.executable, "-P", "-m", "tripin", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


_BEFORE = "page worker: started before the command line was read"


def test_the_command_starts_the_worker_before_reading_its_command_line(index: IndexServer, tmp_path: Path) -> None:
    base = ["lock", "filelock", "--index-url", index.simple_url, "-t", "linux-x86_64-cp312", "-vv"]
    cold = _command(index, tmp_path, *base, "--cache-dir", str(tmp_path / "c"))
    assert cold.returncode == 0, cold.stderr
    assert f"{_BEFORE}\n" in cold.stderr
    (tmp_path / "pylock.toml").unlink()
    warm = _command(index, tmp_path, *base, "--cache-dir", str(tmp_path / "c"))
    assert warm.returncode == 0 and _BEFORE not in warm.stderr
    (tmp_path / "pylock.toml").unlink()
    offline = _command(index, tmp_path, *base, "--cache-dir", str(tmp_path / "d"), "--offline")
    assert offline.returncode != 0 and _BEFORE not in offline.stderr
    (tmp_path / "pylock.toml").unlink(missing_ok=True)
    uncached = _command(index, tmp_path, *base, "--cache-dir", str(tmp_path / "c"), "--no-cache")
    assert uncached.returncode == 0 and f"{_BEFORE}\n" in uncached.stderr


def test_a_worker_started_for_words_misread_is_closed(index: IndexServer, tmp_path: Path) -> None:
    """`--cache DIR` (an abbreviation argparse takes) is not read by tripin.__main__, which sees
    the cold default cache and starts a worker; run_lock, with DIR warm, closes it."""
    base = ["lock", "filelock", "--index-url", index.simple_url, "-t", "linux-x86_64-cp312", "-vv"]
    assert _command(index, tmp_path, *base, "--cache-dir", str(tmp_path / "c")).returncode == 0
    (tmp_path / "pylock.toml").unlink()
    again = _command(index, tmp_path, *base, "-U", "--cache", str(tmp_path / "c"))
    assert again.returncode == 0, again.stderr
    assert f"{_BEFORE}; not needed" in again.stderr


@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="reads the worker's environment from /proc")
def test_the_worker_runs_with_two_malloc_arenas(index: IndexServer) -> None:
    """With an arena per thread, the worker's 48 threads took its peak RSS over 80 MB on the
    real PyPI (issue 13's bar is 150 MB for both processes)."""
    worker = PageWorker()
    try:
        worker.start()
        assert worker._ready.wait(30) and worker._proc is not None
        environ = Path(f"/proc/{worker._proc.pid}/environ").read_bytes().split(b"\0")
        assert b"MALLOC_ARENA_MAX=2" in environ
    finally:
        worker.close()


@pytest.fixture
def worker() -> Iterator[PageWorker]:
    started = PageWorker()
    try:
        started.start()
        assert started._ready.wait(30), "the page worker never became ready"
        yield started
    finally:
        started.close()


def _files(worker: PageWorker, url: str, project: str) -> list[str]:
    page = worker.fetch(url, {"Accept": client_module._ACCEPT}, 1 << 20, project=project)
    assert page is not None and page.error is None and page.releases is not None
    index = Index(name="local", url=url)
    return [f.url for f in Project(name=NormalizedName(project), index=index, releases=page.releases).files]


def test_the_worker_joins_links_to_the_page_without_its_credentials(worker: PageWorker, index: IndexServer) -> None:
    url = index.simple_url.replace("http://", "http://alice:s3cret@")
    urls = _files(worker, f"{url}/mpmath/", "mpmath")
    assert urls and all(u.startswith(f"{index.url}/files/") for u in urls)


def test_the_worker_joins_links_to_the_page_it_was_redirected_to(
    worker: PageWorker, make_index: Callable[..., IndexServer], tmp_path: Path
) -> None:
    mirror = make_index()
    mirror.publish(build_wheel(tmp_path / "w", "mypkg", "1.0"))
    with redirecting_to(mirror.url) as front:
        assert _files(worker, f"{front.simple_url}/mypkg/", "mypkg") == [
            f"{mirror.url}/files/mypkg-1.0-py3-none-any.whl"
        ]


def test_the_worker_drops_files_of_other_projects(
    worker: PageWorker, make_index: Callable[..., IndexServer], tmp_path: Path
) -> None:
    server = make_index()
    server.publish(build_wheel(tmp_path / "w", "other", "1.0"), project="mypkg")
    server.publish(build_wheel(tmp_path / "w", "mypkg", "2.0"))
    urls = _files(worker, f"{server.simple_url}/mypkg/", "mypkg")
    assert urls == [f"{server.url}/files/mypkg-2.0-py3-none-any.whl"]


@pytest.mark.parametrize("content_type", [JSON_TYPE, "text/html"])
def test_a_page_handed_over_is_parsed_as_its_bytes_and_left_empty(content_type: str) -> None:
    """The worker hands a page to parse_page in a one-item list, so that the bytes go once
    decoded (pydantic-core's 7 MB page: the worker's peak 81 MB to 75 MB, and a cold lock of the
    real project's 148-151 MB to 143-145 MB): the files are those of the bytes themselves."""
    url = "https://example.org/simple/p/"
    if content_type == JSON_TYPE:
        entry = {"filename": "p-1.0-py3-none-any.whl", "url": "p-1.0-py3-none-any.whl", "hashes": {"sha256": "ab"}}
        body = json.dumps({"meta": {"api-version": "1.1"}, "name": "p", "files": [entry]}).encode()
    else:
        body = b'<a href="p-1.0-py3-none-any.whl#sha256=ab">p-1.0-py3-none-any.whl</a>'
    page = [body]
    assert parse_page(page, content_type, url, "p") == parse_page(body, content_type, url, "p")
    assert page == []


def test_ctrl_c_before_the_command_line_is_read_is_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """tripin.__main__ starts the worker and replays memos before tripin.cli, which turns Ctrl-C
    into one line, has loaded: an interrupt there printed a traceback."""
    import tripin.__main__ as entry

    def interrupted(argv: list[str]) -> int:
        raise KeyboardInterrupt

    monkeypatch.setattr(entry, "_main", interrupted)
    assert entry.main() == 130
    assert capsys.readouterr().err == "tripin: interrupted\n"

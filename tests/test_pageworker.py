"""Big pages parsed in the worker process give what parsing in-process gives, and a worker that
fails or dies changes nothing but speed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import lock_args, tripin
from indexserver import IndexServer

import tripin.index.client as client_module
from tripin.index.models import pack_releases
from tripin.index.pageworker import PageWorker
from tripin.index.simple import JSON_TYPE, parse_page

URL = "https://pypi.org/simple/demo/"


def _page(releases: int = 400) -> bytes:
    files = []
    for i in range(releases):
        version = f"1.{i}.0"
        for tag in ("cp312-cp312-manylinux_2_28_x86_64", "cp312-cp312-win_amd64", "py3-none-any"):
            name = f"demo-{version}-{tag}.whl"
            files.append(
                {
                    "filename": name,
                    "url": f"https://files.example.org/ab/{i:04x}/{name}",
                    "hashes": {"sha256": f"{i:064x}"},
                    "requires-python": ">=3.9",
                    "size": 1000 + i,
                    "upload-time": "2025-01-01T00:00:00Z",
                    "core-metadata": {"sha256": f"{i + 1:064x}"} if i % 2 else False,
                    "yanked": "bad build" if i == 7 else False,
                }
            )
        files.append({"filename": f"demo-{version}.tar.gz", "url": f"../../f/demo-{version}.tar.gz", "hashes": {}})
    files += [
        {"filename": "demo-1.0.0.dev1-py3-none-any.whl", "url": "x.whl", "hashes": {}},  # name and URL disagree
        {"filename": "demo-not.a.version-py3-none-any.whl", "url": "y.whl", "hashes": {}},
        {"filename": "demo-2.0-py3-none-bad tag.whl", "url": "z.whl", "hashes": {}},
        {"filename": "demo-2.0.exe", "url": "w.exe", "hashes": {}},
    ]
    return json.dumps({"meta": {"api-version": "1.1"}, "name": "demo", "files": files}).encode()


def test_worker_gives_what_in_process_parsing_gives() -> None:
    body = _page()
    assert len(body) > client_module._WORKER_PAGE  # the size that goes to the worker in a lock
    worker = PageWorker()
    try:
        assert worker.parse(body, JSON_TYPE, URL) == pack_releases(parse_page(body, JSON_TYPE, URL))
        again = _page(50)
        assert worker.parse(again, JSON_TYPE, URL) == pack_releases(parse_page(again, JSON_TYPE, URL))
    finally:
        worker.close()


def test_a_page_the_worker_cannot_parse_is_handed_back_and_the_worker_goes_on() -> None:
    worker = PageWorker()
    try:
        assert worker.parse(b"{not json", JSON_TYPE, URL) is None  # the caller parses, and raises
        assert worker.parse(_page(3), JSON_TYPE, URL) == pack_releases(parse_page(_page(3), JSON_TYPE, URL))
    finally:
        worker.close()


def test_a_dead_worker_is_not_used_again() -> None:
    worker = PageWorker()
    try:
        worker.warm()
        assert worker._proc is not None
        worker._proc.kill()
        worker._proc.wait()
        assert worker.parse(_page(3), JSON_TYPE, URL) is None
        assert worker._proc is None and worker.parse(_page(3), JSON_TYPE, URL) is None
    finally:
        worker.close()


def test_lock_is_the_same_with_and_without_the_worker(
    index: IndexServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Every page of the recorded index goes through the worker in one run (the thresholds set
    to 0, and in-process parsing made to fail), and is parsed in-process in the other (the
    worker switched off): the lock files are byte-equal."""

    def not_here(*args: object) -> object:
        raise AssertionError("parsed in-process")

    targets = ("linux-x86_64-cp312", "linux-aarch64-cp312", "windows-x86_64-cp312")
    outputs = []
    for mode in ("worker", "in-process"):
        work = tmp_path / mode
        work.mkdir()
        monkeypatch.chdir(work)
        if mode == "worker":
            monkeypatch.setattr(client_module, "_WORKER_PAGE", 0)
            monkeypatch.setattr(client_module, "_BIG_PAGE", 0)  # each page waits for the worker
            monkeypatch.setattr(client_module, "pack_releases", not_here)
        else:
            monkeypatch.undo()
            monkeypatch.chdir(work)
            monkeypatch.setenv("TRIPIN_PAGE_WORKER", "0")
        run = tripin(capsys, *lock_args(index.simple_url, work / "cache", *targets, extra=["torch==2.6.0"]))
        assert run.code == 0, run.err
        outputs.append((work / "pylock.toml").read_bytes())
    assert outputs[0] == outputs[1]


def test_worker_parses_html_pages_too() -> None:
    """An index that answers PEP 503 HTML (a static mirror) goes through the same worker."""
    anchors = "".join(
        f'<a href="../../f/demo-1.{i}.0-py3-none-any.whl#sha256={i:064x}" data-requires-python="&gt;=3.9">'
        f"demo-1.{i}.0-py3-none-any.whl</a>\n"
        for i in range(300)
    )
    body = f"<!DOCTYPE html><html><body>{anchors}</body></html>".encode()
    worker = PageWorker()
    try:
        parsed = worker.parse(body, "text/html", URL)
        assert parsed is not None and len(parsed) == 300
        assert parsed == pack_releases(parse_page(body, "text/html", URL))
    finally:
        worker.close()

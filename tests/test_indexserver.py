"""Fast tests of the local test index server itself (tests/indexserver.py)."""

from __future__ import annotations

import hashlib
import json
import threading
import time
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from indexserver import JSON_TYPE, IndexServer, build_wheel, parse_range, wheel_metadata

INDEX = Path(__file__).resolve().parent / "index"


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=5.0) as c:
        yield c


def test_recorded_data_is_consistent() -> None:
    listing = json.loads((INDEX / "simple" / "index.json").read_text())
    names = [p["name"] for p in listing["projects"]]
    assert "torch" in names and "triton" in names and "filelock" in names
    torch = json.loads((INDEX / "simple" / "torch" / "index.json").read_text())
    assert {"2.5.0", "2.5.1", "2.6.0", "2.9.0"} <= set(torch["versions"])
    advertised = []
    for project in (INDEX / "simple").iterdir():
        if not project.is_dir():
            continue
        page = json.loads((project / "index.json").read_text())
        for f in page["files"]:
            assert f["url"] == f"../../files/{f['filename']}"
            assert f["upload-time"] < "2025-11-01"
            if f["filename"].endswith(".whl"):
                meta = INDEX / "files" / f"{f['filename']}.metadata"
                assert meta.is_file(), meta
            if "core-metadata" in f:
                advertised.append(page["name"])
                digest = hashlib.sha256(meta.read_bytes()).hexdigest()
                assert f["core-metadata"] == {"sha256": digest}
    assert set(advertised) == {"filelock"}


def test_json_and_html_negotiation(index: IndexServer, client: httpx.Client) -> None:
    r = client.get(f"{index.simple_url}/filelock/", headers={"Accept": JSON_TYPE})
    assert r.status_code == 200
    assert r.headers["content-type"] == JSON_TYPE
    page = r.json()
    assert page["name"] == "filelock" and page["meta"]["api-version"] == "1.1"

    r = client.get(f"{index.simple_url}/filelock/?format=json")
    assert r.headers["content-type"] == JSON_TYPE

    accept = f"text/html;q=0.5, {JSON_TYPE};q=0.9"
    r = client.get(f"{index.simple_url}/filelock/", headers={"Accept": accept})
    assert r.headers["content-type"] == JSON_TYPE

    r = client.get(f"{index.simple_url}/filelock/")
    assert r.headers["content-type"].startswith("text/html")
    text = r.text
    wheel = next(f for f in page["files"] if f["filename"].endswith(".whl"))
    sha = wheel["hashes"]["sha256"]
    assert f'href="../../files/{wheel["filename"]}#sha256={sha}"' in text
    assert 'data-requires-python="&gt;=3.' in text
    meta_sha = wheel["core-metadata"]["sha256"]
    assert f'data-core-metadata="sha256={meta_sha}"' in text
    assert f'data-dist-info-metadata="sha256={meta_sha}"' in text

    r = client.get(f"{index.simple_url}/", headers={"Accept": JSON_TYPE})
    assert {"name": "torch"} in r.json()["projects"]

    r = client.get(f"{index.simple_url}/torch/", headers={"Accept": "application/xml"})
    assert r.status_code == 406


def test_redirects_and_404(index: IndexServer, client: httpx.Client) -> None:
    r = client.get(f"{index.simple_url}/torch")
    assert r.status_code == 301 and r.headers["location"] == "/simple/torch/"
    r = client.get(f"{index.simple_url}/Typing_Extensions/")
    assert r.status_code == 301 and r.headers["location"] == "/simple/typing-extensions/"
    r = client.get(f"{index.simple_url}/Typing.Extensions", follow_redirects=True)
    assert r.status_code == 200 and str(r.url).endswith("/simple/typing-extensions/")
    assert client.get(f"{index.simple_url}/no-such-project/").status_code == 404
    assert client.get(f"{index.url}/files/torch-9.9.9-py3-none-any.whl").status_code == 404
    assert client.get(f"{index.url}/files/..%2Fsimple%2Findex.json").status_code == 404


def test_yanked_attribute_rendered(make_index: Callable[..., IndexServer], tmp_path: Path) -> None:
    server = make_index()
    wheel = build_wheel(tmp_path, "demo", "1.0")
    server.publish(wheel, yanked="broken <build>", requires_python=">=3.9,<4")
    html = httpx.get(f"{server.simple_url}/demo/").text
    assert 'data-yanked="broken &lt;build&gt;"' in html
    assert 'data-requires-python="&gt;=3.9,&lt;4"' in html
    assert "data-core-metadata" not in html


def test_metadata_file_and_ranges(index: IndexServer, client: httpx.Client) -> None:
    name = "filelock-3.20.0-py3-none-any.whl.metadata"
    whole = (INDEX / "files" / name).read_bytes()
    url = f"{index.url}/files/{name}"
    r = client.get(url)
    assert r.status_code == 200 and r.content == whole
    assert r.headers["accept-ranges"] == "bytes"
    assert r.headers["content-length"] == str(len(whole))
    assert r.headers["etag"] and r.headers["last-modified"]

    r = client.get(url, headers={"Range": "bytes=10-19"})
    assert r.status_code == 206 and r.content == whole[10:20]
    assert r.headers["content-range"] == f"bytes 10-19/{len(whole)}"

    r = client.get(url, headers={"Range": "bytes=-100"})
    assert r.status_code == 206 and r.content == whole[-100:]

    r = client.get(url, headers={"Range": "bytes=100-"})
    assert r.status_code == 206 and r.content == whole[100:]

    r = client.get(url, headers={"Range": f"bytes={len(whole)}-"})
    assert r.status_code == 416
    assert r.headers["content-range"] == f"bytes */{len(whole)}"

    r = client.head(url)
    assert r.status_code == 200 and r.content == b""
    assert r.headers["content-length"] == str(len(whole))

    etag = r.headers["etag"]
    r = client.get(url, headers={"If-None-Match": etag})
    assert r.status_code == 304 and r.content == b""
    r = client.get(f"{index.simple_url}/torch/", headers={"Accept": JSON_TYPE})
    r2 = client.get(
        f"{index.simple_url}/torch/",
        headers={"Accept": JSON_TYPE, "If-None-Match": r.headers["etag"]},
    )
    assert r2.status_code == 304


def test_parse_range() -> None:
    assert parse_range("bytes=0-9", 100) == (0, 9)
    assert parse_range("bytes=90-200", 100) == (90, 99)
    assert parse_range("bytes=-10", 100) == (90, 99)
    assert parse_range("bytes=-1000", 100) == (0, 99)
    assert parse_range("bytes=100-", 100) == "unsatisfiable"
    assert parse_range("bytes=0-1,5-6", 100) is None
    assert parse_range("items=0-1", 100) is None


def test_extra_wheel_range_read_of_metadata(index: IndexServer, client: httpx.Client, tmp_path: Path) -> None:
    wheel = build_wheel(
        tmp_path,
        "tiny-pkg",
        "0.1",
        requires_dist=["filelock>=3", 'typing-extensions; python_version < "3.13"'],
        files={"tiny_pkg/__init__.py": "X = 1\n" * 2000},
    )
    with zipfile.ZipFile(wheel) as zf:
        assert set(zf.namelist()) == {
            "tiny_pkg/__init__.py",
            "tiny_pkg-0.1.dist-info/METADATA",
            "tiny_pkg-0.1.dist-info/RECORD",
            "tiny_pkg-0.1.dist-info/WHEEL",
        }
        record = zf.read("tiny_pkg-0.1.dist-info/RECORD").decode()
        assert "tiny_pkg/__init__.py,sha256=" in record
    assert b"Requires-Dist: filelock>=3" in wheel_metadata(wheel)
    url = index.add_file(wheel)
    size = wheel.stat().st_size
    tail = client.get(url, headers={"Range": "bytes=-200"})
    assert tail.status_code == 206 and tail.content == wheel.read_bytes()[-200:]
    assert all(rec.range is not None for rec in index.requests)
    assert sum(rec.bytes_sent for rec in index.requests) < size


def test_publish_overlay_is_cleared(index: IndexServer, tmp_path: Path) -> None:
    wheel = build_wheel(tmp_path, "filelock", "99.0")
    entry = index.publish(wheel, core_metadata=True)
    assert "core-metadata" in entry
    page = httpx.get(f"{index.simple_url}/filelock/", headers={"Accept": JSON_TYPE}).json()
    assert "99.0" in page["versions"] and len(page["files"]) > 1
    meta = httpx.get(f"{index.url}/files/{wheel.name}.metadata").content
    assert hashlib.sha256(meta).hexdigest() == entry["core-metadata"]["sha256"]
    index.reset_all()
    page = httpx.get(f"{index.simple_url}/filelock/", headers={"Accept": JSON_TYPE}).json()
    assert "99.0" not in page["versions"]


def test_request_log(index: IndexServer, client: httpx.Client) -> None:
    assert index.requests == []
    client.get(f"{index.simple_url}/torch/", headers={"Accept": JSON_TYPE})
    client.get(
        f"{index.url}/files/filelock-3.20.0-py3-none-any.whl.metadata",
        headers={"Range": "bytes=0-9"},
    )
    log = index.requests
    assert [(r.method, r.route, r.status) for r in log] == [
        ("GET", "/simple/torch/", 200),
        ("GET", "/files/filelock-3.20.0-py3-none-any.whl.metadata", 206),
    ]
    assert log[1].range == "bytes=0-9" and log[1].bytes_sent == 10
    assert log[0].bytes_sent > 1000
    assert len(index.requests_for("/files/*")) == 1
    index.reset()
    assert index.requests == []


def test_fault_status_times_and_retry_after(index: IndexServer, client: httpx.Client) -> None:
    fault = index.fault("/simple/torch/", "status", code=503, times=2, retry_after=1)
    url = f"{index.simple_url}/torch/"
    r = client.get(url)
    assert r.status_code == 503 and r.headers["retry-after"] == "1"
    assert client.get(url).status_code == 503
    assert client.get(url).status_code == 200
    assert fault.hits == 2
    index.fault("/simple/*", "status", code=429)
    assert client.get(f"{index.simple_url}/numpy/").status_code == 429
    index.clear_faults()
    assert client.get(f"{index.simple_url}/numpy/").status_code == 200


def test_fault_delay(index: IndexServer, client: httpx.Client) -> None:
    index.fault("/simple/numpy/", "delay", seconds=0.3)
    start = time.monotonic()
    assert client.get(f"{index.simple_url}/numpy/").status_code == 200
    assert time.monotonic() - start >= 0.3
    with pytest.raises(httpx.ReadTimeout):
        client.get(f"{index.simple_url}/numpy/", timeout=0.1)


def test_fault_truncate(index: IndexServer, client: httpx.Client) -> None:
    name = "filelock-3.20.0-py3-none-any.whl.metadata"
    index.fault(f"/files/{name}", "truncate", keep=50, times=1)
    with pytest.raises(httpx.RemoteProtocolError):
        client.get(f"{index.url}/files/{name}")
    assert index.requests[-1].bytes_sent == 50
    assert client.get(f"{index.url}/files/{name}").status_code == 200


def test_fault_garbage(index: IndexServer, client: httpx.Client) -> None:
    index.fault("/simple/torch/", "garbage")
    r = client.get(f"{index.simple_url}/torch/", headers={"Accept": JSON_TYPE})
    assert r.status_code == 200 and r.headers["content-type"] == JSON_TYPE
    with pytest.raises(ValueError):
        json.loads(r.content)
    index.fault("/files/*", "garbage")
    name = "filelock-3.20.0-py3-none-any.whl.metadata"
    r = client.get(f"{index.url}/files/{name}", headers={"Range": "bytes=0-9"})
    assert r.status_code == 200 and r.content != (INDEX / "files" / name).read_bytes()


def test_fault_ignore_range(index: IndexServer, client: httpx.Client) -> None:
    name = "filelock-3.20.0-py3-none-any.whl.metadata"
    index.fault("/files/*.metadata", "ignore_range")
    r = client.get(f"{index.url}/files/{name}", headers={"Range": "bytes=0-9"})
    assert r.status_code == 200
    assert r.content == (INDEX / "files" / name).read_bytes()


def test_fault_hang(index: IndexServer, client: httpx.Client) -> None:
    index.fault("/simple/torch/", "hang", seconds=2)
    start = time.monotonic()
    with pytest.raises(httpx.ReadTimeout):
        client.get(f"{index.simple_url}/torch/", timeout=0.2)
    assert time.monotonic() - start < 1.5
    with pytest.raises(ValueError):
        index.fault("/x", "explode")


def test_hang_ends_at_shutdown(make_index: Callable[..., IndexServer]) -> None:
    server = make_index(INDEX)
    server.fault("/simple/*", "hang")
    results: list[BaseException] = []

    def call() -> None:
        try:
            httpx.get(f"{server.simple_url}/torch/", timeout=10)
        except httpx.HTTPError as exc:
            results.append(exc)

    thread = threading.Thread(target=call)
    thread.start()
    time.sleep(0.2)
    start = time.monotonic()
    server.stop()
    thread.join(timeout=5)
    assert not thread.is_alive() and results
    assert time.monotonic() - start < 5


def test_two_servers_same_name(index: IndexServer, make_index: Callable[..., IndexServer], tmp_path: Path) -> None:
    impostor = make_index()
    assert impostor.port != index.port
    impostor.publish(build_wheel(tmp_path, "torch", "2.6.0", tag="py3-none-any"))
    real = httpx.get(f"{index.simple_url}/torch/", headers={"Accept": JSON_TYPE}).json()
    fake = httpx.get(f"{impostor.simple_url}/torch/", headers={"Accept": JSON_TYPE}).json()
    assert [f["filename"] for f in fake["files"]] == ["torch-2.6.0-py3-none-any.whl"]
    assert "torch-2.6.0-py3-none-any.whl" not in [f["filename"] for f in real["files"]]
    assert impostor.requests and all(r.route == "/simple/torch/" for r in impostor.requests)

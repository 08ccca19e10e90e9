"""The index client against a real HTTP server: pages, metadata, range reads, cache, pinning."""

from __future__ import annotations

import contextlib
import hashlib
import http.server
import io
import os
import threading
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from indexserver import IndexServer, build_wheel, wait_for

from tripin.errors import IndexFetchError, ProjectNotFound
from tripin.index import Index, IndexClient
from tripin.index.cache import Cache
from tripin.index.http import Fetcher
from tripin.index.rangezip import RangeFetch
from tripin.index.simple import parse_html_page, parse_json_page


def _client(server: IndexServer, tmp_path: Path, **kw: object) -> IndexClient:
    return IndexClient([Index(name="local", url=server.simple_url)], cache=Cache(tmp_path / "cache"), **kw)


def test_json_and_html_pages_say_the_same(index: IndexServer) -> None:
    idx = Index(name="local", url=index.simple_url)
    url = f"{index.simple_url}/triton/"
    as_json = httpx.get(url, headers={"Accept": "application/vnd.pypi.simple.v1+json"})
    as_html = httpx.get(url, headers={"Accept": "text/html"})
    assert as_html.headers["content-type"].startswith("text/html")
    from_json = parse_json_page(as_json.content, url, idx)
    from_html = parse_html_page(as_html.content, url, idx)
    assert [(f.filename, f.url, f.hashes, f.requires_python) for f in from_json] == [
        (f.filename, f.url, f.hashes, f.requires_python) for f in from_html
    ]
    assert all(f.url.startswith(f"{index.url}/files/") for f in from_json)


def test_advertised_metadata_is_fetched_and_checked(index: IndexServer, tmp_path: Path) -> None:
    with _client(index, tmp_path) as client:
        project = client.project("filelock")
        wheel = next(f for f in project.files if f.is_wheel)
        assert wheel.core_metadata  # recorded with a PEP 714 hash
        assert client.metadata(wheel).name == "filelock"
    assert [r.route for r in index.requests] == ["/simple/filelock/", f"/files/{wheel.filename}.metadata"]


def test_metadata_with_a_wrong_hash_is_refused(index: IndexServer, tmp_path: Path) -> None:
    wheel = build_wheel(tmp_path / "w", "demo", "1.0")
    entry = index.publish(wheel, core_metadata=True)
    entry["core-metadata"] = {"sha256": "0" * 64}
    index.set_page("demo", {"meta": {"api-version": "1.1"}, "name": "demo", "files": [entry]})
    with _client(index, tmp_path) as client:
        file = client.project("demo").files[0]
        with pytest.raises(IndexFetchError, match="sha256 does not match"):
            client.metadata(file)
    assert Cache(tmp_path / "cache").get("metadata", f"{file.url}#{file.sha256}") is None


def _big_wheel(tmp_path: Path) -> Path:
    # 4 MB of incompressible payload: reading METADATA must not download it
    return build_wheel(
        tmp_path / "w",
        "bigpkg",
        "2.0",
        "cp312-cp312-manylinux_2_28_x86_64",
        requires_dist=["numpy>=1.26", "jinja2; extra == 'docs'"],
        files={"bigpkg/payload.bin": os.urandom(4 * 1024 * 1024)},
    )


def test_range_reads_metadata_without_downloading_the_wheel(index: IndexServer, tmp_path: Path) -> None:
    wheel = _big_wheel(tmp_path)
    index.publish(wheel, metadata=False)
    with _client(index, tmp_path) as client:
        file = client.project("bigpkg").files[0]
        metadata = client.metadata(file)
    assert [str(r) for r in metadata.requires_dist] == ["numpy>=1.26", 'jinja2; extra == "docs"']
    # the server logs a request once its answer is sent: one range read may still be settling
    assert wait_for(lambda: index.requests_for(f"/files/{wheel.name}"))
    wheel_requests = index.requests_for(f"/files/{wheel.name}")
    assert wheel_requests and all(r.range for r in wheel_requests)
    assert sum(r.bytes_sent for r in wheel_requests) < 200_000 < wheel.stat().st_size


def test_a_server_ignoring_range_is_not_asked_for_a_huge_wheel(index: IndexServer, tmp_path: Path) -> None:
    wheel = _big_wheel(tmp_path)
    index.publish(wheel, metadata=False)
    index.fault(f"/files/{wheel.name}", "ignore_range")
    with _client(index, tmp_path) as client:
        file = client.project("bigpkg").files[0]
        # 4 MB is under the whole-download cap: it is read once, whole, and used
        assert client.metadata(file).name == "bigpkg"


def test_corrupt_zip_directory(index: IndexServer, tmp_path: Path) -> None:
    wheel = tmp_path / "broken-1.0-py3-none-any.whl"
    wheel.write_bytes(b"PK\x03\x04" + os.urandom(5000))
    index.publish(wheel, metadata=False)
    with _client(index, tmp_path) as client, pytest.raises(IndexFetchError, match="corrupt wheel zip directory"):
        client.metadata(client.project("broken").files[0])


def test_pinned_index_wins_over_an_earlier_index(index: IndexServer, make_index: object, tmp_path: Path) -> None:
    impostor = make_index()  # type: ignore[operator]
    impostor.publish(build_wheel(tmp_path / "evil", "triton", "99.0", "cp312-cp312-manylinux_2_28_x86_64"))
    indexes = [Index(name="first", url=impostor.simple_url), Index(name="real", url=index.simple_url)]
    with IndexClient(indexes, cache=Cache(None), pins={"triton": "real"}) as client:  # type: ignore[dict-item]
        project = client.project("triton")
        assert project.index.name == "real"
        assert "99.0" not in {str(f.version) for f in project.files}
    assert impostor.requests == []
    client = IndexClient(indexes, cache=Cache(None))
    with client, pytest.raises(IndexFetchError, match="torchtriton"):  # a torch-family name, unpinned
        client.project("triton")
    impostor.publish(build_wheel(tmp_path / "other", "mpmath", "99.0"))
    with IndexClient(indexes, cache=Cache(None)) as client:
        assert client.project("mpmath").index.name == "first"  # any other name: the first index that has it


def test_pinned_index_without_the_package_does_not_fall_back(index: IndexServer, make_index: object) -> None:
    empty = make_index()  # type: ignore[operator]
    indexes = [Index(name="empty", url=empty.simple_url), Index(name="real", url=index.simple_url)]
    client = IndexClient(indexes, cache=Cache(None), pins={"torch": "empty"})  # type: ignore[dict-item]
    with client, pytest.raises(ProjectNotFound, match="not found on index"):
        client.project("torch")
    assert index.requests == []


def test_corrupted_cache_entry_is_refetched(index: IndexServer, tmp_path: Path) -> None:
    with _client(index, tmp_path) as client:
        client.project("mpmath")
    entries = [p for p in (tmp_path / "cache").rglob("*") if p.is_file()]
    assert len(entries) == 1
    entries[0].write_bytes(entries[0].read_bytes()[:-10] + b"0123456789")
    index.reset()
    with _client(index, tmp_path, offline=True) as client, pytest.raises(IndexFetchError, match="offline"):
        client.project("mpmath")
    with _client(index, tmp_path) as client:
        assert client.project("mpmath").files
    assert [r.route for r in index.requests] == ["/simple/mpmath/"]
    body = next(p for p in (tmp_path / "cache").rglob("*") if p.is_file()).read_bytes()
    assert hashlib.sha256(body.partition(b"\n")[2]).hexdigest() in body.partition(b"\n")[0].decode()


def test_cache_entries_sit_in_one_folder_per_kind(index: IndexServer, tmp_path: Path) -> None:
    """Each folder made costs here about what a file does (0.4 ms of kernel time on this
    project's CI machines): a cold lock wrote 170 entries into 120 two-hex folders, 50 to 75 ms
    of CPU that the page worker and the index needed. Entries now share one folder per kind."""
    with _client(index, tmp_path) as client:
        client.project("mpmath")
        client.metadata(next(f for f in client.project("mpmath").files if f.is_wheel))
    folders = sorted(p.relative_to(tmp_path / "cache") for p in (tmp_path / "cache").rglob("*") if p.is_dir())
    assert [str(f) for f in folders] == ["v2", "v2/metadata", "v2/projects"]


def test_credentials_stay_out_of_urls_we_record(index: IndexServer, tmp_path: Path) -> None:
    """The page links its files relative to itself: joined to the URL asked for, they carried
    its password into every row, and into the cache (compressed, where grepping missed it)."""
    url = index.simple_url.replace("http://", "http://alice:s3cret@")
    with IndexClient([Index(name="auth", url=url)], cache=Cache(tmp_path / "c"), fetcher=Fetcher()) as client:
        project = client.project("mpmath")
    assert "s3cret" not in project.index.public_url
    assert project.files and all(f.url.startswith(f"{index.url}/files/") for f in project.files)
    with IndexClient([Index(name="auth", url=url)], cache=Cache(tmp_path / "c"), offline=True) as client:
        cached = client.project("mpmath")  # read back through the cache's own reader
    assert [f.url for f in cached.files] == [f.url for f in project.files]


class _Redirector(http.server.ThreadingHTTPServer):
    """An index host that sends every /simple/ request to another host (302) and has no files
    of its own, as a mirror's front door does."""

    def __init__(self, target: str) -> None:
        super().__init__(("127.0.0.1", 0), _RedirectHandler)
        self.target = target

    @property
    def simple_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/simple"


class _RedirectHandler(http.server.BaseHTTPRequestHandler):
    server: _Redirector

    def do_GET(self) -> None:
        moved = self.path.startswith("/simple/")
        self.send_response(302 if moved else 404)
        if moved:
            self.send_header("Location", self.server.target + self.path)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        return


@contextlib.contextmanager
def redirecting_to(target: str) -> Iterator[_Redirector]:
    server = _Redirector(target)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def test_links_on_a_redirected_page_are_relative_to_where_it_came_from(
    make_index: Callable[..., IndexServer], tmp_path: Path
) -> None:
    mirror = make_index()
    mirror.publish(build_wheel(tmp_path / "w", "mypkg", "1.0"))  # linked as ../../files/NAME
    with (
        redirecting_to(mirror.url) as front,
        IndexClient([Index(name="front", url=front.simple_url)], cache=Cache(None), fetcher=Fetcher()) as client,
    ):
        (wheel,) = client.project("mypkg").files
        assert wheel.url == f"{mirror.url}/files/mypkg-1.0-py3-none-any.whl"
        assert client.metadata(wheel).name == "mypkg"


@pytest.mark.parametrize("html", [False, True])
def test_a_page_listing_another_projects_files_gives_none_of_them(
    make_index: Callable[..., IndexServer], tmp_path: Path, html: bool, caplog: pytest.LogCaptureFixture
) -> None:
    """pip ignores them ("No matching distribution"), uv warns and ignores them."""
    server = make_index()
    server.html_only = html
    server.publish(build_wheel(tmp_path / "w", "other", "1.0"), project="mypkg")
    server.publish(build_wheel(tmp_path / "w", "MyPkg", "2.0"), project="mypkg")  # another spelling: the same
    sdist = tmp_path / "w" / "other-3.0.tar.gz"
    sdist.write_bytes(b"not read")
    server.publish(sdist, project="mypkg")
    with IndexClient([Index(name="local", url=server.simple_url)], cache=Cache(None), fetcher=Fetcher()) as client:
        files = client.project("mypkg").files
    # an sdist's name and version are not told apart by its file name (cffi-1.0.2-2.tar.gz is
    # cffi 1.0.2.post2): it stays, and tripin locks wheels only
    assert [f.filename for f in files] == ["MyPkg-2.0-py3-none-any.whl", "other-3.0.tar.gz"]
    assert "lists 1 file(s) of other projects (such as other-1.0-py3-none-any.whl); ignored" in caplog.text


def test_a_project_s_own_odd_sdist_names_draw_no_warning(
    make_index: Callable[..., IndexServer], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """PyPI's cffi page lists cffi-1.0.2-2.tar.gz and mpmath's mpmath-all-0.17.tar.gz: their own."""
    server = make_index()
    server.publish(build_wheel(tmp_path / "w", "cffi", "1.0"), project="cffi")
    for name in ("cffi-1.0.2-2.tar.gz", "cffi-all-0.17.tar.gz"):
        (tmp_path / "w" / name).write_bytes(b"not read")
        server.publish(tmp_path / "w" / name, project="cffi")
    with IndexClient([Index(name="local", url=server.simple_url)], cache=Cache(None), fetcher=Fetcher()) as client:
        assert len(client.project("cffi").files) == 3
    assert "other projects" not in caplog.text


@pytest.mark.parametrize(
    ("headers", "seconds"),
    [
        ({}, 600.0),  # nothing to revalidate with: heuristic freshness (RFC 9111 4.2.2)
        ({"etag": '"x"'}, 0.0),  # a validator makes revalidation cheap: always revalidate
        ({"cache-control": "max-age=30, public"}, 30.0),
        ({"cache-control": "no-cache, max-age=30"}, 0.0),
    ],
)
def test_page_freshness(headers: dict[str, str], seconds: float) -> None:
    from tripin.index.client import _max_age

    assert _max_age(headers) == seconds


RECORDED_METADATA = sorted(
    p for root in ("index", "index-project") for p in (Path(__file__).parent / root / "files").glob("*.metadata")
)


@pytest.mark.parametrize("path", RECORDED_METADATA[::7], ids=lambda p: p.name[:60])
def test_cached_metadata_reads_as_the_real_file(path: Path) -> None:
    """The cache keeps only the header lines resolution reads; the real METADATA files of the
    recorded indexes must parse the same from that form, and the same as the email parser."""
    from tripin.index.metadata import _email_headers, _headers, essential, parse_metadata

    data = path.read_bytes()
    full, short = parse_metadata(data, "x"), parse_metadata(essential(data), "x")
    assert (short.name, short.version, short.requires_dist, str(short.requires_python)) == (
        full.name,
        full.version,
        full.requires_dist,
        str(full.requires_python),
    )
    assert len(essential(data)) <= len(data)
    fast = _headers(data)
    assert fast is not None
    slow = _email_headers(data, "x")
    assert {k: [v.strip() for v in vs] for k, vs in fast.items()} == {
        k: [v.strip() for v in vs] for k, vs in slow.items() if vs
    }


def _zip_fetch(blob: bytes) -> RangeFetch:
    def fetch(start: int | None, end: int) -> tuple[bytes, int]:
        return (blob[-end:] if start is None else blob[start : end + 1]), len(blob)

    return fetch


@pytest.mark.parametrize("compression", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED])
@pytest.mark.parametrize("prefix", [b"", b"#!/bin/sh\n"])  # data before the archive: zipfile's path
def test_wheel_metadata_from_the_zip_directory(compression: int, prefix: bytes) -> None:
    from tripin.index.rangezip import read_wheel_metadata

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for i in range(300):
            archive.writestr(f"demo/m{i}.py", "x = 1\n")
        archive.writestr("demo/sub.dist-info/METADATA", "Name: other\n")  # not top level
        archive.writestr("demo-1.0.dist-info/METADATA", "Metadata-Version: 2.1\nName: demo\nVersion: 1.0\n")
    blob = prefix + buffer.getvalue()
    assert read_wheel_metadata(_zip_fetch(blob), "w") == b"Metadata-Version: 2.1\nName: demo\nVersion: 1.0\n"


@pytest.mark.parametrize("dist_info", ["first", "last", "middle"])
def test_metadata_of_a_wheel_with_a_big_directory_without_reading_all_of_it(dist_info: str) -> None:
    """torch's zip directory is 1.4 MB; its Linux wheels write .dist-info first, most tools
    write it last. Either way METADATA's entry is found in the directory's head or tail and the
    rest is not fetched; where it is neither (middle), the whole directory is read."""
    from tripin.index.rangezip import read_wheel_metadata

    metadata = b"Metadata-Version: 2.1\nName: big\nVersion: 1.0\n" + b"Description: x\n" * 500
    files = [(f"big/module_{i:05d}_with_a_long_name.py", b"x = 1\n") for i in range(6000)]
    info = [("big-1.0.dist-info/METADATA", metadata), ("big-1.0.dist-info/WHEEL", b"Wheel-Version: 1.0\n")]
    order = {"first": info + files, "last": files + info, "middle": files[:3000] + info + files[3000:]}[dist_info]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in order:
            archive.writestr(name, data)
    blob = buffer.getvalue()
    directory = int.from_bytes(blob[blob.rfind(b"PK\x05\x06") + 12 :][:4], "little")  # the EOCD's size field
    fetched: list[int] = []
    inner = _zip_fetch(blob)

    def fetch(start: int | None, end: int) -> tuple[bytes, int]:
        data, size = inner(start, end)
        fetched.append(len(data))
        return data, size

    assert read_wheel_metadata(fetch, "w") == metadata
    assert directory > 400_000  # far more than the 64 KB tail
    if dist_info == "middle":
        assert sum(fetched) > 400_000
    else:
        assert sum(fetched) < 120_000, fetched


def test_wheel_with_two_metadata_files_is_refused() -> None:
    from tripin.index.rangezip import read_wheel_metadata

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("a-1.0.dist-info/METADATA", "Name: a\n")
        archive.writestr("b-1.0.dist-info/METADATA", "Name: b\n")
    with pytest.raises(IndexFetchError, match="2 top-level METADATA"):
        read_wheel_metadata(_zip_fetch(buffer.getvalue()), "w")


def test_unadvertised_metadata_from_the_zip_then_from_metadata_files(index: IndexServer, tmp_path: Path) -> None:
    """Unadvertised metadata is read from the wheel first (range requests, as uv does); an index
    that stores no wheels but serves `.metadata` files (this recorded one) is asked for those
    first once they have rescued two reads, so it costs one request a wheel again."""
    with _client(index, tmp_path) as client:
        wheels = [
            next(f for f in client.project(name).files if f.is_wheel)
            for name in ("mpmath", "sympy", "networkx", "jinja2")
        ]
        assert all(f.core_metadata is None for f in wheels)
        for wheel in wheels:
            index.reset()
            assert client.metadata(wheel).name == wheel.name
            expected = [f"/files/{wheel.filename}.metadata"]
            if wheel in wheels[:2]:  # the wheel is not there (404), its .metadata is
                expected.insert(0, f"/files/{wheel.filename}")
            # the server logs a request once its answer is sent: the last one may be settling
            assert wait_for(lambda expected=expected: [r.route for r in index.requests] == expected)


@pytest.mark.parametrize(
    "text",
    [
        "py3-none-any",
        "cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64",
        "py2.py3-none-any",
        "cp39-abi3-win_amd64",
        "3py-none-any",  # interpreter not an identifier
        "py3--any",
        "py3-none",
        "py3..x-none-any",
        "a-b-c-d",
        "py3-none-any.",
        "",
    ],
)
def test_tag_texts_are_judged_as_packaging_judges_them(text: str) -> None:
    from packaging.tags import parse_tag

    from tripin.index.models import _tags_ok

    try:
        parse_tag(text)
        accepted = True
    except ValueError:
        accepted = False
    assert _tags_ok(text) is accepted


def test_no_more_requests_in_httpx_than_connections(index: IndexServer, tmp_path: Path) -> None:
    """More requests waiting inside httpx than pooled connections made httpcore stall for its
    keep-alive expiry (5 s) now and then; the fetcher lets in as many as it has connections, so
    the client may run more threads (pages the worker fetches hold one while they wait)."""
    fetcher = Fetcher(max_connections=4)
    inside, most, lock = [0], [0], threading.Lock()
    request = fetcher._request

    def counted(*args: object) -> object:
        with lock:
            inside[0] += 1
            most[0] = max(most[0], inside[0])
        try:
            return request(*args)  # type: ignore[arg-type]
        finally:
            with lock:
                inside[0] -= 1

    fetcher._request = counted  # type: ignore[method-assign]
    index.fault("*", "delay", seconds=0.05)  # requests overlap
    names = ("torch", "filelock", "numpy", "sympy", "jinja2", "networkx", "fsspec", "triton")
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=len(names)) as pool:
        got = list(pool.map(lambda n: fetcher.get(f"{index.simple_url}/{n}/", max_bytes=1 << 24).status, names))
    fetcher.close()
    assert got == [200] * len(names)
    assert most[0] == 4


def test_a_failure_inside_the_client_does_not_wait_for_requests_in_flight(index: IndexServer, tmp_path: Path) -> None:
    """`lock` refuses some inputs after the prefetcher has started: the one-line error must not
    wait for a request to an index that hangs (it waited for the whole timeout)."""
    import time

    index.fault("/simple/filelock/", "hang", seconds=20)
    started = time.monotonic()
    try:
        with (
            pytest.raises(RuntimeError),
            IndexClient(
                [Index(name="default", url=index.simple_url)], cache=Cache(tmp_path), fetcher=Fetcher()
            ) as client,
        ):
            client.prefetch_project("filelock")
            assert wait_for(lambda: index.in_flight > 0, timeout=10)
            raise RuntimeError("refused")
        assert time.monotonic() - started < 5
    finally:
        index.clear_faults()


def test_httpx_is_loaded_without_its_command_line_client(tmp_path: Path) -> None:
    """httpx/__init__ imports httpx._main, and with it click, rich and pygments wherever click
    is installed; tripin never runs that command, so it loads httpx without it. A stand-in
    click (it leaves a mark, then fails as a missing one would) shows whether it was asked for."""
    import subprocess
    import sys

    (tmp_path / "click").mkdir()
    mark = tmp_path / "asked"
    (tmp_path / "click" / "__init__.py").write_text(
        f"open({str(mark)!r}, 'w').close()\nraise ImportError('a stand-in for click')\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), *sys.path])}
    plain = "import httpx"
    ours = (
        "import sys; from tripin.index.http import load_httpx; load_httpx(); import httpx; "
        "assert 'httpx._main' not in sys.modules and callable(httpx.main)"
    )
    subprocess.run([sys.executable, "-c", plain], env=env, check=True, timeout=60)
    assert mark.exists()  # the stand-in is where httpx looks for click
    mark.unlink()
    subprocess.run([sys.executable, "-c", ours], env=env, check=True, timeout=60)
    assert not mark.exists()


def test_setting_up_the_client_early_fails_quietly_and_the_request_says_why(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Fetcher.warm_soon sets up httpx and TLS in a thread; a CA bundle that cannot be loaded
    leaves no traceback there, and the request that needs the client raises the one-line error."""
    monkeypatch.setenv("TRIPIN_CERT", str(tmp_path / "missing.pem"))
    fetcher = Fetcher()
    fetcher.warm_soon()
    fetcher.warm_soon()  # once
    setups = [t for t in threading.enumerate() if t.name == "tripin-http-setup"]
    assert len(setups) <= 1
    for thread in setups:
        thread.join(30)
    assert not fetcher.ready
    with pytest.raises(IndexFetchError, match="cannot load the CA bundle"):
        fetcher.get("https://127.0.0.1:9/simple/x/", max_bytes=1000)
    assert capsys.readouterr().err == ""

"""Credentials from URL userinfo, ~/.netrc and keyring (a real file backend), against an index
that demands them; and never in the lock, the constraints file, the cache or a message."""

from __future__ import annotations

import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from conftest import INDEX_ROOT
from helpers import tripin
from indexserver import IndexServer

from tripin.index.cache import Cache
from tripin.index.client import _decode_rows
from tripin.index.models import redact_url
from tripin.memo import INDEX_CACHE_FORMAT
from tripin.redact import redact_text

X86 = "linux-x86_64-cp312"
SECRET = "s3cret-pw"


@pytest.fixture
def guarded(index: IndexServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> IndexServer:
    index.require_auth = ("alice", SECRET)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("NETRC", raising=False)
    (tmp_path / "home").mkdir()
    return index


def _no_secret_anywhere(root: Path, *texts: str) -> None:
    for text in texts:
        assert SECRET not in text
    for path in root.rglob("*"):
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes(), path
    for cache in {p.parents[2] for p in root.rglob(f"v{INDEX_CACHE_FORMAT}/projects/*") if p.is_file()}:
        entries = list(_cache_entries(cache))
        assert entries, cache
        for entry in entries:
            assert SECRET.encode() not in entry


def _cache_entries(root: Path) -> Iterator[bytes]:
    """Each entry of the index cache as it reads it, its compressed parts decompressed: the rows
    of a project page are zlib-compressed, where a password is no longer there to grep."""
    for path in [*root.glob(f"v{INDEX_CACHE_FORMAT}/projects/*"), *root.glob(f"v{INDEX_CACHE_FORMAT}/metadata/*")]:
        key = json.loads(path.read_bytes().partition(b"\n")[0])["key"]
        entry = Cache(root).get(path.parent.name, key)
        assert entry is not None, path
        yield key.encode()
        rows = _decode_rows(entry.body)
        if rows is not None:
            yield from (zlib.decompress(packed) for _, packed in rows)
        elif entry.body[:1] == b"x":
            yield zlib.decompress(entry.body)
        else:
            yield entry.body


def test_without_credentials_the_error_names_the_problem(
    guarded: IndexServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = tripin(capsys, "lock", "torch==2.6.0", "-t", X86, "-i", guarded.simple_url, "--cache-dir", "c")
    assert run.code == 3 and "HTTP 401: credentials missing or rejected" in run.err


def test_credentials_in_the_url(guarded: IndexServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = guarded.simple_url.replace("http://", f"http://alice:{SECRET}@")
    run = tripin(capsys, "lock", "torch==2.6.0", "-t", X86, "-i", url, "--cache-dir", "c")
    assert run.code == 0, run.err
    _no_secret_anywhere(tmp_path, run.out, run.err)


def test_two_indexes_on_one_host_send_each_its_own_credentials_with_its_files(
    index: IndexServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """GitLab serves each project's index under its own path on one host, each behind its own
    token. File URLs carry none: each takes those of the index whose path it shares most of,
    as pip does (the first index's went with both, and the second's files got HTTP 401)."""
    other = "0ther-pw"
    index.mounts = {"/team-a": ("alice", SECRET), "/team-b": ("bob", other)}
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("NETRC", raising=False)
    team_a = index.url.replace("http://", f"http://alice:{SECRET}@") + "/team-a/simple"
    team_b = index.url.replace("http://", f"http://bob:{other}@") + "/team-b/simple"
    (tmp_path / "pyproject.toml").write_text(
        f'[tool.tripin]\nindex-url = "{team_a}"\n\n'
        f'[[tool.uv.index]]\nname = "team-b"\nurl = "{team_b}"\nexplicit = true\n\n'
        '[tool.uv.sources]\nfilelock = { index = "team-b" }\n'
    )
    run = tripin(capsys, "lock", "filelock", "fsspec", "-t", X86, "--cache-dir", "c")
    assert run.code == 0, run.err
    files = [r.path for r in index.requests if "/files/" in r.path and r.status in (200, 206)]
    assert any(p.startswith("/team-b/files/filelock-") for p in files), files
    assert any(p.startswith("/team-a/files/fsspec-") for p in files), files
    assert not [r.path for r in index.requests if r.status == 401]
    (tmp_path / "pyproject.toml").unlink()
    assert other not in run.out + run.err
    _no_secret_anywhere(tmp_path, run.out, run.err)


def test_credentials_from_netrc(guarded: IndexServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    netrc = tmp_path / "home" / ".netrc"
    netrc.write_text(f"machine 127.0.0.1\n  login alice\n  password {SECRET}\n")
    netrc.chmod(0o600)
    run = tripin(capsys, "lock", "torch==2.6.0", "-t", X86, "-i", guarded.simple_url, "--cache-dir", "c")
    assert run.code == 0, run.err
    netrc.unlink()
    _no_secret_anywhere(tmp_path, run.out, run.err)


def test_credentials_from_keyring(guarded: IndexServer, tmp_path: Path) -> None:
    """A real keyring backend (keyrings.alt's plain-text file), in a process of its own."""
    env = {
        **os.environ,
        "HOME": str(tmp_path / "home"),
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "PYTHON_KEYRING_BACKEND": "keyrings.alt.file.PlaintextKeyring",
        "TRIPIN_CACHE_DIR": str(tmp_path / "c"),
    }
    origin = guarded.url
    subprocess.run(
        [sys.executable, "-c", f"import keyring; keyring.set_password({origin!r}, 'alice', {SECRET!r})"],
        check=True,
        env=env,
    )
    user_only = guarded.simple_url.replace("http://", "http://alice@")  # the password comes from keyring
    result = subprocess.run(
        [sys.executable, "-m", "tripin", "lock", "torch==2.6.0", "-t", X86, "-i", user_only],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    for name in ("pylock.toml", "constraints.txt"):
        assert SECRET not in (tmp_path / name).read_text()
    assert SECRET not in result.stdout + result.stderr


def test_no_credential_in_verbose_logs(
    guarded: IndexServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = guarded.simple_url.replace("http://", f"http://alice:{SECRET}@")
    run = tripin(capsys, "lock", "torch==2.6.0", "-t", X86, "-i", url, "--cache-dir", "c", "-vv")
    assert run.code == 0 and "GET " in run.err
    _no_secret_anywhere(tmp_path, run.out, run.err)
    assert "alice" not in run.err


def test_ca_bundle_from_the_environment(
    index: IndexServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    for key in ("TRIPIN_CERT", "PIP_CERT", "REQUESTS_CA_BUNDLE"):  # they come before SSL_CERT_FILE
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "missing-ca.pem"))
    run = tripin(capsys, "lock", "torch==2.6.0", "-t", X86, "-i", index.simple_url, "--cache-dir", "c")
    assert run.code == 3 and f"SSL_CERT_FILE={tmp_path / 'missing-ca.pem'}: cannot load the CA bundle" in run.err
    bundle = tmp_path / "ca.pem"
    bundle.write_text(
        Path("/etc/ssl/certs/ca-certificates.crt").read_text()
        if Path("/etc/ssl/certs/ca-certificates.crt").exists()
        else ""
    )
    if bundle.read_text():
        monkeypatch.setenv("SSL_CERT_FILE", str(bundle))
        assert tripin(capsys, "lock", "torch==2.6.0", "-t", X86, "-i", index.simple_url, "--cache-dir", "c").code == 0


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        # a `/`, `#` or second `@` in a password that was not percent-encoded: urllib reads a
        # host of `alice:Tok` (port `Tok`), and its error text quoted the password
        ("https://alice:Tok/en+Secret9@pypi.example.com/simple", "'https://****@pypi.example.com/simple'"),
        ("https://alice:TokSecret9#x@pypi.example.com/simple", "'https://****@pypi.example.com/simple'"),
        ("https://alice:Tok@Secret9@pypi.example.com:99999/simple", "'https://****@pypi.example.com:99999/simple'"),
    ],
)
def test_an_index_url_that_does_not_parse_shows_no_part_of_its_password(
    work: Path, capsys: pytest.CaptureFixture[str], url: str, shown: str
) -> None:
    run = tripin(capsys, "lock", "filelock", "-t", X86, "--index-url", url, "--cache-dir", "c")
    assert run.code == 2
    assert run.err.count("\n") == 1 and f"invalid index URL {shown}: bad host or port" in run.err
    assert "Secret9" not in run.out + run.err and "Tok" not in run.out + run.err


@pytest.mark.parametrize("userinfo", ["TOKEN123@", "TOKEN123:@"])
def test_a_token_as_the_user_name_is_sent_with_an_empty_password(
    index: IndexServer, work: Path, capsys: pytest.CaptureFixture[str], userinfo: str
) -> None:
    """As pip and uv send it (`TOKEN123:`); netrc and keyring have nothing for it here."""
    (work / "home").mkdir()
    index.require_auth = ("TOKEN123", "")
    url = index.simple_url.replace("http://", f"http://{userinfo}")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HOME", str(work / "home"))
        run = tripin(capsys, "lock", "torch==2.6.0", "-t", X86, "-i", url, "--cache-dir", "c")
    assert run.code == 0, run.err
    assert "TOKEN123" not in run.out + run.err + (work / "pylock.toml").read_text()
    assert index.requests and all(r.status != 401 for r in index.requests)


def _hashed_ca_directory(tmp_path: Path) -> tuple[Path, Path, Path]:
    """A self-signed certificate for 127.0.0.1, its key, and a directory holding it under its
    subject hash, as `openssl rehash` lays out a CA directory (what ssl's capath reads)."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("needs the openssl command")
    cert, key, ca_dir = tmp_path / "cert.pem", tmp_path / "key.pem", tmp_path / "ca.d"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1", "-addext", "basicConstraints=critical,CA:TRUE",
         "-addext", "keyUsage=critical,keyCertSign,digitalSignature",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    digest = subprocess.run(
        [openssl, "x509", "-hash", "-noout", "-in", str(cert)], check=True, capture_output=True, text=True
    ).stdout.strip()
    ca_dir.mkdir()
    shutil.copy(cert, ca_dir / f"{digest}.0")
    return cert, key, ca_dir


@pytest.mark.parametrize("variable", ["PIP_CERT", "REQUESTS_CA_BUNDLE", "TRIPIN_CERT"])
def test_a_ca_directory_from_the_environment(work: Path, capsys: pytest.CaptureFixture[str], variable: str) -> None:
    """pip and requests take a directory of hashed certificates (capath) where a bundle goes."""
    cert, key, ca_dir = _hashed_ca_directory(work)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server = IndexServer(INDEX_ROOT)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    with server, pytest.MonkeyPatch.context() as patch:
        for other in ("TRIPIN_CERT", "PIP_CERT", "SSL_CERT_FILE", "REQUESTS_CA_BUNDLE"):
            patch.delenv(other, raising=False)
        patch.setenv(variable, str(ca_dir))
        url = f"https://127.0.0.1:{server.port}/simple"
        run = tripin(capsys, "lock", "filelock", "-t", X86, "-i", url, "--cache-dir", "c")
        assert run.code == 0, run.err
        assert server.requests_for("/simple/filelock/")


def _lan_address() -> str:
    """An address of this machine that is not loopback (no packet is sent to learn it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # TEST-NET-1: routed by the default route, never reached
            address = str(probe.getsockname()[0])
        except OSError:
            address = ""
    if not address or address.startswith("127."):
        pytest.skip("needs a network address other than loopback")
    return address


@pytest.fixture
def lan_index(make_index: Callable[..., IndexServer]) -> tuple[IndexServer, str]:
    """The recorded index on a network address of this machine, and its simple URL."""
    address = _lan_address()
    server = make_index(INDEX_ROOT, host=address)
    return server, f"http://{address}:{server.port}/simple"


def test_a_plain_http_index_on_the_network_is_said_once(
    lan_index: tuple[IndexServer, str],
    index: IndexServer,
    work: Path,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Said through logging, which shows warnings on stderr (pytest's handler takes them here)."""
    _, url = lan_index
    run = tripin(capsys, "lock", "torch==2.6.0", "-t", X86, "-i", url, "--extra-index-url", url, "--cache-dir", "c")
    assert run.code == 0, run.err
    said = [r.getMessage() for r in caplog.records if "plain http" in r.getMessage()]
    assert said == [
        f"warning: index {url} is plain http: anyone on the network can read or change what it serves; use https://"
    ]
    caplog.clear()
    run = tripin(capsys, "lock", "torch==2.6.0", "-t", X86, "-i", index.simple_url, "--cache-dir", "c2")
    assert run.code == 0 and "plain http" not in caplog.text  # this machine's own index


def test_credentials_in_the_url_of_a_plain_http_index_on_the_network_are_not_sent(
    lan_index: tuple[IndexServer, str], work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    server, url = lan_index
    server.require_auth = ("alice", SECRET)
    run = tripin(capsys, "lock", "torch==2.6.0", "-t", X86, "-i", url.replace("//", f"//alice:{SECRET}@"))
    assert run.code == 2 and SECRET not in run.err
    assert f"index {url}: refusing to send its credentials over plain http" in run.err
    assert "hint: use the index's https:// URL" in run.err
    assert not server.requests


def test_credentials_from_netrc_for_a_plain_http_index_on_the_network_are_not_sent(
    lan_index: tuple[IndexServer, str], work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    server, url = lan_index
    server.require_auth = ("alice", SECRET)
    (work / "home").mkdir()
    netrc = work / "home" / ".netrc"
    netrc.write_text(f"machine {url.split('//')[1].split(':')[0]}\n  login alice\n  password {SECRET}\n")
    netrc.chmod(0o600)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HOME", str(work / "home"))
        patch.delenv("NETRC", raising=False)
        run = tripin(capsys, "lock", "torch==2.6.0", "-t", X86, "-i", url, "--cache-dir", "c")
    assert run.code == 3 and SECRET not in run.err
    assert "refusing to send credentials over plain http to a host other than this machine" in run.err
    assert server.requests and not [r for r in server.requests if "Authorization" in r.headers]


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("https://alice:Tok@Secret9@pypi.example.com:99999/simple", "https://****@pypi.example.com:99999/simple"),
        ("https://a:b@c@Host.example/simple", "https://****@Host.example/simple"),
        ("https://alice:Tok/en+Secret9@pypi.example.com/simple", "https://****@pypi.example.com/simple"),
        ("https://alice:TokSecret9#x@pypi.example.com/simple", "https://****@pypi.example.com/simple"),
        # no userinfo: left as it is
        ("git+https://github.com/org/repo@v1.0", "git+https://github.com/org/repo@v1.0"),
        ("https://host.example:8080/simple/@scope/", "https://host.example:8080/simple/@scope/"),
        ("http://[fe80::ab]/x@y", "http://[fe80::ab]/x@y"),
    ],
)
def test_printed_text_masks_userinfo_up_to_its_last_at(text: str, masked: str) -> None:
    """What every message goes through on its way out (redact.RedactingStream)."""
    assert redact_text(f"index '{text}': no") == f"index '{masked}': no"


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://alice:Tok@Secret9@pypi.example.com:99999/simple", "https://****@pypi.example.com:99999/simple"),
        ("https://alice:Tok/en+Secret9@pypi.example.com/simple", "https://****@pypi.example.com/simple"),
        ("https://a:b@c@Host.example/simple", "https://Host.example/simple"),
        ("http://u:p@[::1]:8080/simple", "http://[::1]:8080/simple"),
        ("https://host.example/simple/@scope/", "https://host.example/simple/@scope/"),
    ],
)
def test_an_index_url_loses_its_userinfo_and_never_raises(url: str, shown: str) -> None:
    assert redact_url(url) == shown


@pytest.mark.parametrize(
    ("url", "user"),
    [
        ("https://gitlab.example.org/api/v4/projects/12/packages/pypi/files/ab/x-1-py3-none-any.whl", "twelve"),
        ("https://gitlab.example.org/api/v4/projects/1/packages/pypi/files/cd/x-1-py3-none-any.whl", "one"),
        ("https://gitlab.example.org/other/x-1-py3-none-any.whl", "one"),  # no index shares more: the first
        ("https://gitlab.example.org:8443/api/v4/projects/1/packages/pypi/files/x.whl", None),  # another origin
    ],
)
def test_a_file_takes_the_credentials_of_the_index_whose_path_it_shares_most_of(url: str, user: str | None) -> None:
    import httpx

    from tripin.index.auth import given_for
    from tripin.index.http import Fetcher

    fetcher = Fetcher()
    fetcher.add_credentials("https://one:pw1@gitlab.example.org/api/v4/projects/1/packages/pypi/simple")
    fetcher.add_credentials("https://twelve:pw12@gitlab.example.org/api/v4/projects/12/packages/pypi/simple/")
    given = given_for(fetcher.credentials, httpx.URL(url))
    assert (given[0] if given else None) == user

"""Credentials from URL userinfo, ~/.netrc and keyring (a real file backend), against an index
that demands them; and never in the lock, the constraints file, the cache or a message."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import tripin
from indexserver import IndexServer

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

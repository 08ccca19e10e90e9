"""Index credentials, looked up where pip and uv look: the URL's userinfo, ~/.netrc (or $NETRC),
then the `keyring` package when it is installed. Credentials only ever travel in the
Authorization header: never in a URL tripin prints, caches or writes."""

from __future__ import annotations

import base64
import netrc
import os
import threading
from collections.abc import Generator
from pathlib import Path
from urllib.parse import unquote

import httpx

__all__ = ["IndexAuth"]


def _basic(username: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


class IndexAuth(httpx.Auth):
    def __init__(self) -> None:
        self._found: dict[str, tuple[str, str] | None] = {}
        self._lock = threading.Lock()

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        if "Authorization" in request.headers:
            yield request
            return
        url = request.url
        user, password = unquote(url.username), unquote(url.password)
        if user and password:
            request.headers["Authorization"] = _basic(user, password)
            yield request
            return
        origin = f"{url.scheme}://{url.host}" + (f":{url.port}" if url.port else "")
        # a user without a password asks netrc, then keyring, for that user's password; with no
        # user at all, keyring is asked only once the index answers 401, as pip does: loading
        # it and asking a backend cost half a second a host, on every index
        found = self._lookup(url.host, origin, user or None, keyring=bool(user))
        if found is not None:
            request.headers["Authorization"] = _basic(*found)
        response = yield request
        if response.status_code == 401 and found is None and not user:
            found = self._lookup(url.host, origin, None, keyring=True)
            if found is not None:
                request.headers["Authorization"] = _basic(*found)
                yield request

    def _lookup(self, host: str, origin: str, user: str | None, *, keyring: bool) -> tuple[str, str] | None:
        with self._lock:
            key = f"{user or ''}@{host}{'+keyring' if keyring else ''}"
            if key not in self._found:
                self._found[key] = _from_netrc(host, user) or (_from_keyring(origin, host, user) if keyring else None)
            return self._found[key]


def _from_netrc(host: str, user: str | None) -> tuple[str, str] | None:
    path = Path(os.environ.get("NETRC") or Path.home() / ".netrc")
    if not path.is_file():
        return None
    try:
        entry = netrc.netrc(str(path)).authenticators(host)
    except (netrc.NetrcParseError, OSError):
        return None  # as pip: a broken netrc is no credential, not a crash
    if entry is None:
        return None
    login, _, password = entry
    if not login or (user is not None and login != user):
        return None
    return login, password or ""


def _from_keyring(origin: str, host: str, user: str | None) -> tuple[str, str] | None:
    """As pip: by the index's origin, then its host; most backends need the user name, which
    comes from the URL (`https://alice@index.example.org/simple`)."""
    try:
        import keyring
    except ImportError:
        return None
    for service in (origin, host):
        try:
            if user is not None:
                password = keyring.get_password(service, user)
                if password is not None:
                    return user, password
            else:
                credential = keyring.get_credential(service, None)
                if credential is not None and credential.username:
                    return credential.username, credential.password or ""
        except Exception:  # any backend failure means: no credential from keyring
            return None
    return None

"""Index credentials, looked up where pip and uv look: the URL's userinfo, ~/.netrc (or $NETRC),
then the `keyring` package when it is installed. Credentials only ever travel in the
Authorization header: never in a URL tripin prints, caches or writes."""

from __future__ import annotations

import base64
import netrc
import os
import posixpath
import threading
from collections.abc import Generator, Mapping
from pathlib import Path
from urllib.parse import unquote

import httpx

from tripin.errors import IndexFetchError
from tripin.index.http import is_loopback, origin_key
from tripin.index.models import redact_url

__all__ = ["IndexAuth", "clear_text_error", "given_for"]


def _basic(username: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


Given = tuple[str, str | None]  # a user name, and its password when one was given (maybe empty)
Where = tuple[str, str]  # an index URL's origin (http.origin_key) and path, ending in "/"


def _userinfo(url: httpx.URL) -> Given | None:
    """The URL's own credentials, percent-decoded once; `TOKEN@` has no password, `TOKEN:@` an
    empty one."""
    raw = url.userinfo.decode("ascii", "replace")
    if not raw:
        return None
    user, colon, password = raw.partition(":")
    return unquote(user), unquote(password) if colon else None


def given_for(given: Mapping[Where, Given], url: httpx.URL) -> Given | None:
    """The credentials of the index on the URL's origin whose path shares the most folders with
    the URL's, as pip picks them: two indexes on one host (GitLab's per-project ones, say) each
    send their own with the files they link to, where the first index's went with both. Equal
    shares: the first index given."""
    origin = origin_key(url.scheme, url.host, url.port)
    best: Given | None = None
    depth = -1
    for (where, path), value in given.items():
        if where == origin and (shared := posixpath.commonprefix([url.path, path]).rfind("/")) > depth:
            best, depth = value, shared
    return best


def clear_text_error(where: str) -> IndexFetchError:
    return IndexFetchError(
        f"{where}: refusing to send credentials over plain http to a host other than this machine "
        "(anyone on the network could read them)",
        hint="use the index's https:// URL, or reach it through a tunnel on localhost",
    )


class IndexAuth(httpx.Auth):
    """`given`: credentials from index URLs by origin and path (`given_for`), for the files an
    index links to on its own host, whose URLs carry none."""

    def __init__(self, given: Mapping[Where, Given] | None = None) -> None:
        self._given = given if given is not None else {}
        self._found: dict[str, tuple[str, str] | None] = {}
        self._lock = threading.Lock()

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        if "Authorization" in request.headers:
            yield request
            return
        url = request.url
        clear = url.scheme == "http" and not is_loopback(url.host)
        given = _userinfo(url) or given_for(self._given, url)
        if given is not None and clear:
            raise clear_text_error(redact_url(str(url)))
        found = self._find(url, given, keyring=given is not None)
        if found is not None and not clear:
            request.headers["Authorization"] = _basic(*found)
        response = yield request
        if response.status_code != 401 or given is not None or (found is not None and not clear):
            return  # let in, or refused what it was sent: nothing else to try
        # with no user at all, keyring is asked only once the index answers 401, as pip does:
        # loading it and asking a backend cost half a second a host, on every index
        found = found or self._find(url, None, keyring=True)
        if found is None:
            return
        if clear:  # credentials from ~/.netrc or keyring, asked for by a host on the network
            raise clear_text_error(redact_url(str(url)))
        request.headers["Authorization"] = _basic(*found)
        yield request

    def _find(self, url: httpx.URL, given: Given | None, *, keyring: bool) -> tuple[str, str] | None:
        """A user without a password asks netrc, then keyring, for that user's password; with
        none found, the user name goes alone, with an empty password (a token as the user
        name), as pip and uv send it."""
        if given is not None and given[1] is not None:
            return given[0], given[1]
        user = given[0] if given is not None else None
        origin = f"{url.scheme}://{url.host}" + (f":{url.port}" if url.port else "")
        found = self._lookup(url.host, origin, user or None, keyring=keyring)
        if found is None and user:
            return user, ""
        return found

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

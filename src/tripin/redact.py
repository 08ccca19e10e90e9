"""Credentials never leave tripin: one function masks the userinfo of every URL in text.

It is applied at the output boundary, to everything the command line prints and to every file
tripin generates (lock, constraints, build script), so that a URL with a password reaches no
output whichever path carried it: `-ihttp://user:pass@host` glued as one argument, a message
quoting an index URL, a header line. (Files tripin only edits for the user, `check --fix` on a
requirements file, keep what the user wrote.) Kept free of imports: `tripin check` starts fast.
"""

from __future__ import annotations

import re
from typing import Any, TextIO

__all__ = ["RedactingStream", "redact_one_url", "redact_text"]

_SCHEME = r"([A-Za-z][A-Za-z0-9+.-]*://)"
# userinfo up to the last `@` of the authority: `user:p@ss@host` is user `user`, password `p@ss`
_USERINFO = re.compile(_SCHEME + r"(?:[^\s/@'\"<>]*@)+")
# a URL whose authority is no host[:port] (`user:pa/ss@host`, a `/` or `#` in a password the user
# did not percent-encode): everything up to the last `@` of the URL is taken for userinfo
_MALFORMED = re.compile(_SCHEME + r"(?!\[)(?=[^\s/@'\"<>]*:[^\s/@'\"<>]*[^\s/@'\"<>\d:][^\s/@'\"<>]*[/?#])[^\s'\"<>]*@")


def redact_text(text: str) -> str:
    if "://" not in text or "@" not in text:
        return text
    return _USERINFO.sub(r"\1****@", _MALFORMED.sub(r"\1****@", text))


def redact_one_url(url: str) -> str:
    """One URL known to be a URL (an index URL as given), with everything from `//` to its last
    `@` masked: for a URL that does not parse, where any `@` may end a password."""
    head, sep, rest = url.partition("://")
    if not sep or "@" not in rest:
        return url
    return f"{head}://****@{rest.rpartition('@')[2]}"


class RedactingStream:
    """stdout or stderr with `redact_text` applied to each write; everything else delegates
    (isatty, fileno, encoding), so rich and logging see the stream they expect."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def write(self, text: str) -> int:
        return self.stream.write(redact_text(text))

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stream, name)

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

__all__ = ["RedactingStream", "redact_text"]

_USERINFO = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*://)[^\s/@'\"<>]+@")


def redact_text(text: str) -> str:
    return _USERINFO.sub(r"\1****@", text) if "://" in text else text


class RedactingStream:
    """stdout or stderr with `redact_text` applied to each write; everything else delegates
    (isatty, fileno, encoding), so rich and logging see the stream they expect."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def write(self, text: str) -> int:
        return self.stream.write(redact_text(text))

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stream, name)

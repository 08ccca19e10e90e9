"""One error hierarchy, so the command line can turn every user-facing failure into one line."""

from __future__ import annotations

from typing import NamedTuple

__all__ = [
    "EXIT_INDEX",
    "EXIT_NO_SOLUTION",
    "EXIT_OK",
    "EXIT_USAGE",
    "ConfigError",
    "IndexFetchError",
    "Location",
    "LockError",
    "ProjectNotFound",
    "ResolutionError",
    "RulesetError",
    "TargetError",
    "TripinError",
    "one_line",
    "quote",
    "toml_error",
]

EXIT_OK = 0
EXIT_NO_SOLUTION = 1
EXIT_USAGE = 2
EXIT_INDEX = 3  # the index could not be read: network, HTTP status or garbage

# Characters that would break a message into lines or drive the terminal: C0/C1 controls,
# DEL and the Unicode line and paragraph separators (str.splitlines splits on all of them).
_CONTROL = {c: f"\\x{c:02x}" for c in (*range(0x20), *range(0x7F, 0xA0))} | {0x2028: "\\u2028", 0x2029: "\\u2029"}
_MAX_MESSAGE = 2000  # a message that quotes a 100 MB line must not repeat it
_MAX_QUOTED = 200


def one_line(text: str, limit: int = _MAX_MESSAGE) -> str:
    """`text` as one printable line: control characters escaped, cut at `limit` characters.
    Applied to every TripinError, so a newline in a package name cannot forge a second line."""
    text = text[: limit + 1].translate(_CONTROL)
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def quote(value: object, limit: int = _MAX_QUOTED) -> str:
    """repr() of a value taken from input, for a message: escaped, and cut to `limit` characters
    so that an error about a huge line names it without repeating it."""
    text = value if isinstance(value, str) else str(value)
    if len(text) > limit:
        return repr(text[:limit]) + f"\u2026 ({len(text)} characters)"
    return repr(text)


class Location(NamedTuple):
    """A place in an input file, printed the way compilers do so editors can jump to it.
    (A NamedTuple, not a dataclass: every command imports this module, and `tripin check`
    must start fast.)"""

    path: str
    line: int | None = None

    def __str__(self) -> str:
        return self.path if self.line is None else f"{self.path}:{self.line}"


def toml_error(path: str, exc: ValueError, text: str = "") -> tuple[Location, str]:
    """Where a TOML parse error is: tomllib has `lineno` from Python 3.14 on; before that the
    line is only in the message, as "(at line N, column M)"."""
    import re

    line = getattr(exc, "lineno", None)
    message = str(getattr(exc, "msg", exc))
    match = re.search(r"\(at line (\d+), column \d+\)", str(exc))
    if line is None and match:
        line = int(match[1])
    if match:
        message = message.replace(match[0], "").strip()
    elif "(at end of document)" in message:
        line = line or (text.count("\n") + (0 if text.endswith("\n") else 1)) or None
        message = message.replace("(at end of document)", "").strip() + " at end of file"
    return Location(path, line), message


class TripinError(Exception):
    """Root of every error tripin reports to a user; the message is a single line."""

    exit_code = EXIT_USAGE

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(one_line(message))
        self.hint = None if hint is None else one_line(hint)


class TargetError(TripinError):
    """An unknown or malformed target name."""


class ConfigError(TripinError):
    """Bad command-line values or a malformed pyproject.toml."""


class RulesetError(TripinError):
    """A rules file that does not follow the schema; carries the file and line."""

    def __init__(self, where: Location, message: str, hint: str | None = None) -> None:
        super().__init__(f"{where}: {message}", hint)
        self.where = where


class IndexFetchError(TripinError):
    """An index that cannot be reached or answers with something that is not an index page."""

    exit_code = EXIT_INDEX


class ResolutionError(TripinError):
    """No set of versions satisfies the requirements and rules for some target."""

    exit_code = EXIT_NO_SOLUTION


class ProjectNotFound(ResolutionError):
    """No configured index has the project (HTTP 404 everywhere): the index answered, so this
    is a fact about the requirements (often a typo), not an index that could not be read."""


class LockError(TripinError):
    """A lock file that cannot be read, or an output that cannot be written."""

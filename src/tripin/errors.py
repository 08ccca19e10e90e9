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
    "toml_error",
]

EXIT_OK = 0
EXIT_NO_SOLUTION = 1
EXIT_USAGE = 2
EXIT_INDEX = 3  # the index could not be read: network, HTTP status or garbage


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
        super().__init__(message)
        self.hint = hint


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

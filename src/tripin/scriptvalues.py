"""What a value may be before it is written into a generated shell script.

A lock (and a project's rules overlay) may come from a hostile pull request, and the build
script runs on the machine that reads it. Quoting alone is not enough: a newline ends a
comment, a value starting with `-` becomes an option of pip, and an environment variable such
as `PIP_INDEX_URL` or `LD_PRELOAD` redirects the build. So every value is first checked for
what it is (a commit is 40 hex, a version is PEP 440, a requirement is PEP 508) and only then
quoted; comments hold checked values only. The rules loader applies the same checks to recipes,
so a bad overlay fails at load time with its file and line.
"""

from __future__ import annotations

import re

__all__ = [
    "ENV_NAMES",
    "UnsafeValue",
    "checked_commit",
    "checked_env_name",
    "checked_env_value",
    "checked_index_url",
    "checked_local_url",
    "checked_note",
    "checked_package",
    "checked_requirement",
    "checked_status",
    "checked_subdirectory",
    "checked_target",
    "checked_url",
    "checked_version",
    "shown",
]

# The environment a Triton build reads (setup.py at the pinned commits): the version suffix,
# and the knobs users set to make an LLVM build fit their machine. Nothing else may be set.
ENV_NAMES = frozenset(
    {
        "TRITON_WHEEL_VERSION_SUFFIX",
        "TRITON_BUILD_WITH_CLANG_LLD",
        "TRITON_BUILD_WITH_CCACHE",
        "TRITON_BUILD_PROTON",
        "TRITON_PARALLEL_LINK_JOBS",
        "MAX_JOBS",
    }
)

_HEX40 = re.compile(r"[0-9a-f]{40}")
_URL = re.compile(r"https://[A-Za-z0-9.-]+(:\d{1,5})?(/[A-Za-z0-9._~%/+-]*)?")
_INDEX_URL = re.compile(r"https?://[A-Za-z0-9.-]+(:\d{1,5})?(/[A-Za-z0-9._~%/+-]*)?")
_FILE_URL = re.compile(r"file:///[A-Za-z0-9._/-]+")
_NAME = re.compile(r"[a-z0-9]+([._-][a-z0-9]+)*")
_SUBDIR = re.compile(r"[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*")
_TARGET = re.compile(r"[a-z0-9]+(-[a-z0-9_.]+){2,4}")
_STATUS = re.compile(r"[a-z]+(-[a-z]+)*")
_ENV_VALUE = re.compile(r"[A-Za-z0-9+._{}-]*")
# Free text for comments (system prerequisites): printable ASCII on one line, no shell
# expansion characters, so a comment shown by `cat` or an editor is exactly what it says.
_NOTE = re.compile(r"[A-Za-z0-9 .,:;()+=<>/'_@~-]*")
_MAX = 300


class UnsafeValue(ValueError):
    """A value that is not what its place in a script requires; `what` names the place."""

    def __init__(self, what: str, value: object) -> None:
        super().__init__(f"refusing an unsafe {what}: {shown(value)}")
        self.what = what


def shown(value: object, limit: int = 80) -> str:
    """A value as one short line for a message: repr escapes newlines and control characters."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 5] + "...'"


def _text(value: object, what: str, pattern: re.Pattern[str]) -> str:
    if not isinstance(value, str) or len(value) > _MAX or not pattern.fullmatch(value):
        raise UnsafeValue(what, value)
    return value


def checked_commit(value: object) -> str:
    return _text(value, "commit id (40 lowercase hex digits)", _HEX40)


def checked_url(value: object) -> str:
    return _text(value, "repository URL (https, of letters, digits and ._~%/+- only)", _URL)


def checked_package(value: object) -> str:
    return _text(value, "package name", _NAME)


def checked_target(value: object) -> str:
    return _text(value, "target name", _TARGET)


def checked_status(value: object) -> str:
    return _text(value, "rule status", _STATUS)


def checked_note(value: object) -> str:
    return _text(value, "prerequisite text", _NOTE)


def checked_subdirectory(value: object) -> str:
    if value == ".":
        return "."
    text = _text(value, "subdirectory", _SUBDIR)
    if ".." in text.split("/"):
        raise UnsafeValue("subdirectory", value)
    return text


def checked_version(value: object) -> str:
    from packaging.version import InvalidVersion, Version

    text = _text(value, "version", re.compile(r"[0-9][0-9A-Za-z.+!_-]*"))
    try:
        Version(text)
    except InvalidVersion:
        raise UnsafeValue("version (PEP 440)", value) from None
    return text


def checked_file_name(value: object, what: str) -> str:
    """A file name the printed install line names (`-c constraints.txt`, `--lock PATH`): never
    empty, never an option, nothing unprintable."""
    if not isinstance(value, str) or not value or len(value) > _MAX or value.startswith("-") or not value.isprintable():
        raise UnsafeValue(what, value)
    return value


def checked_requirement(value: object) -> str:
    """A PEP 508 requirement by name: never an option (`--index-url=...`), never a URL."""
    from packaging.requirements import InvalidRequirement, Requirement

    if not isinstance(value, str) or len(value) > _MAX or value.startswith("-") or not value.isprintable():
        raise UnsafeValue("requirement (PEP 508)", value)
    try:
        requirement = Requirement(value)
    except InvalidRequirement:
        raise UnsafeValue("requirement (PEP 508)", value) from None
    if requirement.url is not None:
        raise UnsafeValue("requirement (a direct URL reference)", value)
    return value


def checked_env_name(value: object) -> str:
    if not isinstance(value, str) or value not in ENV_NAMES:
        raise UnsafeValue(f"environment variable (allowed: {', '.join(sorted(ENV_NAMES))})", value)
    return value


def checked_env_value(value: object) -> str:
    return _text(value, "environment value", _ENV_VALUE)


def checked_index_url(value: object) -> str:
    """An index URL the printed install line names: http(s), no credentials, no white space."""
    return _text(value, "index URL", _INDEX_URL)


def checked_local_url(value: object) -> str:
    """A file:// repository: admitted only where the project's own overlay names it."""
    text = _text(value, "local repository URL", _FILE_URL)
    if ".." in text.split("/"):
        raise UnsafeValue("local repository URL", value)
    return text

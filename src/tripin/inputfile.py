"""Reading the files a user names, safely: only regular files, only up to a size, TOML of any depth.

A path may name a FIFO (`check <(...)`), a device (`-r /dev/zero`) or a multi-gigabyte file;
reading it plainly would hang or eat memory. Failures are raised as OSError with a readable
`strerror`, so every caller's existing "cannot read: {strerror}" handling reports them.
"""

from __future__ import annotations

import errno
import os
import re
import stat
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tripin.errors import TripinError

__all__ = [
    "MAX_INPUT_BYTES",
    "MAX_NUMBER_DIGITS",
    "TomlRefused",
    "huge_number",
    "loads_toml",
    "read_input",
    "read_input_text",
    "read_toml_file",
]

# Far above any real lock or requirements file (a 3,000-package pylock.toml with hashes for
# six platforms is about 5 MB); parsed, the worst 16 MiB of TOML (a million tiny tables) stays
# under 400 MB of memory.
MAX_INPUT_BYTES = 16 * 1024 * 1024

# Python's int() refuses more than 4,300 digits with a ValueError (not packaging's InvalidVersion),
# raised wherever a version in a specifier or marker is first compared, far from the input line.
# No version anyone publishes has a number of more than a few digits.
MAX_NUMBER_DIGITS = 100
_HUGE = re.compile(rf"\d{{{MAX_NUMBER_DIGITS + 1},}}")

_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def read_input(path: Path | str, *, limit: int = MAX_INPUT_BYTES) -> bytes:
    """The bytes of a regular file of at most `limit` bytes. O_NONBLOCK: opening a FIFO with no
    writer must not block before fstat can tell it is not a regular file."""
    if "\0" in str(path):  # os.open raises ValueError for it, which no caller expects
        raise OSError(errno.EINVAL, "the file name holds a NUL character", str(path))
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            kind = next((name for test, name in _KINDS if test(mode)), "a special file")
            raise OSError(errno.EINVAL, f"not a regular file ({kind})", str(path))
        chunks: list[bytes] = []
        size = 0
        while chunk := os.read(fd, min(1 << 20, limit + 1 - size)):  # the file may grow while read
            chunks.append(chunk)
            size += len(chunk)
            if size > limit:
                raise OSError(
                    errno.EFBIG, f"larger than {limit // (1024 * 1024)} MiB, the most tripin reads", str(path)
                )
        return b"".join(chunks)
    finally:
        os.close(fd)


def read_input_text(path: Path | str, *, limit: int = MAX_INPUT_BYTES) -> str:
    """read_input decoded as UTF-8 (UnicodeDecodeError as str.decode raises it)."""
    return read_input(path, limit=limit).decode("utf-8")


def huge_number(text: str) -> str | None:
    """The first run of more than MAX_NUMBER_DIGITS digits in a requirement, version, specifier
    or marker, shortened for a message; None when there is none."""
    match = _HUGE.search(text)
    return None if match is None else f"{match[0][:20]}... ({len(match[0])} digits)"


class TomlRefused(tomllib.TOMLDecodeError):
    """TOML that tomllib cannot turn into data although it may be well-formed: nested deeper
    than its recursion allows, or an integer int() refuses. A TOMLDecodeError, so callers
    report it as they report any invalid TOML; built without the 3.14 (msg, doc, pos)
    signature because no position is known."""

    def __init__(self, message: str) -> None:
        ValueError.__init__(self, message)
        self.msg = message


def loads_toml(text: str) -> dict[str, Any]:
    """tomllib.loads, with a TOMLDecodeError where tomllib raises RecursionError (arrays and
    inline tables are parsed recursively) or a bare ValueError (an integer over 4,300 digits)."""
    try:
        return tomllib.loads(text)
    except RecursionError:
        raise TomlRefused("arrays or tables nested too deeply") from None
    except tomllib.TOMLDecodeError:
        raise
    except ValueError:
        raise TomlRefused("an integer over 4,300 digits, more than Python reads") from None


def read_toml_file(path: Path, error: type[TripinError]) -> tuple[str, dict[str, Any]]:
    """A user's TOML file and its text (for error lines), any failure one `error` line naming
    the path, and the line where the TOML is invalid."""
    from tripin.errors import toml_error

    text = ""
    try:
        text = read_input_text(path)
        return text, loads_toml(text)
    except (OSError, UnicodeDecodeError) as exc:
        raise error(f"{path}: cannot read: {getattr(exc, 'strerror', None) or 'not UTF-8'}") from None
    except tomllib.TOMLDecodeError as exc:
        where, message = toml_error(str(path), exc, text)
        raise error(f"{where}: invalid TOML: {message}") from None

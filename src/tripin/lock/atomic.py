"""Write outputs so that readers see the old content or the new, never a half-written file.

Several outputs (pylock.toml and its constraints files) are written as one: every path is
checked before anything is written, each file is staged in a temp file beside its real target,
and only then are the temp files renamed, constraints first and the lock last (the lock is the
record: once it is new, so is everything it describes). A file whose content would not change
is not touched, so its mtime stays. A symlink is written through (the rename happens beside the
file it points to, and the link stays a link); anything that exists and is not a regular file
(a device such as /dev/null, a FIFO, a directory) is refused. An existing file keeps its mode;
a new one gets the mode the umask gives, as an editor would.
"""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

from tripin.errors import ConfigError, LockError

__all__ = ["check_writable", "write_atomic", "write_files"]


def check_writable(paths: Sequence[tuple[Path, str]], inputs: Sequence[Path] = ()) -> None:
    """Fail now, before minutes of work, on an output tripin would refuse to write later, and on
    one that would overwrite an input or another output: `constraints.txt` is the default
    output and the usual name of a hand-written `-c` file, and writing over it loses the user's
    pins without a word. `paths` pairs each output with the option that names it."""
    seen: dict[object, tuple[Path, str]] = {}
    for path, option in paths:
        key = _identity(_destination(path))
        if key in seen:
            first, named = seen[key]
            raise ConfigError(f"{path} ({option}) and {first} ({named}) are one file; name another with {option} PATH")
        seen[key] = (path, option)
    for read in inputs:
        if (hit := seen.get(_identity(read))) is not None:
            raise ConfigError(
                f"{hit[0]}: is also an input of this lock ({read}); refusing to overwrite it: "
                f"name another output with {hit[1]} PATH"
            )


def _identity(path: Path) -> object:
    """The file a path names: its inode where it exists (hard links, symlinks, `./x` and `x`
    alike), else its resolved path."""
    try:
        info = path.stat()
    except OSError:
        return os.path.realpath(path)
    return (info.st_dev, info.st_ino)


def write_atomic(path: Path, text: str | bytes, *, executable: bool = False) -> bool:
    """One output (text is written as UTF-8; bytes as they are); True when it changed."""
    return bool(write_files({path: text}, executable=executable))


def write_files(files: Mapping[Path, str | bytes], *, executable: bool = False) -> list[Path]:
    """All outputs or none of them (short of a kill between renames); returns the changed ones,
    in the order given (put the lock last)."""
    staged: list[tuple[Path, Path, str]] = []  # (path as given, real destination, temp file)
    try:
        plans = [(path, _destination(path), text) for path, text in files.items()]
        for path, real, text in plans:
            data = text.encode("utf-8") if isinstance(text, str) else text
            if _same(real, data):
                continue
            staged.append((path, real, _stage(path, real, data, executable)))
        for path, real, tmp in staged:
            try:
                Path(tmp).replace(real)
            except OSError as exc:
                raise LockError(f"{path}: cannot write: {exc.strerror}") from None
    finally:
        for _, _, tmp in staged:
            Path(tmp).unlink(missing_ok=True)
    return [path for path, _, _ in staged]


def _destination(path: Path) -> Path:
    """Where the bytes go: through a symlink to its target; never onto a non-regular file."""
    real = Path(os.path.realpath(path)) if path.is_symlink() else path
    try:
        info = real.stat()
    except FileNotFoundError:
        parent = real.parent if str(real.parent) else Path()
        if not parent.is_dir():
            raise LockError(f"{path}: cannot write: no directory {parent}") from None
        return real
    except OSError as exc:
        raise LockError(f"{path}: cannot write: {exc.strerror}") from None
    if not stat.S_ISREG(info.st_mode):
        kind = "a directory" if stat.S_ISDIR(info.st_mode) else "not a regular file"
        raise LockError(f"{path}: is {kind}; refusing to replace it")
    return real


def _same(real: Path, data: bytes) -> bool:
    try:
        return real.stat().st_size == len(data) and real.read_bytes() == data
    except OSError:
        return False


def _stage(path: Path, real: Path, data: bytes, executable: bool) -> str:
    directory = real.parent if str(real.parent) else Path()
    try:
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{real.name}.", suffix=".tmp")
    except OSError as exc:
        raise LockError(f"{path}: cannot write: {exc.strerror}") from None
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        Path(tmp).chmod(_mode(real, executable))
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise LockError(f"{path}: cannot write: {exc.strerror}") from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return tmp


def _mode(real: Path, executable: bool) -> int:
    try:
        mode = stat.S_IMODE(real.stat().st_mode)
    except OSError:
        umask = os.umask(0o022)  # read it (the only way), then put it back
        os.umask(umask)
        mode = 0o666 & ~umask
    if executable:
        mode |= (mode & 0o444) >> 2  # +x wherever +r, as chmod +x does under the umask
    return mode

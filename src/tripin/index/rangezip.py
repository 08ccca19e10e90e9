"""Read one member of a remote zip (a wheel's METADATA) with HTTP range requests.

A torch wheel is close to a gigabyte while its METADATA is a few kilobytes, so where an index
serves no PEP 658 metadata file we read only the zip's tail (end of central directory), its
central directory and the one member, as zipfile asks for them.
"""

from __future__ import annotations

import bisect
import io
import zipfile
from collections.abc import Callable

from tripin.errors import IndexFetchError

__all__ = ["RangeFetch", "read_members", "read_wheel_metadata"]

# fetch(start, end_inclusive) -> (bytes, total size of the remote file)
RangeFetch = Callable[[int | None, int], tuple[bytes, int]]

_TAIL = 64 * 1024  # EOCD plus, for most wheels, the whole central directory
_MIN_CHUNK = 16 * 1024


class _RemoteFile(io.RawIOBase):
    """A seekable file over range requests that keeps every chunk it has fetched."""

    def __init__(self, fetch: RangeFetch) -> None:
        super().__init__()
        self._fetch = fetch
        data, self._size = fetch(None, _TAIL)  # suffix range: learn the size on the way
        self._starts: list[int] = [self._size - len(data)]
        self._chunks: list[bytes] = [data]
        self._pos = 0
        self.requests = 1

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def _cached(self, start: int, length: int) -> bytes | None:
        i = bisect.bisect_right(self._starts, start) - 1
        if i >= 0:
            chunk_start, chunk = self._starts[i], self._chunks[i]
            if start + length <= chunk_start + len(chunk):
                return chunk[start - chunk_start : start - chunk_start + length]
        return None

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        length = min(len(buffer), self._size - self._pos)
        if length <= 0:
            return 0
        data = self._cached(self._pos, length)
        if data is None:
            end = min(self._size, self._pos + max(length, _MIN_CHUNK)) - 1
            fetched, _ = self._fetch(self._pos, end)
            self.requests += 1
            i = bisect.bisect_right(self._starts, self._pos)
            self._starts.insert(i, self._pos)
            self._chunks.insert(i, fetched)
            data = fetched[:length]
            if len(data) < length:
                raise IndexFetchError("range response shorter than requested")
        buffer[: len(data)] = data
        self._pos += len(data)
        return len(data)


def read_members(fetch: RangeFetch, where: str, select: Callable[[list[str]], list[str]]) -> dict[str, bytes]:
    """The members `select` picks from the archive's names, each read with its own ranges."""
    remote = _RemoteFile(fetch)
    try:
        with zipfile.ZipFile(io.BufferedReader(remote, buffer_size=_MIN_CHUNK)) as archive:
            return {name: archive.read(name) for name in select(archive.namelist())}
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, NotImplementedError, ValueError) as exc:
        raise IndexFetchError(f"{where}: corrupt wheel zip directory ({exc})") from None


def read_wheel_metadata(fetch: RangeFetch, where: str) -> bytes:
    """The bytes of `<name>.dist-info/METADATA` at the top level of the wheel."""

    def metadata(names: list[str]) -> list[str]:
        found = [n for n in names if n.count("/") == 1 and n.endswith(".dist-info/METADATA")]
        if len(found) != 1:
            raise IndexFetchError(f"{where}: wheel has {len(found)} top-level METADATA files")
        return found

    return next(iter(read_members(fetch, where, metadata).values()))

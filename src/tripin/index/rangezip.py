"""Read one member of a remote zip (a wheel's METADATA) with HTTP range requests.

A torch wheel is close to a gigabyte while its METADATA is a few kilobytes, so where an index
serves no PEP 658 metadata file we read only the zip's tail (end of central directory), its
central directory and the one member, as zipfile asks for them.
"""

from __future__ import annotations

import bisect
import io
import struct
import zipfile
import zlib
from collections.abc import Callable

from tripin.errors import IndexFetchError

__all__ = ["RangeFetch", "read_members", "read_wheel_metadata"]

# fetch(start, end_inclusive) -> (bytes, total size of the remote file)
RangeFetch = Callable[[int | None, int], tuple[bytes, int]]

_TAIL = 64 * 1024  # EOCD plus, for most wheels, the whole central directory
_MIN_CHUNK = 16 * 1024
_SLACK = 1024  # room for a member's local name and extra field, read with its header


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

    @property
    def size(self) -> int:
        return self._size

    def read_at(self, start: int, length: int) -> bytes:
        """`length` bytes from `start` (fewer at the end of the file), from the chunks already
        fetched when they hold them, else in one request."""
        length = max(0, min(length, self._size - start))
        data = self._cached(start, length)
        if data is None:
            self.seek(start)
            buffer = bytearray(length)
            got = self.readinto(memoryview(buffer))
            data = bytes(buffer[:got])
        return data

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
    return _read_members(_RemoteFile(fetch), where, select)


def _read_members(remote: _RemoteFile, where: str, select: Callable[[list[str]], list[str]]) -> dict[str, bytes]:
    try:
        with zipfile.ZipFile(io.BufferedReader(remote, buffer_size=_MIN_CHUNK)) as archive:
            return {name: archive.read(name) for name in select(archive.namelist())}
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, NotImplementedError, ValueError) as exc:
        raise IndexFetchError(f"{where}: corrupt wheel zip directory ({exc})") from None


def read_wheel_metadata(fetch: RangeFetch, where: str) -> bytes:
    """The bytes of `<name>.dist-info/METADATA` at the top level of the wheel."""

    def metadata(names: list[str]) -> list[str]:
        found = [n for n in names if _is_metadata(n)]
        if len(found) != 1:
            raise IndexFetchError(f"{where}: wheel has {len(found)} top-level METADATA files")
        return found

    remote = _RemoteFile(fetch)
    try:
        fast = _scan_for_metadata(remote, where)
    except (struct.error, zlib.error) as exc:
        raise IndexFetchError(f"{where}: corrupt wheel zip directory ({exc})") from None
    if fast is not None:
        return fast
    return next(iter(_read_members(remote, where, metadata).values()))


def _is_metadata(name: str) -> bool:
    return name.count("/") == 1 and name.endswith(".dist-info/METADATA")


_EOCD = struct.Struct("<4s4H2LH")  # end of central directory record
_CDH = struct.Struct("<4s6H3L5H2L")  # central directory file header
_LFH = struct.Struct("<4s5H3L2H")  # local file header


_SUFFIX = b".dist-info/METADATA"


def _find_entries(directory: bytes) -> list[tuple[int, int, int, int, int]] | None:
    """(offset, compressed size, size, crc, method) of each top-level METADATA entry. The name
    is searched for in C (bytes.find) and its header found by walking back to the signature
    and checking the lengths line up; None when anything is unusual."""
    found: list[tuple[int, int, int, int, int]] = []
    at = directory.find(_SUFFIX)
    while at >= 0:
        end = at + len(_SUFFIX)
        pos = directory.rfind(b"PK\x01\x02", 0, at)
        if pos < 0 or pos + _CDH.size > at:
            return None
        fields = _CDH.unpack_from(directory, pos)
        if pos + _CDH.size + fields[10] != end:
            return None  # the match is not the end of the name that header gives
        name = directory[pos + _CDH.size : end]
        if name.count(b"/") == 1:
            flags, method, crc, csize, usize, offset = fields[3], fields[4], fields[7], fields[8], fields[9], fields[16]
            if flags & 0x1 or method not in (0, 8) or 0xFFFFFFFF in (csize, usize, offset):
                return None  # encrypted, another compression, or zip64 sizes
            found.append((offset, csize, usize, crc, method))
        at = directory.find(_SUFFIX, end)
    return found


def _one_entry(part: bytes) -> list[tuple[int, int, int, int, int]] | None:
    """METADATA's entry from a part of a directory (cut anywhere), when it holds exactly one."""
    try:
        found = _find_entries(part)
    except struct.error:  # a record cut by the part's end
        return None
    return found if found is not None and len(found) == 1 else None


def _scan_for_metadata(remote: _RemoteFile, where: str) -> bytes | None:
    """METADATA from a plain zip (no zip64, no prefix, stored or deflated), reading only its
    entry of the central directory: zipfile builds an object per member, and a torch wheel's
    directory has tens of thousands. None hands anything unusual over to zipfile."""
    size = remote.size
    tail_start = max(0, size - _TAIL)
    tail = remote.read_at(tail_start, size - tail_start)
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or len(tail) - at < _EOCD.size:
        return None
    _sig, disk, _cd_disk, _n_here, _count, cd_size, cd_offset, _comment = _EOCD.unpack_from(tail, at)
    if disk != 0 or cd_offset == 0xFFFFFFFF or cd_size == 0xFFFFFFFF:
        return None  # zip64 or multi-disk: zipfile knows those
    if tail_start + at != cd_offset + cd_size or (at >= 20 and tail[at - 20 : at - 16] == b"PK\x06\x07"):
        return None  # data before the archive, or a zip64 locator
    found = None
    if cd_offset < tail_start:
        # a big directory (torch's is 1.4 MB): the .dist-info entries are written together, last
        # by most tools (so the tail holds METADATA's entry) or first (torch's Linux wheels: the
        # directory's first 16 KB do), and the rest of the directory is not needed
        found = _one_entry(tail[:at])
        if found is None:
            found = _one_entry(remote.read_at(cd_offset, min(cd_size, _MIN_CHUNK)))
    if found is None:
        # the .dist-info files are written last, just before the directory: reading a little
        # more in the same request usually brings METADATA along and saves a round trip
        start = cd_offset if cd_offset >= tail_start else max(0, cd_offset - _TAIL)
        directory = remote.read_at(start, cd_offset + cd_size - start)[cd_offset - start :]
        found = _find_entries(directory)
        if found is None:
            return None
    if len(found) != 1:
        raise IndexFetchError(f"{where}: wheel has {len(found)} top-level METADATA files")
    offset, csize, usize, crc, method = found[0]
    header = remote.read_at(offset, _LFH.size + _SLACK + csize)[: _LFH.size]  # one request for all of it
    fields = _LFH.unpack_from(header)
    if fields[0] != b"PK\x03\x04":
        raise IndexFetchError(f"{where}: corrupt wheel zip directory (bad local header)")
    raw = remote.read_at(offset + _LFH.size + fields[9] + fields[10], csize)
    data = zlib.decompress(raw, -15) if method == 8 else raw
    if len(data) != usize or zlib.crc32(data) != crc:
        raise IndexFetchError(f"{where}: corrupt wheel zip directory (METADATA fails its CRC)")
    return data

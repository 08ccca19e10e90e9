"""A disk cache of HTTP bodies keyed by URL: atomic writes, checksummed reads."""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Cache", "Entry", "default_cache_dir", "expires", "stored_header"]

from tripin.memo import INDEX_CACHE_FORMAT as _FORMAT


def default_cache_dir() -> Path:
    from tripin.memo import cache_root

    return cache_root()


@dataclass(frozen=True, slots=True, kw_only=True)
class Entry:
    """A cached response with the validators needed to revalidate it later."""

    body: bytes
    content_type: str = ""
    etag: str | None = None
    last_modified: str | None = None
    stored_at: float = 0.0
    max_age: float = 0.0  # seconds the index said the page stays fresh (Cache-Control)
    sha256: str = ""  # of the body, as the entry's header gives it (set by Cache.get)

    def fresh(self, now: float | None = None) -> bool:
        return (now or time.time()) < self.stored_at + self.max_age


def _entry_path(root: Path, bucket: str, key: str) -> Path:
    """One folder per kind, no fan-out: a folder made cost about what a file does (0.4 ms of
    kernel time), and a cold lock's 170 entries went into 120 two-hex folders."""
    return root / f"v{_FORMAT}" / bucket / hashlib.sha256(key.encode()).hexdigest()


def stored_header(root: Path, bucket: str, key: str) -> tuple[Path, bytes, dict[str, object]] | None:
    """An entry's path, header line and header, read from that line alone (None when there is
    no such entry): for relock.py, which asks whether the pages a lock was resolved from are
    still the ones a run would read. A body that no longer matches its header is found, and
    dropped, by the run that reads it."""
    path = _entry_path(root, bucket, key)
    try:
        with path.open("rb") as handle:
            line = handle.readline(65536)
        meta = json.loads(line)
    except (OSError, ValueError):
        return None
    return (path, line, meta) if isinstance(meta, dict) and meta.get("key") == key else None


def expires(meta: dict[str, object]) -> float:
    """When an entry's page goes stale, from its header."""
    try:
        return float(meta.get("stored_at", 0.0)) + float(meta.get("max_age", 0.0))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return 0.0


class Cache:
    """Entries are one file each: a JSON header line, then the body. A reader checks the body
    against the header's sha256, so a torn or corrupted file is a miss, never bad data; writers
    rename a finished temp file into place, so concurrent runs never see half an entry."""

    def __init__(self, root: Path | None) -> None:
        self.root = root
        self._made: set[Path] = set()  # bucket folders made (or found) by this process

    def _path(self, bucket: str, key: str) -> Path:
        assert self.root is not None
        return _entry_path(self.root, bucket, key)

    def get(self, bucket: str, key: str) -> Entry | None:
        if self.root is None:
            return None
        path = self._path(bucket, key)
        try:
            raw = path.read_bytes()
        except OSError:
            return None
        head, sep, body = raw.partition(b"\n")
        try:
            meta = json.loads(head)
            if not sep or meta.get("key") != key or hashlib.sha256(body).hexdigest() != meta["sha256"]:
                raise ValueError("corrupt")
            return Entry(
                body=body,
                content_type=str(meta.get("content_type", "")),
                etag=meta.get("etag"),
                last_modified=meta.get("last_modified"),
                stored_at=float(meta.get("stored_at", 0.0)),
                max_age=float(meta.get("max_age", 0.0)),
                sha256=str(meta["sha256"]),
            )
        except (ValueError, KeyError, TypeError):
            path.unlink(missing_ok=True)  # never keep a bad entry around
            return None

    def put(self, bucket: str, key: str, entry: Entry) -> str | None:
        """The body's sha256, as the entry's header gives it; None with no cache directory."""
        if self.root is None:
            return None
        path = self._path(bucket, key)
        digest = hashlib.sha256(entry.body).hexdigest()
        header = {
            "key": key,
            "sha256": digest,
            "content_type": entry.content_type,
            "etag": entry.etag,
            "last_modified": entry.last_modified,
            "stored_at": entry.stored_at or time.time(),
            "max_age": entry.max_age,
        }
        # fields at their defaults are left out (get() reads them back as such): most entries
        # are small metadata, where the header was a third of the bytes
        header = {k: v for k, v in header.items() if v or k in ("key", "sha256", "stored_at")}
        tmp: str | None = None
        import tempfile  # here: relock.py reads headers through this module before a lock's imports

        try:
            if path.parent not in self._made:
                path.parent.mkdir(parents=True, exist_ok=True)
                self._made.add(path.parent)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
            with os.fdopen(fd, "wb") as handle:
                handle.write(json.dumps(header).encode() + b"\n" + entry.body)
            Path(tmp).replace(path)
        except OSError:
            # a cache that cannot be written only costs speed; a full disk must not also
            # collect a temp file per entry
            if tmp is not None:
                Path(tmp).unlink(missing_ok=True)
        return digest

    def project_names(self, limit: int = 20000) -> list[str]:
        """Project names of the cached pages (their keys end in /NAME/), read from each entry's
        header line only; for suggestions after a typo, so it is cheap and never fails."""
        if self.root is None:
            return []
        names: list[str] = []
        for path in itertools.islice((self.root / f"v{_FORMAT}" / "projects").glob("*"), limit):
            try:
                with path.open("rb") as handle:
                    key = json.loads(handle.readline(4096)).get("key", "")
            except (OSError, ValueError, AttributeError):
                continue
            names.append(str(key).rstrip("/").rpartition("/")[2])
        return names

    def touch(self, bucket: str, key: str, entry: Entry, max_age: float) -> str | None:
        """Record a successful revalidation (304) without rewriting what did not change."""
        return self.put(
            bucket,
            key,
            Entry(
                body=entry.body,
                content_type=entry.content_type,
                etag=entry.etag,
                last_modified=entry.last_modified,
                stored_at=time.time(),
                max_age=max_age,
            ),
        )

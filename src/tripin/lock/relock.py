"""Skip resolving when nothing changed since this machine's tripin wrote the lock.

Re-resolving with the previous lock's versions preferred gives back the same lock when the
inputs, the rules and the lock itself are what they were (tests/test_preferences.py), so
that work can be skipped. This is safe only for a lock this machine wrote: a lock that came
with a pull request may carry any URL or hash, and tripin reads only versions from it (see
resolver/preferences.py). So the cache directory, which a pull request cannot write,
remembers for each lock path the fingerprint of the inputs (settings, rule files, overlays)
and the digest of every output file it wrote; the lock is reused only while all of them
match, byte for byte. What the index did since (a new release, a yanked file) is not looked
at: pins are kept anyway, and `--refresh`, `-U` or `-P` resolve again, as does any change to
an input or an output file.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from tripin.index.cache import Cache, Entry

__all__ = ["fingerprint", "lookup", "remember"]

_FORMAT = 1
_BUCKET = "relock"  # an entry per lock path, checksummed like every cache entry
_log = logging.getLogger("tripin.lock")


def _file_digest(path: Path) -> str:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return ""


def fingerprint(parts: Sequence[str], files: Iterable[Path]) -> str:
    """Of everything a lock is made from: `parts` (tripin's version, the inputs digest, the
    options that change the result) and the bytes of `files` (rules, overlays)."""
    digest = hashlib.sha256(json.dumps([_FORMAT, *parts]).encode())
    for path in files:
        digest.update(f"\0{path}\0{_file_digest(path)}".encode())
    return digest.hexdigest()


def lookup(cache: Cache, lock_path: Path, inputs: str) -> dict[str, Any] | None:
    """The summary remembered when this machine wrote the lock from these inputs, while the lock
    and every other output file are still exactly what it wrote; else None."""
    hit = cache.get(_BUCKET, str(lock_path.resolve()))
    if hit is None:
        return None
    try:
        entry = json.loads(hit.body)
        if entry["fingerprint"] != inputs or not entry["files"]:
            return None
        for name, digest in entry["files"].items():
            if not digest or _file_digest(Path(name)) != digest:
                return None
        summary = entry["summary"]
    except (ValueError, KeyError, TypeError, AttributeError):
        return None
    if not isinstance(summary, dict):
        return None
    _log.info("%s: inputs, rules and outputs as when written: nothing to resolve", lock_path)
    return summary


def remember(cache: Cache, lock_path: Path, inputs: str, outputs: Iterable[Path], summary: Mapping[str, Any]) -> None:
    """After the outputs were written: their digests, read back from disk."""
    entry = {
        "fingerprint": inputs,
        "files": {str(p.resolve()): _file_digest(p) for p in [lock_path, *outputs]},
        "summary": dict(summary),
    }
    cache.put(_BUCKET, str(lock_path.resolve()), Entry(body=json.dumps(entry).encode()))

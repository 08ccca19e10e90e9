"""Skip resolving when nothing changed since this machine's tripin wrote the lock.

Re-resolving with the previous lock's versions preferred gives back the same lock when the
inputs, the rules and the lock itself are what they were (tests/test_preferences.py), so
that work can be skipped. This is safe only for a lock this machine wrote: a lock that came
with a pull request may carry any URL or hash, and tripin reads only versions from it (see
resolver/preferences.py). So the cache directory, which a pull request cannot write,
remembers, per set of raw inputs (tripin's version, the working directory, the parsed
command line and the TRIPIN_/UV_/PIP_ environment), the digest of every file the lock was
made from (pyproject.toml, rules, overlays, requirements and constraints files with their
includes) and of every output file it wrote. The lock is
reused only while all of them match byte for byte, which is checked before the settings,
packaging or the resolver are imported. What the index did since (a new release, a yanked
file) is not looked at: pins are kept anyway, and `--refresh`, `-U` or `-P` resolve again,
as does any change to an input or an output file.

`-U` is answered from a second kind of entry, whose key leaves -U and --refresh out. A lock
resolved with no version preferred (the first in its folder, or a `-U` run) is a function of its
inputs and of the project pages it read: the files, their hashes and their metadata's are on
those pages. So that entry also names each page by its index cache key and body digest, and a
later `-U` reuses the lock while every one of them is in the cache with the same body and still
fresh, which is what that run would read without a request. A page gone stale or answered 404
(which is not cached), an `-auto` target or `--refresh` resolves again.

Entries use the index cache's layout (a JSON header line with the body's sha256, then the
body; written to a temporary file and renamed), so a torn entry is a miss.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from tripin.memo import ENV_PREFIXES, RELOCK_FORMAT, listing

__all__ = ["inputs_key", "lookup", "page_checks", "remember"]

_FORMAT = RELOCK_FORMAT


def _file_digest(path: Path) -> str:
    """'' for a file that is not there: its later appearance must invalidate the entry."""
    from tripin.inputfile import read_input

    try:
        return hashlib.sha256(read_input(path)).hexdigest()  # never blocks on a FIFO or reads /dev/zero
    except (OSError, ValueError):
        return ""


def inputs_key(version: str, options: Mapping[str, Any], environ: Mapping[str, str]) -> str:
    """Everything a run starts from besides files: a run with another key never reuses a lock."""
    env = sorted((k, v) for k, v in environ.items() if k.startswith(ENV_PREFIXES))
    payload = [_FORMAT, version, str(Path.cwd()), sorted(options.items()), env]
    return hashlib.sha256(json.dumps(payload, default=str).encode()).hexdigest()


def _entry_path(root: Path, key: str) -> Path:
    return root / f"v{_FORMAT}" / "relock" / key[:2] / key


def lookup(root: Path | None, key: str, rules: Iterable[Path], *, offline: bool = False) -> dict[str, Any] | None:
    """The summary remembered when this machine wrote the lock from these inputs, while every
    input file (rules listed as now) and every output file is exactly what it was, and every
    index page the entry names (`remember`'s `pages`) is in the cache with the same body and
    still fresh (`offline`: however old, as such a run reads them); else None."""
    if root is None:
        return None
    try:
        head, sep, body = _entry_path(root, key).read_bytes().partition(b"\n")
        if not sep or json.loads(head).get("sha256") != hashlib.sha256(body).hexdigest():
            return None
        entry = json.loads(body)
        if entry["rules"] != [str(p) for p in rules] or not entry["outputs"]:
            return None
        for name, digest in [*entry["inputs"].items(), *entry["outputs"].items()]:
            if _file_digest(Path(name)) != digest:
                return None
        for directory, prefix, suffix, names in entry["listings"]:
            if list(listing(directory, prefix, suffix)) != names:
                return None
        if entry.get("pages") is not None and not _pages_unchanged(root, entry["pages"], offline=offline):
            return None
        summary = entry["summary"]
        if isinstance(summary, dict) and entry.get("pages") is not None:
            summary = {**summary, "pages": dict(entry["pages"])}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
    return summary if isinstance(summary, dict) else None


def _pages_unchanged(root: Path, pages: Mapping[str, str], *, offline: bool) -> bool:
    import time

    checks = page_checks(root, pages)
    now = time.time()
    return checks is not None and (offline or all(now < expires for _, _, expires in checks))


def page_checks(root: Path, pages: Mapping[str, str]) -> list[tuple[str, bytes, float]] | None:
    """For memo.replay_lock, which answers before json is imported: each page's cache entry,
    header line and the time it goes stale, while its body is the one the lock was resolved
    from; None when one is not."""
    from tripin.index.cache import expires, stored_header

    out = []
    for key, digest in pages.items():
        found = stored_header(root, "projects", key)
        if found is None or found[2].get("sha256") != digest:
            return None
        out.append((str(found[0]), found[1], expires(found[2])))
    return out


def remember(
    root: Path | None,
    key: str,
    *,
    rules: Iterable[Path],
    inputs: Iterable[Path],
    outputs: Iterable[Path],
    summary: Mapping[str, Any],
    listings: Iterable[tuple[str, str, str]] = (),
    pages: Mapping[str, str] | None = None,
) -> None:
    """After the outputs were written: the digests of the inputs and of the outputs as on disk,
    each by the path it was read or written by (a symlink pointed elsewhere reads other bytes),
    and the names each (directory, prefix, suffix) of `listings` lists (memo.listing). `pages`:
    for a lock resolved with no version preferred (the first lock, or -U), the index cache's
    key and body digest of every project page the resolution read."""
    if root is None:
        return
    rule_list = list(rules)
    entry = {
        "rules": [str(p) for p in rule_list],
        "inputs": {str(p.absolute()): _file_digest(p) for p in [*rule_list, *inputs]},
        "outputs": {str(p.absolute()): _file_digest(p) for p in outputs},
        "listings": [[d, prefix, suffix, list(listing(d, prefix, suffix))] for d, prefix, suffix in listings],
        "summary": dict(summary),
        **({"pages": dict(pages)} if pages is not None else {}),
    }
    body = json.dumps(entry).encode()
    path = _entry_path(root, key)
    import tempfile

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        with os.fdopen(fd, "wb") as handle:
            handle.write(json.dumps({"key": key, "sha256": hashlib.sha256(body).hexdigest()}).encode() + b"\n" + body)
        Path(tmp).replace(path)
    except OSError:
        return  # a memo that cannot be written only costs speed

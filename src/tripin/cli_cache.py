"""`tripin cache dir|clean|prune`, as `uv cache` has them: where the cache is, and removing all
of it or what this tripin no longer reads.

Each change of an entry's form moves its kind (index cache, memo, re-lock memo) to a new `v<N>`
folder (the index cache's fan-out change left a 96 MB `v1` behind), and nothing read the old
ones again. Only `v<N>` entries of the cache directory are touched: `TRIPIN_CACHE_DIR` may name
a folder that holds other things. A symlink is removed, never followed."""

from __future__ import annotations

import argparse
import re
import shutil
import time
from pathlib import Path
from typing import Any

from tripin.errors import EXIT_OK, ConfigError, one_line, quote

__all__ = ["add_cache_parser", "run_cache"]

_VERSIONED = re.compile(r"v\d+")
_STALE_TEMP = 3600.0  # a write interrupted this long ago left its temp file: no run is still writing it


def add_cache_parser(sub: Any, help_text: str) -> None:
    cache = sub.add_parser(
        "cache",
        help=help_text,
        description="dir: print the cache directory. clean: remove every entry of it. prune: remove what "
        "this tripin no longer reads (the folders of older cache forms, interrupted writes).",
    )
    csub = cache.add_subparsers(dest="cache_command", metavar="ACTION", required=True)
    for name, text in (
        ("dir", "print the cache directory"),
        ("clean", "remove every entry of the cache"),
        ("prune", "remove what this tripin no longer reads"),
    ):
        action = csub.add_parser(name, help=text)
        action.add_argument("--cache-dir", metavar="DIR", help="cache directory (default: the user cache dir)")


def run_cache(args: argparse.Namespace) -> int:
    from tripin.memo import cache_root

    root = Path(args.cache_dir) if args.cache_dir else cache_root()
    if args.cache_command == "dir":
        print(root)
        return EXIT_OK
    doomed = _versioned(root) if args.cache_command == "clean" else _unread(root)
    files, size, failed = 0, 0, []
    for path in doomed:
        counted = _count(path)
        try:
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()
        except OSError as exc:
            failed.append(f"{quote(str(path), 120)}: {exc.strerror or exc}")
            continue
        files, size = files + counted[0], size + counted[1]
    print(f"removed {files} file{'' if files == 1 else 's'} ({size / 2**20:.1f} MiB) from {root}")
    if failed:
        more = f" (and {len(failed) - 1} more)" if len(failed) > 1 else ""
        raise ConfigError(one_line(f"could not remove {failed[0]}{more}"))
    return EXIT_OK


def _versioned(root: Path) -> list[Path]:
    try:
        return sorted(p for p in root.iterdir() if _VERSIONED.fullmatch(p.name))
    except OSError:  # no cache yet (or not a folder): nothing to remove
        return []


def _unread(root: Path) -> list[Path]:
    """All but the folders this tripin reads (memo.cache_folders), and in those the temp files
    of writes interrupted an hour ago or more."""
    from tripin.memo import cache_folders

    read = cache_folders()
    out: list[Path] = []
    old = time.time() - _STALE_TEMP
    for folder in _versioned(root):
        names = read.get(folder.name)
        if names is None or folder.is_symlink() or not folder.is_dir():
            out.append(folder)
            continue
        for child in sorted(folder.iterdir()):
            if child.name not in names or child.is_symlink() or not child.is_dir():
                out.append(child)
                continue
            out += [p for p in child.rglob(".tmp-*") if _older(p, old)]
    return out


def _older(path: Path, than: float) -> bool:
    try:
        return path.lstat().st_mtime < than
    except OSError:
        return False


def _count(path: Path) -> tuple[int, int]:
    """Files and bytes under `path`, symlinks counted as themselves."""
    if path.is_symlink() or not path.is_dir():
        try:
            return 1, path.lstat().st_size
        except OSError:
            return 0, 0
    from tripin.memo import walk_files

    files = size = 0
    for entry in walk_files(path):
        try:
            size += entry.stat(follow_symlinks=False).st_size
        except OSError:
            continue
        files += 1
    return files, size

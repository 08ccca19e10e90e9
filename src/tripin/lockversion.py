"""PEP 751's rule on `lock-version`, the one check every reader of a pylock.toml applies.

`check`, `install`, `explain` and `build-plan` all call it, so they refuse the same files with
the same words. It lives outside `tripin.lock`: importing that package builds the lock model,
which `check` (a pre-commit hook that must start fast) never needs.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tripin.errors import LockError, quote

__all__ = ["require_pylock"]


def require_pylock(path: Path, data: Mapping[str, Any]) -> None:
    """PEP 751: `lock-version` is required, and a reader MUST refuse a major version it does not
    know. An empty file, or some other TOML, must not pass as a lock that has nothing wrong."""
    version = data.get("lock-version")
    if version is None:
        raise LockError(f"{path}: not a pylock.toml: no lock-version (PEP 751 requires it)")
    if not isinstance(version, str) or version.split(".")[0] != "1":
        raise LockError(f"{path}: lock-version {quote(version, 40)} is not supported (1.x is)")
    if not isinstance(data.get("packages", []), list):
        raise LockError(f"{path}: packages must be an array of tables [[packages]]")

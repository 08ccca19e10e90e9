"""Reading package indexes: simple-API pages, core metadata, and the disk cache behind them.

IndexClient (and with it httpx) is imported on first use only: `tripin check` and `tripin
doctor` use the models here and must start fast, with no network stack loaded.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tripin.index.models import DistFile, Index, Metadata, Project

if TYPE_CHECKING:
    from tripin.index.client import IndexClient

__all__ = ["DistFile", "Index", "IndexClient", "Metadata", "Project"]


def __getattr__(name: str) -> Any:
    if name == "IndexClient":
        from tripin.index.client import IndexClient

        return IndexClient
    raise AttributeError(name)

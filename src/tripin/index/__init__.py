"""Reading package indexes: simple-API pages, core metadata, and the disk cache behind them.

Every name here is imported on first use only: `tripin check` and `tripin doctor` use the
models and must start fast, with no network stack loaded, and `tripin lock` starts the page
worker (tripin.index.pageworker) before packaging is loaded.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tripin.index.client import IndexClient
    from tripin.index.models import DistFile, Index, Metadata, Project

__all__ = ["DistFile", "Index", "IndexClient", "Metadata", "Project"]


def __getattr__(name: str) -> Any:
    if name == "IndexClient":
        from tripin.index.client import IndexClient

        return IndexClient
    if name in ("DistFile", "Index", "Metadata", "Project"):
        from tripin.index import models

        return getattr(models, name)
    raise AttributeError(name)

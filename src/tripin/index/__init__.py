"""Reading package indexes: simple-API pages, core metadata, and the disk cache behind them."""

from tripin.index.client import IndexClient
from tripin.index.models import DistFile, Index, Metadata, Project

__all__ = ["DistFile", "Index", "IndexClient", "Metadata", "Project"]

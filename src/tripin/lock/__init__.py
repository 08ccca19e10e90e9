"""The Lock model and its two file formats: PEP 751 pylock.toml and a pip constraints file."""

from tripin.lock.model import Lock, LockedPackage, LockedVcs, LockedWheel, LockTarget

__all__ = ["Lock", "LockTarget", "LockedPackage", "LockedVcs", "LockedWheel"]

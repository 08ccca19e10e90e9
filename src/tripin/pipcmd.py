"""Which pip runs for an environment: its own, else the pip beside tripin pointed at it.

A venv made with `--without-pip` (or by uv) has no pip of its own, and a fix printed as
`/venv/bin/python -m pip install ...` then fails with "No module named pip". pip 22.3 and newer
install into another interpreter's environment with `--python`, so the pip tripin runs on
serves when uv is not there either.
"""

from __future__ import annotations

import sys

__all__ = ["pip_head"]


def pip_head(python: str, *, has_pip: bool) -> tuple[str, ...]:
    """The command that starts `pip` for `python`'s environment (append `install ...`)."""
    if has_pip or not _own_pip_takes_python():
        return (python, "-m", "pip")
    return (sys.executable, "-m", "pip", "--python", python)


def _own_pip_takes_python() -> bool:
    from importlib.metadata import PackageNotFoundError, version

    try:
        major, minor = (int(part) for part in version("pip").split(".")[:2])
    except (PackageNotFoundError, ValueError):
        return False
    return (major, minor) >= (22, 3)

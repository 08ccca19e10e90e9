"""What a wheel's file name says (PEP 427): its project, version and tags, read from a lock's
URL or path. `check`, `install` and the direct references of requirements files all judge a
wheel by its name, since that is what an installer reads; one reading here, without
importing the lock package (check's start-up)."""

from __future__ import annotations

from urllib.parse import unquote

from packaging.utils import InvalidWheelFilename, NormalizedName, parse_wheel_filename
from packaging.version import InvalidVersion, Version

__all__ = ["file_name", "parse_wheel", "tag_text"]


def file_name(where: str) -> str:
    """The file name a URL or path ends in: query and fragment off, %-escapes undone (a local
    label is `%2Bcu126` in a URL path, `+cu126` in the name)."""
    return unquote(where.split("#", 1)[0].split("?", 1)[0].rsplit("/", 1)[-1])


def parse_wheel(where: str) -> tuple[str, NormalizedName, Version] | None:
    """(file name, project, version) of the wheel a URL or path names; None where the name is
    not a wheel's."""
    name = file_name(where)
    try:
        project, version, _, _ = parse_wheel_filename(name)
    except (InvalidWheelFilename, InvalidVersion):
        return None
    return name, project, version


def tag_text(where: str) -> str | None:
    """The tag part of a wheel's name (`cp312-cp312-manylinux_2_28_x86_64`), as
    Target.rank_of ranks it; None where the name has no such part."""
    parts = file_name(where).removesuffix(".whl").split("-")
    return "-".join(parts[-3:]) if len(parts) >= 5 else None

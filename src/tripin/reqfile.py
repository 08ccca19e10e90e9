"""pip's requirements-file syntax, as far as checking pins needs: requirement lines with markers
and per-line options (`--hash`), `-r`/`-c` includes, continuation lines and comments. Other
options are accepted and ignored, as they do not change what a line pins."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from tripin.errors import Location, LockError

__all__ = ["ReqLine", "parse_requirements_file", "vcs_commit"]

_COMMENT = re.compile(r"(^|\s+)#.*$")
_INCLUDE = {"-r": False, "--requirement": False, "-c": True, "--constraint": True}
_EGG = re.compile(r"[#&]egg=([A-Za-z0-9_.-]+)")
_REV = re.compile(r"@([0-9a-fA-F]{7,40})(?:[#?]|$)")


@dataclass(frozen=True, slots=True, kw_only=True)
class ReqLine:
    where: Location
    requirement: Requirement
    hashes: tuple[str, ...]
    constraint: bool  # read through -c: it limits versions, it installs nothing


def vcs_commit(url: str) -> str | None:
    """The commit a VCS URL names (`git+https://...@<hex>#...`), if it names one by hash."""
    match = _REV.search(url.split("://", 1)[-1])
    return match[1].lower() if match else None


def _logical_lines(text: str) -> list[tuple[int, str]]:
    out: list[tuple[int, str]] = []
    buffer, start = "", 0
    for number, raw in enumerate(text.splitlines(), start=1):
        line = _COMMENT.sub("", raw)
        if not buffer:
            start = number
        if line.endswith("\\"):
            buffer += line[:-1] + " "
            continue
        out.append((start, buffer + line))
        buffer = ""
    if buffer:
        out.append((start, buffer))
    return out


def _split(line: str) -> tuple[str, list[str]]:
    """pip's break_args_options: the requirement is everything before the first option."""
    tokens = line.split()
    for i, token in enumerate(tokens):
        if token.startswith("-"):
            return " ".join(tokens[:i]), tokens[i:]
    return " ".join(tokens), []


def _requirement(text: str, where: Location) -> Requirement:
    if re.match(r"^(git|hg|svn|bzr)\+", text):  # a bare VCS URL names its project with #egg=
        egg = _EGG.search(text)
        if not egg:
            raise LockError(f"{where}: VCS URL without #egg=NAME: {text!r}")
        text = f"{egg[1]} @ {text}"
    try:
        return Requirement(text)
    except InvalidRequirement as exc:
        raise LockError(f"{where}: invalid requirement {text!r}: {str(exc).splitlines()[0]}") from None


def parse_requirements_file(
    path: Path, *, constraint: bool = False, read: list[Path] | None = None, _seen: frozenset[Path] = frozenset()
) -> list[ReqLine]:
    """`read` collects every file opened, includes too (for `check`'s memo)."""
    resolved = path.resolve()
    if read is not None:
        read.append(path)
    if resolved in _seen:
        return []  # pip would loop; an include cycle adds nothing new
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or "not UTF-8"
        raise LockError(f"{path}: cannot read: {reason}") from None
    out: list[ReqLine] = []
    for number, line in _logical_lines(text):
        where = Location(str(path), number)
        line = line.strip()
        if not line:
            continue
        if line.startswith("-"):
            option, _, value = line.partition(" ")
            if "=" in option and option.startswith("--"):
                option, _, value = option.partition("=")
            if option in ("-e", "--editable"):
                out.append(
                    ReqLine(
                        where=where, requirement=_requirement(value.strip(), where), hashes=(), constraint=constraint
                    )
                )
            elif option in _INCLUDE:
                if not value.strip():
                    raise LockError(f"{where}: {option} needs a file name")
                include = path.parent / value.strip()
                out += parse_requirements_file(
                    include, constraint=constraint or _INCLUDE[option], read=read, _seen=_seen | {resolved}
                )
            continue
        text_req, options = _split(line)
        hashes = tuple(o.split("=", 1)[1] for o in options if o.startswith("--hash="))
        requirement = _requirement(text_req, where)
        requirement.name = canonicalize_name(requirement.name)
        out.append(ReqLine(where=where, requirement=requirement, hashes=hashes, constraint=constraint))
    return out

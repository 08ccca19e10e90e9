"""pip's requirements-file syntax, as far as checking pins needs: requirement lines with markers
and per-line options (`--hash`), `-r`/`-c` includes, continuation lines and comments. Other
options are accepted and ignored, as they do not change what a line pins."""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from packaging.markers import UndefinedComparison, UndefinedEnvironmentName
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from tripin.errors import Location, LockError, quote
from tripin.inputfile import MAX_NUMBER_DIGITS, huge_number, read_input

__all__ = [
    "MAX_INCLUDE_DEPTH",
    "MAX_REQUIREMENTS",
    "ReqLine",
    "decode_requirements",
    "marker_problem",
    "parse_requirements_file",
    "text_encoding",
    "vcs_commit",
]

MAX_INCLUDE_DEPTH = 100  # -r chains deeper than this are a mistake or an attack, never a project
# Each line costs a parsed Requirement (about 1 KB and 30 us): a million lines took 38 s and
# 1 GB. The largest real lock has a few thousand; this is a hundred times that.
MAX_REQUIREMENTS = 100_000
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


def marker_problem(requirement: Requirement) -> str | None:
    """Why the requirement's marker cannot be evaluated, or None. packaging parses
    `sys_platform === 'linux'`, `python_version ~= '3'` and `'x' in dependency_groups` but raises
    UndefinedComparison or UndefinedEnvironmentName on evaluating them, which happens deep in
    `check` or the resolver; trying once on this interpreter's environment finds them at the
    line. (Whether an operator is defined does not depend on the values compared.)"""
    if requirement.marker is None:
        return None
    try:
        requirement.marker.evaluate()
    except (UndefinedComparison, UndefinedEnvironmentName) as exc:
        return f"marker cannot be evaluated: {exc}"
    return None


def _strip_comment(line: str) -> str:
    """pip's COMMENT_RE, `(^|\\s+)#.*$`, without its backtracking: that regex retries every
    start inside a run of spaces, so one line of 40,000 spaces took seconds."""
    at = line.find("#")
    while at > 0 and not line[at - 1].isspace():
        at = line.find("#", at + 1)
    return line if at < 0 else line[:at].rstrip()


def _logical_lines(text: str) -> Iterator[tuple[int, str]]:
    """(first physical line, text) of each logical line; a generator, so a million-line file is
    not held twice."""
    buffer, start = "", 0
    for number, raw in enumerate(text.splitlines(), start=1):
        line = _strip_comment(raw)
        if not buffer:
            start = number
        if line.endswith("\\"):
            buffer += line[:-1] + " "
            continue
        yield start, buffer + line
        buffer = ""
    if buffer:
        yield start, buffer


def _split(line: str) -> tuple[str, list[str]]:
    """pip's break_args_options: the requirement is everything before the first option."""
    tokens = line.split()
    for i, token in enumerate(tokens):
        if token.startswith("-"):
            return " ".join(tokens[:i]), tokens[i:]
    return " ".join(tokens), []


def _requirement(text: str, where: Location) -> Requirement:
    # a bare VCS URL names its project with #egg= (_placed has taken those without one)
    if re.match(r"^(git|hg|svn|bzr)\+", text) and (egg := _EGG.search(text)):
        text = f"{egg[1]} @ {text}"
    if (number := huge_number(text)) is not None:
        raise LockError(f"{where}: a number over {MAX_NUMBER_DIGITS} digits: {number}")
    try:
        requirement = Requirement(text)
    except InvalidRequirement as exc:
        raise LockError(f"{where}: invalid requirement {quote(text)}: {str(exc).splitlines()[0]}") from None
    if (problem := marker_problem(requirement)) is not None:
        raise LockError(f"{where}: invalid requirement {quote(text)}: {problem}")
    return requirement


# UTF-32 before UTF-16: FF FE 00 00 starts with UTF-16's FF FE
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)


def text_encoding(data: bytes) -> tuple[bytes, str]:
    """(byte-order mark, codec of the rest), as pip's auto_decode reads a requirements file: a
    byte-order mark names the encoding (PowerShell's `pip freeze >` writes UTF-16), else UTF-8.
    `check --fix` writes a file back with both, so that it stays what it was."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return bom, encoding
    return b"", "utf-8"


def decode_requirements(data: bytes) -> str:
    """A requirements file's text (UnicodeDecodeError as str.decode raises it)."""
    bom, encoding = text_encoding(data)
    return data[len(bom) :].decode(encoding)


def parse_requirements_file(
    path: Path, *, constraint: bool = False, read: list[Path] | None = None, skip_unnamed: bool = False
) -> list[ReqLine]:
    """The requirement lines of a file and its includes, in order. `read` collects every file
    opened, includes too (for `check`'s memo). Each file is read once per (file, -r or -c):
    a file included twice adds nothing new, and re-reading it per path grows exponentially
    with the depth of a diamond of includes. A line that names no package, only a place (`-e .`,
    `./dist/x.whl`, a URL, a VCS URL without #egg=), is pip's to build: `check` skips it
    (`skip_unnamed`, as uv export and pip-compile files hold `-e .`), `lock` refuses it."""
    return _parse(path, constraint=constraint, read=read, walk=_Walk(skip_unnamed), depth=0)


class _Walk:
    """What one parse has seen so far, across its includes."""

    def __init__(self, skip_unnamed: bool) -> None:
        self.done: set[tuple[Path, bool]] = set()
        self.lines = 0
        self.skip_unnamed = skip_unnamed


_ARCHIVE = (".whl", ".tar.gz", ".tgz", ".zip", ".tar.bz2", ".tar.xz")


def _unnamed(text: str) -> bool:
    """A requirement pip takes from a place rather than by name: a path or a URL, with no
    `name @` in front and no #egg=NAME."""
    head = text.split(";", 1)[0].strip()
    if " @ " in head or re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*\s*@", head) or _EGG.search(head):
        return False
    # a path (./x, ~/x, C:\x), a URL (file:., https://..., git+https://...) or an archive's
    # file name: no package name or specifier has a ':', '/' or '\\'
    return head.startswith((".", "~")) or any(c in head for c in ":/\\") or head.lower().endswith(_ARCHIVE)


def _placed(text: str, where: Location, walk: _Walk) -> bool:
    """True when the line names no package and is to be skipped; raises where it may not be."""
    if not _unnamed(text):
        return False
    if walk.skip_unnamed:
        return True
    raise LockError(
        f"{where}: {quote(text)} names a path or URL, not a package: tripin locks packages from indexes only "
        "(name the package, or leave the line to pip)"
    )


def _parse(path: Path, *, constraint: bool, read: list[Path] | None, walk: _Walk, depth: int) -> list[ReqLine]:
    try:
        resolved = path.resolve()
    except (OSError, RuntimeError, ValueError) as exc:  # a symlink loop (RuntimeError before 3.13), a NUL
        raise LockError(f"{quote(str(path))}: cannot read: {getattr(exc, 'strerror', None) or exc}") from None
    if read is not None:
        read.append(path)
    if (resolved, constraint) in walk.done:
        return []  # pip would loop on a cycle or read it twice; either adds nothing new
    walk.done.add((resolved, constraint))
    try:
        text = decode_requirements(read_input(path))
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or "not UTF-8"
        raise LockError(f"{path}: cannot read: {reason}") from None
    if text.count("\n") >= MAX_REQUIREMENTS - walk.lines:  # refuse before parsing: only big files pay for this pass
        counted = walk.lines
        for number, line in _logical_lines(text):
            counted += bool(line.strip())
            if counted > MAX_REQUIREMENTS:
                raise LockError(
                    f"{Location(str(path), number)}: more than {MAX_REQUIREMENTS:,} requirement lines, "
                    "the most tripin checks"
                )
    out: list[ReqLine] = []
    for number, line in _logical_lines(text):
        where = Location(str(path), number)
        line = line.strip()
        if not line:
            continue
        walk.lines += 1
        if walk.lines > MAX_REQUIREMENTS:
            raise LockError(f"{where}: more than {MAX_REQUIREMENTS:,} requirement lines, the most tripin checks")
        if line.startswith("-"):
            option, _, value = line.partition(" ")
            if "=" in option and option.startswith("--"):
                option, _, value = option.partition("=")
            if option in ("-e", "--editable"):
                if not _placed(value.strip(), where, walk):
                    out.append(
                        ReqLine(
                            where=where,
                            requirement=_requirement(value.strip(), where),
                            hashes=(),
                            constraint=constraint,
                        )
                    )
            elif option in _INCLUDE:
                if not value.strip():
                    raise LockError(f"{where}: {option} needs a file name")
                if depth >= MAX_INCLUDE_DEPTH:
                    raise LockError(f"{where}: includes nested deeper than {MAX_INCLUDE_DEPTH} files")
                if re.match(r"[a-zA-Z][a-zA-Z0-9+.-]*://", value.strip()):
                    # pip fetches these; a lock's inputs are files tripin can read and digest
                    raise LockError(
                        f"{where}: {option} {value.strip()}: a URL include is not supported; download the file "
                        "and include it by its path"
                    )
                include = path.parent / value.strip()
                out += _parse(include, constraint=constraint or _INCLUDE[option], read=read, walk=walk, depth=depth + 1)
            continue
        text_req, options = _split(line)
        if _placed(text_req, where, walk):
            continue
        hashes = tuple(o.split("=", 1)[1] for o in options if o.startswith("--hash="))
        requirement = _requirement(text_req, where)
        requirement.name = canonicalize_name(requirement.name)
        out.append(ReqLine(where=where, requirement=requirement, hashes=hashes, constraint=constraint))
    return out

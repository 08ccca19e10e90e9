"""pip's requirements-file syntax, as far as checking pins needs: requirement lines with markers
and per-line options (`--hash`), `-r`/`-c` includes, continuation lines, comments and `${NAME}`
environment variables. The other options pip knows are read and handed to the caller (`lock`
says which it does not follow); an option pip does not know is an error, as pip makes it."""

from __future__ import annotations

import codecs
import os
import re
import shlex
from collections.abc import Iterable, Iterator
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
    "FileOption",
    "ReqLine",
    "decode_requirements",
    "marker_problem",
    "parse_requirements_file",
    "text_encoding",
    "uses_environment",
    "vcs_commit",
]

MAX_INCLUDE_DEPTH = 100  # -r chains deeper than this are a mistake or an attack, never a project
# Each line costs a parsed Requirement (about 1 KB and 30 us): a million lines took 38 s and
# 1 GB. The largest real lock has a few thousand; this is a hundred times that.
MAX_REQUIREMENTS = 100_000
_INCLUDE = {"-r": False, "--requirement": False, "-c": True, "--constraint": True}
_EGG = re.compile(r"[#&]egg=([A-Za-z0-9_.-]+)")
_REV = re.compile(r"@([0-9a-fA-F]{7,40})(?:[#?]|$)")
# pip (and uv) expand `${NAME}` only, NAME in POSIX's portable set, so that a `$` elsewhere
# (a password in a URL) stays as written
_ENV_VAR = re.compile(r"\$\{([A-Z0-9_]+)\}")
# The options pip reads in a requirements file (pip/_internal/req/req_file.py: SUPPORTED_OPTIONS
# and SUPPORTED_OPTIONS_REQ, pip 25 and 26): each spelling -> (its long name, takes a value).
_PIP_OPTIONS: dict[str, tuple[str, bool]] = {
    "-i": ("--index-url", True),
    "--index-url": ("--index-url", True),
    "--pypi-url": ("--index-url", True),
    "--extra-index-url": ("--extra-index-url", True),
    "--no-index": ("--no-index", False),
    "-c": ("--constraint", True),
    "--constraint": ("--constraint", True),
    "-r": ("--requirement", True),
    "--requirement": ("--requirement", True),
    "-e": ("--editable", True),
    "--editable": ("--editable", True),
    "-f": ("--find-links", True),
    "--find-links": ("--find-links", True),
    "--no-binary": ("--no-binary", True),
    "--only-binary": ("--only-binary", True),
    "--prefer-binary": ("--prefer-binary", False),
    "--require-hashes": ("--require-hashes", False),
    "--no-require-hashes": ("--no-require-hashes", False),
    "--pre": ("--pre", False),
    "--all-releases": ("--all-releases", True),
    "--only-final": ("--only-final", True),
    "--trusted-host": ("--trusted-host", True),
    "--use-feature": ("--use-feature", True),
    "--hash": ("--hash", True),
    "-C": ("--config-settings", True),
    "--config-settings": ("--config-settings", True),
}
# what an option line does here rather than being handed to the caller
_STRUCTURAL = {"--requirement", "--constraint", "--editable", "--hash", "--config-settings"}


@dataclass(frozen=True, slots=True, kw_only=True)
class ReqLine:
    where: Location
    requirement: Requirement
    hashes: tuple[str, ...]
    constraint: bool  # read through -c: it limits versions, it installs nothing


@dataclass(frozen=True, slots=True, kw_only=True)
class FileOption:
    """An option line's setting (`--index-url URL`, `--pre`): pip applies it to the whole run,
    tripin takes its settings from the command line and [tool.tripin], so `lock` says so."""

    name: str  # the long name, whatever the spelling: `-i` is `--index-url`
    value: str | None
    where: Location


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


def _split(line: str) -> tuple[str, str]:
    """pip's break_args_options: the requirement is everything before the first option."""
    tokens = line.split()
    for i, token in enumerate(tokens):
        if token.startswith("-"):
            return " ".join(tokens[:i]), " ".join(tokens[i:])
    return " ".join(tokens), ""


def _expand(line: str) -> str:
    """`${NAME}` replaced by the environment's value, as pip and uv read a requirements file; a
    name unset or empty stays as written (pip's rule), so the error names what was missing."""
    if "${" not in line:
        return line
    return _ENV_VAR.sub(lambda m: os.environ.get(m[1]) or m[0], line)


def uses_environment(paths: Iterable[Path]) -> bool:
    """Whether one of these files names a `${NAME}`: then what it says depends on variables that
    the memos of `check` and of an unchanged lock do not key on, so neither may remember it."""
    for path in paths:
        try:
            data = read_input(path)
            if b"$" in data and _ENV_VAR.search(decode_requirements(data)):
                return True
        except (OSError, UnicodeDecodeError, ValueError):
            continue  # not readable: what was read from it is an error, never remembered as a pass
    return False


def _tokens(options: str, where: Location) -> list[str]:
    """Shell-like words, as pip splits options (shlex); plain words need no shlex, which costs
    tens of microseconds a line in a file of a hundred thousand `--hash` lines."""
    if not any(c in options for c in "'\"\\"):
        return options.split()
    try:
        return shlex.split(options)
    except ValueError as exc:
        raise LockError(f"{where}: cannot split options {quote(options)}: {exc}") from None


def _option_name(spelled: str, where: Location) -> tuple[str, bool]:
    """(long name, takes a value) of an option as optparse reads it: a long option may be cut to
    a prefix no other shares (`--extra-index` is `--extra-index-url`)."""
    if spelled in _PIP_OPTIONS:
        return _PIP_OPTIONS[spelled]
    found = {_PIP_OPTIONS[k] for k in _PIP_OPTIONS if spelled.startswith("--") and k.startswith(spelled)}
    if len(found) == 1:
        return found.pop()
    if found:
        names = ", ".join(sorted(name for name, _ in found))
        raise LockError(f"{where}: ambiguous option {quote(spelled)} ({names}?)")
    raise LockError(f"{where}: no such option: {quote(spelled)} (pip refuses it in a requirements file too)")


def _options(words: list[str], where: Location) -> Iterator[tuple[str, str | None, str]]:
    """(long name, value, spelling) of each option among the words, as pip's optparse reads them: `-rfile`
    is `-r file`, `--hash=x` is `--hash x`; other words are arguments, which pip ignores."""
    i = 0
    while i < len(words):
        word = words[i]
        i += 1
        if word == "--":
            return  # optparse: only arguments follow
        if not word.startswith("-") or word == "-":
            continue
        spelled, eq, inline = word.partition("=") if word.startswith("--") else (word[:2], "", word[2:])
        name, takes = _option_name(spelled, where)
        if not takes:
            if eq:
                raise LockError(f"{where}: {name} takes no value")
            yield name, None, spelled
            continue
        if not (eq or inline):
            if i == len(words):
                what = "a file name" if name in ("--requirement", "--constraint") else "a value"
                raise LockError(f"{where}: {spelled} needs {what}")
            inline, i = words[i], i + 1
        yield name, inline, spelled


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
    path: Path,
    *,
    constraint: bool = False,
    read: list[Path] | None = None,
    skip_unnamed: bool = False,
    options: list[FileOption] | None = None,
) -> list[ReqLine]:
    """The requirement lines of a file and its includes, in order. `read` collects every file
    opened, includes too (for `check`'s memo). Each file is read once per (file, -r or -c):
    a file included twice adds nothing new, and re-reading it per path grows exponentially
    with the depth of a diamond of includes. A line that names no package, only a place (`-e .`,
    `./dist/x.whl`, a URL, a VCS URL without #egg=), is pip's to build: `check` skips it
    (`skip_unnamed`, as uv export and pip-compile files hold `-e .`), `lock` refuses it.
    `options` collects the option lines' settings (`--index-url`, `--pre`), in file order."""
    walk = _Walk(skip_unnamed, [] if options is None else options)
    return _parse(path, constraint=constraint, read=read, walk=walk, depth=0)


class _Walk:
    """What one parse has seen so far, across its includes."""

    def __init__(self, skip_unnamed: bool, options: list[FileOption]) -> None:
        self.done: set[tuple[Path, bool]] = set()
        self.lines = 0
        self.skip_unnamed = skip_unnamed
        self.options = options


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
        line = _expand(line.strip())
        if not line:
            continue
        walk.lines += 1
        if walk.lines > MAX_REQUIREMENTS:
            raise LockError(f"{where}: more than {MAX_REQUIREMENTS:,} requirement lines, the most tripin checks")
        if line.startswith("-"):
            out += _option_line(path, line, where, constraint=constraint, read=read, walk=walk, depth=depth)
            continue
        text_req, rest = _split(line)
        hashes = tuple(v for name, v, _ in _options(_tokens(rest, where), where) if name == "--hash" and v)
        if _placed(text_req, where, walk):
            continue
        requirement = _requirement(text_req, where)
        requirement.name = canonicalize_name(requirement.name)
        out.append(ReqLine(where=where, requirement=requirement, hashes=hashes, constraint=constraint))
    return out


def _option_line(
    path: Path, line: str, where: Location, *, constraint: bool, read: list[Path] | None, walk: _Walk, depth: int
) -> list[ReqLine]:
    """An `-r`/`-c` include, an `-e` requirement, or settings for the whole run (handed over
    in `walk.options`)."""
    out: list[ReqLine] = []
    for name, value, spelled in _options(_tokens(line, where), where):
        if name == "--editable" and value is not None:
            if not _placed(value, where, walk):
                requirement = _requirement(value, where)
                out.append(ReqLine(where=where, requirement=requirement, hashes=(), constraint=constraint))
        elif name in ("--requirement", "--constraint") and value is not None:
            include = _include(path, spelled, value, where, depth)
            as_constraint = constraint or name == "--constraint"
            out += _parse(include, constraint=as_constraint, read=read, walk=walk, depth=depth + 1)
        elif name not in _STRUCTURAL:
            walk.options.append(FileOption(name=name, value=value, where=where))
    return out


def _include(path: Path, spelled: str, value: str, where: Location, depth: int) -> Path:
    """The file an `-r`/`-c` line names, relative to the file that names it (as pip has it)."""
    if not value.strip():
        raise LockError(f"{where}: {spelled} needs a file name")
    if depth >= MAX_INCLUDE_DEPTH:
        raise LockError(f"{where}: includes nested deeper than {MAX_INCLUDE_DEPTH} files")
    if re.match(r"[a-zA-Z][a-zA-Z0-9+.-]*://", value):
        # pip fetches these; a lock's inputs are files tripin can read and digest
        raise LockError(
            f"{where}: {spelled} {value}: a URL include is not supported; download the file and include it by its path"
        )
    return path.parent / value

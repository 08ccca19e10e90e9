"""Remember `tripin check`'s answer for unchanged inputs, so a pre-commit hook that runs on
every commit pays for Python's start-up and a few file hashes, not for parsing the rules again.

`tripin` (tripin/__main__.py) calls `replay` before it imports the command line, so this
module imports only what Python has loaded at start-up anyway (os, sys, marshal) plus the
builtin blake2 hash: no pathlib, json, hashlib, typing or packaging (each costs milliseconds,
and the whole warm check should cost a few). An entry is keyed by tripin's version and code (code_stamp), the working
directory, the exact argument list and the TRIPIN_/UV_/PIP_ environment, and holds the digest
of every file the check read (the named files, their -r/-c includes, pyproject.toml, overlays,
every rules file) and the listing
of the rules directory; it answers only while all of them are unchanged, so it can never answer
for other inputs. Entries are written only by a run that parsed its arguments and did not
`--fix`, so an argument list argparse would reject or abbreviate to `--fix` never has one.

`tripin lock` keeps the same kind of entry (replay_lock, store_lock) for what it said when it
found nothing to resolve: written only where tripin/relock.py would skip resolving (never for
-P, --refresh, an -auto target or a requirements file reading `${NAME}`), it holds the
digests of the inputs, the rules and the lock and constraints files as written, so a re-lock
with the same arguments answers before argparse, as a warm check does. An answer to -U also
holds the header line of each index page the lock was resolved from, and when it goes stale.
"""

from __future__ import annotations

import marshal
import os
import stat  # loaded at start-up by os
import sys

from tripin import __version__

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy knows the name)
if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Sequence
    from pathlib import Path

__all__ = [
    "ENV_PREFIXES",
    "RELOCK_FORMAT",
    "cache_folders",
    "cache_root",
    "code_stamp",
    "default_rules_dir",
    "listing",
    "lock_root",
    "lookup",
    "replay",
    "replay_lock",
    "rule_files",
    "store",
    "store_lock",
    "walk_files",
]

_FORMAT = 4
ENV_PREFIXES = ("TRIPIN_", "UV_", "PIP_")  # every setting the environment can give (config.py)


def default_rules_dir() -> Path:
    """The rules shipped in the wheel, or the repository's rules/ in a source checkout."""
    from pathlib import Path

    return Path(_default_rules_dir())


def _default_rules_dir() -> str:
    here = os.path.dirname(os.path.realpath(__file__))
    for candidate in (os.path.join(here, "_rules"), os.path.join(here, os.pardir, os.pardir, "rules")):
        if os.path.isdir(candidate):
            return os.path.normpath(candidate)
    return os.path.join(here, "_rules")


def rule_files(rules_dir: str | None) -> list[Path]:
    """The *.toml rules (not hidden ones), then Triton's history (rules/triton-history.txt)
    where the directory has it."""
    from pathlib import Path

    directory = Path(rules_dir) if rules_dir else default_rules_dir()
    history = directory / "triton-history.txt"
    # not hidden files (an editor's `.#torch.toml`): the memos list the directory the same way
    toml = sorted(p for p in directory.glob("*.toml") if not p.name.startswith("."))
    return toml + ([history] if history.is_file() else [])


def _rule_names(directory: str) -> tuple[str, ...]:
    """What `rule_files` globs, without pathlib."""
    try:
        names = os.listdir(directory)
    except OSError:
        return ()
    # the rules and Triton's history: a changed history changes verdicts
    return tuple(sorted(n for n in names if (n.endswith(".toml") or n == "triton-history.txt") and n[0] != "."))


def _digest(data: bytes) -> str:
    try:
        from _blake2 import blake2b  # CPython's builtin module: hashlib would load OpenSSL first
    except ImportError:  # pragma: no cover - other interpreters
        from hashlib import blake2b
    return blake2b(data, digest_size=32).hexdigest()


def _file_digest(path: str) -> str:
    """'' for a file that is not there: its later appearance must invalidate the entry. '-' for
    one that is no longer a regular file: a FIFO would block the read and /dev/zero never end
    it (the check itself refuses both, see tripin.inputfile)."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except (OSError, ValueError):
        return ""
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return "-"
        with os.fdopen(os.dup(fd), "rb") as handle:
            return _digest(handle.read())
    except OSError:
        return ""
    finally:
        os.close(fd)


def cache_root() -> Path:
    """The user cache directory, as platformdirs names it."""
    from pathlib import Path

    return Path(_cache_root())


INDEX_CACHE_FORMAT = 2  # tripin/index/cache.py keeps its entries under ROOT/v<format>/ (v1: in two-hex folders)
RELOCK_FORMAT = 2  # tripin/relock.py keeps its entries under ROOT/v<format>/relock


def cache_folders() -> dict[str, set[str]]:
    """The `v<N>` folders of the cache directory this tripin reads, each with the kinds of entry
    it keeps there: the index cache's, this memo's and the re-lock memo's, each versioned on its
    own. `tripin cache prune` removes everything else."""
    out: dict[str, set[str]] = {}
    for form, kinds in (
        (INDEX_CACHE_FORMAT, ("projects", "metadata")),
        (_FORMAT, ("check", "lock", "upgrade")),
        (RELOCK_FORMAT, ("relock",)),
    ):
        out.setdefault(f"v{form}", set()).update(kinds)
    return out


def pages_cached(root: str) -> bool:
    """Whether the index cache under `root` holds a project page: a lock with a cold one starts
    its page worker first (tripin.__main__ asks before anything else is imported)."""
    return os.path.isdir(os.path.join(root, f"v{INDEX_CACHE_FORMAT}", "projects"))


def _cache_root() -> str:
    """On Linux computed here, since importing platformdirs costs more than the memo lookup."""
    root = os.environ.get("TRIPIN_CACHE_DIR")
    if root:
        return root
    if sys.platform.startswith("linux"):
        base = os.environ.get("XDG_CACHE_HOME", "").strip() or os.path.join(os.path.expanduser("~"), ".cache")
        return os.path.join(base, "tripin")
    from platformdirs import user_cache_dir

    return user_cache_dir("tripin")


def code_stamp(package_dir: str | None = None) -> str:
    """tripin's version and the newest modification of its source files: an editable install
    changes its code without changing its version, and an answer remembered by the old code
    must not be replayed by the new (about 70 stat calls, a fraction of a millisecond)."""
    newest, count = 0, 0
    for entry in walk_files(package_dir or os.path.dirname(os.path.abspath(__file__)), skip=("__pycache__",)):
        if entry.name.endswith(".py"):
            try:
                newest, count = max(newest, entry.stat().st_mtime_ns), count + 1
            except OSError:
                continue
    return f"{__version__}+{newest}.{count}"


def walk_files(top: str | Path, skip: Iterable[str] = ()) -> Iterator[os.DirEntry[str]]:
    """Every entry under `top` that is not a folder (a symlink is one, never followed), leaving
    out folders named in `skip` and those that cannot be read."""
    skipped = set(skip)
    todo: list[str | Path] = [top]
    while todo:
        try:
            entries = list(os.scandir(todo.pop()))
        except OSError:
            continue
        for entry in entries:
            if not entry.is_dir(follow_symlinks=False):
                yield entry
            elif entry.name not in skipped:
                todo.append(entry.path)


def _entry_path(argv: Sequence[str], root: str | None = None, kind: str = "check") -> str | None:
    try:
        root = root or _cache_root()
        # the environment settles files too (TRIPIN_LOCK, TRIPIN_CONSTRAINTS: which files a bare
        # `tripin check` reads), so every variable that can give tripin a setting is in the key
        env = sorted(f"{k}={v}" for k, v in os.environ.items() if k.startswith(ENV_PREFIXES))
        # not marshal: its bytes for equal values depend on reference counts
        parts = (str(_FORMAT), code_stamp(), os.getcwd(), *argv, "\1", *env)
        key = _digest("\0".join(parts).encode("utf-8", "surrogateescape"))
    except (ImportError, RuntimeError, OSError, ValueError):
        return None
    return os.path.join(root, f"v{_FORMAT}", kind, key)


def _load(path: str | None) -> tuple[object, ...] | None:
    """An entry's answer fields while every file and directory listing it names is unchanged."""
    if path is None:
        return None
    try:
        with open(path, "rb") as handle:
            # the cache is the user's own directory, as trusted as the __pycache__ Python loads
            entry = marshal.loads(handle.read())  # noqa: S302
        *answer, files, dirs, listings = entry
        for directory, names in dirs.items():
            if _rule_names(directory) != names:
                return None
        for directory, prefix, suffix, names in listings:
            if listing(directory, prefix, suffix) != names:
                return None
        for name, digest in files.items():
            if _file_digest(name) != digest:
                return None
        return tuple(answer)
    except (OSError, ValueError, EOFError, TypeError, AttributeError):
        return None


def listing(directory: str, prefix: str, suffix: str) -> tuple[str, ...]:
    """The names in `directory` that start with `prefix` and end with `suffix`: where a lock's
    constraints files are, a file appearing there (one an older lock left, which `lock` would
    remove) must end a remembered answer."""
    try:
        return tuple(sorted(n for n in os.listdir(directory) if n.startswith(prefix) and n.endswith(suffix)))
    except OSError:
        return ()


def lookup(argv: Sequence[str]) -> tuple[str, int, str] | None:
    """(output, exit code, warnings) of an earlier identical check, or None."""
    answer = _load(_entry_path(argv))
    if answer is None or len(answer) != 3:
        return None
    output, code, errors = answer
    if not (isinstance(output, str) and isinstance(code, int) and isinstance(errors, str)):
        return None
    return output, code, errors


def replay(argv: Sequence[str]) -> int | None:
    """Print a remembered answer and return its exit code; None when there is none."""
    hit = lookup(argv)
    if hit is None:
        return None
    sys.stdout.write(hit[0])
    sys.stderr.write(hit[2])
    return hit[1]


_missed: set[tuple[str, ...]] = set()


def lock_root(argv: Sequence[str]) -> str | None:
    """The cache a `tripin lock` with these arguments keeps its memo in, read without argparse:
    `--cache-dir DIR` or `--cache-dir=DIR` as typed, None for `--no-cache`. An abbreviation
    argparse would take (`--cache-d`) is not seen here, so such a run looks in the default
    cache, where no run with its exact arguments ever wrote: a miss, never a wrong answer."""
    root = None
    for i, arg in enumerate(argv):
        if arg == "--":
            break
        if arg == "--no-cache":
            return None
        if arg == "--cache-dir" and i + 1 < len(argv):
            root = argv[i + 1]
        elif arg.startswith("--cache-dir="):
            root = arg.partition("=")[2]
    return root or _cache_root()


def replay_lock(argv: Sequence[str]) -> int | None:
    """Say again what an identical `tripin lock` said when it found nothing to resolve, while
    its inputs, the rules and the files it wrote are unchanged (tripin/relock.py gives the
    same answer after argparse and the settings; this one comes before them). Its time is
    this run's."""
    import time

    started = time.monotonic()
    if tuple(argv) in _missed:  # `tripin` looked already, before the command line was parsed
        return None
    _missed.add(tuple(argv))
    root = lock_root(argv)
    upgrade, key = _lock_key(argv)
    answer = _load(_entry_path(key, root, "upgrade" if upgrade else "lock") if root else None)
    if answer is None or len(answer) != 5:
        return None
    before, after, kind, errors, pages = answer
    if not (isinstance(before, str) and isinstance(after, str) and isinstance(kind, str) and isinstance(errors, str)):
        return None
    if not isinstance(pages, tuple) or (upgrade and not pages):
        return None
    if not _pages_unchanged(pages, offline="--offline" in argv[: _end_of_options(argv)]):
        return None
    sys.stderr.write(errors)
    sys.stdout.write(with_seconds(before, after, kind, time.monotonic() - started))
    return 0


def _end_of_options(argv: Sequence[str]) -> int:
    return argv.index("--") if "--" in argv else len(argv)


_UPGRADE = ("-U", "--upgrade")


def _lock_key(argv: Sequence[str]) -> tuple[bool, list[str]]:
    """(whether the run is a -U, the arguments its answer is kept under). A -U's answer is kept
    without the -U (the kind of entry tells it), so that the first lock, whose resolution
    preferred no version either, leaves the answer to the -U after it (relock.py). Before `--`,
    a word `-U` is always that flag: argparse takes no word it knows as an option's value."""
    end = _end_of_options(argv)
    upgrade = any(word in _UPGRADE for word in argv[:end])
    return upgrade, [w for i, w in enumerate(argv) if i >= end or w not in _UPGRADE]


def _pages_unchanged(pages: tuple[tuple[str, bytes, float], ...], *, offline: bool) -> bool:
    """An answer to -U (relock.py) holds while each index page it was resolved from has the
    same cache entry header (so the same body), and, online, has not gone stale. A re-lock's
    answer names no page."""
    import time

    now = time.time()
    try:
        for path, line, expires in pages:  # unmarshalled: any shape is a miss
            with open(path, "rb") as handle:
                if handle.readline(65536) != line:
                    return False
            if not offline and not now < expires:
                return False
    except (OSError, ValueError, TypeError):
        return False
    return True


def with_seconds(before: str, after: str, kind: str, elapsed: float) -> str:
    """A remembered lock summary with this run's time: "0.02" in text, a number rounded to
    milliseconds in JSON, nothing at all for `-q`."""
    if kind == "text":
        return f"{before}{elapsed:.2f}{after}"
    return f"{before}{round(elapsed, 3)!r}{after}" if kind == "json" else ""


def store(
    argv: Sequence[str], rules_dir: str | None, read: Iterable[Path], output: str, code: int, errors: str = ""
) -> None:
    from tripin.redact import redact_text  # replayed before the redacting streams exist

    _store(_entry_path(argv), rules_dir, read, (redact_text(output), code, redact_text(errors)))


def store_lock(
    argv: Sequence[str],
    root: Path,
    rules_dir: str | None,
    read: Iterable[Path],
    answer: tuple[str, str, str, str],
    listings: Iterable[tuple[str, str, str]] = (),
    pages: Iterable[tuple[str, bytes, float]] = (),
) -> None:
    """After a lock run that `replay_lock` may answer for: (text before the seconds, text
    after them, "text" or "json", what went to stderr), valid while `read` is unchanged and
    each (directory, prefix, suffix) of `listings` lists the same names (see `listing`). With
    `pages` (index cache entry, its header line, when it goes stale), the answer to these
    arguments with -U, valid while each of them holds too."""
    from tripin.redact import redact_text

    if os.path.abspath(lock_root(argv) or "") != os.path.abspath(root):
        return  # an abbreviated --cache-dir: replay_lock would look elsewhere
    _missed.discard(tuple(argv))  # an in-process caller running these arguments again may use it
    before, after, kind, errors = answer
    checks = tuple(pages)
    upgrade, key = _lock_key(argv)
    if upgrade and not checks:
        return  # a -U is answered only while the pages it was resolved from hold
    _store(
        _entry_path(key, os.fspath(root), "upgrade" if checks else "lock"),
        rules_dir,
        read,
        (redact_text(before), redact_text(after), kind, redact_text(errors), checks),
        listings,
    )


def _store(
    path: str | None,
    rules_dir: str | None,
    read: Iterable[Path],
    answer: tuple[str | int | tuple[tuple[str, bytes, float], ...], ...],
    listings: Iterable[tuple[str, str, str]] = (),
) -> None:
    if path is None:
        return
    listed = tuple((d, prefix, suffix, listing(d, prefix, suffix)) for d, prefix, suffix in listings)
    directory = os.path.abspath(rules_dir) if rules_dir else _default_rules_dir()
    names = _rule_names(directory)
    files = {os.path.abspath(p): _file_digest(os.fspath(p)) for p in read}
    files.update((os.path.join(directory, n), _file_digest(os.path.join(directory, n))) for n in names)
    entry = (*answer, files, {directory: names}, listed)
    # a name of this process's own, renamed into place: readers see a whole entry or none
    # (tempfile would import shutil and random, a few milliseconds on every cold check)
    tmp = os.path.join(os.path.dirname(path), f".tmp-{os.getpid()}-{os.path.basename(path)}")
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(tmp, "wb") as handle:
            handle.write(marshal.dumps(entry))
        os.replace(tmp, path)
    except (OSError, ValueError):
        import contextlib

        with contextlib.suppress(OSError):
            os.unlink(tmp)
        return  # a memo that cannot be written only costs speed

"""Remember `tripin check`'s answer for unchanged inputs, so a pre-commit hook that runs on
every commit pays for Python's start-up and a few file hashes, not for parsing the rules again.

Kept free of heavy imports (no packaging, no tomllib): it runs before anything else loads.
An entry is keyed by the command's options and holds the sha256 of every file the check read
(the named files, their -r/-c includes, the pyproject.toml it compared) and of the ruleset;
it is used only when all of them still hash the same, so it can never answer for other inputs.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

__all__ = ["cache_root", "default_rules_dir", "lookup", "rule_files", "ruleset_digest", "store"]


def default_rules_dir() -> Path:
    """The rules shipped in the wheel, or the repository's rules/ in a source checkout."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "_rules", here.parent.parent / "rules"):
        if candidate.is_dir():
            return candidate
    return here / "_rules"


def rule_files(rules_dir: str | None) -> list[Path]:
    """The *.toml rules, then Triton's history (rules/triton-history.txt) where the directory has it."""
    directory = Path(rules_dir) if rules_dir else default_rules_dir()
    history = directory / "triton-history.txt"
    return sorted(directory.glob("*.toml")) + ([history] if history.is_file() else [])


def ruleset_digest(files: Iterable[Path]) -> str:
    """The digest `load_ruleset` records: every file's name and bytes, in order."""
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return f"sha256:{digest.hexdigest()}"


def _file_hash(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def cache_root() -> Path:
    """The user cache directory, as platformdirs names it; on Linux computed here, since
    importing platformdirs costs more than the whole memo lookup."""
    root = os.environ.get("TRIPIN_CACHE_DIR")
    if root:
        return Path(root)
    if sys.platform.startswith("linux"):
        return Path(os.environ.get("XDG_CACHE_HOME", "").strip() or Path.home() / ".cache") / "tripin"
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("tripin"))


def _entry_path(options: Sequence[str]) -> Path | None:
    try:
        root = cache_root()
    except (ImportError, RuntimeError):
        return None
    key = hashlib.sha256(json.dumps([str(Path.cwd()), *options]).encode()).hexdigest()
    return root / "v1" / "check" / key


def lookup(options: Sequence[str], rules: Sequence[Path]) -> tuple[str, int, str] | None:
    """(output, exit code, warnings) of an earlier identical check, or None."""
    path = _entry_path(options)
    if path is None:
        return None
    try:
        entry = json.loads(path.read_text(encoding="utf-8"))
        if entry["ruleset"] != ruleset_digest(rules):
            return None
        for name, digest in entry["files"].items():
            if _file_hash(Path(name)) != digest:
                return None
        return str(entry["output"]), int(entry["code"]), str(entry.get("errors", ""))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def store(
    options: Sequence[str], rules: Sequence[Path], read: Iterable[Path], output: str, code: int, errors: str = ""
) -> None:
    path = _entry_path(options)
    if path is None:
        return
    files = {str(p.resolve()): _file_hash(p) for p in read}
    entry = {"ruleset": ruleset_digest(rules), "files": files, "output": output, "code": code, "errors": errors}
    import tempfile

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(entry, handle)
        Path(tmp).replace(path)
    except OSError:
        return  # a memo that cannot be written only costs speed

"""`tripin check --fix`: rewrite the pins a check found wrong, in place and atomically.

Only what can be fixed offline is fixed: a requirements line's version or commit, and a lock's
source-build entry (its commit and the version it builds). A lock entry that would need another
wheel (URL, size, hashes) is left for `tripin lock`.
"""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path

from tripin.check import Violation
from tripin.lock.atomic import write_atomic

__all__ = ["apply_fixes"]

_FIXABLE = frozenset({"TP001", "TP002", "TP004"})


def apply_fixes(violations: list[Violation]) -> tuple[list[str], list[str]]:
    """(what was changed, what could not be), one line each."""
    done: list[str] = []
    skipped: list[str] = []
    by_file: dict[str, list[Violation]] = defaultdict(list)
    for v in violations:
        if v.code in _FIXABLE and v.want_version:
            by_file[v.where.path].append(v)
    for path, items in by_file.items():
        if path.endswith((".lock", ".toml")) and (companions := [v for v in items if v.code == "TP004"]):
            # another torchvision/torchaudio is another wheel (URL, size, hashes): the lock's to write
            skipped += [f"{v.where}: {v.message}: change it with tripin lock" for v in companions]
            items = [v for v in items if v.code != "TP004"]
            if not items:
                continue
        if path.endswith(".lock"):  # uv.lock: uv rewrites it from pyproject.toml, so that is what to change
            skipped += [f"{v.where}: uv.lock is uv's to write: change [tool.uv.sources] and run uv lock" for v in items]
        elif path.endswith(".toml"):
            _fix_pylock(Path(path), items, done, skipped)
        else:
            _fix_lines(Path(path), items, done, skipped)
    return done, skipped


def _fix_lines(path: Path, items: list[Violation], done: list[str], skipped: list[str]) -> None:
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    wants: dict[int, set[tuple[str | None, str | None]]] = defaultdict(set)
    companion: set[int] = set()
    for v in items:
        wants[v.where.line or 0].add((v.want_version, v.want_commit))
        if v.code == "TP004":
            companion.add(v.where.line or 0)
    changed = False
    for number, options in sorted(wants.items()):
        if len(options) != 1:
            skipped.append(
                f"{path}:{number}: targets need different Triton builds here; split the line with "
                "markers (one per platform), then run --fix again"
            )
            continue
        version, commit = options.pop()
        old = lines[number - 1]
        if "--hash" in _logical_line(lines, number - 1):
            # the hashes are the old version's files: pip's hash-checking mode would refuse the new one
            skipped.append(
                f"{path}:{number}: the line carries --hash values of the version it pins; regenerate the "
                "file with its hashes (pip-compile or uv pip compile --generate-hashes), or use tripin lock"
            )
            continue
        if " @ " in old or "git+" in old:
            new = re.sub(r"@[0-9a-fA-F]{7,40}(?=[#?\s]|$)", f"@{commit}", old, count=1) if commit else old
        else:
            # `===`: `==3.2.0` would still accept an installed 3.2.0+git<other> (PEP 440
            # local-version matching), for pip and uv alike; `===3.2.0` is that exact string
            # a +git label is exact with == already; a companion line is a plain release pin
            op = "==" if (version and "+" in version) or number in companion else "==="
            new = re.sub(r"(===?)\s*[^\s;#,\\]+", f"{op}{version}", old, count=1)
        if new != old:
            lines[number - 1] = new
            changed = True
            done.append(f"{path}:{number}: {old.strip()} -> {new.strip()}")
    if changed:
        write_atomic(path, "".join(lines))


def _logical_line(lines: list[str], start: int) -> str:
    """A requirements line with its backslash continuations (where `--hash` options go)."""
    parts = [lines[start]]
    while parts[-1].rstrip("\r\n").endswith("\\") and start + len(parts) < len(lines):
        parts.append(lines[start + len(parts)])
    return "".join(parts)


def _fix_pylock(path: Path, items: list[Violation], done: list[str], skipped: list[str]) -> None:
    import tomlkit  # keeps the file's comments and layout

    doc = tomlkit.parse(path.read_text(encoding="utf-8"))
    packages = doc.get("packages")
    changed = False
    for v in items:
        if v.kind != "pylock-vcs" or not v.want_commit or packages is None or "+git" not in (v.want_version or ""):
            skipped.append(f"{v.where}: needs another wheel (URL and hashes from the index): run tripin lock")
            continue
        entry = packages[v.index]
        vcs = entry["vcs"]
        old = str(vcs["commit-id"])
        vcs["commit-id"] = v.want_commit
        if "requested-revision" in vcs:
            vcs["requested-revision"] = v.want_commit
        build = entry.get("tool", {}).get("tripin", {}).get("build")
        if build is not None:
            build["version"] = v.want_version
        changed = True
        done.append(f"{v.where}: {entry['name']} commit {old} -> {v.want_commit} ({v.want_version})")
    if changed:
        write_atomic(path, tomlkit.dumps(doc))

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
from tripin.errors import one_line
from tripin.inputfile import read_input
from tripin.lock.atomic import write_atomic
from tripin.reqfile import text_encoding

__all__ = ["apply_fixes", "can_fix"]

_FIXABLE = frozenset({"TP001", "TP002", "TP003", "TP004"})  # TP003: the pin its known-bad pair needs
# what to do about what --fix leaves, where the check gave no command of its own
_BEYOND = {
    "TP006": "regenerate it with its hashes (pip-compile or uv pip compile --generate-hashes), or use tripin lock",
}


def apply_fixes(violations: list[Violation]) -> tuple[list[str], list[str]]:
    """(what was changed, what could not be), one line each. Every violation passed in is
    either changed or named in the second list with why and what to do instead."""
    done: list[str] = []
    skipped: list[str] = []
    by_file: dict[str, list[Violation]] = defaultdict(list)
    for v in violations:
        if _fixing(v):
            by_file[v.where.path].append(v)
    pinned = {(v.where.path, v.where.line) for items in by_file.values() for v in items}
    skipped += [_beyond(v) for v in violations if not _fixing(v) and (v.where.path, v.where.line) not in pinned]
    for path, items in by_file.items():
        if path.endswith((".lock", ".toml")) and (companions := [v for v in items if v.code == "TP004"]):
            # another torchvision/torchaudio is another wheel (URL, size, hashes): the lock's to write
            skipped += [f"{v.where}: {v.message}: change it with {v.relock or 'tripin lock'}" for v in companions]
            items = [v for v in items if v.code != "TP004"]
            if not items:
                continue
        if path.endswith(".lock"):  # uv.lock: uv rewrites it from pyproject.toml, so that is what to change
            skipped += [f"{v.where}: uv.lock is uv's to write: change [tool.uv.sources] and run uv lock" for v in items]
        elif path.endswith(".toml"):
            _fix_pylock(Path(path), items, done, skipped)
        else:
            _fix_lines(Path(path), items, done, skipped)
    # the lines quote the files, which may come from a hostile pull request
    return [one_line(line) for line in done], [one_line(line) for line in skipped]


def _fixing(v: Violation) -> bool:
    return v.code in _FIXABLE and bool(v.want_version)


def can_fix(v: Violation) -> bool:
    """Whether --fix rewrites this finding in its file, as far as the finding tells: a lock's
    source-build entry to another commit the rules name, a requirements line's pin. check
    names `tripin check --fix FILE` as the fix of those, the lock's re-lock of the others."""
    if not _fixing(v):
        return False
    if v.where.path.endswith(".lock"):
        return False
    if v.where.path.endswith(".toml"):
        return v.kind == "pylock-vcs" and bool(v.want_commit) and "+git" in (v.want_version or "")
    return True  # a requirements line: _rewrite says where it cannot (a URL, --hash values)


def _beyond(v: Violation) -> str:
    """A violation --fix does not rewrite (a known-bad pair on a line it does not pin, a stale
    lock, missing hashes, a rule that names no build): the reason, and the check's own fix."""
    # a fixable code without a version: a source build whose commit the rules do not know
    why = "the rules name no build to pin here" if v.code in _FIXABLE else f"{v.code} is not a pin --fix rewrites"
    return f"{v.where}: {why}; {v.fix or _BEYOND.get(v.code, v.relock or 'tripin lock')}"


def _fix_lines(path: Path, items: list[Violation], done: list[str], skipped: list[str]) -> None:
    """Rewrite the offending pins in the file's own encoding (byte-order mark included) and
    line endings: the check read it that way, and pip reads it back the same."""
    try:
        data = read_input(path)
        bom, encoding = text_encoding(data)
        lines = data[len(bom) :].decode(encoding).splitlines(keepends=True)
    except (OSError, UnicodeDecodeError) as exc:  # changed since the check read it
        skipped.append(f"{path}: cannot read: {getattr(exc, 'strerror', None) or exc}")
        return
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
        new, why = _rewrite(old, version or "", commit, plain=number in companion)
        if why:
            skipped.append(f"{path}:{number}: {why}")
            continue
        lines[number - 1] = new
        changed = True
        done.append(f"{path}:{number}: {old.strip()} -> {new.strip()}")
    if changed:
        write_atomic(path, bom + "".join(lines).encode(encoding))


def _rewrite(old: str, version: str, commit: str | None, *, plain: bool) -> tuple[str, str]:
    """(the line with the pin the rules want, ""), or (old, why it cannot be rewritten; what to do)."""
    requirement = old.split(";", 1)[0].split(" #", 1)[0]
    name = m[0] if (m := re.match(r"\s*[A-Za-z0-9][A-Za-z0-9._-]*", requirement)) else "the package"
    name = name.strip()
    # `===`: `==3.2.0` would still accept an installed 3.2.0+git<other> (PEP 440
    # local-version matching), for pip and uv alike; `===3.2.0` is that exact string
    # a +git label is exact with == already; a companion line is a plain release pin
    op = "==" if "+" in version or plain else "==="
    if "git+" in requirement:
        if commit is None:
            return old, f"the rules name no commit for {name} {version}; pin {name}{op}{version} instead of the git URL"
        new = re.sub(r"@[0-9a-fA-F]{7,40}(?=[#?\s]|$)", f"@{commit}", old, count=1)
        if new == old:
            return old, f"the git URL names no commit to replace; point it at {commit}"
        return new, ""
    if re.search(r"\s@|@\s", requirement) or "://" in requirement:
        return old, (
            f"a direct URL names the file, not a version --fix can rewrite; replace it with {name}{op}{version} "
            "(or the URL of that release's wheel)"
        )
    new = re.sub(r"(===?)\s*[^\s;#,\\]+", f"{op}{version}", old, count=1)
    if new == old:
        return old, f"the line pins no exact version (== or ===) to rewrite; pin {name}{op}{version}"
    return new, ""


def _logical_line(lines: list[str], start: int) -> str:
    """A requirements line with its backslash continuations (where `--hash` options go)."""
    parts = [lines[start]]
    while parts[-1].rstrip("\r\n").endswith("\\") and start + len(parts) < len(lines):
        parts.append(lines[start + len(parts)])
    return "".join(parts)


def _fix_pylock(path: Path, items: list[Violation], done: list[str], skipped: list[str]) -> None:
    import tomlkit  # keeps the file's comments and layout

    doc = tomlkit.parse(read_input(path).decode("utf-8"))  # as read: CRLF endings stay CRLF
    packages = doc.get("packages")
    changed = False
    for v in {(v.index, v.want_commit): v for v in items}.values():  # TP002 and TP003 on one entry: once
        if v.kind != "pylock-vcs" or not v.want_commit or packages is None or "+git" not in (v.want_version or ""):
            skipped.append(
                f"{v.where}: needs another wheel (URL and hashes from the index): run {v.relock or 'tripin lock'}"
            )
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

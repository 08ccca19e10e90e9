"""Write rules/triton-history.txt: the part of Triton's git history `check` needs, offline.

    python scripts/triton_history.py --git-dir PATH [--git-dir PATH ...] [--write]

Reads Triton's `main` and its `release/X.Y.x` branches from local git directories (a clone of
triton-lang/triton, or forks that carry its branches unchanged: commit ids name content, so a
commit in any of them is the same commit) and derives, for the accepted commits of the rules
(`[[build]]` and `[[pytorch-pin]]` in rules/triton.toml, `[[good]]` in rules/known-bad.toml):

- `main`: its first-parent commits from the oldest release branch point to the tip;
- each release branch: its commits from where it leaves `main` to its tip;
- the version each commit calls itself (`__version__` in python/triton/__init__.py), as runs;
- for each accepted commit, the commits on its branch whose source tree is the same: their trees
  differ only in files that take no part in a build (`.github/`, `docs/`, `*.md`).

When several git directories have a branch, the one with the newest tip is read. Commits are
stored in full: a lock names a full commit id, and matching it by a prefix would let a commit
forged to share 8 hex digits with an accepted one (about 2**32 tries) pass as that commit. The
`+git<hash>` label of an installed build has only 8, so it is matched by prefix, and the script
stops if two stored commits share their first 8. Without --write it prints what it would write
and the sizes.
"""

from __future__ import annotations

import argparse
import itertools
import re
import subprocess
import sys
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "rules" / "triton-history.txt"
SHORT = 8
_RELEASE = re.compile(r"release/\d+\.\d+\.x")
_VERSION = re.compile(r"""^__version__\s*=\s*['"]([^'"]+)['"]""", re.M)


def not_source(path: str) -> bool:
    """Files that no Triton build reads: CI workflows, documentation, Markdown."""
    return path.startswith((".github/", "docs/")) or path.endswith(".md")


@dataclass(frozen=True, slots=True)
class Ref:
    git_dir: Path
    ref: str
    tip: str
    date: int


def _git(git_dir: Path, *args: str) -> str:
    result = subprocess.run(["git", "--git-dir", str(git_dir), *args], capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"git {' '.join(args)} in {git_dir}: {result.stderr.strip()}")
    return result.stdout


def _refs(git_dirs: list[Path]) -> dict[str, Ref]:
    """Branch name -> the newest ref of that name among the git directories (local branches, or
    remote-tracking branches `refs/remotes/<any>/<name>`)."""
    best: dict[str, Ref] = {}
    for git_dir in git_dirs:
        out = _git(
            git_dir,
            "for-each-ref",
            "--format=%(refname) %(objectname) %(committerdate:unix)",
            "refs/heads",
            "refs/remotes",
        )
        for line in out.splitlines():
            parts = line.split()
            if len(parts) != 3:  # a ref to something other than a commit
                continue
            ref, tip, date = parts
            name = ref.removeprefix("refs/heads/") if ref.startswith("refs/heads/") else ref.split("/", 3)[-1]
            if name != "main" and not _RELEASE.fullmatch(name):
                continue
            if name not in best or int(date) > best[name].date:
                best[name] = Ref(git_dir, ref, tip, int(date))
    return best


def _first_parent(ref: Ref, base: str | None) -> list[str]:
    """Full commit ids, oldest first, from `base` (exclusive) to the ref's tip."""
    span = f"{base}..{ref.tip}" if base else ref.tip
    return _git(ref.git_dir, "rev-list", "--first-parent", "--reverse", span).split()


def _versions(ref: Ref, commits: list[str]) -> list[tuple[int, str]]:
    """(index, version) runs: the version from that index on, read where __init__.py changes."""
    if not commits:
        return []
    changed = set(
        _git(
            ref.git_dir, "rev-list", "--first-parent", f"{commits[0]}..{ref.tip}", "--", "python/triton/__init__.py"
        ).split()
    )
    runs: list[tuple[int, str]] = []
    for i, commit in enumerate(commits):
        if i == 0 or commit in changed:
            text = _git(ref.git_dir, "show", f"{commit}:python/triton/__init__.py")
            match = _VERSION.search(text)
            version = match[1] if match else "?"
            if not runs or runs[-1][1] != version:
                runs.append((i, version))
    return runs


def _same_source(ref: Ref, accepted: str, candidates: list[str]) -> list[str]:
    out = []
    for commit in candidates:
        if commit == accepted:
            continue
        changed = _git(ref.git_dir, "diff", "--name-only", accepted, commit).split()
        if all(not_source(p) for p in changed):
            out.append(commit)
    return out


def _accepted() -> list[tuple[str, str]]:
    """(commit, what) for every accepted commit the rules name."""
    out = []
    triton = tomllib.loads((ROOT / "rules" / "triton.toml").read_text())
    for build in triton.get("build", []):
        out.append((build["commit"], f"{build['id']} (PyPI wheel)"))
    for pin in triton.get("pytorch-pin", []):
        out.append((pin["commit"], f"{pin['id']} (PyTorch's pin)"))
    bad = tomllib.loads((ROOT / "rules" / "known-bad.toml").read_text())
    for good in bad.get("good", []):
        out.append((good["commit"], f"{good['id']} (known good)"))
    return out


def _chunks(commits: list[str], width: int = 4) -> list[str]:
    return [" ".join(commits[i : i + width]) for i in range(0, len(commits), width)]


def build(git_dirs: list[Path], accepted: list[tuple[str, str]] | None = None) -> str:
    """The file's text. `accepted` defaults to the commits the rules name."""
    refs = _refs(git_dirs)
    if "main" not in refs:
        raise SystemExit("no git directory has a `main` branch")
    main = refs["main"]
    releases = sorted((n for n in refs if n != "main"), key=lambda n: tuple(int(x) for x in n[8:-2].split(".")))
    points = {}
    for name in releases:
        ref = refs[name]
        # where the branch leaves main, read in the branch's own git directory: its main
        # may be older than the newest one, but it holds the branch point
        local_main = next(
            (
                r
                for r in _git(
                    ref.git_dir, "for-each-ref", "--format=%(refname)", "refs/heads/main", "refs/remotes"
                ).split()
                if r.endswith("/main")
            ),
            None,
        )
        if local_main is None:
            raise SystemExit(f"{ref.git_dir} has {name} but no main to find its branch point")
        points[name] = _git(ref.git_dir, "merge-base", local_main, ref.tip).strip()
    oldest = min(points.values(), key=lambda c: int(_git(main.git_dir, "show", "-s", "--format=%ct", c)))
    main_commits = [oldest, *_first_parent(main, oldest)]
    lines = [
        "# Triton's git history as `tripin check` needs it, offline. Generated by scripts/triton_history.py:",
        "# do not edit. `@branch tip-date [base=commit]` starts a branch: its first-parent commits,",
        "# oldest first (main: from the oldest release branch point; release/X.Y.x: after the commit",
        "# where it leaves main). `=version` holds for the commits after it (python/triton/__init__.py).",
        "# `same A B C`: B, C have A's source tree; they differ only in .github/, docs/ or *.md files.",
        "# Read from: " + ", ".join(sorted({f"{r.git_dir.parent.name or r.git_dir.name}" for r in refs.values()})),
    ]
    seen: dict[str, str] = {}
    placed: dict[str, tuple[Ref, list[str]]] = {}

    def emit(name: str, ref: Ref, commits: list[str], base: str | None) -> None:
        date = time.strftime("%Y-%m-%d", time.gmtime(ref.date))
        lines.append(f"@{name} {date}" + (f" base={base}" if base else ""))
        runs = dict(_versions(ref, commits))
        cuts = [*sorted(runs), len(commits)]
        for a, b in itertools.pairwise(cuts):
            lines.append(f"={runs[a]}")
            lines.extend(_chunks(commits[a:b]))
        for commit in commits:
            other = seen.setdefault(commit[:SHORT], commit)
            if other != commit:
                raise SystemExit(f"{commit} and {other} share the short hash {commit[:SHORT]}")
            placed[commit] = (ref, commits)  # a release branch wins over main

    emit("main", main, main_commits, None)
    for name in releases:
        emit(name, refs[name], _first_parent(refs[name], points[name]), points[name])
    for commit, what in _accepted() if accepted is None else accepted:
        if commit not in placed:
            print(f"warning: {what} {commit[:12]} is in no branch read", file=sys.stderr)
            continue
        ref, commits = placed[commit]
        if ref is main:  # a main commit's neighbours each change the source
            continue
        same = _same_source(ref, commit, commits)
        print(f"{what} {commit[:12]}: {len(same)} same-source commit(s)", file=sys.stderr)
        if same:
            lines.append(f"same {commit} " + " ".join(same))
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--git-dir", type=Path, action="append", required=True, help="git directory with Triton's history"
    )
    parser.add_argument("--write", action="store_true", help=f"write {OUT.relative_to(ROOT)}")
    args = parser.parse_args()
    text = build(args.git_dir)
    commits = sum(len(line.split()) for line in text.splitlines() if line[:1] not in "#@=s")
    print(f"{commits} commits, {len(text.encode())} bytes", file=sys.stderr)
    if args.write:
        OUT.write_text(text)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

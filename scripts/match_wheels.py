"""Check that each Triton commit in rules/triton.toml is what its PyPI wheel was built from.

    python scripts/match_wheels.py --git-dir PATH [--git-dir PATH ...] [--version 3.2.0 ...] [--write]

For every build rule, reads the Python files inside one PyPI wheel of that release (HTTP range
requests: the ~200 MB wheel is not downloaded) and compares them, byte for byte, with the same
files at the rule's commit in a local git repository holding Triton's history (a clone of
triton-lang/triton, or any fork that carries its release branches: commit ids name content, so
any repository that has the commit has the same files). A rule whose every comparable file is
identical is `matched`; any difference is printed. With --write, `candidate` rules that match
become `matched` (tomlkit keeps the file's comments); `verified` rules are never touched.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import tomlkit

from tripin.index import DistFile, Index, IndexClient
from tripin.index.cache import Cache, default_cache_dir
from tripin.index.rangezip import read_members
from tripin.rules import Build, load_ruleset

ROOT = Path(__file__).resolve().parent.parent


def _git_path(member: str) -> list[str]:
    """Where a wheel's `triton/...` file lives in the source tree: python/triton/..., except the
    backends, which setup.py copies from third_party/<name>/backend/."""
    rest = member.removeprefix("triton/")
    parts = rest.split("/")
    out = [f"python/triton/{rest}"]
    if parts[0] == "backends" and len(parts) > 2:
        out.append(f"third_party/{parts[1]}/backend/{'/'.join(parts[2:])}")
    if parts[:2] == ["language", "extra"] and len(parts) > 3:
        vendor = {"cuda": "nvidia", "hip": "amd"}.get(parts[2], parts[2])
        out.append(f"third_party/{vendor}/language/{'/'.join(parts[2:])}")
    if parts[0] == "profiler":
        out.append(f"third_party/proton/proton/{'/'.join(parts[1:])}")
    return out


def _git_show(git_dirs: list[Path], commit: str, path: str) -> bytes | None:
    for git_dir in git_dirs:
        result = subprocess.run(["git", "--git-dir", str(git_dir), "show", f"{commit}:{path}"], capture_output=True)
        if result.returncode == 0:
            return result.stdout
    return None


def _pick_wheel(files: tuple[DistFile, ...], build: Build) -> DistFile | None:
    wheels = [f for f in files if f.is_wheel and f.version == build.version and "x86_64" in f.filename]
    return sorted(wheels, key=lambda f: f.filename)[-1] if wheels else None


def check(client: IndexClient, git_dirs: list[Path], build: Build) -> tuple[int, list[str], int]:
    """(identical files, differing files, files with no counterpart in the tree)."""
    wheel = _pick_wheel(client.project(build.package).files, build)
    if wheel is None:
        return 0, [f"no x86_64 wheel of {build.package} {build.version} on the index"], 0
    members = read_members(
        client.range_fetcher(wheel.url),
        wheel.filename,
        lambda names: [n for n in names if n.startswith("triton/") and n.endswith(".py")],
    )
    same, differ, absent = 0, [], 0
    for member, content in sorted(members.items()):
        sources = [s for s in (_git_show(git_dirs, build.commit, p) for p in _git_path(member)) if s is not None]
        if not sources:
            absent += 1
        elif content in sources:
            same += 1
        else:
            differ.append(member)
    return same, differ, absent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--git-dir",
        type=Path,
        action="append",
        required=True,
        help="a git directory holding Triton's history (repeatable)",
    )
    parser.add_argument("--index-url", default="https://pypi.org/simple")
    parser.add_argument("--version", action="append", default=[], help="only these Triton versions")
    parser.add_argument("--write", action="store_true", help="mark matching candidate rules as matched")
    args = parser.parse_args()
    rules = load_ruleset()
    matched: list[str] = []
    client = IndexClient([Index(name="pypi", url=args.index_url)], cache=Cache(default_cache_dir()))
    with client:
        for build in rules.builds:
            if args.version and str(build.version) not in args.version:
                continue
            same, differ, absent = check(client, args.git_dir, build)
            verdict = "matched" if same >= 10 and not differ else "NOT matched"
            print(
                f"{build.id} {build.commit[:12]}: {same} identical, {len(differ)} differ, "
                f"{absent} not in the tree -> {verdict}"
            )
            for member in differ[:10]:
                print(f"    differs: {member}")
            if verdict == "matched":
                matched.append(build.id)
        print(f"{client.fetcher.stats.requests} requests, {client.fetcher.stats.bytes / 1e6:.1f} MB", file=sys.stderr)
    if args.write and matched:
        path = ROOT / "rules" / "triton.toml"
        doc = tomlkit.parse(path.read_text())
        for table in doc["build"]:  # type: ignore[union-attr]
            if table["id"] in matched and table["status"] == "candidate":
                table["status"] = "matched"
        path.write_text(tomlkit.dumps(doc))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

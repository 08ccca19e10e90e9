#!/usr/bin/env python3
"""Record a small, trimmed copy of real PyPI for tripin's test suite.

Usage (from the repository root)::

    python scripts/record_index.py            # reads tests/index/record.toml
    python scripts/record_index.py --config tests/index/record.toml --out tests/index

It walks the dependency graph of the configured roots (a worklist of
requirements), keeps the newest ``keep-per-requirement`` versions matching each
requirement (exact ``==`` pins keep just that version), keeps sdists and the
wheels compatible with at least one configured target, downloads each kept
wheel's METADATA (PEP 658 ``<url>.metadata``, or, when the index has none, by
HTTP range reads of the wheel's zip directory) and writes:

* ``<out>/simple/index.json``                      PEP 691 project list
* ``<out>/simple/<normalized-name>/index.json``    PEP 691 project page, with
  each file's ``url`` rewritten to ``../../files/<filename>``
* ``<out>/files/<wheel filename>.metadata``         real METADATA bytes

Files uploaded after ``exclude-newer`` are ignored, so re-recording is
reproducible.  The project named by ``core-metadata-project`` gets
``"core-metadata": {"sha256": ...}`` on its wheels (PEP 658/714 advertised
path); every other project advertises no metadata, like the real mirror.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import email.parser
import hashlib
import io
import json
import shutil
import sys
import time
import tomllib
import zipfile
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
from packaging import tags
from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    canonicalize_name,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import InvalidVersion, Version

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG = ROOT / "tests" / "index" / "record.toml"
JSON_ACCEPT = "application/vnd.pypi.simple.v1+json"

PLATFORM_SYSTEM = {"linux": "Linux", "darwin": "Darwin", "win32": "Windows"}
OS_NAME = {"linux": "posix", "darwin": "posix", "win32": "nt"}


# --------------------------------------------------------------------------- targets


@dataclasses.dataclass(frozen=True)
class Target:
    python: str
    platform: str
    machine: str

    @property
    def py_tuple(self) -> tuple[int, int]:
        major, minor = self.python.split(".")[:2]
        return int(major), int(minor)

    def label(self) -> str:
        return f"py{self.python}-{self.platform}-{self.machine}"

    def marker_env(self, extra: str = "") -> dict[str, str]:
        major, minor = self.py_tuple
        return {
            "implementation_name": "cpython",
            "implementation_version": f"{major}.{minor}.0",
            "os_name": OS_NAME[self.platform],
            "platform_machine": self.machine,
            "platform_python_implementation": "CPython",
            "platform_release": "",
            "platform_system": PLATFORM_SYSTEM[self.platform],
            "platform_version": "",
            "python_full_version": f"{major}.{minor}.0",
            "python_version": f"{major}.{minor}",
            "sys_platform": self.platform,
            "extra": extra,
        }

    def platforms(self) -> list[str]:
        arch = self.machine.lower()
        if self.platform == "linux":
            out = [f"manylinux_2_{x}_{arch}" for x in range(28, 4, -1)]
            out.append(f"manylinux2014_{arch}")
            if arch in ("x86_64", "i686"):
                out += [f"manylinux2010_{arch}", f"manylinux1_{arch}"]
            out.append(f"linux_{arch}")
            return out
        if self.platform == "darwin":
            return list(tags.mac_platforms(version=(14, 0), arch=arch))
        if self.platform == "win32":
            return {"amd64": ["win_amd64"], "arm64": ["win_arm64"], "x86": ["win32"]}[arch]
        raise ValueError(f"unknown platform {self.platform!r}")

    def supported_tags(self) -> frozenset[tags.Tag]:
        py = self.py_tuple
        plats = self.platforms()
        abi = f"cp{py[0]}{py[1]}"
        found = set(tags.cpython_tags(python_version=py, abis=[abi], platforms=plats))
        found.update(tags.compatible_tags(python_version=py, interpreter=abi, platforms=plats))
        return frozenset(found)


# --------------------------------------------------------------------------- HTTP


class Fetcher:
    def __init__(self) -> None:
        self.client = httpx.Client(
            timeout=httpx.Timeout(120.0, connect=30.0),
            follow_redirects=True,
            headers={"User-Agent": "tripin-record-index/1"},
            limits=httpx.Limits(max_connections=16),
        )
        self.pages: dict[str, dict[str, Any]] = {}
        self.by_range: list[str] = []  # wheels whose METADATA came from range reads

    def get(self, url: str, headers: dict[str, str] | None = None) -> httpx.Response:
        last: Exception | None = None
        for attempt in range(5):
            try:
                r = self.client.get(url, headers=headers)
            except httpx.TransportError as exc:
                last = exc
            else:
                if r.status_code < 500 and r.status_code != 429:
                    return r
                last = RuntimeError(f"{url}: HTTP {r.status_code}")
            time.sleep(1.5 * (attempt + 1))
        assert last is not None
        raise last

    def project(self, name: str) -> dict[str, Any] | None:
        key = canonicalize_name(name)
        if key not in self.pages:
            r = self.get(f"https://pypi.org/simple/{key}/", {"Accept": JSON_ACCEPT})
            if r.status_code == 404:
                print(f"  ! project {key} not found", file=sys.stderr)
                self.pages[key] = {}
            else:
                r.raise_for_status()
                self.pages[key] = r.json()
        return self.pages[key] or None

    def metadata(self, file: dict[str, Any]) -> bytes | None:
        """The wheel's METADATA: PEP 658 first, else range reads of the wheel."""
        url = file["url"]
        r = self.get(url + ".metadata")
        if r.status_code == 200:
            return r.content
        try:
            raw = self._metadata_by_range(url, file["filename"], int(file["size"]))
            self.by_range.append(file["filename"])
            return raw
        except Exception as exc:
            print(f"  ! no metadata for {file['filename']}: {exc}", file=sys.stderr)
            return None

    def _metadata_by_range(self, url: str, filename: str, size: int) -> bytes:
        name, version, _, _ = parse_wheel_filename(filename)
        with zipfile.ZipFile(RangeFile(self, url, size)) as zf:
            wanted = [n for n in zf.namelist() if n.count("/") == 1 and n.endswith(".dist-info/METADATA")]
            if not wanted:
                raise ValueError("no .dist-info/METADATA in wheel")
            if len(wanted) > 1:
                prefix = f"{name.replace('-', '_')}-{version}.dist-info/".lower()
                wanted = [n for n in wanted if n.lower() == prefix + "metadata"] or wanted
            return zf.read(wanted[0])


class RangeFile(io.RawIOBase):
    """A read-only seekable file over HTTP range requests (enough for zipfile)."""

    def __init__(self, fetcher: Fetcher, url: str, size: int) -> None:
        super().__init__()
        self.fetcher, self.url, self.size, self.pos = fetcher, url, size, 0
        self.blocks: dict[int, bytes] = {}
        self.block = 256 * 1024

    def seekable(self) -> bool:
        return True

    def readable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self.pos, io.SEEK_END: self.size}[whence]
        self.pos = max(0, base + offset)
        return self.pos

    def _block(self, index: int) -> bytes:
        if index not in self.blocks:
            start = index * self.block
            end = min(self.size, start + self.block) - 1
            r = self.fetcher.get(self.url, {"Range": f"bytes={start}-{end}"})
            if r.status_code != 206:
                raise RuntimeError(f"range request answered {r.status_code}")
            self.blocks[index] = r.content
        return self.blocks[index]

    def read(self, n: int = -1) -> bytes:
        if n is None or n < 0:
            n = self.size - self.pos
        n = min(n, self.size - self.pos)
        out = bytearray()
        while n > 0:
            index, off = divmod(self.pos, self.block)
            chunk = self._block(index)[off : off + n]
            if not chunk:
                break
            out += chunk
            self.pos += len(chunk)
            n -= len(chunk)
        return bytes(out)

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


# --------------------------------------------------------------------------- recording


def parse_time(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))


def file_version(filename: str) -> tuple[Version, str] | None:
    """(version, kind) for a wheel or .tar.gz sdist, None for anything else."""
    try:
        if filename.endswith(".whl"):
            return parse_wheel_filename(filename)[1], "wheel"
        if filename.endswith(".tar.gz"):
            return parse_sdist_filename(filename)[1], "sdist"
    except (InvalidWheelFilename, InvalidSdistFilename, InvalidVersion):
        return None
    return None


def requires_python_ok(value: str | None, targets: Iterable[Target]) -> bool:
    if not value:
        return True
    try:
        spec = SpecifierSet(value)
    except Exception:
        return True  # broken metadata on the index: keep it, as installers do
    return any(spec.contains(f"{t.python}.0", prereleases=True) for t in targets)


@dataclasses.dataclass
class Project:
    name: str
    page: dict[str, Any]
    kept: set[Version] = dataclasses.field(default_factory=set)
    # version -> files kept for it, with the targets each file serves
    files: dict[Version, list[tuple[dict[str, Any], list[Target]]]] = dataclasses.field(default_factory=dict)


class Recorder:
    def __init__(self, config: dict[str, Any]) -> None:
        self.exclude_newer = parse_time(config["exclude-newer"])
        self.keep = int(config.get("keep-per-requirement", 2))
        self.roots = [Requirement(r) for r in config["roots"]]
        self.targets = [Target(str(t["python"]), str(t["platform"]), str(t["machine"])) for t in config["targets"]]
        self.core_metadata_projects = {canonicalize_name(n) for n in config.get("core-metadata-projects", [])}
        self.target_tags = {t: t.supported_tags() for t in self.targets}
        self.fetcher = Fetcher()
        self.projects: dict[str, Project] = {}
        self.metadata: dict[str, bytes] = {}  # wheel filename -> METADATA bytes
        self.written_wheels: set[str] = set()

    # -- selection

    def candidate_files(self, page: dict[str, Any]) -> dict[Version, list[tuple[dict[str, Any], list[Target]]]]:
        out: dict[Version, list[tuple[dict[str, Any], list[Target]]]] = {}
        for f in page.get("files", []):
            parsed = file_version(f["filename"])
            if parsed is None:
                continue
            version, kind = parsed
            uploaded = f.get("upload-time")
            if uploaded and parse_time(uploaded) >= self.exclude_newer:
                continue
            if not requires_python_ok(f.get("requires-python"), self.targets):
                continue
            if kind == "wheel":
                wheel_tags = parse_wheel_filename(f["filename"])[3]
                served = [t for t in self.targets if wheel_tags & self.target_tags[t]]
                if not served:
                    continue
            else:
                served = list(self.targets)
            out.setdefault(version, []).append((f, served))
        return out

    def choose(self, req: Requirement, versions: Iterable[Version]) -> list[Version]:
        spec = req.specifier
        pins = [s for s in spec if s.operator in ("==", "===") and "*" not in s.version]
        allow_pre = bool(spec.prereleases) or any(Version(s.version).is_prerelease for s in pins)
        matching = sorted((v for v in versions if spec.contains(v, prereleases=allow_pre)), reverse=True)
        if pins:
            return matching[:1]
        return matching[: self.keep]

    # -- walk

    def run(self) -> None:
        work: list[tuple[Requirement, str]] = [(r, "<root>") for r in self.roots]
        seen_reqs: set[tuple[str, str, frozenset[str]]] = set()
        done: set[tuple[str, Version, frozenset[str]]] = set()
        while work:
            req, parent = work.pop(0)
            name = canonicalize_name(req.name)
            extras = frozenset(canonicalize_name(e) for e in req.extras)
            key = (name, str(req.specifier), extras)
            if key in seen_reqs:
                continue
            seen_reqs.add(key)
            page = self.fetcher.project(name)
            if page is None:
                continue
            project = self.projects.get(name)
            if project is None:
                project = self.projects[name] = Project(page.get("name", name), page)
                project.files = self.candidate_files(page)
            usable = [
                v
                for v, fs in project.files.items()
                if any(not f.get("yanked") for f, _ in fs) or any(s.operator in ("==", "===") for s in req.specifier)
            ]
            chosen = self.choose(req, usable)
            if not chosen:
                print(f"  ! nothing matches {req} (from {parent})", file=sys.stderr)
                continue
            print(f"{req}  <- {parent}: {', '.join(map(str, chosen))}")
            for version in chosen:
                project.kept.add(version)
                if (name, version, extras) in done:
                    continue
                done.add((name, version, extras))
                for dep in self.dependencies(project, version, extras):
                    work.append((dep, f"{name}=={version}"))

    def dependencies(self, project: Project, version: Version, extras: frozenset[str]) -> list[Requirement]:
        wheels = [(f, ts) for f, ts in project.files[version] if f["filename"].endswith(".whl")]
        self.fetch_metadata([f for f, _ in wheels])
        found: dict[str, Requirement] = {}
        for f, served in wheels:
            raw = self.metadata.get(f["filename"])
            if raw is None:
                continue
            msg = email.parser.BytesParser().parsebytes(raw, headersonly=True)
            for line in msg.get_all("Requires-Dist") or []:
                dep = Requirement(line)
                if dep.marker is not None and not any(marker_applies(dep.marker, t, extras) for t in served):
                    continue
                dep.marker = None
                found.setdefault(str(dep), dep)
        return list(found.values())

    def fetch_metadata(self, files: list[dict[str, Any]]) -> None:
        todo = [f for f in files if f["filename"] not in self.metadata]
        with ThreadPoolExecutor(max_workers=8) as pool:
            for f, raw in zip(todo, pool.map(self.fetcher.metadata, todo), strict=True):
                if raw is not None:
                    self.metadata[f["filename"]] = raw

    # -- output

    def write(self, out: Path) -> dict[str, int]:
        for sub in ("simple", "files"):
            if (out / sub).exists():
                shutil.rmtree(out / sub)
        (out / "simple").mkdir(parents=True)
        (out / "files").mkdir(parents=True)
        stats = {"projects": 0, "versions": 0, "files": 0, "metadata": 0}
        names: list[str] = []
        for key in sorted(self.projects):
            project = self.projects[key]
            if not project.kept:
                continue
            files: list[dict[str, Any]] = []
            versions = sorted(project.kept)
            for version in versions:
                for f, _ in sorted(project.files[version], key=lambda x: x[0]["filename"]):
                    entry = self.file_entry(key, f)
                    if entry is not None:
                        files.append(entry)
            if not files:
                continue
            names.append(project.name)
            page = {
                "meta": {"api-version": "1.1"},
                "name": key,
                "versions": [str(v) for v in versions],
                "files": files,
            }
            (out / "simple" / key).mkdir()
            write_json(out / "simple" / key / "index.json", page)
            stats["projects"] += 1
            stats["versions"] += len(versions)
            stats["files"] += len(files)
        for filename, raw in self.metadata.items():
            if filename in self.written_wheels:
                (out / "files" / f"{filename}.metadata").write_bytes(raw)
                stats["metadata"] += 1
        projects = [{"name": n} for n in sorted(names, key=canonicalize_name)]
        write_json(out / "simple" / "index.json", {"meta": {"api-version": "1.1"}, "projects": projects})
        return stats

    def file_entry(self, project: str, f: dict[str, Any]) -> dict[str, Any] | None:
        filename = f["filename"]
        is_wheel = filename.endswith(".whl")
        if is_wheel and filename not in self.metadata:
            print(f"  ! dropping {filename}: no metadata", file=sys.stderr)
            return None
        entry: dict[str, Any] = {
            "filename": filename,
            "hashes": f.get("hashes", {}),
            "requires-python": f.get("requires-python"),
            "size": f.get("size"),
            "upload-time": f.get("upload-time"),
            "url": f"../../files/{filename}",
            "yanked": f.get("yanked", False),
        }
        if is_wheel:
            self.written_wheels.add(filename)
            if project in self.core_metadata_projects:
                digest = hashlib.sha256(self.metadata[filename]).hexdigest()
                entry["core-metadata"] = {"sha256": digest}
        return entry


def marker_applies(marker: Marker, target: Target, extras: frozenset[str]) -> bool:
    return any(marker.evaluate(target.marker_env(e)) for e in ("", *sorted(extras)))


def write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, indent=1, sort_keys=False) + "\n", encoding="utf-8")


def tree_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def iter_summary(recorder: Recorder) -> Iterator[str]:
    for key in sorted(recorder.projects):
        project = recorder.projects[key]
        if project.kept:
            yield f"  {key}: {', '.join(str(v) for v in sorted(project.kept))}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=DEFAULT_CONFIG)
    parser.add_argument("--out", type=Path, default=None, help="default: the config's folder")
    args = parser.parse_args(argv)
    config = tomllib.loads(args.config.read_text(encoding="utf-8"))
    out: Path = args.out or args.config.parent
    recorder = Recorder(config)
    recorder.run()
    stats = recorder.write(out)
    print("\nrecorded:")
    for line in iter_summary(recorder):
        print(line)
    total = tree_size(out)
    print(
        f"\n{stats['projects']} projects, {stats['versions']} versions, {stats['files']} files "
        f"({stats['metadata']} wheel METADATA, {len(recorder.fetcher.by_range)} of them read "
        f"from the wheel by HTTP range requests: no .metadata on the index), "
        f"{total} bytes under {out}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""`tripin doctor`: what torch and Triton an interpreter has, whether the pair works, the fix.

Nothing of torch or Triton is imported into tripin's process: a broken install must not crash
the tool that diagnoses it. The interpreter is asked for its platform and sys.path in a
subprocess; distributions are read as files (importlib.metadata over that path, torch's
version.py parsed with ast); importing Triton is the explicit `--probe`, in a subprocess too.
"""

from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
import tempfile
from dataclasses import asdict, dataclass, field, replace
from importlib.metadata import Distribution, distributions
from pathlib import Path
from typing import Any

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from tripin.errors import TripinError
from tripin.judge import (
    TRITONS,
    WARN_NO_NIGHTLY_RULE,
    Finding,
    Pair,
    commit_of_version,
    fix_argv_for,
    fix_for,
    judge_pair,
    pair_verdict,
    release_line,
    variant_of,
)
from tripin.reqfile import vcs_commit
from tripin.rules.model import Ruleset

__all__ = ["DoctorError", "Report", "absolute_python", "diagnose", "inspect"]

_ASK = r"""
import json, os, platform, sys
print(json.dumps({
    "executable": sys.executable, "path": [p for p in sys.path if p],
    "python": "%d.%d.%d" % sys.version_info[:3], "implementation": sys.implementation.name,
    "os_name": os.name, "sys_platform": sys.platform, "platform_machine": platform.machine(),
    "platform_system": platform.system(), "platform_release": platform.release(),
    "platform_version": platform.version(), "platform_python_implementation": platform.python_implementation(),
}))
"""

_PROBE = r"""
import importlib, json, sys
results = []
for group in json.loads(sys.argv[1]):
    errors = []
    for name in group:
        module, _, attribute = name.partition(":")
        try:
            getattr(importlib.import_module(module), attribute)
            errors = None
            break
        except Exception as exc:
            errors.append("%s: %s: %s" % (name, type(exc).__name__, exc))
    results.append(errors)
print(json.dumps(results))
"""

_MACHINES = {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "aarch64", "arm64": "arm64"}


class DoctorError(TripinError):
    """The interpreter could not be inspected."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Installed:
    name: str
    version: str
    location: str
    commit: str | None = None
    commit_from: str = ""


@dataclass(slots=True, kw_only=True)
class Report:
    python: str
    python_version: str
    platform: str
    target: str
    torch: Installed | None = None
    torch_git_version: str | None = None
    cuda: str | None = None
    hip: str | None = None
    tritons: list[Installed] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what could not be judged, and why
    verdict: dict[str, str] | None = None  # on the Triton commit: level (ok, warning, error), reason
    probes: list[dict[str, Any]] = field(default_factory=list)
    has_pip: bool = False  # whether the fix can run this interpreter's own pip (else uv)

    @property
    def healthy(self) -> bool:
        return not self.findings

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        del data["has_pip"]
        for finding in data["findings"]:
            finding["fix"] = {"text": finding["fix"], "argv": finding.pop("argv") or None}
        data["healthy"] = self.healthy
        data["schema"] = 1
        return data


def _run(python: str, code: str, *args: str, timeout: float = 60) -> str:
    with tempfile.TemporaryDirectory() as cwd:  # the current directory must not shadow packages
        try:
            result = subprocess.run(
                [python, "-c", code, *args], capture_output=True, text=True, timeout=timeout, cwd=cwd
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise DoctorError(f"cannot run {python}: {exc}") from None
    if result.returncode != 0:
        last = (result.stderr.strip().splitlines() or ["no output"])[-1]
        raise DoctorError(f"{python} failed: {last}")
    return result.stdout


def _environment(info: dict[str, Any]) -> dict[str, str]:
    version = str(info["python"])
    return {
        "implementation_name": str(info["implementation"]),
        "implementation_version": version,
        "os_name": str(info["os_name"]),
        "platform_machine": str(info["platform_machine"]),
        "platform_python_implementation": str(info["platform_python_implementation"]),
        "platform_release": str(info["platform_release"]),
        "platform_system": str(info["platform_system"]),
        "platform_version": str(info["platform_version"]),
        "python_full_version": version,
        "python_version": ".".join(version.split(".")[:2]),
        "sys_platform": str(info["sys_platform"]),
        "extra": "",
    }


def _target_name(env: dict[str, str]) -> str:
    os_name = {"linux": "linux", "darwin": "macos", "win32": "windows"}.get(env["sys_platform"], env["sys_platform"])
    machine = _MACHINES.get(env["platform_machine"].lower(), env["platform_machine"].lower())
    return f"{os_name}-{machine}-cp{env['python_version'].replace('.', '')}"


def _commit(dist: Distribution, version: str) -> tuple[str | None, str]:
    """PEP 610 direct_url.json names the commit of a VCS install; else the +git label."""
    text = dist.read_text("direct_url.json")
    if text:
        try:
            data = json.loads(text)
            commit = data.get("vcs_info", {}).get("commit_id")
            if commit:
                return str(commit).lower(), "direct_url.json"
            from_url = vcs_commit(str(data.get("url", "")))
            if from_url:
                return from_url, "direct_url.json"
        except (ValueError, AttributeError):
            pass
    try:
        label = commit_of_version(Version(version))
    except InvalidVersion:
        label = None
    return label, ("+git label" if label else "")


def _version_py(path: Path) -> dict[str, str | None]:
    """The assignments of torch/version.py, read as data."""
    out: dict[str, str | None] = {}
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"))
    except (OSError, SyntaxError, UnicodeDecodeError):
        return out
    for node in tree.body:
        target = (
            node.targets[0]
            if isinstance(node, ast.Assign) and len(node.targets) == 1
            else node.target
            if isinstance(node, ast.AnnAssign)
            else None
        )
        value = node.value if isinstance(node, ast.Assign | ast.AnnAssign) else None
        if (
            isinstance(target, ast.Name)
            and isinstance(value, ast.Constant)
            and (value.value is None or isinstance(value.value, str))
        ):
            out[target.id] = value.value
    return out


def inspect(python: str) -> tuple[Report, dict[str, str]]:
    try:
        info = json.loads(_run(python, _ASK))
    except ValueError:
        raise DoctorError(f"{python} did not answer with its platform") from None
    env = _environment(info)
    report = Report(
        python=str(info["executable"]),
        python_version=str(info["python"]),
        platform=f"{env['sys_platform']} {env['platform_machine']}",
        target=_target_name(env),
    )
    seen: set[str] = set()
    for dist in distributions(path=[str(p) for p in info["path"]]):
        raw_name = dist.metadata["Name"] if dist.metadata else None
        if not raw_name:
            continue
        name = canonicalize_name(raw_name)
        if name in seen:
            continue  # an earlier sys.path entry shadows this one, as at import time
        seen.add(name)
        location = str(dist.locate_file(""))
        if name == "pip":
            report.has_pip = True
        if name == "torch":
            report.torch = Installed(name=name, version=dist.version, location=location)
            fields = _version_py(Path(str(dist.locate_file("torch/version.py"))))
            report.torch_git_version, report.cuda, report.hip = (
                fields.get("git_version"),
                fields.get("cuda"),
                fields.get("hip"),
            )
        elif name in TRITONS:
            commit, commit_from = _commit(dist, dist.version)
            report.tritons.append(
                Installed(name=name, version=dist.version, location=location, commit=commit, commit_from=commit_from)
            )
    return report, env


def absolute_python(python: str) -> str:
    """The interpreter runs in a temporary directory (a package in the current one must not
    shadow the installed ones), so a relative path is made absolute first, as the shell meant
    it; joined, not resolved: a venv's python is a symlink, and resolving it leaves the venv."""
    if (os.sep in python or (os.altsep and os.altsep in python)) and not Path(python).is_absolute():
        return str(Path.cwd() / python)
    return python


def diagnose(python: str, ruleset: Ruleset, *, probe: bool = False) -> Report:
    python = absolute_python(python)  # the probe runs it from a temporary directory too
    report, env = inspect(python)
    if report.torch is None:
        return report
    try:
        torch = Version(report.torch.version)
    except InvalidVersion:
        raise DoctorError(f"torch has an invalid version {report.torch.version!r}") from None
    # the distribution torch asks for is the one judged (a stray second one is TP009's)
    pin = ruleset.pin_for(release_line(torch), env)
    needed = "pytorch-triton" if torch.is_devrelease else pin.package if pin is not None else "triton"
    triton = next((t for t in report.tritons if canonicalize_name(t.name) == needed), None)
    triton = triton or (report.tritons[0] if report.tritons else None)
    if len(report.tritons) > 1:
        names = ", ".join(f"{t.name} {t.version}" for t in report.tritons)
        others = [t.name for t in report.tritons if t is not triton]
        report.findings.append(
            Finding(
                code="TP009",
                message=f"more than one Triton is installed ({names}): "
                "they share the `triton` import name, so one overwrites the other",
                fix=f"uninstall all but the one torch needs ({', '.join(others)}), then reinstall it: its files "
                "were overwritten",
                argv=_for_this_python(("pip", "uninstall", "-y", *others), report),
            )
        )
    pair = Pair(
        torch=torch,
        triton=canonicalize_name(triton.name) if triton else None,
        triton_version=Version(triton.version) if triton else None,
        commit=triton.commit if triton else None,
        commit_from=triton.commit_from if triton else "",
        environment=env,
        target=report.target,
        gpu=_gpu(report),
    )
    if (verdict := pair_verdict(ruleset, pair)) is not None:
        report.verdict = {"level": verdict.level, "reason": verdict.reason}
    for finding in judge_pair(ruleset, pair):
        if finding.code == WARN_NO_NIGHTLY_RULE:
            report.notes.append(finding.message)
        elif finding.level == "warning":  # another cut, or main before a break: said, still healthy
            report.notes.append(f"{finding.code} {finding.message}")
        else:
            report.findings.append(replace(finding, argv=_for_this_python(finding.argv, report)))
    if probe and triton is not None:
        probes = [p for p in ruleset.probes if p.torch.contains(torch, prereleases=True)]
        groups = [["triton:__version__"], *[list(p.any_of) for p in probes]]
        try:
            results = json.loads(_run(python, _PROBE, json.dumps(groups), timeout=120))
        except ValueError:
            raise DoctorError(f"{python} did not answer the import probe") from None
        checks = [("import triton", "import triton fails"), *[(p.id, p.symptom) for p in probes]]
        for (name, symptom), errors in zip(checks, results, strict=True):
            report.probes.append({"probe": name, "ok": errors is None, "errors": errors or []})
            if errors is not None:
                report.findings.append(
                    Finding(
                        code="TP010",
                        message=f"probe {name} failed: {symptom} ({errors[-1]})",
                        fix=fix_for(ruleset, pair),
                        argv=_for_this_python(fix_argv_for(ruleset, pair), report),
                    )
                )
    return report


def _gpu(report: Report) -> bool | None:
    """A GPU build (CUDA, ROCm, XPU) from what torch says of itself: torch/version.py's `cuda`
    and `hip`, or a variant label. None when torch/version.py could not be read."""
    assert report.torch is not None
    try:
        label = variant_of(Version(report.torch.version))
    except InvalidVersion:
        label = None
    if report.cuda or report.hip or (label is not None and label != "cpu"):
        return True
    fields = _version_py(Path(report.torch.location) / "torch" / "version.py")
    return False if "cuda" in fields else None


def _for_this_python(argv: tuple[str, ...], report: Report) -> tuple[str, ...]:
    """A `pip ...` fix as a command for the inspected interpreter: its own pip, else uv (a uv
    venv has no pip), else the pip beside tripin with `--python` (tripin/pipcmd.py)."""
    from tripin.pipcmd import pip_head

    if not argv or argv[0] != "pip":
        return argv
    if not report.has_pip and shutil.which("uv"):
        rest = [a for a in argv[2:] if a != "-y"]  # uv uninstalls without asking, and knows no -y
        return ("uv", "pip", argv[1], "--python", report.python, *rest)
    return (*pip_head(report.python, has_pip=report.has_pip), *argv[1:])

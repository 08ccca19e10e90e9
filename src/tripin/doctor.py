"""`tripin doctor`: what torch and Triton an interpreter has, whether the pair works, the fix.

Nothing of torch or Triton is imported into tripin's process: a broken install must not crash
the tool that diagnoses it. The interpreter is asked for its platform and sys.path in a
subprocess; distributions are read as files (importlib.metadata over that path, torch's
version.py parsed with ast); importing Triton is the explicit `--probe`, in a subprocess too.
"""

from __future__ import annotations

import ast
import csv
import json
import os
import re
import shlex
import shutil
import subprocess
import tempfile
from dataclasses import asdict, dataclass, field, replace
from importlib.metadata import Distribution, distributions
from pathlib import Path
from typing import Any

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from tripin.errors import TripinError, one_line, quote
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

__all__ = ["DoctorError", "DoctorFinding", "Report", "absolute_python", "diagnose", "inspect", "text_lines"]

MISSING_FILES = "TP014"  # an installed Triton whose RECORD lists files that are not there

_ASK = r"""
import json, os, platform, sys
try:
    glibc = os.confstr("CS_GNU_LIBC_VERSION")
except (AttributeError, ValueError, OSError):
    glibc = None
print(json.dumps({
    "glibc": glibc, "macos": platform.mac_ver()[0] if sys.platform == "darwin" else None,
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

_ANSWER_KEYS = (
    "executable", "python", "implementation", "os_name", "sys_platform", "platform_machine",
    "platform_system", "platform_release", "platform_version", "platform_python_implementation",
)  # fmt: skip
_PYTHON_VERSION = re.compile(r"\d+\.\d+\.\d+")
_COMMIT = re.compile(r"[0-9a-f]{7,64}")
_MAX_LINE = 20_000  # a `run:` line with long paths stays whole; a 100 MB METADATA field does not
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


@dataclass(frozen=True, slots=True, kw_only=True)
class DoctorFinding(Finding):
    """A finding whose fix may take more than one command: `argv`, then each of `then`, in order."""

    then: tuple[tuple[str, ...], ...] = ()

    @property
    def commands(self) -> tuple[tuple[str, ...], ...]:
        return (self.argv, *self.then) if self.argv else ()


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
    findings: list[DoctorFinding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what could not be judged, and why
    verdict: dict[str, str] | None = None  # on the Triton commit: level (ok, warning, error), reason
    probes: list[dict[str, Any]] = field(default_factory=list)
    has_pip: bool = False  # whether the fix can run this interpreter's own pip (else uv)
    # the machine's glibc and macOS levels ("2.36", "14.5"; None where not that OS or not told):
    # which of a lock's wheels `tripin install` may take, as pip's own tags would
    glibc: str | None = None
    macos: str | None = None
    missing: dict[str, list[str]] = field(default_factory=dict)  # a Triton's RECORD files not there

    @property
    def healthy(self) -> bool:
        return not self.findings

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        del data["has_pip"], data["missing"], data["glibc"], data["macos"]
        for finding in data["findings"]:
            then = [list(argv) for argv in finding.pop("then")]
            finding["fix"] = {"text": finding["fix"], "argv": finding.pop("argv") or None, "then": then}
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
            commit = str(data.get("vcs_info", {}).get("commit_id") or "").lower()
            if _COMMIT.fullmatch(commit):  # anything else is no commit to judge (or to print)
                return commit, "direct_url.json"
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


def _answer(python: str, text: str) -> dict[str, Any]:
    """The interpreter's answer, checked field by field: a wrapper script may print any JSON, and
    a KeyError would exit 1, which says "a problem found" when nothing could be inspected."""
    try:
        info = json.loads(text)
    except ValueError:
        info = None
    if not (
        isinstance(info, dict)
        and all(isinstance(info.get(key), str) for key in _ANSWER_KEYS)
        and _PYTHON_VERSION.fullmatch(info["python"])
        and isinstance(info.get("path"), list)
        and all(isinstance(entry, str) for entry in info["path"])
    ):
        raise DoctorError(f"{python} did not answer with its platform")
    return info


def _level(value: object, pattern: str) -> str | None:
    """MAJOR.MINOR from what the interpreter said (`glibc 2.36`, macOS `14.5.1` or `15`)."""
    match = re.fullmatch(pattern, value) if isinstance(value, str) else None
    if match is None:
        return None
    return match[1] or f"{match[2]}.0"


def inspect(python: str) -> tuple[Report, dict[str, str]]:
    info = _answer(python, _run(python, _ASK))
    env = _environment(info)
    report = Report(
        python=str(info["executable"]),
        python_version=str(info["python"]),
        platform=f"{env['sys_platform']} {env['platform_machine']}",
        target=_target_name(env),
        glibc=_level(info.get("glibc"), r"glibc (\d+\.\d+)"),
        macos=_level(info.get("macos"), r"(\d+\.\d+)(?:\.\d+)?|(\d+)"),
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
            report.torch = Installed(name=name, version=dist.version or "", location=location)
            fields = _version_py(Path(str(dist.locate_file("torch/version.py"))))
            report.torch_git_version, report.cuda, report.hip = (
                fields.get("git_version"),
                fields.get("cuda"),
                fields.get("hip"),
            )
        elif name in TRITONS:
            version = dist.version or ""
            commit, commit_from = _commit(dist, version)
            report.tritons.append(
                Installed(name=name, version=version, location=location, commit=commit, commit_from=commit_from)
            )
            if missing := _missing_files(dist):
                report.missing[name] = missing
    return report, env


def _missing_files(dist: Distribution) -> list[str]:
    """The files a distribution's RECORD lists that are gone: uninstalling another distribution
    that owned the same `triton/` files deletes them. Compiled .pyc files come and go. RECORD is
    read here, not through `dist.files`: importlib_metadata (the backport, which keyring imports)
    leaves out the files that are missing, which are the ones this looks for."""
    try:
        rows = list(csv.reader((dist.read_text("RECORD") or "").splitlines()))
    except (TypeError, ValueError, OSError, csv.Error):  # a RECORD that is no CSV of paths: nothing to check
        return []
    paths = [row[0] for row in rows if row and row[0]]
    return [path for path in paths if not path.endswith(".pyc") and not _exists(dist.locate_file(path))]


def _exists(path: object) -> bool:
    try:
        return Path(str(path)).exists()
    except (OSError, ValueError):  # a NUL in a RECORD line names no file that can be there
        return False


def absolute_python(python: str) -> str:
    """The interpreter runs in a temporary directory (a package in the current one must not
    shadow the installed ones), so a relative path is made absolute first, as the shell meant
    it; joined, not resolved: a venv's python is a symlink, and resolving it leaves the venv."""
    if (os.sep in python or (os.altsep and os.altsep in python)) and not Path(python).is_absolute():
        return str(Path.cwd() / python)
    return python


def _version(installed: Installed) -> Version:
    try:
        return Version(installed.version)
    except InvalidVersion:
        raise DoctorError(f"{installed.name} has an invalid version {quote(installed.version)}") from None


def diagnose(python: str, ruleset: Ruleset, *, probe: bool = False) -> Report:
    python = absolute_python(python)  # the probe runs it from a temporary directory too
    report, env = inspect(python)
    if report.torch is None:
        return report
    torch = _version(report.torch)
    versions = {t.name: _version(t) for t in report.tritons}
    # the distribution torch asks for is the one judged (a stray second one is TP009's)
    pin = ruleset.pin_for(release_line(torch), env)
    needed = "pytorch-triton" if torch.is_devrelease else pin.package if pin is not None else "triton"
    triton = next((t for t in report.tritons if t.name == needed), None)
    strays = tuple(t.name for t in report.tritons if t.name != needed)
    triton = triton or (report.tritons[0] if report.tritons else None)
    pair = Pair(
        torch=torch,
        triton=canonicalize_name(triton.name) if triton else None,
        triton_version=versions[triton.name] if triton else None,
        commit=triton.commit if triton else None,
        commit_from=triton.commit_from if triton else "",
        environment=env,
        target=report.target,
        gpu=_gpu(report),
    )
    if (verdict := pair_verdict(ruleset, pair)) is not None:
        report.verdict = {"level": verdict.level, "reason": verdict.reason}
    wrong: list[Finding] = []  # what says the judged Triton is wrong: each fix replaces it
    for finding in judge_pair(ruleset, pair):
        if finding.code == WARN_NO_NIGHTLY_RULE:
            report.notes.append(finding.message)
        elif finding.level == "warning":  # another cut, or main before a break: said, still healthy
            report.notes.append(f"{finding.code} {finding.message}")
        else:
            wrong.append(finding)
    if probe and triton is not None:
        wrong += _probe(python, ruleset, pair, report)
    if len(report.tritons) > 1:
        report.findings.append(_two_tritons(report, ruleset, pair, needed, strays, wrong))
    report.findings += [_remedy(finding, report, strays) for finding in wrong]
    # a Triton being replaced is not reinstalled: run after the fix above, that would put it back
    if triton is not None and report.missing.get(triton.name) and not wrong:
        report.findings.append(_missing(report, ruleset, pair, triton))
    return report


def _two_tritons(
    report: Report, ruleset: Ruleset, pair: Pair, needed: str, strays: tuple[str, ...], wrong: list[Finding]
) -> DoctorFinding:
    """TP009: uninstalling a stray deletes the `triton/` files it shares with the one torch needs
    (both RECORDs list them), so the fix reinstalls that one after: the uninstall alone leaves
    an import that fails. When that one is wrong too, the fix installs what replaces it instead:
    reinstalled, it would be the build the next finding's fix takes out."""
    names = ", ".join(f"{t.name} {t.version}" for t in report.tritons)
    kept = next((t for t in report.tritons if t.name == needed), None)
    replacement = next((f for f in wrong if f.argv), None)
    if kept is not None and wrong:
        reinstall = replacement.argv if replacement is not None else ()
        want = f"replace {kept.name} {kept.version}: " + (
            replacement.fix if replacement is not None else f"see {', '.join(f.code for f in wrong)} below"
        )
    elif kept is not None:
        reinstall = _pip_install(kept)
        want = f"reinstall {kept.name} {kept.version} (the one torch {pair.torch} needs)"
        if not reinstall:  # no index serves it: no run line that stops half-way, with the import broken
            want += f" {_from_where_built(kept, ruleset, pair)}"
            return DoctorFinding(code="TP009", message=_two_message(names), fix=_two_fix(strays, want))
    elif pair.torch.is_devrelease:  # its pytorch-triton comes with it, from PyTorch's nightly index
        reinstall = ()
        want = f"install the pytorch-triton torch {pair.torch} requires, from PyTorch's nightly index"
    else:  # the one torch needs is not there: every other Triton goes, and the rule's is installed
        reinstall = fix_argv_for(ruleset, pair)
        want = f"install {needed} (the one torch {pair.torch} needs): {fix_for(ruleset, pair)}"
    return _with_uninstall(
        DoctorFinding(code="TP009", message=_two_message(names), fix=_two_fix(strays, want), argv=reinstall),
        report,
        strays,
    )


def _two_message(names: str) -> str:
    shared = "they share the `triton` import name, so one overwrites the other"
    return f"more than one Triton is installed ({names}): {shared}"


def _two_fix(strays: tuple[str, ...], want: str) -> str:
    return f"uninstall {', '.join(strays)}, then {want}: the uninstall deletes the `triton` files they share"


def _pip_install(installed: Installed) -> tuple[str, ...]:
    """The installed distribution again, exactly that version (see judge._fix on `===`); none
    for a local version (`3.2.0+git9641643d`, a build of its own): PyPI takes no local versions,
    so only the wheelhouse it was built into has it, and a command without one cannot work."""
    if "+" in installed.version:
        return ()
    return ("pip", "install", "--force-reinstall", "--no-deps", f"{installed.name}==={installed.version}")


def _from_where_built(installed: Installed, ruleset: Ruleset, pair: Pair) -> str:
    """Where a build of its own comes back from: its wheelhouse, else built again by tripin
    (when it is the distribution the rules give this torch, which build-plan builds)."""
    if pair.torch.is_devrelease:  # a nightly's pytorch-triton: PyTorch's nightly index has the build torch names
        return f"from PyTorch's nightly index, with torch {pair.torch} (no public index serves a local version)"
    how = f"pip install --force-reinstall --no-deps --find-links WHEELHOUSE '{installed.name}==={installed.version}'"
    text = f"from where it was built (no public index serves a local version): {how}"
    pin = ruleset.pin_for(release_line(pair.torch), pair.environment)
    if pin is not None and pin.package == installed.name:
        text += f", or build it again: tripin build-plan --torch {release_line(pair.torch)} --target {pair.target}"
    return text


def _remedy(finding: Finding, report: Report, strays: tuple[str, ...]) -> DoctorFinding:
    """A finding's fix for this interpreter; a fix that installs a Triton uninstalls the other
    Triton distributions first: uninstalled after, they would delete the files it just wrote."""
    if not strays or not finding.argv:
        return _with_uninstall(DoctorFinding(**_fields(finding)), report, ())
    fix = f"uninstall {', '.join(strays)} first (it owns the same `triton` files), then: {finding.fix}"
    return _with_uninstall(DoctorFinding(**{**_fields(finding), "fix": fix}), report, strays)


def _fields(finding: Finding) -> dict[str, Any]:
    return {name: getattr(finding, name) for name in Finding.__dataclass_fields__}


def _with_uninstall(finding: DoctorFinding, report: Report, strays: tuple[str, ...]) -> DoctorFinding:
    """`uninstall strays`, then the finding's own command, each for this interpreter."""
    own = _for_this_python(finding.argv, report)
    if not strays:
        return replace(finding, argv=own)
    uninstall = _for_this_python(("pip", "uninstall", "-y", *strays), report)
    return replace(finding, argv=uninstall, then=(own,) if own else ())


def _missing(report: Report, ruleset: Ruleset, pair: Pair, triton: Installed) -> DoctorFinding:
    missing = report.missing[triton.name]
    argv = _pip_install(triton)
    return _with_uninstall(
        DoctorFinding(
            code=MISSING_FILES,
            message=f"{triton.name} {triton.version} is missing {len(missing)} of its files ({missing[0]}"
            f"{', ...' if len(missing) > 1 else ''}): uninstalling a distribution that shared them deletes them",
            fix=f"reinstall {triton.name} {triton.version}"
            + ("" if argv else f" {_from_where_built(triton, ruleset, pair)}"),
            argv=argv,
        ),
        report,
        (),
    )


def _probe(python: str, ruleset: Ruleset, pair: Pair, report: Report) -> list[Finding]:
    """`--probe`: import in that interpreter what torch needs from Triton; a failed import is a
    finding whose fix installs the Triton the rules give."""
    probes = [p for p in ruleset.probes if p.torch.contains(pair.torch, prereleases=True)]
    groups = [["triton:__version__"], *[list(p.any_of) for p in probes]]
    results = _probe_answer(python, _run(python, _PROBE, json.dumps(groups), timeout=120), len(groups))
    checks = [("import triton", "import triton fails"), *[(p.id, p.symptom) for p in probes]]
    findings: list[Finding] = []
    for (name, symptom), errors in zip(checks, results, strict=True):
        report.probes.append({"probe": name, "ok": errors is None, "errors": errors or []})
        if errors is not None:
            findings.append(
                Finding(
                    code="TP010",
                    message=f"probe {name} failed: {symptom} ({errors[-1]})",
                    fix=fix_for(ruleset, pair),
                    argv=fix_argv_for(ruleset, pair),
                )
            )
    return findings


def _probe_answer(python: str, text: str, count: int) -> list[list[str] | None]:
    """One entry per probe group: None (it imported) or its errors, checked before use."""
    try:
        results = json.loads(text)
    except ValueError:
        results = None
    if not (
        isinstance(results, list)
        and len(results) == count
        and all(r is None or (isinstance(r, list) and r and all(isinstance(e, str) for e in r)) for r in results)
    ):
        raise DoctorError(f"{python} did not answer the import probe")
    return results


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


def text_lines(report: Report) -> list[str]:
    """The report for people. Every value in it comes from the inspected environment (a path, a
    METADATA field, torch/version.py, direct_url.json), so each line is made one printable line:
    an escape sequence or a newline there must not drive the terminal or forge a `problem:` line."""
    lines = [f"python: {report.python} ({report.python_version}, {report.platform}; target {report.target})"]
    lines.append(_torch_line(report))
    for t in report.tritons:
        built = f", built from {t.commit} ({t.commit_from})" if t.commit else ""
        lines.append(f"{t.name}: {t.version}{built} in {t.location}")
    if report.verdict is not None:
        lines.append(f"verdict: {report.verdict['level']}: {report.verdict['reason']}")
    if report.torch is not None and not report.tritons:
        lines.append("triton: not installed")
    lines += [f"probe {probe['probe']}: {'ok' if probe['ok'] else 'FAILED'}" for probe in report.probes]
    lines += [f"note: {note}" for note in report.notes]
    for finding in report.findings:
        lines += [f"problem {finding.code}: {finding.message}", f"  fix: {finding.fix}"]
        if finding.commands:  # one line for sh, bash, zsh, fish and cmd: each runs if the one before succeeded
            lines.append(f"  run: {' && '.join(shlex.join(argv) for argv in finding.commands)}")
    if report.healthy:
        lines.append("healthy" if report.torch is not None else "nothing to judge: torch is not installed")
    return [one_line(line, _MAX_LINE) for line in lines]


def _torch_line(report: Report) -> str:
    if report.torch is None:
        return "torch: not installed"
    known = (
        f"git {report.torch_git_version[:12]}" if report.torch_git_version else "",
        f"CUDA {report.cuda}" if report.cuda else "",
        f"HIP {report.hip}" if report.hip else "",
    )
    extra = ", ".join(x for x in known if x)
    return f"torch: {report.torch.version}" + (f" ({extra})" if extra else "") + f" in {report.torch.location}"

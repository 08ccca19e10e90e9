"""`tripin explain`, `tripin lock --format json` and what changed against the previous lock."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from helpers import lock_args, read_toml, tripin
from indexserver import IndexServer, build_wheel

X86, ARM = "linux-x86_64-cp312", "linux-aarch64-cp312"


@pytest.fixture
def locked(
    index: IndexServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Path:
    monkeypatch.chdir(tmp_path)
    assert tripin(capsys, *lock_args(index.simple_url, tmp_path / "c", X86, ARM, extra=["torch==2.6.0"])).code == 0
    return tmp_path


def test_explain_names_chain_rule_and_source(locked: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = json.loads(tripin(capsys, "explain", "triton", "--format", "json").out)
    by_target = {r["target"]: r for r in data["explain"]}
    assert by_target[X86]["chain"] == ["torch 2.6.0", "triton 3.2.0"]
    assert by_target[X86]["added_by_rule"] is False  # torch's own metadata names it
    assert by_target[X86]["source"].startswith("index http://127.0.0.1:")
    assert ARM not in by_target  # PyPI's aarch64 torch is a CPU build: the lock says why it has no Triton
    assert [n.split(":")[0] for n in data["notes"]] == [ARM] and "CPU build" in data["notes"][0]
    text = tripin(capsys, "explain", "markupsafe", "--target", ARM).out
    assert "because: torch 2.6.0 -> jinja2 3.1.6 -> markupsafe" in text
    assert "added by a rule" not in tripin(capsys, "explain", "triton", "--target", X86).out
    missing = tripin(capsys, "explain", "numpy")
    assert missing.code == 2 and "holds no numpy" in missing.err


def test_explain_shows_the_wheels_of_its_target(locked: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """torch 2.6.0 is one lock entry for both targets, with both platforms' wheels; each target
    is shown the one its installer would take."""
    lock = read_toml(locked / "pylock.toml")
    torch = next(p for p in lock["packages"] if p["name"] == "torch")
    assert sorted(w["name"] for w in torch["wheels"]) == [
        "torch-2.6.0-cp312-cp312-manylinux1_x86_64.whl",
        "torch-2.6.0-cp312-cp312-manylinux_2_28_aarch64.whl",
    ]
    data = json.loads(tripin(capsys, "explain", "torch", "--format", "json").out)
    assert {r["target"]: r["wheels"] for r in data["explain"]} == {
        X86: ["torch-2.6.0-cp312-cp312-manylinux1_x86_64.whl"],
        ARM: ["torch-2.6.0-cp312-cp312-manylinux_2_28_aarch64.whl"],
    }
    text = tripin(capsys, "explain", "torch", "--target", ARM).out
    assert text.endswith("\n  wheels: torch-2.6.0-cp312-cp312-manylinux_2_28_aarch64.whl\n")


def test_lock_json_summary_and_changes(index: IndexServer, locked: Path, capsys: pytest.CaptureFixture[str]) -> None:
    again = tripin(
        capsys, *lock_args(index.simple_url, locked / "c", X86, ARM, extra=["torch==2.5.1", "--format", "json"])
    )
    data = json.loads(again.out)
    assert data["schema"] == 1 and data["lock"] == "pylock.toml"
    assert data["targets"][X86]["triton"] == {
        "version": "3.1.0",
        "source_build": False,
        "commit": None,
        "rule": "torch-2.5.1/metadata",
    }
    assert "triton" not in data["targets"][ARM] and data["notes"][0].startswith(f"{ARM}: no Triton: torch 2.5.1")
    changes = {(c["target"], c["package"]): (c["change"], c["detail"]) for c in data["changes"]}
    assert changes[(X86, "torch")] == ("~", "2.6.0 -> 2.5.1")
    assert changes[(X86, "triton")] == ("~", "3.2.0 -> 3.1.0")
    text = tripin(capsys, *lock_args(index.simple_url, locked / "c", X86, ARM, extra=["torch==2.5.1"])).out
    assert "no package changed against the previous pylock.toml" in text


def test_explain_says_when_a_rule_added_triton(
    index: IndexServer,
    pytorch: IndexServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """CUDA torch for aarch64 from PyTorch's index names no Triton; the rules add the source build."""
    monkeypatch.chdir(tmp_path)
    arm_cu = "linux-aarch64-cp312-cu126"
    extra = ["torch==2.6.0", "--pytorch-index-url", pytorch.url]
    assert tripin(capsys, *lock_args(index.simple_url, tmp_path / "c", X86, arm_cu, extra=extra)).code == 0
    lock = read_toml(tmp_path / "pylock.toml")
    triton_tool = [p["tool"]["tripin"] for p in lock["packages"] if p["name"] == "triton"]
    assert sorted(str(t.get("added-by-rule")) for t in triton_tool) == ["None", f"['{arm_cu}']"]
    data = json.loads(tripin(capsys, "explain", "triton", "--format", "json").out)
    assert {r["target"]: r["added_by_rule"] for r in data["explain"]} == {X86: False, arm_cu: True}
    arm = tripin(capsys, "explain", "triton", "--target", arm_cu).out
    assert f"added by a rule: torch's metadata names no triton on {arm_cu}" in arm


def test_explain_follows_who_pulls_in_triton_on_each_target(
    index: IndexServer,
    make_index: Callable[..., IndexServer],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """torch names Triton on x86_64 only; on aarch64 (a CPU build) a kernel package asks for it and
    the rules choose it. The lock's entries say so, and explain follows them: it said
    `torch 2.6.0 -> triton 3.2.0+git...` on aarch64, which torch's metadata does not."""
    monkeypatch.chdir(tmp_path)
    kernels = make_index()
    kernels.publish(build_wheel(tmp_path / "w", "kernelpkg", "1.0", requires_dist=["triton>=2.3"]))
    extra = ["torch==2.6.0", "kernelpkg", "--extra-index-url", kernels.simple_url]
    run = tripin(capsys, *lock_args(index.simple_url, tmp_path / "c", X86, ARM, extra=extra))
    assert run.code == 0, run.err
    torch = next(p for p in read_toml(tmp_path / "pylock.toml")["packages"] if p["name"] == "torch")
    assert [d for d in torch["dependencies"] if d["name"] == "triton"] == [{"name": "triton", "version": "3.2.0"}]
    data = json.loads(tripin(capsys, "explain", "triton", "--format", "json").out)
    chains = {r["target"]: r["chain"] for r in data["explain"]}
    assert chains[X86] == ["torch 2.6.0", "triton 3.2.0"]
    assert chains[ARM] == ["kernelpkg 1.0", "triton 3.2.0+git9641643d"]


def test_explain_escapes_what_the_lock_says(
    index: IndexServer,
    pytorch: IndexServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A lock may come from a hostile pull request: a newline in its `[packages.vcs] url` printed
    a second line of the attacker's choosing, an escape sequence drove the terminal."""
    monkeypatch.chdir(tmp_path)
    arm_cu = "linux-aarch64-cp312-cu126"
    extra = ["torch==2.6.0", "--pytorch-index-url", pytorch.url]
    assert tripin(capsys, *lock_args(index.simple_url, tmp_path / "c", arm_cu, extra=extra)).code == 0
    lock = tmp_path / "pylock.toml"
    text = lock.read_text()
    url = 'url = "https://github.com/triton-lang/triton'
    assert url in text
    lock.write_text(text.replace(url, url + "\\nforged: line\\u001b[2J", 1))
    run = tripin(capsys, "explain", "triton")
    assert run.code == 0, run.err
    assert "\x1b" not in run.out and not any(line.startswith("forged") for line in run.out.splitlines())
    assert "triton\\x0aforged: line\\x1b[2J" in run.out
    # JSON keeps the value as it is: json.dumps escapes it
    data = json.loads(tripin(capsys, "explain", "triton", "--format", "json").out)
    assert "triton\nforged: line\x1b[2J" in data["explain"][0]["source"]


def test_explain_shows_each_target_only_its_rules(locked: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """torch 2.6.0 is one entry for both targets, and the lock keeps the rule that decided it on
    x86_64 (`torch-2.6.0/metadata`, marker platform_machine == "x86_64"): aarch64 showed it too."""
    torch = next(p for p in read_toml(locked / "pylock.toml")["packages"] if p["name"] == "torch")
    assert {r["id"] for r in torch["tool"]["tripin"]["rules"]} >= {"torch-2.6.0/metadata"}
    data = json.loads(tripin(capsys, "explain", "torch", "--format", "json").out)
    rules = {r["target"]: [rule["id"] for rule in r["rules"]] for r in data["explain"]}
    assert "torch-2.6.0/metadata" in rules[X86] and "torch-2.6.0/metadata" not in rules[ARM], rules
    assert "rule torch-2.6.0/metadata" not in tripin(capsys, "explain", "torch", "--target", ARM).out


def test_explain_triton_on_a_cpu_or_rocm_target_says_why_none(
    index: IndexServer,
    pytorch: IndexServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """rules/variants.toml: a CPU build runs no Triton, a ROCm build pytorch-triton-rocm; explain
    says so, as it does for PyPI's CPU torch on aarch64, rather than "holds no triton"."""
    monkeypatch.chdir(tmp_path)
    cpu, rocm = "linux-x86_64-cp312-cpu", "linux-x86_64-cp312-rocm6.2"
    extra = ["torch==2.6.0", "--pytorch-index-url", pytorch.url]
    assert tripin(capsys, *lock_args(index.simple_url, tmp_path / "c", cpu, rocm, extra=extra)).code == 0
    run = tripin(capsys, "explain", "triton")
    assert run.code == 0, run.err
    assert f"{cpu}: no triton: the cpu build runs no Triton [cpu]" in run.out
    assert (
        f"{rocm}: no triton: the rocm6.2 build runs pytorch-triton-rocm (tripin explain pytorch-triton-rocm)" in run.out
    )
    rocm_run = tripin(capsys, "explain", "pytorch-triton-rocm").out
    assert f"{rocm}: pytorch-triton-rocm 3.2.0 from index" in rocm_run and f"{rocm}: no " not in rocm_run


def test_explain_triton_on_macos_and_windows_says_why_none(
    index: IndexServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """PyTorch builds no Triton for macOS or Windows (torch's metadata names triton behind a Linux
    marker): explain said nothing for those targets, and `-t macos-arm64-cp312` failed with
    "holds no triton" (exit 2). Each target gets its line, as CPU builds do."""
    monkeypatch.chdir(tmp_path)
    mac, win = "macos-arm64-cp312", "windows-x86_64-cp312"
    run = tripin(capsys, *lock_args(index.simple_url, tmp_path / "c", X86, mac, win, ARM, extra=["torch==2.6.0"]))
    assert run.code == 0, run.err
    one = tripin(capsys, "explain", "triton", "-t", mac)
    assert one.code == 0, one.err
    assert one.out == (
        f"{mac}: no Triton: PyTorch builds no Triton for macOS (torch's metadata requires triton on Linux only), "
        "and torch 2.6.0 there never uses one\n"
    )
    data = json.loads(tripin(capsys, "explain", "triton", "--format", "json").out)
    assert sorted(n.split(":")[0] for n in data["notes"]) == sorted([mac, win, ARM])
    assert [r["target"] for r in data["explain"]] == [X86]
    assert "Triton for Windows" in next(n for n in data["notes"] if n.startswith(win))
    assert "CPU build" in next(n for n in data["notes"] if n.startswith(ARM))
    text = tripin(capsys, "explain", "triton").out.splitlines()
    assert [line.split(":")[0] for line in text if not line.startswith(" ")].count(mac) == 1
    missing = tripin(capsys, "explain", "triton", "-t", "macos-x86_64-cp312")  # not a target of this lock
    assert missing.code == 2 and "holds no triton for macos-x86_64-cp312" in missing.err

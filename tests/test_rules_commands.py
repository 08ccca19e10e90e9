"""`tripin rules list|show|verify|sync`, the sync and the online verify against the local index."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from helpers import tripin
from indexserver import IndexServer

from tripin.memo import default_rules_dir


def test_list_and_show(capsys: pytest.CaptureFixture[str]) -> None:
    listed = tripin(capsys, "rules", "list")
    assert listed.code == 0
    row = next(line for line in listed.out.splitlines() if line.startswith("2.6.0") and "linux-aarch64" in line)
    assert row.split() == ["2.6.0", "linux-aarch64", "triton", "3.2.0", "source-build", "9641643da6c5", "matched"]
    shown = tripin(capsys, "rules", "show", "2.6")
    assert "torch-2.6.0/linux-aarch64: triton 3.2.0 (source-build)" in shown.out
    assert "known good [torch-2.6-triton-main-11ef4277]" in shown.out and "AttrsDescriptor" in shown.out
    data = json.loads(tripin(capsys, "rules", "show", "2.9.0", "--format", "json").out)
    assert {r["rule"]: r["provides"] for r in data["rules"]} == {
        "torch-2.9.0/metadata": "metadata",
        "torch-2.9.0/linux-aarch64": "wheel",
    }
    assert tripin(capsys, "rules", "show", "1.13").code == 2


def test_show_as_json_carries_what_the_text_shows(capsys: pytest.CaptureFixture[str]) -> None:
    """README: `rules show` gives everything about one line, `--format json` too."""
    text = tripin(capsys, "rules", "show", "2.6").out
    data = json.loads(tripin(capsys, "rules", "show", "2.6", "--format", "json").out)
    assert [b["id"] for b in data["known_bad"]] == [
        "torch-2.6-attrsdescriptor-triton-3.3",
        "torch-2.6-attrsdescriptor-triton-main-3.2.0-git",
    ]
    assert data["known_bad"][1]["commits"] == ["23753f4f24eaf54afbd224a8fa810f1167082807"]
    assert [(b["id"], b["commit"]) for b in data["breaks"]] == [
        ("main-attrsdescriptor-removed", "67dc6270aa8905b193d72756d5d54b3dccf9e168")
    ]
    assert [g["commit"] for g in data["known_good"]] == ["11ef4277afdf4a62d2fdbdf5b9ce4424c0b2e907"]
    assert {(c["package"], c["version"]) for c in data["companions"]} == {
        ("torchvision", "0.21.0"),
        ("torchaudio", "2.6.0"),
    }
    # every id and source the text names is in the JSON
    kinds = ("rules", "known_bad", "pytorch_pins", "breaks", "known_good", "companions")
    ids = {e.get("id") or e.get("rule") for kind in kinds for e in data[kind]}
    sources = {e["source"] for kind in kinds for e in data[kind]}
    assert {
        line.split("[", 1)[1].split("]", 1)[0] for line in text.splitlines() if line[:1] != " " and "[" in line
    } <= ids
    assert {line.split("source: ", 1)[1] for line in text.splitlines() if "source: " in line} <= sources
    assert "known_bad" not in json.loads(tripin(capsys, "rules", "list", "--format", "json").out)


def test_verify_offline(capsys: pytest.CaptureFixture[str]) -> None:
    run = tripin(capsys, "rules", "verify")
    lines = run.out.splitlines()
    assert run.code == 0 and lines[0].endswith(": valid"), run.out
    assert lines[-1].endswith("commits checked against Triton's history: 0 wrong")


def test_verify_finds_a_commit_with_another_version(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The 3.3.1 wheel's commit put in the 3.2.0 rule: its history says it calls itself 3.3.1."""
    rules = tmp_path / "rules"
    shutil.copytree(default_rules_dir(), rules)
    text = (rules / "triton.toml").read_text()
    good_320, good_331 = "9641643da6c52000c807b5eeed05edaec4402a67", "d654e0f2d91f07496454e0fcbec2a9b97df37d47"
    (rules / "triton.toml").write_text(text.replace(f'commit = "{good_320}"', f'commit = "{good_331}"', 1))
    run = tripin(capsys, "rules", "verify", "--rules", str(rules))
    assert run.code == 1
    assert "triton-3.2.0" in run.out and "commit d654e0f2d91f calls itself 3.3.1, the rule says 3.2.0" in run.out


def test_sync_then_verify_online(
    index: IndexServer, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRIPIN_CACHE_DIR", str(tmp_path / "cache"))
    rules = tmp_path / "rules"
    shutil.copytree(default_rules_dir(), rules)
    triton_before = (rules / "triton.toml").read_text()
    run = tripin(capsys, "rules", "sync", "--rules", str(rules), "--index-url", index.simple_url)
    assert run.code == 0, run.err
    assert (rules / "triton.toml").read_text() == triton_before  # commits are never rewritten
    for name in ("torch.toml", "companions.toml"):  # rules cite https sources: this index is plain http
        path = rules / name
        path.write_text(path.read_text().replace(index.url, "https://files.example.org"))
    synced = (rules / "torch.toml").read_text()
    # torch 2.5.0, 2.5.1, 2.6.0, 2.9.0 from the index (x86_64 + aarch64 each); the 41 pins of
    # releases this index does not show are kept as they were
    assert synced.count("[[pin]]") == 49 and synced.count('\nsource = "https://files.example.org') == 8
    assert 'id = "torch-2.9.0/linux-aarch64"' in synced and 'provides = "wheel"' in synced
    # each aarch64 torch wheel's own metadata: nvidia-* only on x86_64, so a CPU build, cited
    assert synced.count('pypi-build = "cpu"') == 21 and 'pypi-build = "cuda"' not in synced  # 4 refreshed, 17 kept
    assert synced.count('pypi-build-source = "https://files.example.org') == 4
    assert "torch-2.6.0-cp312-cp312-manylinux_2_28_aarch64.whl.metadata" in synced
    online = ["rules", "verify", "--online", "--rules", str(rules), "--index-url", index.simple_url]
    assert tripin(capsys, *online).code == 0
    (rules / "torch.toml").write_text(
        synced.replace('version = "3.2.0"\nprovides = "source-build"', 'version = "3.2.0"\nprovides = "wheel"')
    )
    drift = tripin(capsys, *online)
    assert drift.code == 1
    assert "torch-2.6.0/linux-aarch64" in drift.out and "the index says triton 3.2.0 (source-build)" in drift.out
    at = synced.index('id = "torch-2.5.0/linux-aarch64"')  # a release the index shows (2.0 it does not)
    (rules / "torch.toml").write_text(synced[:at] + synced[at:].replace('pypi-build = "cpu"', 'pypi-build = "cuda"', 1))
    drift = tripin(capsys, *online)
    assert drift.code == 1 and "rules say PyPI's torch is a cuda build there; its metadata says cpu" in drift.out


def test_sync_needs_a_directory(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    run = tripin(capsys, "rules", "sync", "--rules", str(tmp_path / "nope"))
    assert run.code == 2 and "not a directory" in run.err


def test_sync_keeps_what_the_index_does_not_show_and_verify_agrees(
    index: IndexServer, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """tests/index has torch 2.5-2.9 and one torchvision: a trimmed index, as a mirror may be. Its
    lack of torch 2.0 is no evidence against the 2.0 rules: sync keeps them and says how many,
    and verify --online does not fail on them. A rule for a release it shows, which that
    release's metadata no longer gives, is removed by sync and a disagreement for verify."""
    monkeypatch.setenv("TRIPIN_CACHE_DIR", str(tmp_path / "cache"))
    rules = tmp_path / "rules"
    shutil.copytree(default_rules_dir(), rules)
    shipped = {name: (rules / name).read_text() for name in ("torch.toml", "companions.toml")}
    # a stale id for torch 2.6.0, a release the index shows
    (rules / "torch.toml").write_text(
        shipped["torch.toml"].replace('id = "torch-2.6.0/linux-aarch64"', 'id = "torch-2.6.0/linux-arm64"')
    )
    line = (rules / "torch.toml").read_text().splitlines().index('id = "torch-2.6.0/linux-arm64"')  # [[pin]] above
    online = ["rules", "verify", "--online", "--rules", str(rules), "--index-url", index.simple_url]
    before = tripin(capsys, *online)
    assert before.code == 1
    assert [line for line in before.out.splitlines() if "torch-2.6.0" in line] == [
        "torch-2.6.0/linux-aarch64: no rule; the index says triton 3.2.0 (source-build)",
        f"torch-2.6.0/linux-arm64 ({rules / 'torch.toml'}:{line}): the index shows torch==2.6.0 "
        "but its metadata gives no such rule",
    ]
    assert "2 disagreement(s)" in before.err and "41 pins and 51 companions not checked" in before.err
    run = tripin(capsys, "rules", "sync", "--rules", str(rules), "--index-url", index.simple_url)
    assert run.code == 0, run.err
    assert "(49 pins: 8 from the index, 1 new, 41 kept unverified)" in run.out
    assert "(52 companions, 51 kept unverified)" in run.out
    assert "  removed: torch-2.6.0/linux-arm64: the index shows its release" in run.out
    assert "  kept: 41 pins and 51 companions unverified" in run.out
    for name in ("torch.toml", "companions.toml"):  # rules cite https sources: this index is plain http
        path = rules / name
        path.write_text(path.read_text().replace(index.url, "https://files.example.org"))
    synced = (rules / "torch.toml").read_text()
    for kept in ('id = "torch-2.0.0/metadata"', 'id = "torch-2.14.1/metadata"'):
        assert synced.count(kept) == 1
    assert "linux-arm64" not in synced

    # the kept entries are the shipped ones, in the shipped order
    def ids(text: str) -> list[str]:
        return [line for line in text.splitlines() if line.startswith("id = ")]

    assert ids(synced) == ids(shipped["torch.toml"])
    assert ids((rules / "companions.toml").read_text()) == ids(shipped["companions.toml"])
    after = tripin(capsys, *online)
    assert after.code == 0, after.out
    assert "0 disagreement(s)" in after.err and "41 pins and 51 companions not checked" in after.err

"""Shell completion scripts, exercised in a real bash."""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest


def _complete(words: list[str]) -> list[str]:
    script = subprocess.run(
        [sys.executable, "-m", "tripin", "completion", "bash"], capture_output=True, text=True, check=True
    ).stdout
    program = (
        f"{script}\nCOMP_WORDS=({' '.join(words)}); COMP_CWORD={len(words) - 1}; _tripin; "
        'printf "%s\\n" "${COMPREPLY[@]}"'
    )
    return subprocess.run(["bash", "-c", program], capture_output=True, text=True, check=True).stdout.split()


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not installed")
def test_bash_completes_commands_options_and_targets() -> None:
    assert _complete(["tripin", "ch"]) == ["check"]
    assert "--exclude-newer" in _complete(["tripin", "lock", "--ex"])
    assert _complete(["tripin", "lock", "-t", "linux-aarch64-cp312"]) == ["linux-aarch64-cp312"]
    assert set(_complete(["tripin", "rules", ""])) >= {"list", "show", "verify", "sync"}
    assert set(_complete(["tripin", "completion", "''"])) >= {"bash", "zsh", "fish"}  # not file names
    assert _complete(["tripin", "check", "--format", "''"]) == ["text", "json"]
    assert _complete(["tripin", "install", "--installer", "''"]) == ["pip", "uv"]


@pytest.mark.skipif(shutil.which("fish") is None, reason="fish is not installed")
def test_fish_completes_files_where_they_go_and_values_where_they_are_fixed(tmp_path: Path) -> None:
    script = tmp_path / "tripin.fish"
    script.write_text(
        subprocess.run(
            [sys.executable, "-m", "tripin", "completion", "fish"], capture_output=True, text=True, check=True
        ).stdout
    )
    (tmp_path / "requirements.txt").write_text("torch\n")

    def complete(line: str) -> list[str]:
        program = f"source {script}; complete -C {shlex.quote(line)}"
        run = subprocess.run(["fish", "-c", program], capture_output=True, text=True, cwd=tmp_path, check=True)
        return [c.split("\t")[0] for c in run.stdout.splitlines()]

    assert "requirements.txt" in complete("tripin check req")  # a file where check takes files
    assert "requirements.txt" in complete("tripin lock -r req")
    assert complete("tripin completion ") == ["bash", "fish", "zsh"]
    assert complete("tripin check --format ") == ["json", "text"]


def test_fish_and_zsh_scripts() -> None:
    fish = subprocess.run(
        [sys.executable, "-m", "tripin", "completion", "fish"], capture_output=True, text=True, check=True
    ).stdout
    assert "complete -c tripin -f -n __fish_use_subcommand -a doctor" in fish
    assert "complete -c tripin -n '__fish_seen_subcommand_from lock' -l exclude-newer" in fish
    zsh = subprocess.run(
        [sys.executable, "-m", "tripin", "completion", "zsh"], capture_output=True, text=True, check=True
    ).stdout
    assert zsh.startswith("autoload -U +X bashcompinit && bashcompinit\n") and "complete -F _tripin tripin" in zsh

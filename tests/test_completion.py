"""Shell completion scripts, exercised in a real bash."""

from __future__ import annotations

import shutil
import subprocess
import sys

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


def test_fish_and_zsh_scripts() -> None:
    fish = subprocess.run(
        [sys.executable, "-m", "tripin", "completion", "fish"], capture_output=True, text=True, check=True
    ).stdout
    assert "complete -c tripin -n __fish_use_subcommand -a doctor" in fish
    assert "complete -c tripin -n '__fish_seen_subcommand_from lock' -l exclude-newer" in fish
    zsh = subprocess.run(
        [sys.executable, "-m", "tripin", "completion", "zsh"], capture_output=True, text=True, check=True
    ).stdout
    assert zsh.startswith("autoload -U +X bashcompinit && bashcompinit\n") and "complete -F _tripin tripin" in zsh

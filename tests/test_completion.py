"""Shell completion scripts, exercised in a real bash."""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest


def _script(shell: str) -> str:
    return subprocess.run(
        [sys.executable, "-m", "tripin", "completion", shell], capture_output=True, text=True, check=True
    ).stdout


def _complete(words: list[str], cwd: Path | None = None) -> list[str]:
    program = (
        f"{_script('bash')}\nCOMP_WORDS=({' '.join(words)}); COMP_CWORD={len(words) - 1}; _tripin; "
        'printf "%s\\n" "${COMPREPLY[@]}"'
    )
    return subprocess.run(["bash", "-c", program], capture_output=True, text=True, check=True, cwd=cwd).stdout.split()


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not installed")
def test_bash_completes_commands_options_and_targets() -> None:
    assert _complete(["tripin", "ch"]) == ["check"]
    assert "--exclude-newer" in _complete(["tripin", "lock", "--ex"])
    assert _complete(["tripin", "lock", "-t", "linux-aarch64-cp312"]) == ["linux-aarch64-cp312"]
    assert set(_complete(["tripin", "rules", ""])) >= {"list", "show", "verify", "sync"}
    assert set(_complete(["tripin", "completion", "''"])) >= {"bash", "zsh", "fish"}  # not file names
    assert _complete(["tripin", "check", "--format", "''"]) == ["text", "json"]
    assert _complete(["tripin", "install", "--installer", "''"]) == ["pip", "uv"]


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not installed")
def test_bash_completes_each_subcommand_level_by_its_own_parser(tmp_path: Path) -> None:
    """`rules verify` has options of its own, a subcommand's place is filled once, a DIR takes
    directories, a value that is no path (a URL, a version) takes nothing."""
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules.txt").write_text("")
    (tmp_path / "requirements.txt").write_text("torch\n")
    assert set(_complete(["tripin", "rules", "verify", "--"])) == {
        "--help",
        "--online",
        "--index-url",
        "--min-torch",
        "--rules",
    }
    assert _complete(["tripin", "rules", "show", "''"], tmp_path) == []  # a TORCH release line, not an action again
    assert _complete(["tripin", "rules", "show", "--format", "''"]) == ["text", "json"]
    assert _complete(["tripin", "rules", "sync", "--rules", "rul"], tmp_path) == ["rules"]
    assert _complete(["tripin", "rules", "verify", "--index-url", "''"], tmp_path) == []
    assert _complete(["tripin", "completion", "bash", "''"], tmp_path) == []  # one shell, then nothing
    assert _complete(["tripin", "check", "--rules", "rules", "req"], tmp_path) == ["requirements.txt"]
    assert _complete(["tripin", "lock", "-r", "req"], tmp_path) == ["requirements.txt"]


@pytest.mark.skipif(shutil.which("zsh") is None, reason="zsh is not installed")
def test_zsh_script_loads_without_compinit_and_completes(tmp_path: Path) -> None:
    """`zsh -f` runs no .zshrc, so no compinit: the script must not need the user to have run it."""
    script = tmp_path / "tripin.zsh"
    script.write_text(_script("zsh"))
    call = (
        "f() { emulate -L sh; setopt kshglob noshglob braceexpand; "  # as bashcompinit calls it
        'COMP_WORDS=(tripin rules verify --); COMP_CWORD=3; _tripin; print -r -- "${COMPREPLY[@]}"; }; f'
    )
    run = subprocess.run(
        ["zsh", "-f", "-c", f"source {script}; print -r -- ${{_comps[tripin]}}; {call}"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert run.returncode == 0 and run.stderr == "", run.stderr
    registered, offered = run.stdout.splitlines()
    assert registered == "_bash_complete -F _tripin"
    # zsh filters by the typed prefix itself: bashcompinit's compgen offers the level's options
    assert {"--online", "--index-url", "--min-torch", "--rules"} <= set(offered.split())


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
    (tmp_path / "rules").mkdir()
    assert set(complete("tripin rules verify --")) == {"--help", "--online", "--index-url", "--min-torch", "--rules"}
    assert complete("tripin rules ") == ["list", "show", "sync", "verify"]
    assert complete("tripin rules show ") == []
    assert complete("tripin rules sync --rules rul") == ["rules/"]
    assert complete("tripin completion bash ") == []


def test_fish_and_zsh_scripts() -> None:
    fish = subprocess.run(
        [sys.executable, "-m", "tripin", "completion", "fish"], capture_output=True, text=True, check=True
    ).stdout
    assert "complete -c tripin -f -n __fish_use_subcommand -a doctor" in fish
    assert "complete -c tripin -n '__fish_seen_subcommand_from lock' -l exclude-newer" in fish
    zsh = _script("zsh")
    assert "autoload -U +X bashcompinit && bashcompinit\n" in zsh and "complete -F _tripin tripin" in zsh

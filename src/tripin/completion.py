"""Shell completion scripts for bash, zsh and fish, generated from the argument parser, so they
name every subcommand and option the installed tripin has."""

from __future__ import annotations

import argparse
import shlex

__all__ = ["completion_script"]

_TARGET_OPTIONS = ("-t", "--target")


def _target_names() -> list[str]:
    from tripin.targets import known_platforms

    return [f"{platform}-cp3{minor}" for platform in known_platforms() for minor in range(9, 15)]


def _commands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:  # argparse has no public API for its subcommands
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _options(parser: argparse.ArgumentParser) -> list[str]:
    return [opt for action in parser._actions for opt in action.option_strings]


def _bash(parser: argparse.ArgumentParser) -> str:
    commands = _commands(parser)
    cases = []
    for name, sub in commands.items():
        words = _options(sub) + list(_commands(sub))
        cases.append(f"    {name}) opts={shlex.quote(' '.join(words))} ;;")
    return "\n".join(
        [
            '# bash completion for tripin: eval "$(tripin completion bash)"',
            "_tripin() {",
            '    local cur="${COMP_WORDS[COMP_CWORD]}" prev="${COMP_WORDS[COMP_CWORD-1]}" opts',
            '    if [ "$COMP_CWORD" -eq 1 ]; then',
            f'        COMPREPLY=($(compgen -W {shlex.quote(" ".join([*commands, *_options(parser)]))} -- "$cur"))',
            "        return",
            "    fi",
            '    case "$prev" in',
            f"    {'|'.join(_TARGET_OPTIONS)}) COMPREPLY=($(compgen -W {shlex.quote(' '.join(_target_names()))} "
            '-- "$cur")); return ;;',
            "    esac",
            '    case "${COMP_WORDS[1]}" in',
            *cases,
            "    *) opts= ;;",
            "    esac",
            '    if [[ "$cur" == -* || ( -n "$opts" && "$COMP_CWORD" -eq 2 && "${COMP_WORDS[1]}" == rules ) ]]; then',
            '        COMPREPLY=($(compgen -W "$opts" -- "$cur"))',
            "    else",
            '        COMPREPLY=($(compgen -f -- "$cur"))',
            "    fi",
            "}",
            "complete -F _tripin tripin",
            "",
        ]
    )


def _fish(parser: argparse.ArgumentParser) -> str:
    lines = ["# fish completion for tripin: tripin completion fish | source", "complete -c tripin -f"]
    commands = _commands(parser)
    for name, sub in commands.items():
        help_text = (sub.description or "").split(".")[0].replace("'", "")
        lines.append(f"complete -c tripin -n __fish_use_subcommand -a {name} -d '{help_text[:60]}'")
        for action in sub._actions:
            for opt in action.option_strings:
                flag = f"-l {opt[2:]}" if opt.startswith("--") else f"-s {opt[1:]}"
                extra = f" -xa '{' '.join(_target_names())}'" if opt in _TARGET_OPTIONS else ""
                lines.append(f"complete -c tripin -n '__fish_seen_subcommand_from {name}' {flag}{extra}")
    return "\n".join(lines) + "\n"


def completion_script(parser: argparse.ArgumentParser, shell: str) -> str:
    if shell == "fish":
        return _fish(parser)
    script = _bash(parser)
    if shell == "zsh":  # zsh runs bash completion functions through bashcompinit
        return "autoload -U +X bashcompinit && bashcompinit\n" + script
    return script

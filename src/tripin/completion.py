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


def _choices(parser: argparse.ArgumentParser) -> dict[str, list[str]]:
    """Option -> the values argparse accepts for it (--format: text json), every subcommand's."""
    out: dict[str, list[str]] = {}
    for sub in [parser, *_commands(parser).values()]:
        for action in sub._actions:
            if action.choices and action.option_strings and not isinstance(action, argparse._SubParsersAction):
                for opt in action.option_strings:
                    out[opt] = [str(c) for c in action.choices]
    return out


def _positional_choices(parser: argparse.ArgumentParser) -> list[str]:
    """The values of a subcommand's first positional argument, where argparse lists them
    (`completion bash|zsh|fish`, `rules list|show|...`)."""
    for action in parser._actions:
        if not action.option_strings and action.choices:
            return [str(c) for c in action.choices]
    return []


def _takes_value(action: argparse.Action) -> bool:
    return bool(action.option_strings) and action.nargs != 0


def _bash(parser: argparse.ArgumentParser) -> str:
    commands = _commands(parser)
    cases = []
    for name, sub in commands.items():
        words = _options(sub) + (list(_commands(sub)) or _positional_choices(sub))
        cases.append(f"    {name}) opts={shlex.quote(' '.join(words))} ;;")
    valued = [
        f'    {opt}) COMPREPLY=($(compgen -W {shlex.quote(" ".join(values))} -- "$cur")); return ;;'
        for opt, values in _choices(parser).items()
    ]
    fixed = [n for n, sub in commands.items() if _commands(sub) or _positional_choices(sub)]
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
            *valued,
            "    esac",
            '    case "${COMP_WORDS[1]}" in',
            *cases,
            "    *) opts= ;;",
            "    esac",
            '    if [[ "$cur" == -* || ( -n "$opts" && "$COMP_CWORD" -eq 2 && '
            + " || ".join(f'"${{COMP_WORDS[1]}}" == {n}' for n in fixed)
            + " ) ]]; then",
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
    """Files complete wherever a subcommand takes them (check FILE, -r FILE, --python PATH);
    only the subcommand's own position and options with fixed values complete without them."""
    lines = ["# fish completion for tripin: tripin completion fish | source"]
    commands = _commands(parser)
    for name, sub in commands.items():
        help_text = (sub.description or "").split(".")[0].replace("'", "")
        lines.append(f"complete -c tripin -f -n __fish_use_subcommand -a {name} -d '{help_text[:60]}'")
        if fixed := list(_commands(sub)) or _positional_choices(sub):
            lines.append(f"complete -c tripin -f -n '__fish_seen_subcommand_from {name}' -a '{' '.join(fixed)}'")
        for action in sub._actions:
            for opt in action.option_strings:
                flag = f"-l {opt[2:]}" if opt.startswith("--") else f"-s {opt[1:]}"
                if opt in _TARGET_OPTIONS:
                    extra = f" -xa '{' '.join(_target_names())}'"
                elif action.choices:
                    extra = f" -xa '{' '.join(str(c) for c in action.choices)}'"
                else:
                    extra = " -r" if _takes_value(action) else ""
                lines.append(f"complete -c tripin -n '__fish_seen_subcommand_from {name}' {flag}{extra}")
    return "\n".join(lines) + "\n"


def completion_script(parser: argparse.ArgumentParser, shell: str) -> str:
    if shell == "fish":
        return _fish(parser)
    script = _bash(parser)
    if shell == "zsh":  # zsh runs bash completion functions through bashcompinit
        return "autoload -U +X bashcompinit && bashcompinit\n" + script
    return script

"""Shell completion scripts for bash, zsh and fish, generated from the argument parser, so they
name every subcommand and option the installed tripin has, at every depth (`rules verify`
completes its own options as `lock` does)."""

from __future__ import annotations

import argparse
import shlex
from dataclasses import dataclass

__all__ = ["completion_script"]

_TARGET_OPTIONS = ("-t", "--target")
_FILES = frozenset({"FILE", "PATH"})  # metavars that name a file; DIR a directory; others no path
_MANY = ("*", "+", argparse.REMAINDER)


@dataclass(frozen=True, slots=True)
class _Level:
    """One parser in the tree: `path` is the subcommand words that lead to it ("rules verify")."""

    path: str
    parser: argparse.ArgumentParser

    @property
    def children(self) -> dict[str, argparse.ArgumentParser]:
        for action in self.parser._actions:  # argparse has no public API for its subcommands
            if isinstance(action, argparse._SubParsersAction):
                return dict(action.choices)
        return {}

    @property
    def subs(self) -> list[str]:
        return list(self.children)

    @property
    def options(self) -> list[argparse.Action]:
        return [a for a in self.parser._actions if a.option_strings]

    @property
    def positionals(self) -> list[argparse.Action]:
        return [
            a for a in self.parser._actions if not a.option_strings and not isinstance(a, argparse._SubParsersAction)
        ]


def _levels(parser: argparse.ArgumentParser, path: str = "") -> list[_Level]:
    out = [_Level(path, parser)]
    for name, sub in _Level(path, parser).children.items():
        out += _levels(sub, f"{path} {name}".strip())
    return out


def _kind(action: argparse.Action) -> tuple[str, list[str]]:
    """What completes an option's value or a positional: ("words", [...]), ("files", []),
    ("dirs", []), or ("none", []) for a value no path can be (a URL, a version, a name)."""
    if any(opt in _TARGET_OPTIONS for opt in action.option_strings):
        from tripin.targets import known_platforms

        return "words", [f"{platform}-cp3{minor}" for platform in known_platforms() for minor in range(9, 15)]
    if action.choices:
        return "words", [str(c) for c in action.choices]
    if action.metavar == "DIR":
        return "dirs", []
    if action.metavar in _FILES:
        return "files", []
    return "none", []


def _takes_value(action: argparse.Action) -> bool:
    return bool(action.option_strings) and action.nargs != 0


def _words(items: list[str]) -> str:
    return shlex.quote(" ".join(items))


_BASH_REPLY = {
    "files": 'compopt -o filenames 2>/dev/null; COMPREPLY=($(compgen -f -- "$cur"))',
    "dirs": 'compopt -o filenames 2>/dev/null; COMPREPLY=($(compgen -d -- "$cur"))',
    "none": "COMPREPLY=()",
}


def _bash_reply(kind: str, words: list[str]) -> str:
    return f'COMPREPLY=($(compgen -W {_words(words)} -- "$cur"))' if kind == "words" else _BASH_REPLY[kind]


def _bash(parser: argparse.ArgumentParser) -> str:
    levels = _levels(parser)
    level_arms, value_arms, positional_arms = [], [], []
    for level in levels:
        takes = [opt for a in level.options if _takes_value(a) for opt in a.option_strings]
        opts = [opt for a in level.options for opt in a.option_strings]
        label = shlex.quote(level.path) if level.path else '""'
        level_arms.append(f"    {label}) subs={_words(level.subs)} opts={_words(opts)} takes={_words(takes)} ;;")
        for action in level.options:
            if _takes_value(action):
                patterns = "|".join(shlex.quote(f"{level.path}|{opt}") for opt in action.option_strings)
                value_arms.append(f"    {patterns}) {_bash_reply(*_kind(action))} ;;")
        for n, action in enumerate(level.positionals):
            pattern = shlex.quote(f"{level.path}|") + ("*" if action.nargs in _MANY else str(n))
            positional_arms.append(f"    {pattern}) {_bash_reply(*_kind(action))} ;;")
    return "\n".join(
        [
            '# bash completion for tripin: eval "$(tripin completion bash)"',
            "_tripin_level() {  # $1: subcommand path; sets its subcommands, options and valued options",
            '    case "$1" in',
            *level_arms,
            "    *) subs= opts= takes= ;;",
            "    esac",
            "}",
            "_tripin() {",
            '    local cur="${COMP_WORDS[COMP_CWORD]}" path="" word i skip=0 given=0 subs opts takes',
            '    _tripin_level ""',
            "    # walk the words before the cursor: subcommands deepen the path, an option that takes",
            "    # a value hides the next word, every other word is a positional argument",
            "    for ((i = 1; i < COMP_CWORD; i++)); do",
            '        word="${COMP_WORDS[i]}"',
            "        if ((skip)); then skip=0; continue; fi",
            '        case " $takes " in *" $word "*) skip=1; continue ;; esac',
            '        case "$word" in -*) continue ;; esac',
            '        case " $subs " in',
            '        *" $word "*) path="${path:+$path }$word"; given=0; _tripin_level "$path" ;;',
            "        *) given=$((given + 1)) ;;",
            "        esac",
            "    done",
            "    if ((skip)); then",
            '        case "$path|${COMP_WORDS[COMP_CWORD-1]}" in',
            *value_arms,
            "    *) COMPREPLY=() ;;",
            "        esac",
            '    elif [[ "$cur" == -* ]]; then',
            '        COMPREPLY=($(compgen -W "$opts" -- "$cur"))',
            '    elif [ -n "$subs" ]; then',
            '        COMPREPLY=($(compgen -W "$subs" -- "$cur"))',
            "    else",
            '        case "$path|$given" in',
            *positional_arms,
            "    *) COMPREPLY=() ;;",
            "        esac",
            "    fi",
            "}",
            "complete -F _tripin tripin",
            "",
        ]
    )


def _fish_condition(level: _Level) -> str:
    """The fish condition under which the command line is at `level`: each word of its path
    seen, and none of its own subcommands yet."""
    if not level.path:
        return "__fish_use_subcommand"
    parts = [f"__fish_seen_subcommand_from {word}" for word in level.path.split()]
    if level.subs:
        parts.append(f"not __fish_seen_subcommand_from {' '.join(level.subs)}")
    return "; and ".join(parts)


_FISH_VALUE = {
    "files": " -rF",
    "dirs": " -xa '(__fish_complete_directories (commandline -ct))'",
    "none": " -x",
}


def _fish(parser: argparse.ArgumentParser) -> str:
    """Files complete wherever a level takes them (check FILE, -r FILE, --python PATH), and
    directories for a DIR; elsewhere (a subcommand's place, fixed values, a version) not."""
    lines = ["# fish completion for tripin: tripin completion fish | source"]
    for level in _levels(parser):
        when = shlex.quote(_fish_condition(level))
        for name, sub in level.children.items():
            help_text = (sub.description or "").split(".")[0].replace("'", "")
            lines.append(f"complete -c tripin -f -n {when} -a {name} -d '{help_text[:60]}'")
        positionals = level.positionals
        if positionals and not level.subs:
            kind, words = _kind(positionals[0])
            if kind == "words":  # only until one is given: `completion bash <TAB>` offers no more
                done = f"{_fish_condition(level)}; and not __fish_seen_subcommand_from {' '.join(words)}"
                lines.append(f"complete -c tripin -f -n {shlex.quote(done)} -a {_words(words)}")
            if kind != "files":
                lines.append(f"complete -c tripin -f -n {when}")
        elif level.path and not positionals:
            lines.append(f"complete -c tripin -f -n {when}")  # no argument but options
        for action in level.options:
            kind, words = _kind(action)
            if not _takes_value(action):
                extra = ""
            elif kind == "words":
                extra = f" -xa {_words(words)}"
            else:
                extra = _FISH_VALUE[kind]
            for opt in action.option_strings:
                flag = f"-l {opt[2:]}" if opt.startswith("--") else f"-s {opt[1:]}"
                lines.append(f"complete -c tripin -n {when} {flag}{extra}")
    return "\n".join(lines) + "\n"


# zsh runs bash completion functions through bashcompinit, which needs compdef: from compinit,
# which a user's .zshrc may not run (then `command not found: compdef`)
_ZSH_HEAD = (
    "(( $+functions[compdef] )) || { autoload -Uz compinit && compinit; }\n"
    "autoload -U +X bashcompinit && bashcompinit\n"
)


def completion_script(parser: argparse.ArgumentParser, shell: str) -> str:
    if shell == "fish":
        return _fish(parser)
    script = _bash(parser)
    return _ZSH_HEAD + script if shell == "zsh" else script

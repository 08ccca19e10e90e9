"""Command line: parse arguments, call the stages, print results, map errors to exit codes."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Sequence
from typing import TextIO, cast

from tripin import __version__
from tripin.errors import EXIT_OK, EXIT_USAGE, TripinError

__all__ = ["main"]


RULES_HELP = "show, verify and refresh the ruleset"
CACHE_HELP = "show the cache directory, or empty it of all or of what this tripin no longer reads"


def _default_python() -> str:
    """The activated environment's interpreter ($VIRTUAL_ENV), as `uv pip install` takes it,
    else the one running tripin. tripin installed as a tool (pipx, `uv tool`) runs from its own
    environment: installing a project's lock there replaced tripin's own dependencies, and
    the activated project environment got nothing."""
    import os
    from pathlib import Path

    venv = os.environ.get("VIRTUAL_ENV", "").strip()
    for relative in ("bin/python", "Scripts/python.exe") if venv else ():
        if (candidate := Path(venv) / relative).is_file():
            return str(candidate)
    return sys.executable


def _add_rules_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--rules", metavar="DIR", help="read rules/*.toml from DIR instead of the shipped ruleset")
    parser.add_argument(
        "--overlay",
        action="append",
        default=[],
        metavar="FILE",
        help="a rules file of the project's, over the shipped rules (repeatable; also [tool.tripin] rules = [...])",
    )


def _parser(command: str | None = None) -> argparse.ArgumentParser:
    """The whole command line, or with `command` only that command's options (the others are
    listed, for --help, without theirs): building all of them took longer than most commands'
    own start-up work."""

    def wanted(name: str) -> bool:
        return command is None or command == name

    parser = argparse.ArgumentParser(
        prog="tripin",
        description="Lock PyTorch environments with the Triton "
        "build each torch release needs, for every target machine.",
    )
    parser.add_argument("--version", action="version", version=f"tripin {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    lock = sub.add_parser(
        "lock",
        help="resolve requirements for targets; write pylock.toml and constraints.txt",
        description="Resolve for every --target and write one PEP 751 lock and a pip "
        "constraints file. With no REQUIREMENT, reads ./pyproject.toml.",
    )
    if wanted("lock"):
        lock.add_argument(
            "requirements",
            nargs="*",
            metavar="REQUIREMENT",
            help="PEP 508 requirement (torch==2.6.0), or a requirements file (*.in, *.txt) as pip-compile takes",
        )
        lock.add_argument(
            "-r",
            "--requirement",
            dest="requirement_files",
            action="append",
            default=[],
            metavar="FILE",
            help="read requirements from FILE (pip syntax; repeatable)",
        )
        lock.add_argument(
            "-c",
            "--constraint",
            dest="constraint_files",
            action="append",
            default=[],
            metavar="FILE",
            help="limit versions with FILE (pip syntax; repeatable): a constraint adds no package",
        )
        lock.add_argument(
            "-t",
            "--target",
            dest="targets",
            action="append",
            default=[],
            metavar="NAME",
            help="OS-ARCH-cpXY, e.g. linux-x86_64-cp312, linux-aarch64-cp312 (repeatable)",
        )
        lock.add_argument("-i", "--index-url", metavar="URL", help="simple-API index (default: PyPI)")
        lock.add_argument(
            "--extra-index-url",
            action="append",
            default=[],
            metavar="URL",
            help="further index, used for names the earlier ones lack (repeatable)",
        )
        lock.add_argument("--lock", metavar="PATH", help="lock file to write (default: pylock.toml)")
        lock.add_argument("--constraints", metavar="PATH", help="constraints file to write (default: constraints.txt)")
        lock.add_argument("--offline", action="store_true", help="use only the cache; fail naming what is missing")
        lock.add_argument("--cache-dir", metavar="DIR", help="cache directory (default: the user cache dir)")
        lock.add_argument("--no-cache", action="store_true", help="neither read nor write the cache")
        lock.add_argument("--refresh", action="store_true", help="revalidate cached index pages, however fresh")
        lock.add_argument("--pre", action="store_true", help="allow pre-releases")
        lock.add_argument(
            "--nightly",
            action="store_true",
            help="variant targets read PyTorch's nightly index (URL/nightly/<variant>); implies --pre",
        )
        lock.add_argument(
            "--pytorch-index-url",
            metavar="URL",
            help="where variant targets (-cu126, -cpu, ...) find torch and Triton: URL/<variant> "
            "(default https://download.pytorch.org/whl; a mirror works)",
        )
        lock.add_argument(
            "--group",
            action="append",
            default=[],
            metavar="NAME",
            help="also lock this group of pyproject.toml (optional-dependencies or dependency-groups)",
        )
        lock.add_argument(
            "--exclude-newer",
            metavar="DATE",
            help="ignore files uploaded after DATE (YYYY-MM-DD or RFC 3339), to reproduce a lock later",
        )
        lock.add_argument(
            "-U",
            "--upgrade",
            action="store_true",
            help="re-resolve everything (by default the versions of the lock being replaced are kept while they fit)",
        )
        lock.add_argument(
            "-P",
            "--upgrade-package",
            action="append",
            default=[],
            metavar="NAME[==VERSION]",
            help="let this package move, to VERSION if given; -P torch also moves its companions and Triton "
            "(repeatable)",
        )
        lock.add_argument(
            "--print-config",
            action="store_true",
            help="print the settings in force and where each comes from, then exit",
        )
        lock.add_argument("--manylinux", metavar="X.Y", help="newest glibc of the Linux targets (default 2.28)")
        lock.add_argument("--musllinux", metavar="X.Y", help="newest musl of musllinux targets (default 1.2)")
        lock.add_argument("--macos", metavar="X.Y", help="newest macOS of macOS targets (default 14.0)")
        lock.add_argument(
            "--check",
            action="store_true",
            help="write nothing; exit 1 with a diff if the lock or constraints would change (for CI)",
        )
        lock.add_argument("-q", "--quiet", action="store_true", help="no summary: only warnings and errors, on stderr")
        lock.add_argument("--format", choices=("text", "json"), default="text", help="summary as text or JSON")
        lock.add_argument(
            "-v",
            "--verbose",
            action="count",
            default=0,
            help="-v: which index serves what, rules applied; -vv: every request, cache hit, candidate",
        )
        _add_rules_options(lock)
    plan = sub.add_parser(
        "build-plan",
        help="write a shell script that builds the lock's source builds",
        description="Write a POSIX sh script that builds every source-built package of the "
        "lock for one target into a wheelhouse, and print the pip line that installs it.",
    )
    if wanted("build-plan"):
        plan.add_argument("--lock", metavar="PATH", help="lock to read (default: [tool.tripin] lock, else pylock.toml)")
        plan.add_argument("-t", "--target", metavar="NAME", help="target (default: the one that needs source builds)")
        plan.add_argument(
            "-o", "--output", metavar="PATH", help="script path, or - for stdout (default: build-TARGET.sh)"
        )
        plan.add_argument(
            "--constraints",
            metavar="PATH",
            help="constraints file the printed install line uses (default: the lock's, when it exists)",
        )
        plan.add_argument(
            "--torch",
            metavar="VERSION",
            help="no lock: build the Triton the rules give this torch release (needs --target)",
        )
        _add_rules_options(plan)
    check = sub.add_parser(
        "check",
        help="check locks, constraints and requirements files against the rules (offline; a pre-commit hook)",
        description="Judge the torch/Triton pairs in pylock.toml, uv.lock, constraints and requirements files with the "
        "ruleset. Prints `path:line: CODE message` per violation and exits 1; silent and 0 when all is well; "
        "2 when a file cannot be read.",
    )
    if wanted("check"):
        check.add_argument(
            "files", nargs="*", metavar="FILE", help="files to check (default: the project's lock and constraints file)"
        )
        check.add_argument(
            "-t",
            "--target",
            dest="targets",
            action="append",
            default=[],
            metavar="NAME",
            help="targets to judge requirements files for (default: the lock's, else "
            "linux-x86_64-cp312 and linux-aarch64-cp312)",
        )
        check.add_argument("--fix", action="store_true", help="rewrite the offending pins in place")
        check.add_argument(
            "--strict", action="store_true", help="warnings fail too (another cut of the right branch, a main commit)"
        )
        check.add_argument("--format", choices=("text", "json"), default="text")
        _add_rules_options(check)
    explain = sub.add_parser(
        "explain",
        help="why the lock holds this package: chain, rule, source",
        description="For each target (or --target): the requirement chain that pulls the "
        "package in, the rule that decided it with its status and source, and where it comes from.",
    )
    if wanted("explain"):
        explain.add_argument("package", metavar="PACKAGE")
        explain.add_argument("-t", "--target", metavar="NAME")
        explain.add_argument(
            "--lock", metavar="PATH", help="lock to read (default: [tool.tripin] lock, else pylock.toml)"
        )
        explain.add_argument("--format", choices=("text", "json"), default="text")
    config = sub.add_parser(
        "config",
        help="print the settings every command shares and where each comes from",
        description="The lock and constraints paths, rules overlays, indexes and cache directory that "
        "check, doctor, explain, build-plan, install and rules use (lock adds its own: lock --print-config), "
        "each with its source: command line, environment, [tool.tripin], or default.",
    )
    if wanted("config"):
        config.add_argument("--lock", metavar="PATH", help="lock path (default: [tool.tripin] lock, else pylock.toml)")
        config.add_argument("--cache-dir", metavar="DIR", help="cache directory (default: the user cache dir)")
        config.add_argument("--format", choices=("text", "json"), default="text")
        _add_rules_options(config)
    install = sub.add_parser(
        "install",
        help="install the lock for this machine's target into an environment (pip or uv, one command)",
        description="Install every package the lock holds for this machine's target, each at its exact "
        "locked version (a Triton with another +git label is replaced), source builds from the wheelhouse "
        "of the build script. Prints the one pip or uv command it runs.",
    )
    if wanted("install"):
        install.add_argument(
            "--lock", metavar="PATH", help="lock to read (default: [tool.tripin] lock, else pylock.toml)"
        )
        install.add_argument(
            "-t", "--target", metavar="NAME", help="the lock's target to install (default: this machine's)"
        )
        install.add_argument(
            "--python",
            metavar="PATH",
            default=_default_python(),
            help="environment's interpreter (default: the activated one, $VIRTUAL_ENV, as uv; else tripin's)",
        )
        install.add_argument(
            "--installer", choices=("pip", "uv"), help="default: the environment's pip, else uv when on PATH"
        )
        install.add_argument(
            "--wheelhouse", default="wheelhouse", metavar="DIR", help="where the build script put source builds"
        )
        install.add_argument(
            "--extra",
            dest="extras",
            action="append",
            default=[],
            metavar="NAME",
            help="also install what the lock's [project.optional-dependencies] group NAME needs (repeatable)",
        )
        install.add_argument(
            "--group",
            dest="groups",
            action="append",
            default=[],
            metavar="NAME",
            help="also install what the lock's dependency group NAME needs (repeatable)",
        )
        install.add_argument("--dry-run", action="store_true", help="print the plan and the command; install nothing")
    if wanted("cache"):
        from tripin.cli_cache import add_cache_parser

        add_cache_parser(sub, CACHE_HELP)
    else:
        sub.add_parser("cache", help=CACHE_HELP)
    completion = sub.add_parser(
        "completion",
        help="print a shell completion script",
        description='eval "$(tripin completion bash)"; zsh likewise; fish: tripin completion fish | source',
    )
    if wanted("completion"):
        completion.add_argument("shell", choices=("bash", "zsh", "fish"))
    if wanted("rules"):
        from tripin.cli_rules import add_rules_parser

        add_rules_parser(sub, RULES_HELP)
    else:
        sub.add_parser("rules", help=RULES_HELP)
    doctor = sub.add_parser(
        "doctor",
        help="diagnose the torch and Triton installed in an interpreter",
        description="Report torch and Triton in an interpreter (its files are read, nothing is imported), "
        "judge the pair with the rules and print the fix. Exit 0 healthy, 1 a problem, 2 could not inspect.",
    )
    if wanted("doctor"):
        doctor.add_argument(
            "--python",
            metavar="PATH",
            default=_default_python(),
            help="interpreter to inspect (default: the activated one, $VIRTUAL_ENV; else the one running tripin)",
        )
        doctor.add_argument(
            "--probe",
            action="store_true",
            help="also import, in that interpreter, the Triton APIs the installed torch needs",
        )
        doctor.add_argument("--format", choices=("text", "json"), default="text")
        _add_rules_options(doctor)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from tripin.redact import RedactingStream

    stdout, stderr = sys.stdout, sys.stderr
    # every printed line passes here: a proxy (typed as the stream it stands for) that masks
    # credentials in URLs and delegates all but write
    sys.stdout, sys.stderr = cast(TextIO, RedactingStream(stdout)), cast(TextIO, RedactingStream(stderr))
    try:
        return _main(argv)
    finally:
        sys.stdout, sys.stderr = stdout, stderr


_COMMANDS = {  # command -> (module, function)
    "lock": ("cli_lock", "run_lock"),
    "check": ("cli_check", "run_check"),
    "doctor": ("cli_check", "run_doctor"),
    "explain": ("cli_check", "run_explain"),
    "config": ("cli_check", "run_config"),
    "build-plan": ("cli_build", "run_build_plan"),
    "install": ("cli_build", "run_install"),
    "rules": ("cli_rules", "run_rules"),
    "cache": ("cli_cache", "run_cache"),
}


# a command's positional list that may come in pieces between options, as pip-compile, uv and
# git take them (`tripin lock torch -t linux-x86_64-cp312 transformers`); argparse alone
# refuses the second piece, and its parse_intermixed_args does not work with subcommands
_SPREAD = {"lock": "requirements", "check": "files"}


def _main(argv: Sequence[str] | None) -> int:
    given = list(argv) if argv is not None else sys.argv[1:]
    # the command is the first word (tripin's own options take no value); completion needs all
    first = next((a for a in given if not a.startswith("-")), None)
    parser = _parser(first if first in _COMMANDS else None)
    args, rest = parser.parse_known_args(argv)
    if rest:
        spread = _SPREAD.get(args.command)
        if spread is None or any(r.startswith("-") for r in rest):
            parser.error(f"unrecognized arguments: {' '.join(rest)}")
        getattr(args, spread).extend(rest)
    if args.command is None:
        parser.print_help()
        return EXIT_USAGE
    if args.command == "completion":
        from tripin.completion import completion_script

        sys.stdout.write(completion_script(parser, args.shell))
        return EXIT_OK
    # only the command's own module is imported: `check` must start fast and never load the
    # resolver or the network code
    module, function = _COMMANDS[args.command]
    run: Callable[..., int] = getattr(importlib.import_module(f"tripin.{module}"), function)
    try:
        if args.command in ("check", "lock"):  # their memos are keyed by the exact arguments
            return run(args, list(argv) if argv is not None else sys.argv[1:])
        return run(args)
    except TripinError as exc:
        print(f"tripin: error: {exc}", file=sys.stderr)
        if exc.hint:
            print(f"hint: {exc.hint}", file=sys.stderr)
        return exc.exit_code
    except RecursionError:  # input nested past what a parser below tripin can follow
        print("tripin: error: input nested too deeply to read", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("tripin: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `tripin rules list | head`: the reader left; say nothing more
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except OSError as exc:  # a path no handler expected: a name too long, a symlink loop
        from tripin.errors import one_line, quote

        name = f"{quote(exc.filename, 120)}: " if exc.filename else ""
        print(one_line(f"tripin: error: {name}{exc.strerror or exc}"), file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":
    raise SystemExit(main())

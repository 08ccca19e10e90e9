"""The command line is built for the command given (tripin/cli.py `_parser(command)`): what it
reads must be what the whole parser reads, for every command."""

from __future__ import annotations

import pytest

from tripin.cli import _parser

ARGVS = [
    ["lock", "torch==2.6.0", "-t", "linux-x86_64-cp312", "--exclude-newer", "2025-09-01", "-P", "numpy", "-q"],
    ["lock", "-r", "requirements.in", "--format", "json", "--cache-d", "c", "-vv"],
    ["check", "pylock.toml", "--strict", "--overlay", "o.toml"],
    ["build-plan", "--torch", "2.6.0", "-t", "linux-aarch64-cp312-cu126", "-o", "-"],
    ["explain", "triton", "--format", "json"],
    ["config", "--lock", "x.toml"],
    ["install", "--dry-run", "--extra", "gpu", "--installer", "uv"],
    ["rules", "show", "2.6", "--format", "json"],
    ["rules", "sync", "--rules", "rules"],
    ["doctor", "--probe", "--format", "json"],
]


@pytest.mark.parametrize("argv", ARGVS, ids=lambda a: " ".join(a[:2]))
def test_a_commands_own_parser_reads_what_the_whole_one_reads(argv: list[str]) -> None:
    whole = _parser().parse_known_args(argv)
    own = _parser(argv[0]).parse_known_args(argv)
    assert own == whole


def test_every_command_is_listed_whatever_the_command() -> None:
    listed = _parser().format_help()
    assert _parser("lock").format_help() == listed
    for command in ("lock", "build-plan", "check", "explain", "config", "install", "completion", "rules", "doctor"):
        assert command in listed

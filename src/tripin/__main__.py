"""The `tripin` command (and `python -m tripin`): a remembered `tripin check` answer is replayed
before the command line, argparse and the rules are imported, so a pre-commit hook with unchanged
inputs costs little more than Python's start-up (tripin/memo.py says when an answer holds)."""

import sys


def main() -> int:
    argv = sys.argv[1:]
    if argv[:1] == ["check"]:
        from tripin.memo import replay

        code = replay(argv)
        if code is not None:
            return code
    from tripin.cli import main as cli_main

    return cli_main(argv)


if __name__ == "__main__":
    raise SystemExit(main())

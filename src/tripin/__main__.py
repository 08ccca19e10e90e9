"""The `tripin` command (and `python -m tripin`): a remembered `tripin check` answer, or what a
`tripin lock` with nothing to resolve said, is replayed before the command line, argparse and the
rules are imported, so a pre-commit hook or a re-lock with unchanged inputs costs little more
than Python's start-up (tripin/memo.py says when an answer holds)."""

import os
import sys


def _leave_the_working_directory_off_sys_path() -> None:
    """`python -m tripin` puts the working directory first on sys.path, so a `logging.py` in a
    checked-out pull request whose lock `tripin check` judges would run as tripin loads it.
    tripin itself is imported already; only other modules were looked up there."""
    if __name__ != "__main__" or not sys.path or sys.flags.safe_path:
        return
    try:
        here = os.getcwd()  # noqa: PTH109 (no pathlib before the memo replay)
    except OSError:  # a working directory since removed: nothing can be imported from it
        return
    if sys.path[0] in ("", here):
        del sys.path[0]


_leave_the_working_directory_off_sys_path()


def main() -> int:
    try:
        return _main(sys.argv[1:])
    except KeyboardInterrupt:  # before tripin.cli, which says the same, has loaded
        print("tripin: interrupted", file=sys.stderr)
        return 130


def _main(argv: list[str]) -> int:
    if argv[:1] == ["check"]:
        from tripin.memo import replay

        code = replay(argv)
        if code is not None:
            return code
    elif argv[:1] == ["lock"]:  # a re-lock with nothing changed (tripin/relock.py), said again
        from tripin.memo import replay_lock

        code = replay_lock(argv)
        if code is not None:
            return code
        _start_page_worker(argv)
    from tripin.cli import main as cli_main

    return _leave(cli_main(argv))


def _start_page_worker(argv: list[str]) -> None:
    """A lock whose cache holds no project page (or that keeps none) fetches every page: its
    page worker starts now (tripin/index/pageworker.py). The cache is found as the lock memo
    finds it, from the words as typed; an option missed there (an abbreviation, `--cache X`)
    costs speed only: `run_lock` decides again once the command line is parsed, and closes a
    worker it has no use for."""
    if any(word in ("--offline", "--print-config", "-h", "--help") for word in argv):
        return
    from tripin.memo import lock_root, pages_cached

    root = lock_root(argv)
    if root is None or not pages_cached(root):
        from tripin.workerproc import start_early

        start_early()


def _leave(code: int) -> int:
    """Exit without tearing the heap down, as mypy does: after a lock, freeing its hundreds of
    thousands of objects one by one took 40 to 160 ms, after every file was written and closed.
    Output is flushed first; if that fails (a closed pipe), Python's own exit runs instead."""
    import os

    if "logging" in sys.modules:  # flush its handlers; a run that never logged has none to flush
        sys.modules["logging"].shutdown()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):
        return code
    os._exit(code)


if __name__ == "__main__":
    raise SystemExit(main())

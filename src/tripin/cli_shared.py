"""What every command reads from its parsed options: the project's settings, its rules, logging."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tripin.config import Project
    from tripin.rules.model import Ruleset


def setup_logging(verbosity: int) -> None:
    """-v/-vv: tripin's log records on stderr. Library code only logs; only this prints them."""
    if not verbosity and "logging" not in sys.modules:
        return  # nothing set up before, nothing to set up: the default shows warnings only
    import logging

    root = logging.getLogger("tripin")
    for old in [h for h in root.handlers if getattr(h, "tripin_cli", False)]:
        root.removeHandler(old)  # main() may run many times in one process (tests, embedding)
    if verbosity:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("tripin: %(message)s"))
        handler.tripin_cli = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    root.setLevel(logging.DEBUG if verbosity > 1 else logging.INFO if verbosity else logging.WARNING)


def project_of(args: argparse.Namespace) -> Project:
    """The settings every command shares, from this command's options (where it has them)."""
    from tripin.config import project_settings

    return project_settings(
        lock=getattr(args, "lock", None),
        overlays=getattr(args, "overlay", None) or (),
        rules=getattr(args, "rules", None),
        cache_dir=getattr(args, "cache_dir", None),
        no_cache=getattr(args, "no_cache", False),
        index_url=getattr(args, "index_url", None),
        pytorch_index_url=getattr(args, "pytorch_index_url", None),
    )


def lock_path_of(args: argparse.Namespace) -> Path:
    """--lock, else [tool.tripin] lock of ./pyproject.toml, else pylock.toml: as `tripin lock` wrote it."""
    return project_of(args).lock_path


def ruleset_of(args: argparse.Namespace, *, validate: bool = True) -> Ruleset:
    """The shipped rules under the project's overlays (--overlay, else [tool.tripin] rules of
    ./pyproject.toml): what lock, check, doctor, explain and build-plan all judge by."""
    from tripin.config import load_rules

    ruleset: Ruleset = load_rules(project_of(args), validate=validate)
    return ruleset


def ruleset_from(args: argparse.Namespace, *, validate: bool = True, overlays: Sequence[Path] = ()) -> Ruleset:
    """`lock`'s rules: --rules DIR (or the shipped ones) under the overlays its settings chose."""
    from tripin.config import rules_with_overlays

    ruleset: Ruleset = rules_with_overlays(Path(args.rules) if args.rules else None, overlays, validate=validate)
    return ruleset

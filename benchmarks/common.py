"""What every benchmark here does first."""

from __future__ import annotations

from pathlib import Path


def compile_tripin() -> None:
    """Byte-compile tripin as an install does: with PYTHONDONTWRITEBYTECODE set (as on the
    machines these numbers come from) or a fresh checkout, every run would otherwise compile
    the modules it imports, and the benchmark would measure that."""
    import compileall

    import tripin

    compileall.compile_dir(Path(tripin.__file__).parent, quiet=1)

"""What `tripin lock` shows while it works, for runs over a second: a live line on a terminal
(rich; NO_COLOR respected), plain lines elsewhere. Only the command line uses this module."""

from __future__ import annotations

import sys
import threading
import time
from types import TracebackType
from typing import TextIO

from tripin.index.http import Stats

__all__ = ["Progress"]

_DELAY = 1.0  # quick runs show nothing but their result


class Progress:
    def __init__(self, stats: Stats, targets: int, *, stream: TextIO | None = None, enabled: bool = True) -> None:
        self.stats = stats
        self.targets = targets
        self.done: list[str] = []
        self.stream = stream or sys.stderr
        self.enabled = enabled
        self.tty = self.stream.isatty()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._started = time.monotonic()
        self._thread: threading.Thread | None = None

    def line(self) -> str:
        s = self.stats
        return (
            f"resolving {self.targets} target(s): {len(self.done)} done, {s.requests} requests "
            f"({s.in_flight} in flight), {s.bytes / 1e6:.1f} MB, {time.monotonic() - self._started:.1f}s"
        )

    def target_done(self, name: str) -> None:
        """Called from the resolver threads: each line is one write, under the lock (print's
        separate write of the newline let two threads' lines run together)."""
        with self._lock:
            self.done.append(name)
            if self.enabled and not self.tty and time.monotonic() - self._started > _DELAY:
                self.stream.write(f"tripin: resolved {name} ({self.line()})\n")
                self.stream.flush()

    def __enter__(self) -> Progress:
        if self.enabled and self.tty:
            self._thread = threading.Thread(target=self._live, name="tripin-progress", daemon=True)
            self._thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def _live(self) -> None:
        if self._stop.wait(_DELAY):
            return
        from rich.console import Console
        from rich.live import Live
        from rich.text import Text

        console = Console(file=self.stream, stderr=True)
        with Live(Text(self.line(), style="dim"), console=console, transient=True, refresh_per_second=8) as live:
            while not self._stop.wait(0.125):
                live.update(Text(self.line(), style="dim"))

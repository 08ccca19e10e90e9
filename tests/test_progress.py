"""The plain progress lines `tripin lock` writes to a log (not a terminal) while targets finish
in parallel threads: each must arrive whole, one line per target."""

from __future__ import annotations

import io
import threading

from tripin.index.http import Stats
from tripin.progress import Progress


class _Log(io.StringIO):
    """A log file that remembers each write it was given, as a pipe reader sees them."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[str] = []

    def write(self, text: str) -> int:
        self.writes.append(text)
        return super().write(text)


def test_lines_from_many_threads_arrive_whole() -> None:
    log = _Log()
    progress = Progress(Stats(), 64, stream=log)
    progress._started -= 5  # a run past the delay: it shows progress lines
    threads = [threading.Thread(target=progress.target_done, args=(f"target-{i}",)) for i in range(64)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    lines = log.getvalue().splitlines()
    assert len(lines) == 64 and all(line.startswith("tripin: resolved target-") for line in lines)
    assert all(write.endswith("\n") and write.count("\n") == 1 for write in log.writes)

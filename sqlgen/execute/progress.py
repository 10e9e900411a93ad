"""Progress of a run: a redrawn bar on a terminal, periodic log lines otherwise."""

from __future__ import annotations

import logging
import sys
import time
from typing import TextIO

log = logging.getLogger("sqlgen")


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 3600:d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


class Progress:
    def __init__(
        self, total: int, enabled: bool = True, stream: TextIO | None = None, interval: float = 5.0
    ):
        self.total = total
        self.done = 0
        self.stream = stream or sys.stderr
        self.enabled = enabled
        self.tty = enabled and self.stream.isatty()
        self.interval = interval
        self.start = time.monotonic()
        self.last = self.start

    def line(self) -> str:
        elapsed = max(time.monotonic() - self.start, 1e-9)
        rate = self.done / elapsed
        eta = (self.total - self.done) / rate if rate > 0 else float("inf")
        eta_s = _duration(eta) if eta != float("inf") else "?"
        pct = 100.0 * self.done / self.total if self.total else 100.0
        return f"{self.done:,}/{self.total:,} rows ({pct:5.1f}%) {rate:,.0f} rows/s ETA {eta_s}"

    def update(self, rows: int) -> None:
        self.done += rows
        if not self.enabled:
            return
        now = time.monotonic()
        if self.tty:
            width = 30
            filled = int(width * self.done / self.total) if self.total else width
            bar = "#" * filled + "-" * (width - filled)
            self.stream.write(f"\r[{bar}] {self.line()}")
            self.stream.flush()
        elif now - self.last >= self.interval or self.done >= self.total:
            log.info("progress: %s", self.line())
            self.last = now

    def close(self) -> None:
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()

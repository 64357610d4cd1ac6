"""A dependency-free progress bar on stderr: one bar per experiment, showing the current trial.

On a terminal the bar redraws in place (carriage return); otherwise (CI logs, pipes) each step is
one plain line, so logs stay readable. ``note(text)`` prints a message (a timeout, a failure) on a
line of its own, above the bar, which is then redrawn: nothing hides behind the bar.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO


def _clock(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 60:02d}:{seconds % 60:02d}"


class Progress:
    """``with Progress("memory", total=12) as bar: bar.step("k=100 reverse")`` ... ."""

    def __init__(self, label: str, total: int, stream: TextIO | None = None, width: int = 24) -> None:
        self.label = label
        self.total = max(0, total)
        self.stream = stream if stream is not None else sys.stderr
        self.width = width
        self.done = 0
        self.start = time.perf_counter()
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self._last_len = 0
        self._closed = False
        self._desc = "starting"

    def __enter__(self) -> Progress:
        if self.tty:
            self._draw("starting")
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def step(self, desc: str) -> None:
        """Announce the trial about to run (``desc``); the previous one counts as done."""
        self._draw(desc)
        self.done = min(self.total, self.done + 1)

    @property
    def closed(self) -> bool:
        return self._closed

    def note(self, text: str) -> None:
        """``text`` on its own line; on a terminal the bar is cleared first and redrawn after."""
        if self.tty and not self._closed:
            self.stream.write("\r" + " " * self._last_len + "\r" + text + "\n")
            self._last_len = 0
            self._draw(self._desc)
        else:
            self.stream.write(text + "\n")
            self.stream.flush()

    def line(self) -> str:
        frac = self.done / self.total if self.total else 1.0
        filled = int(round(frac * self.width))
        bar = "#" * filled + "-" * (self.width - filled)
        return (f"{self.label:<19} [{bar}] {self.done:>3}/{self.total:<3} "
                f"{_clock(time.perf_counter() - self.start)}")

    def _draw(self, desc: str) -> None:
        self._desc = desc
        text = f"{self.line()} {desc}"
        if self.tty:
            pad = max(0, self._last_len - len(text))
            self.stream.write("\r" + text + " " * pad)
            self._last_len = len(text)
        else:
            self.stream.write(text + "\n")
        self.stream.flush()

    def close(self, summary: str = "done") -> None:
        if self._closed:
            return
        self._closed = True
        self.done = self.total
        self._draw(summary)
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()

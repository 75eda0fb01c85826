"""A one-line progress bar on a terminal: requests done of planned, and the time left.

It redraws in place (carriage return, erase to end of line) at most ten times a second,
and steps aside for log lines: while it is shown, a log record first erases the bar,
which the next update draws again below the record. The API client's informational
lines (waiting for the budget) are left out while it shows: the bar says the same.
When stderr is not a terminal, piped or logged output gets nothing extra: ``NoProgress``,
or ``PlanNote``'s one line before a wait for the budget.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from typing import TextIO

__all__ = ["NoProgress", "PlanNote", "ProgressBar", "duration_text"]

_WIDTH = 24
_EVERY = 0.1


def duration_text(seconds: float) -> str:
    """``45s``, ``4m05s``, ``2h07m``: short, for a line that changes every second."""
    s = max(0, round(seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{s % 3600 // 60:02d}m"


class NoProgress:
    """Reports nothing."""

    def update(self, done: int, planned: int, eta: Callable[[], float]) -> None:
        return None

    def waiting(self, seconds: float) -> None:
        return None

    def resuming(self, resumed: int, planned: int, earlier: str) -> None:
        return None

    def close(self) -> None:
        return None


class PlanNote(NoProgress):
    """For stderr that is not a terminal: no bar, but before requests wait for the
    per-minute budget, one line of how many there are and about how long they take, so a
    long run does not seem to hang."""

    def __init__(self, stream: TextIO, per_minute: int) -> None:
        self._stream, self._per_minute = stream, per_minute
        self._said = False

    def update(self, done: int, planned: int, eta: Callable[[], float]) -> None:
        if self._said:
            return
        self._said = True
        minutes = math.ceil(eta() / 60) if done < planned else 0
        if minutes:  # all within the budget at once: nothing to wait for, nothing said
            left = planned - done
            self._stream.write(
                f"sending {left:,} request{'s' * (left != 1)}, at most {self._per_minute} a "
                f"minute (a budget shared with a running engine): about {minutes:,} minute"
                f"{'s' * (minutes != 1)}\n"
            )
            self._stream.flush()


class ProgressBar:
    def __init__(self, stream: TextIO, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._stream, self._clock = stream, clock
        self._shown = False
        self._last = -_EVERY
        self._state = (0, 0)
        self._filter = _ClearFirst(self)
        for handler in logging.getLogger().handlers:
            handler.addFilter(self._filter)

    def update(self, done: int, planned: int, eta: Callable[[], float]) -> None:
        self._state = (done, planned)
        now = self._clock()
        if done < planned and now - self._last < _EVERY:
            return
        self._last = now
        left = "" if done >= planned else f"  about {duration_text(eta())} left"
        self._draw(f"{_bar(done, planned)} {done:,}/{planned:,} requests{left}")

    def waiting(self, seconds: float) -> None:
        done, planned = self._state
        self._draw(
            f"{_bar(done, planned)} {done:,}/{planned:,} requests  waiting "
            f"{duration_text(seconds)} for the per-minute request budget"
        )

    def line(self, text: str) -> None:
        """``text`` on a line of its own, above the bar."""
        self.clear()
        self._stream.write(f"{text}\n")
        self._stream.flush()

    def clear(self) -> None:
        if self._shown:
            self._stream.write("\r\x1b[K")
            self._stream.flush()
            self._shown = False

    def close(self) -> None:
        self.clear()
        for handler in logging.getLogger().handlers:
            handler.removeFilter(self._filter)

    def _draw(self, text: str) -> None:
        self._stream.write(f"\r{text}\x1b[K")
        self._stream.flush()
        self._shown = True


def _bar(done: int, planned: int) -> str:
    filled = _WIDTH if planned <= 0 else min(_WIDTH, _WIDTH * done // planned)
    return "[" + "#" * filled + "." * (_WIDTH - filled) + "]"


class _ClearFirst(logging.Filter):
    """Erases the bar before a log line is written under it."""

    def __init__(self, bar: ProgressBar) -> None:
        super().__init__()
        self._bar = bar

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name == "automation.api" and record.levelno < logging.WARNING:
            return False
        self._bar.clear()
        return True

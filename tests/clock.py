"""The clock a test hands to the code it tests, so no test reads the wall clock.

Calling it reads ``now``, which the test sets or moves as it likes; ``sleep`` (the pause the
code under test takes) moves it on and remembers each pause in ``sleeps``. ``now`` is an
epoch or monotonic float, or an aware ``datetime``, whichever the code under test reads.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Generic, TypeVar

__all__ = ["Clock"]

When = TypeVar("When", float, datetime)


class Clock(Generic[When]):
    """A settable, advanceable clock whose ``sleep`` passes no real time."""

    def __init__(self, now: When) -> None:
        self.now = now
        self.sleeps: list[float] = []

    def __call__(self) -> When:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds >= 0
        self.sleeps.append(seconds)
        if isinstance(self.now, datetime):
            self.now = self.now + timedelta(seconds=seconds)
        else:
            self.now = self.now + seconds

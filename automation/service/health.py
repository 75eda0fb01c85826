"""The engine's health as ``/healthz`` answers it: a small value the service sets.

The loop reports each finished cycle; a standby engine (one that does not lead) says so.
``check`` is healthy while a cycle finished within three poll intervals; an engine that has
just started gets the same three intervals for its first cycle. A cycle whose writes the
database refused (a full disk, a file gone read-only) finished without doing its job: 503,
saying why, until a cycle records again. Past the three intervals the answer is
503 whatever the cause (spec section 13); an engine that waits out the API's rate limit or
the request budget (section 7: it backs off when the API says so) says so in the reason,
with until when, for as long as ``status`` says it waits.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime

from automation.core.durations import format_duration
from automation.core.payloads import iso
from automation.core.recording import STALE_AFTER_INTERVALS, Waiting, explains_silence

__all__ = ["STALE_AFTER_INTERVALS", "Health"]


class Health:
    def __init__(self, *, poll_interval: float, clock: Callable[[], datetime]) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._started = clock()
        self._poll_interval = poll_interval
        self._last_cycle: datetime | None = None
        self._standby = False
        self._unreachable: str | None = None  # why a standby cannot reach the database
        self._wait: Waiting | None = None
        self._unrecorded: str | None = None  # why the last cycle could not record

    def waiting(self, wait: Waiting) -> None:
        """The engine has begun a long wait for the API (recorded as ``status`` reads it)."""
        with self._lock:
            self._wait = wait

    def cycle_finished(self, at: datetime | None = None, *, unrecorded: str | None = None) -> None:
        """A cycle ended; ``unrecorded`` says why the database refused what it recorded."""
        with self._lock:
            self._last_cycle = at or self._clock()
            self._unrecorded = unrecorded

    def set_poll_interval(self, seconds: float) -> None:
        with self._lock:
            self._poll_interval = seconds

    def set_standby(self, standby: bool, *, problem: str | None = None) -> None:
        """Another engine leads: healthy, and says so; or the database cannot be reached
        (``problem``), so nothing can act through this engine: unhealthy, saying why. An
        engine that takes the lead gets three poll intervals for its first cycle, as one
        that has just started."""
        with self._lock:
            if self._standby and not standby:
                self._started, self._last_cycle = self._clock(), None
            self._standby = standby
            self._unreachable = problem if standby else None

    def check(self) -> tuple[int, str]:
        """(HTTP status, reason): 200 or 503, with a line of text saying why."""
        with self._lock:
            last, standby, interval = self._last_cycle, self._standby, self._poll_interval
            started, wait, unreachable = self._started, self._wait, self._unreachable
            unrecorded = self._unrecorded
        now = self._clock()
        if unreachable:
            return 503, f"standby: {unreachable}"
        if standby:
            return 200, "standby: another engine is acting on this database"
        limit = STALE_AFTER_INTERVALS * interval
        since = last if last is not None else started
        if (now - since).total_seconds() <= limit:
            if last is None:
                return 200, f"starting: the first cycle is running (started {iso(started)})"
            if unrecorded:
                return 503, f"unrecorded: the cycle at {iso(last)} could not record: {unrecorded}"
            return 200, f"ok: the last cycle finished at {iso(last)}"
        window = f"{format_duration(limit)} ({STALE_AFTER_INTERVALS} poll intervals)"
        if last is None:
            done = f"none since the engine started at {iso(started)}"
        else:
            done = f"the last one finished at {iso(last)}"
        if wait is not None and explains_silence(wait, since, now, interval):
            done = f"the engine is {wait.text()}; {done}"
        return 503, f"stale: no cycle finished within {window}; {done}"

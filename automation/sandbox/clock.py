"""Simulated UTC time that runs faster than real time, or only when told to, and
``Growth``: how old a post is for its metrics.

Post metrics grow over simulated time, so a test can step time by hand (``speed=0`` plus
``advance``). ``automation sandbox --speed X`` keeps the clock on real time, so the times
it reports are never in the engine's future, and runs the world (posts written, metrics
grown) X times faster instead (``Growth``). Rate limits and OAuth timestamps do not use
this clock: clients live in real time.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

__all__ = ["Growth", "SimClock"]


@dataclass(frozen=True)
class Growth:
    """The world lives ``speed`` (above 0) times faster than the clock from ``since`` on:
    ``grown`` is the world's time at a time of the clock, ``clock_time`` the reverse. Posts
    are written at the world's pace and grow with its time, each dated on the clock."""

    since: datetime
    speed: float

    def age_hours(self, created_at: datetime, at: datetime) -> float:
        """How old a post written at ``created_at`` is at ``at`` for its metrics."""
        return (self.grown(at) - self.grown(created_at)).total_seconds() / 3600.0

    def grown(self, at: datetime) -> datetime:
        return at if at <= self.since else self.since + (at - self.since) * self.speed

    def clock_time(self, grown: datetime) -> datetime:
        return grown if grown <= self.since else self.since + (grown - self.since) / self.speed


class SimClock:
    """``now()`` = ``start`` + real time elapsed × ``speed`` + everything ``advance``d."""

    def __init__(
        self,
        start: datetime | None = None,
        speed: float = 1.0,
        *,
        real: Callable[[], float] = time.monotonic,
    ) -> None:
        if speed < 0:
            raise ValueError("speed must be >= 0")
        base = start if start is not None else datetime.now(UTC).replace(microsecond=0)
        if base.tzinfo is None:
            raise ValueError("start must be timezone-aware")
        self._real = real
        self._lock = threading.Lock()
        self._base = base.astimezone(UTC)
        self._real_base = real()
        self._speed = float(speed)

    @property
    def speed(self) -> float:
        return self._speed

    def now(self) -> datetime:
        with self._lock:
            elapsed = (self._real() - self._real_base) * self._speed
            return self._base + timedelta(seconds=elapsed)

    def advance(self, seconds: float) -> datetime:
        """Jump forward; returns the new simulated time."""
        if seconds < 0:
            raise ValueError("time only moves forward")
        with self._lock:
            self._rebase()
            self._base += timedelta(seconds=seconds)
            return self._base

    def _rebase(self) -> None:
        real = self._real()
        self._base += timedelta(seconds=(real - self._real_base) * self._speed)
        self._real_base = real

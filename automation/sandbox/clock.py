"""Simulated UTC time that runs faster than real time, or only when told to.

Post metrics grow over simulated time, so a demo can show a day of growth in minutes
(``speed=60``) and a test can step time by hand (``speed=0`` plus ``advance``). Rate
limits and OAuth timestamps do not use this clock: clients live in real time.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

__all__ = ["SimClock"]


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

    def set_speed(self, speed: float) -> None:
        """Change speed from now on; time already simulated is kept."""
        if speed < 0:
            raise ValueError("speed must be >= 0")
        with self._lock:
            self._rebase()
            self._speed = float(speed)

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

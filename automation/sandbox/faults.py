"""Seeded fault injection: the failures a client must survive, at a chosen rate.

Each request draws once; with probability ``rate`` it gets one of ``kinds``: ``rate_limit``
(a 429 in the API's own style), ``server_error`` (500/502/503), ``slow`` (the normal answer
after ``slow_seconds``, so a short client timeout fires), ``malformed`` (a 200 whose body is
not JSON) or ``truncated`` (a 200 whose JSON is cut short).
"""

from __future__ import annotations

import random
import threading
from collections import Counter

__all__ = ["FAULT_KINDS", "FaultInjector"]

FAULT_KINDS = ("rate_limit", "server_error", "slow", "malformed", "truncated")


class FaultInjector:
    def __init__(
        self,
        rate: float = 0.0,
        *,
        seed: int = 0,
        kinds: tuple[str, ...] = FAULT_KINDS,
        slow_seconds: float = 5.0,
    ) -> None:
        if not 0.0 <= rate <= 1.0:
            raise ValueError("fault rate must be between 0 and 1")
        unknown = set(kinds) - set(FAULT_KINDS)
        if unknown or not kinds:
            raise ValueError(f"fault kinds must be among {', '.join(FAULT_KINDS)}")
        self.rate = rate
        self.kinds = kinds
        self.slow_seconds = slow_seconds
        self.injected: Counter[str] = Counter()
        self._rng = random.Random(seed)
        self._lock = threading.Lock()

    def draw(self) -> str | None:
        """The fault for this request, or None for a normal answer."""
        with self._lock:
            if self.rate <= 0 or self._rng.random() >= self.rate:
                return None
            kind = self._rng.choice(self.kinds)
            self.injected[kind] += 1
            return kind

    def server_status(self) -> int:
        with self._lock:
            return self._rng.choice((500, 502, 503))

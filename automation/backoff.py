"""Exponential backoff with jitter, shared by the API clients and the action outbox.

Pure: the random source is passed in, so tests get exact delays.
"""

from __future__ import annotations

import random

__all__ = ["backoff_delay"]


def backoff_delay(
    attempt: int,
    *,
    first: float,
    cap: float,
    rng: random.Random | None = None,
    retry_after: float | None = None,
) -> float:
    """Seconds to wait before retry number ``attempt`` (1 = the first retry).

    The base doubles from ``first`` up to ``cap``; "equal jitter" keeps at least half of it,
    so retries spread out without collapsing to zero. A server's ``Retry-After`` is a
    floor: we never come back sooner than asked.
    """
    base = min(cap, first * (2 ** max(0, attempt - 1)))
    r = (rng or random).random()
    delay = base / 2 + r * base / 2
    if retry_after is not None:
        delay = max(delay, retry_after)
    return delay

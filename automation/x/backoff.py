"""Exponential backoff with jitter, shared by the API clients and the action outbox.

Pure: the random source is passed in, so tests get exact delays.
"""

from __future__ import annotations

import email.utils
import math
import random
from datetime import UTC

__all__ = ["backoff_delay", "parse_retry_after"]


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
    base: float = min(cap, first * (2 ** max(0, attempt - 1)))
    r = rng.random() if rng is not None else random.random()
    delay = base / 2 + r * base / 2
    if retry_after is not None:
        delay = max(delay, retry_after)
    return delay


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Seconds from ``now`` (Unix time) that a ``Retry-After`` header asks us to wait.

    RFC 9110 allows delay-seconds or an HTTP-date; both occur in the wild. An HTTP-date
    is always GMT, so one written without a zone (``-0000``) is read as UTC. A value we
    cannot read is ignored (None) rather than trusted, and a date in the past means 0.
    """
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = when.timestamp() - now
    if not math.isfinite(seconds):
        return None
    return max(0.0, seconds)

"""A rule's cap (``limit: {max: 5, per: 1d}``): how many more firings it may act on now.

The window slides: a firing counts while it is younger than ``per``. The store counts the
rule's recorded firings since ``window_start``; ``room`` says how many of this cycle's
firings may still act, and the rest are recorded as ``capped``. Pure: the time is passed in.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from automation.core.rules import Limit

__all__ = ["room", "window_start"]


def window_start(limit: Limit, now: datetime) -> datetime:
    """Firings recorded after this moment count against the cap at ``now``."""
    return now - timedelta(seconds=limit.per)


def room(limit: Limit, counted: int) -> int:
    """How many firings may still act, when ``counted`` already did within the window."""
    return max(0, limit.max - counted)

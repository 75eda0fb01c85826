"""How long the requests still to send will take, paced by the per-minute budget, and
how many a backtest sends without asking first (``ASK_ABOVE``).

The budget is a sliding minute: what it allows right now goes at once, the rest at most
``per_minute`` a minute after that. Requests also take time of their own, so the answer
is never below ``remaining`` times the time one has taken so far. Pure.
"""

from __future__ import annotations

import math

__all__ = ["ASK_ABOVE", "request_eta"]

# /historical requests a backtest sends without asking first (the command line and the
# dashboard ask above it); here, not with the backtest, so that the command line's parser
# states it without importing the backtest and every client and store it reaches
ASK_ABOVE = 20


def request_eta(
    remaining: int, *, available_now: int, per_minute: int, seconds_each: float = 0.0
) -> float:
    """Seconds until ``remaining`` more requests are done."""
    if remaining <= 0:
        return 0.0
    beyond = remaining - max(0, available_now)
    paced = 60.0 * math.ceil(beyond / max(1, per_minute)) if beyond > 0 else 0.0
    return max(paced, remaining * max(0.0, seconds_each))

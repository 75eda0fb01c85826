"""Request budgets in fixed time windows, as X counts them.

The Engagement API allows a contract-set number of requests per app per minute and reports
it in ``x-per-minute-limit`` / ``x-per-minute-remaining``. X API v2 counts per user (or per
app for app-only calls) in 15-minute windows, with longer caps on top, and reports the
15-minute window in ``x-rate-limit-limit`` / ``-remaining`` / ``-reset`` (epoch seconds).
Windows run on real time, since clients pace themselves by their own clocks, or on the
simulated clock for a client that paces itself on that (``Sandbox(simulated_limits=True)``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

__all__ = ["V2_LIMITS", "Budget", "Usage", "Window", "v2_windows"]


@dataclass(frozen=True)
class Window:
    """``limit`` requests per ``seconds``; ``group`` names a budget several endpoints share.
    ``per_app`` counts the requests of every user of the app together."""

    group: str
    limit: int
    seconds: int
    per_app: bool = False


@dataclass(frozen=True)
class Usage:
    allowed: bool
    limit: int
    remaining: int
    reset: int  # epoch seconds when the window that decided this resets


class Budget:
    """Fixed windows aligned to the epoch, one counter per (group, principal, window)."""

    def __init__(self, now: Callable[[], float] = time.time) -> None:
        self._now = now
        self._counts: dict[tuple[str, str, int], int] = {}
        self._lock = threading.Lock()

    def take(self, principal: str, windows: Sequence[Window], app: str = "") -> Usage:
        """Count one request against every window, or none when any is spent; a
        ``per_app`` window counts it for ``app`` (the principal when not given).

        The answer describes the first window, unless another one is the one refusing.
        """
        now = self._now()
        with self._lock:
            keys = []
            for w in windows:
                start = int(now // w.seconds) * w.seconds
                who = (app or principal) if w.per_app else principal
                keys.append(((w.group, who, start), w, start + w.seconds))
            for key, w, reset in keys:
                if self._counts.get(key, 0) >= w.limit:
                    return Usage(False, w.limit, 0, reset)
            for key, _, _ in keys:
                self._counts[key] = self._counts.get(key, 0) + 1
            self._prune(now)
            key, w, reset = keys[0]
            return Usage(True, w.limit, w.limit - self._counts[key], reset)

    def left(self, principal: str, window: Window) -> Usage:
        """What ``window`` has left for ``principal`` now, nothing counted."""
        now = self._now()
        start = int(now // window.seconds) * window.seconds
        with self._lock:
            used = self._counts.get((window.group, principal, start), 0)
        left = max(0, window.limit - used)
        return Usage(left > 0, window.limit, left, start + window.seconds)

    def _prune(self, now: float) -> None:
        if len(self._counts) > 5_000:
            self._counts = {k: v for k, v in self._counts.items() if k[2] + 86_400 > now}


# Per endpoint: the windows for a user-context call; an app-only timeline call counts
# against ``timeline_app``. POST /2/tweets: 100 per 15 minutes per user and 10,000 per
# 24 hours per app (the rate-limit table, engagement-api.md §9).
V2_LIMITS: dict[str, tuple[Window, ...]] = {
    "timeline": (Window("timeline", 900, 900),),
    "timeline_app": (Window("timeline_app", 10_000, 900),),
    "repost": (Window("repost", 50, 900), Window("manage_3h", 300, 10_800)),
    "unrepost": (Window("unrepost", 50, 900),),
    "like": (Window("like", 50, 900), Window("like_day", 1_000, 86_400)),
    "unlike": (Window("unlike", 50, 900), Window("unlike_day", 1_000, 86_400)),
    "post": (
        Window("post", 100, 900),
        Window("manage_3h", 300, 10_800),
        Window("post_app_day", 10_000, 86_400, per_app=True),
    ),
}


def v2_windows(endpoint: str, *, tweets_per_15min: int = 100) -> tuple[Window, ...]:
    windows = V2_LIMITS[endpoint]
    if endpoint == "post":
        return (Window("post", tweets_per_15min, 900), *windows[1:])
    return windows

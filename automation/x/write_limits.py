"""Per-user write limits of the X API v2, kept locally so we never spend a request on a 429.

X counts writes per user in sliding windows (engagement-api.md §7, §9): reposts 50 per
15 minutes; likes 50 per 15 minutes and 1,000 per 24 hours; post creation (replies and
quotes) 100 per 15 minutes, the stricter of the two documented figures; and 300 per
3 hours shared by reposts and post creation. Post creation is also capped per app, all
accounts together: 10,000 per 24 hours. Where a window is full, ``wait_time`` says
how long until the oldest counted write leaves it, and the outbox retries then.

The server knows better than our count (writes made elsewhere, a restart that lost
state), so ``observe`` learns from the ``x-rate-limit-*`` headers of each answer: a
remaining count of zero blocks the endpoint until its reset time.

Every method takes ``now`` (Unix seconds), and the whole state can be exported as plain
tuples and restored, so the engine may persist it across restarts. One ``WriteLimits`` is
shared by the dispatcher, which asks before starting a write, and the X client, which
counts each write from a worker thread: a lock keeps their views whole.
"""

from __future__ import annotations

import bisect
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from automation.x.rate_headers import header_number

__all__ = [
    "DEFAULT_WINDOWS",
    "ENDPOINTS",
    "KINDS",
    "Window",
    "WriteLimits",
    "WriteLimitsState",
]

KINDS: tuple[str, ...] = ("repost", "like", "reply", "quote")

# The endpoint each kind of write uses: rate-limit headers describe an endpoint, and a
# reply and a quote share POST /2/tweets.
ENDPOINTS: Mapping[str, str] = {
    "repost": "retweets",
    "like": "likes",
    "reply": "tweets",
    "quote": "tweets",
}


@dataclass(frozen=True)
class Window:
    """At most ``limit`` writes of any of ``kinds`` per user (per app, all accounts
    together, when ``per_app``) within ``seconds``."""

    name: str
    kinds: frozenset[str]
    limit: int
    seconds: float
    per_app: bool = False


DEFAULT_WINDOWS: tuple[Window, ...] = (
    Window("repost 15m", frozenset({"repost"}), 50, 15 * 60),
    Window("like 15m", frozenset({"like"}), 50, 15 * 60),
    Window("like 24h", frozenset({"like"}), 1000, 24 * 3600),
    Window("post 15m", frozenset({"reply", "quote"}), 100, 15 * 60),
    Window("repost+post 3h", frozenset({"repost", "reply", "quote"}), 300, 3 * 3600),
    Window("app post 24h", frozenset({"reply", "quote"}), 10_000, 24 * 3600, per_app=True),
)

# (account, kind, at) for each recorded write; (account, endpoint, until) for each block.
WriteLimitsState = tuple[tuple[tuple[str, str, float], ...], tuple[tuple[str, str, float], ...]]


class WriteLimits:
    """Sliding-window counters per (account, kind) plus server-imposed blocks."""

    def __init__(self, windows: Iterable[Window] = DEFAULT_WINDOWS) -> None:
        self._windows = tuple(windows)
        # Keep each kind's writes as long as its longest window needs them.
        self._keep: dict[str, float] = {
            kind: max((w.seconds for w in self._windows if kind in w.kinds), default=0.0)
            for kind in KINDS
        }
        self._events: dict[tuple[str, str], list[float]] = {}
        self._blocks: dict[tuple[str, str], float] = {}
        self._lock = threading.RLock()

    # --- queries ------------------------------------------------------------------------

    def wait_time(self, account: str, kind: str, now: float) -> float:
        """Seconds until one more ``kind`` write by ``account`` fits every window (0 = now)."""
        with self._lock:
            _check_kind(kind)
            wait = max(0.0, self._blocks.get((account, ENDPOINTS[kind]), 0.0) - now)
            for window in self._windows:
                if kind in window.kinds:
                    wait = max(wait, self._window_wait(account, window, now))
            return wait

    def used(self, account: str, window: Window, now: float) -> int:
        """Writes by ``account`` counted in ``window`` at ``now``."""
        with self._lock:
            start = now - window.seconds
            return sum(
                len(times) - bisect.bisect_right(times, start)
                for times in self._counted(account, window)
            )

    def blocking_window(self, account: str, kind: str, now: float) -> str | None:
        """The name of a window (or ``"server"``) that makes ``kind`` wait, for messages."""
        with self._lock:
            _check_kind(kind)
            if self._blocks.get((account, ENDPOINTS[kind]), 0.0) > now:
                return "server"
            for window in self._windows:
                if kind in window.kinds and self._window_wait(account, window, now) > 0:
                    return f"{window.limit} per {window.name.split()[-1]}"
            return None

    # --- updates ------------------------------------------------------------------------

    def record(self, account: str, kind: str, now: float) -> None:
        """Count one write about to be sent (X counts it whether or not it succeeds)."""
        with self._lock:
            _check_kind(kind)
            times = self._events.setdefault((account, kind), [])
            bisect.insort(times, now)
            self._prune(account, kind, now)

    def observe(self, account: str, kind: str, headers: Mapping[str, str], now: float) -> None:
        """Learn from an answer's lower-cased ``x-rate-limit-*`` headers.

        Remaining 0 blocks the endpoint until ``x-rate-limit-reset`` (Unix seconds).
        Headers that are missing or unreadable teach nothing.
        """
        _check_kind(kind)
        remaining = header_number(headers.get("x-rate-limit-remaining"))
        reset = header_number(headers.get("x-rate-limit-reset"))
        if remaining is not None and remaining <= 0 and reset is not None and reset > now:
            self.block(account, kind, reset)

    def block(self, account: str, kind: str, until: float) -> None:
        """Refuse ``kind``'s endpoint for ``account`` until ``until`` (after a 429)."""
        with self._lock:
            _check_kind(kind)
            key = (account, ENDPOINTS[kind])
            self._blocks[key] = max(until, self._blocks.get(key, 0.0))

    # --- persistence --------------------------------------------------------------------

    def snapshot(self, now: float) -> WriteLimitsState:
        """The state that still matters at ``now``, as plain sorted tuples."""
        with self._lock:
            events = tuple(
                (account, kind, at)
                for (account, kind), times in sorted(self._events.items())
                for at in times
                if at > now - self._keep[kind]
            )
            blocks = tuple(
                (account, endpoint, until)
                for (account, endpoint), until in sorted(self._blocks.items())
                if until > now
            )
            return events, blocks

    @classmethod
    def restore(
        cls, state: WriteLimitsState, windows: Iterable[Window] = DEFAULT_WINDOWS
    ) -> WriteLimits:
        """Rebuild from ``snapshot``; rows naming an unknown kind or endpoint are dropped."""
        limits = cls(windows)
        events, blocks = state
        for account, kind, at in events:
            if kind in ENDPOINTS:
                limits._events.setdefault((str(account), kind), []).append(float(at))
        for times in limits._events.values():
            times.sort()
        endpoints = set(ENDPOINTS.values())
        for account, endpoint, until in blocks:
            if endpoint in endpoints:
                limits._blocks[(str(account), endpoint)] = float(until)
        return limits

    # --- internals ----------------------------------------------------------------------

    def _window_wait(self, account: str, window: Window, now: float) -> float:
        start = now - window.seconds
        counted = sorted(
            at
            for times in self._counted(account, window)
            for at in times[bisect.bisect_right(times, start) :]
        )
        excess = len(counted) - window.limit
        if excess < 0:
            return 0.0
        # The write that must leave the window before one more fits.
        return counted[excess] + window.seconds - now

    def _counted(self, account: str, window: Window) -> list[list[float]]:
        """The sorted write times ``window`` counts for ``account``: its own, or with
        ``per_app`` every account's."""
        return [
            times
            for (who, kind), times in self._events.items()
            if kind in window.kinds and (window.per_app or who == account)
        ]

    def _prune(self, account: str, kind: str, now: float) -> None:
        times = self._events[(account, kind)]
        cut = bisect.bisect_right(times, now - self._keep[kind])
        if cut:
            del times[:cut]


def _check_kind(kind: str) -> None:
    if kind not in ENDPOINTS:
        raise ValueError(f"unknown write kind {kind!r}; expected one of {', '.join(KINDS)}")

"""Which of several engines on one PostgreSQL database acts, decided from plain numbers.

The database decides who leads (an advisory lock held by one session); these functions
decide the rest from times the caller measures on its own monotonic clock:

- ``lease_times``: how often a standby asks for the lock, how often the leader proves its
  session alive, and how long the server lets a silent leader's session live (the lease);
- ``still_leading``: a leader acts only while its last proof of life is recent, so one cut
  off from the database stops acting before the server could hand the lock on;
- ``may_reclaim``: when a new leader may hand out again the actions its predecessor had
  claimed and not finished (the predecessor is gone, or they would have ended by now).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from automation.core.rules import Rule, WebhookAction

__all__ = [
    "LeaderView",
    "LeaseTimes",
    "lease_times",
    "longest_action",
    "may_reclaim",
    "reclaim_grace",
    "still_leading",
]

MIN_LEASE = 5.0  # seconds: shorter, a busy machine's late heartbeat would look like death
MAX_LEASE = 30.0
MAX_RETRY = 2.0  # a standby asks for the lock at least this often


@dataclass(frozen=True)
class LeaseTimes:
    """Seconds. ``lease``: the server ends a leader's session silent this long, releasing
    its lock; ``heartbeat``: the leader speaks this often; ``trust``: the leader acts only
    while its last heartbeat was answered this recently; ``retry``: a standby asks for the
    lock this often."""

    lease: float
    heartbeat: float
    trust: float
    retry: float


def lease_times(poll_interval: float) -> LeaseTimes:
    """The timings for engines polling every ``poll_interval`` seconds. A standby asks
    at least four times per interval, so when the leader dies (its lock goes with its
    session) another leads well within two intervals; when the leader is cut off instead,
    the lease bounds the wait."""
    lease = min(max(poll_interval, MIN_LEASE), MAX_LEASE)
    return LeaseTimes(
        lease=lease,
        heartbeat=lease / 5,
        trust=lease / 2,
        retry=min(max(poll_interval / 4, 0.1), MAX_RETRY),
    )


def still_leading(*, holds_lock: bool, last_answer: float | None, now: float, trust: float) -> bool:
    """Whether a leader may act at monotonic time ``now``: it holds the lock and the
    database answered its heartbeat less than ``trust`` seconds ago."""
    return holds_lock and last_answer is not None and now - last_answer < trust


def reclaim_grace(times: LeaseTimes, longest_action: float) -> float:
    """How long after taking over a leader waits before re-sending what its predecessor
    claimed, when that predecessor may still be alive: the predecessor stopped starting
    actions by ``trust`` after its last heartbeat, and what it had started ends within
    ``longest_action``."""
    return times.trust + longest_action


def longest_action(rules: Iterable[Rule], *, write_timeout: float, redirects: int) -> float:
    """The longest one action can run: an X write's timeout, or the longest webhook
    timeout of ``rules`` for each of the requests a redirected delivery makes."""
    webhooks = [
        action.timeout
        for rule in rules
        for action in rule.actions
        if isinstance(action, WebhookAction)
    ]
    return max(write_timeout, max(webhooks, default=WebhookAction.timeout) * (redirects + 1))


def may_reclaim(*, led_since: float, now: float, grace: float) -> bool:
    return now - led_since >= grace


@dataclass(frozen=True)
class LeaderView:
    """Who leads a database and who stands by, as ``status`` shows it."""

    leader: str  # '' when no engine has ever led
    epoch: int
    since: float | None  # epoch seconds
    connected: tuple[str, ...]  # engines leading now (one, or none during a takeover)
    standby: tuple[str, ...]

    @property
    def state(self) -> str:
        if self.connected:
            return "leading"
        if self.standby:
            return "takeover"  # the leader is gone; a standby is about to take over
        return "no engine"

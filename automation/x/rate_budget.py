"""A per-API request budget: never more requests a minute than the config allows.

The contract's per-minute limit is the hard ceiling. The API can lower it for a while
(``x-per-minute-*`` on the Engagement API, ``x-rate-limit-*`` on v2) and a 429 stops us
for its ``Retry-After``. Where the API also sends ``x-per-second-limit`` /
``-remaining`` / ``-reset`` (read by a third-party client, reference §5; not confirmed
by X's docs), no second holds more of this process's sends than they allow; absent,
malformed or below one a second, they change nothing. Sends are recorded in a
``BudgetLedger`` so that a restarted or back-to-back process still counts the requests
of the last minute; the state store implements it, ``MemoryLedger`` serves tests and
one-off runs.

Pure except for the injected clock (epoch seconds, so ledgers of different processes and
the API's epoch ``reset`` headers agree).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Mapping
from typing import Protocol

from automation.core.errors import RateLimited
from automation.x.backoff import parse_retry_after
from automation.x.rate_headers import header_number

__all__ = ["WINDOW", "BudgetLedger", "MemoryLedger", "RateBudget"]

WINDOW = 60.0
SECOND = 1.0  # the per-second headers' window, and the longest pause they cause
DEFAULT_PENALTY = 60.0
# A server's reset or Retry-After beyond this is treated as this: v2 windows are 15 min,
# and a garbled header must not stop the engine for a day.
MAX_PAUSE = 15 * 60.0
# After a claim another process won: look again this soon even if its send already left
# the window by the time we looked.
_RECHECK = 0.05
# A block of sends claimed in one ledger step is recorded HOLD seconds ahead and may be
# sent only until then, so no send is ever recorded earlier than it went; a block is as
# large as the sends' pace fits in half of HOLD (at most MAX_BLOCK, and no more than
# ``expect`` announced), else one send is claimed at a time, recorded when it goes.
HOLD = 0.5
MAX_BLOCK = 64


class BudgetLedger(Protocol):
    """Where sends are remembered across processes."""

    def load(self, api: str, since: float) -> list[float]:
        """Send times for ``api`` at or after ``since``."""
        ...

    def record(self, api: str, at: float) -> None:
        """Remember one send at ``at``."""
        ...

    def claim(self, api: str, at: float, since: float, allowance: int, count: int = 1) -> int:
        """Remember up to ``count`` sends at ``at``, as many as keep the sends remembered
        after ``since`` (one at exactly ``since`` has left the window) within
        ``allowance``, in one step no other process can come between. Returns how many
        were kept (0: none)."""
        ...


class MemoryLedger:
    """A ledger that lives as long as the process; forgets what no window can need."""

    def __init__(self) -> None:
        self._times: dict[str, list[float]] = {}

    def load(self, api: str, since: float) -> list[float]:
        kept = [t for t in self._times.get(api, ()) if t >= since]
        self._times[api] = kept
        return list(kept)

    def record(self, api: str, at: float) -> None:
        self._times.setdefault(api, []).append(at)

    def claim(self, api: str, at: float, since: float, allowance: int, count: int = 1) -> int:
        used = sum(1 for t in self.load(api, since) if t > since)
        kept = max(0, min(count, allowance - used))
        for _ in range(kept):
            self.record(api, at)
        return kept


def _number(headers: Mapping[str, str], name: str) -> float | None:
    value = header_number(headers.get(name))
    return value if value is not None and value >= 0 else None


class RateBudget:
    """Sliding 60-second window over recorded sends, lowered by what the API reports."""

    def __init__(
        self,
        limit_per_minute: int,
        *,
        clock: Callable[[], float],
        ledger: BudgetLedger | None = None,
        api: str = "engagement",
    ) -> None:
        if limit_per_minute < 1:
            raise ValueError("limit_per_minute must be at least 1")
        self.limit = limit_per_minute
        self.clock = clock
        self.api = api
        self._ledger: BudgetLedger = ledger if ledger is not None else MemoryLedger()
        self._server_limit: int | None = None  # x-per-minute-limit, never above ours
        self._remaining: int | None = None  # what the API said was left ...
        self._remaining_until = 0.0  # ... until this time
        self._sent_since_report = 0
        self._blocked_until = 0.0  # after a 429
        self._expected = 0  # sends announced by ``expect`` and not yet taken
        self._held = 0  # sends of the last claimed block not yet taken ...
        self._held_until = 0.0  # ... which may go until this time
        self._since_claim = 0  # sends taken since the last claim, and when that was
        self._claimed_at = 0.0
        self._block = 1  # the next claim's size (while ``expect`` allows)
        self._per_second: int | None = None  # x-per-second-limit
        # our last sends, as many as that allows (MAX_BLOCK until it is known, so the
        # sends before the first answer that names it count too)
        self._recent: deque[float] = deque(maxlen=MAX_BLOCK)
        self._second_remaining: int | None = None  # x-per-second-remaining ...
        self._second_until = 0.0  # ... until this time
        self._sent_since_second = 0

    @property
    def allowance(self) -> int:
        """Requests allowed per sliding minute right now."""
        return min(self.limit, self._server_limit or self.limit)

    def wait_time(self) -> float:
        """Seconds until one more request may go; 0 means now."""
        now = self.clock()
        sent = sorted(self._ledger.load(self.api, now - WINDOW))
        allowance = self.allowance
        window = sent[len(sent) - allowance] + WINDOW - now if len(sent) >= allowance else 0.0
        return max(window, self._other_waits(now))

    def _other_waits(self, now: float) -> float:
        """Seconds to wait for anything but the sliding window: a 429's pause (kept by
        this or an earlier process) and what the API said was left."""
        waits = [until - now for until in self._ledger.load(self._pause_key, now)]
        return max([self._local_wait(now), *waits])

    def _local_wait(self, now: float) -> float:
        """``_other_waits`` as this process knows them: its own 429's pause and what the
        API said was left (a block's sends look at these, not at the ledger)."""
        waits = [self._blocked_until - now]
        if (
            self._remaining is not None
            and now < self._remaining_until
            and self._sent_since_report >= self._remaining
        ):
            waits.append(self._remaining_until - now)
        if self._per_second is not None or self._second_remaining is not None:
            waits.append(self._second_wait(now))
        return max(0.0, *waits)

    def _second_wait(self, now: float) -> float:
        """Seconds until the per-second headers allow one more send (0: now)."""
        wait = 0.0
        recent = self._recent
        if self._per_second is not None and len(recent) >= self._per_second:
            wait = recent[0] + SECOND - now
        if (
            self._second_remaining is not None
            and now < self._second_until
            and self._sent_since_second >= self._second_remaining
        ):
            wait = max(wait, self._second_until - now)
        return wait

    def remaining(self) -> int:
        """Requests that could go right now without waiting (for ``status``)."""
        now = self.clock()
        paused = any(until > now for until in self._ledger.load(self._pause_key, now))
        if now < self._blocked_until or paused:
            return 0
        left = self.allowance - len(self._ledger.load(self.api, now - WINDOW))
        if self._remaining is not None and now < self._remaining_until:
            left = min(left, self._remaining - self._sent_since_report)
        return max(0, left)

    def expect(self, sends: int) -> None:
        """``sends`` requests are about to go one after another (an export's list): while
        they go faster than a block's ``HOLD`` needs, ``take`` claims them in blocks, one
        ledger step each instead of one a send."""
        self._expected = max(0, sends)

    def take(self) -> float:
        """Record one send now and return 0 if the budget allows it, else the seconds to
        wait before asking again (nothing recorded). The window is checked and the send
        recorded in one step of the ledger, so processes sharing it (an engine and a
        ``metrics`` export) never exceed the limit together; a send that may go costs
        that one step and the look for a 429's pause, not a read of the whole window,
        or, inside a block claimed earlier (``expect``), no ledger step at all."""
        now = self.clock()
        if self._held and now <= self._held_until:
            wait = self._local_wait(now)
            if wait <= 0:
                self._taken(now)
                return 0.0
            if self._per_second is not None and wait <= self._second_wait(now):
                return wait  # only the per-second pace: the block stays for its next send
        self._held = 0  # spent, expired or paused: an unused rest stays recorded
        wait = self._other_waits(now)
        if wait <= 0:
            count = self._block_size(now)
            at = now + HOLD if count > 1 else now
            args = (self.api, at, now - WINDOW, self.allowance)
            kept = self._ledger.claim(*args, count) if count > 1 else self._ledger.claim(*args)
            if kept:
                self._held, self._held_until = int(kept), at
                self._since_claim, self._claimed_at = 0, now
                self._taken(now)
                return 0.0
        return max(wait, self.wait_time(), _RECHECK)

    def _taken(self, now: float) -> None:
        self._held -= 1
        self._expected = max(0, self._expected - 1)
        self._since_claim += 1
        self._sent_since_report += 1
        self._sent_since_second += 1
        self._recent.append(now)  # a deque as long as the limit: the oldest drops

    def _block_size(self, now: float) -> int:
        """How many sends to claim now: at most twice the last block, and as many as the
        pace of the sends since the last claim fits in half a ``HOLD`` (the other half
        is room for a slower answer, so a block is rarely left unused); one, recorded as
        it goes, when sends are slower than that or no more are expected."""
        if self._expected <= 1 or not self._since_claim:
            self._block = 1
        else:
            pace = (now - self._claimed_at) / self._since_claim
            fits = int(HOLD / 2 / pace) if pace > 0 else MAX_BLOCK
            self._block = max(1, min(MAX_BLOCK, self._block * 2, fits))
        return min(self._block, self._expected)

    def acquire(self) -> None:
        """Record one send now; refuses (RateLimited) if the budget says wait (``take``)."""
        wait = self.take()
        if wait <= 0:
            return
        raise RateLimited(
            f"{self.api} request budget spent; next request in {wait:.1f}s",
            retry_after=wait,
            status=None,
        )

    def observe(self, headers: Mapping[str, str]) -> None:
        """Take in the rate headers of a response (names lower-cased); only ever lowers."""
        now = self.clock()
        limit = _number(headers, "x-per-minute-limit")
        if limit is not None:
            lowered = max(1, min(self.limit, int(limit)))
            if lowered < self.allowance:
                self._held = 0  # claimed within the old allowance
            self._server_limit = lowered
        self._observe_second(headers, now)
        remaining = _number(headers, "x-per-minute-remaining")
        reset = _number(headers, "x-per-minute-reset")
        cap = WINDOW
        if remaining is None:  # v2 headers count per endpoint window, not per minute
            remaining = _number(headers, "x-rate-limit-remaining")
            reset = _number(headers, "x-rate-limit-reset")
            cap = MAX_PAUSE
        if remaining is None:
            return
        self._remaining = int(remaining)
        self._remaining_until = now + min(cap, self._reset_in(reset, now))
        self._sent_since_report = 0

    def _observe_second(self, headers: Mapping[str, str], now: float) -> None:
        """Take in ``x-per-second-*`` when present; a limit below one is ignored."""
        limit = _number(headers, "x-per-second-limit")
        if limit is not None and limit >= 1 and int(limit) != self._per_second:
            self._per_second = int(limit)
            self._recent = deque(self._recent, maxlen=self._per_second)
        remaining = _number(headers, "x-per-second-remaining")
        if remaining is not None:
            reset = _number(headers, "x-per-second-reset")
            self._second_remaining = int(remaining)
            self._second_until = now + min(SECOND, self._reset_in(reset, now))
            self._sent_since_second = 0

    @staticmethod
    def _reset_in(reset: float | None, now: float) -> float:
        """Seconds until a reset header's moment: epoch seconds, epoch ms, or a delta."""
        if reset is None:
            return WINDOW
        if reset > 1e12:
            reset /= 1000.0
        if reset > 1e9:
            return max(0.0, reset - now)
        return reset

    def penalise(self, retry_after: str | None = None) -> float:
        """After a 429: no request before Retry-After (default 60 s). Returns the pause."""
        now = self.clock()
        pause = parse_retry_after(retry_after, now)
        if pause is None:
            pause = DEFAULT_PENALTY
        pause = min(max(pause, 1.0), MAX_PAUSE)
        self._blocked_until = max(self._blocked_until, now + pause)
        self._held = 0
        # kept in the ledger too, so a restarted engine still honours the API's "slow down"
        self._ledger.record(self._pause_key, now + pause)
        return pause

    @property
    def _pause_key(self) -> str:
        return f"{self.api}:paused-until"

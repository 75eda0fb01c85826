"""The values the store takes and gives back: frozen records, never rows or dicts.

Both stores (memory and SQLite) speak only these, so the engine and the command line never
see a database row. Times are timezone-aware UTC datetimes; the helpers here are the one
place where they are checked and turned into the epoch seconds SQLite keeps.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

from automation.core.errors import StoreError
from automation.core.facts import EMPTY, RuleState, Snapshot

__all__ = [
    "ACTION_STATUSES",
    "BUDGET_KEEP_SECONDS",
    "ActionRecord",
    "ActionStatus",
    "AttemptOutcome",
    "AttemptRecord",
    "ChangeRecord",
    "CommitResult",
    "CycleWrite",
    "FiringKind",
    "FiringRecord",
    "HistoryEntry",
    "HourlyHistory",
    "LedgerPruned",
    "OutboxItem",
    "PostSource",
    "RuleVersion",
    "WatchedPostRecord",
    "checked_retry_at",
    "compose_snapshots",
    "from_epoch",
    "to_epoch",
    "utc",
]

PostSource = Literal["timeline", "explicit"]
FiringKind = Literal["fired", "seeded", "capped"]
ActionStatus = Literal["pending", "sent", "dead"]
AttemptOutcome = Literal["sent", "retry", "dead"]
ACTION_STATUSES: tuple[ActionStatus, ...] = ("pending", "sent", "dead")

# The longest request-budget window is a day (X API v2 action limits); keep a little more.
BUDGET_KEEP_SECONDS = 26 * 3600.0


def utc(moment: datetime) -> datetime:
    """``moment`` in UTC; a naive datetime is refused because its zone would be a guess."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"naive datetime {moment.isoformat()} given to the store; pass UTC")
    return moment.astimezone(UTC)


def to_epoch(moment: datetime) -> float:
    """Seconds since the epoch: compact, ordered, and exact to the microsecond on the way back."""
    return utc(moment).timestamp()


def from_epoch(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, tz=UTC)


@dataclass(frozen=True, slots=True)
class WatchedPostRecord:
    """A post the engine polls. ``account`` is the owned account that wrote it, else None;
    ``unavailable_at`` is set once the API said the post is gone (deleted, protected)."""

    post_id: str
    account: str | None
    created_at: datetime
    source: PostSource
    first_seen: datetime
    unavailable_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class RuleVersion:
    """The fingerprint a rule has now, and since when: firings before ``since`` belong to an
    older version of the rule, which is how a changed rule is seeded instead of fired."""

    fingerprint: str
    since: datetime


@dataclass(frozen=True, slots=True)
class ActionRecord:
    """One action of a firing, as the engine rendered it. ``payload`` is JSON text that names
    secrets but never holds their values, so it is safe on disk. ``due_at``: not to be
    performed before (quiet hours, a digest's window); None is at once. ``digest``: the
    key of the digest request the action is sent in, with the others of its window."""

    index: int
    kind: str
    payload: str
    due_at: datetime | None = None
    digest: str | None = None


@dataclass(frozen=True, slots=True)
class FiringRecord:
    """A firing (or a seeding) of a rule for a post. ``id`` is made by the engine and becomes
    the prefix of its actions' ids and idempotency keys. ``metrics``: the totals of the
    metrics the rule names (what its payloads saw); ``windows``: each windowed leaf's value
    by its label (``retweets over 1h``), what decided it; empty for a firing recorded
    before windows were."""

    id: str
    rule_id: str
    post_id: str
    key: str
    kind: FiringKind
    at: datetime
    milestone: int | None = None
    metrics: Mapping[str, float] = field(default_factory=lambda: EMPTY)
    actions: tuple[ActionRecord, ...] = ()
    windows: Mapping[str, float] = field(default_factory=lambda: EMPTY)


@dataclass(frozen=True, slots=True)
class CycleWrite:
    """Everything one evaluation cycle persists, written in one transaction so that a state
    never advances without its firing, nor a firing exist without its queued actions."""

    at: datetime
    states: tuple[tuple[str, str, RuleState], ...] = ()  # (rule_id, post_id, state)
    firings: tuple[FiringRecord, ...] = ()
    rule_versions: tuple[tuple[str, str], ...] = ()  # (rule_id, fingerprint)
    # the store's count of rule states changed by hand (``STATES_CHANGED``, from a rearm)
    # that the states were decided under, for the store to check in its transaction
    # (empty: not checked)
    states_mark: tuple[str | None, ...] = ()

    def stale(self, mark: str | None) -> bool:
        """Whether a change by hand came after the states were read: the store's count is
        ``mark`` now."""
        return bool(self.states_mark) and self.states_mark[0] != mark

    def states_kept(
        self, stored: Collection[tuple[str, str]]
    ) -> tuple[tuple[str, str, RuleState], ...]:
        """The states to write when ``stale``. A rearm that committed while the cycle ran
        forgot some (rule, post)'s states, and the cycle decided those posts from the
        states it forgot: a state whose row is gone (``stored`` holds the pairs that have
        one) is written only with a firing of this write for its post, so the rearm's
        forgetting is not undone and the rule may fire again, as the rearm said. (A post
        first decided in this cycle, without a row either, is decided again next cycle.)"""
        firing = {(f.rule_id, f.post_id) for f in self.firings}
        return tuple(s for s in self.states if (s[0], s[1]) in stored or (s[0], s[1]) in firing)


@dataclass(frozen=True, slots=True)
class LedgerPruned:
    """How many firings and outbox actions a prune of the ledger forgot."""

    firings: int = 0
    actions: int = 0


@dataclass(frozen=True, slots=True)
class CommitResult:
    """Which firings were recorded and which were already in the ledger (their actions were
    not queued again), and the ids of the actions queued."""

    new: tuple[str, ...] = ()
    duplicate: tuple[str, ...] = ()
    queued: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class OutboxItem:
    """One action in the outbox. ``id`` is ``<firing id>.<index>``, the idempotency key."""

    id: str
    firing_id: str
    rule_id: str
    post_id: str
    index: int
    kind: str
    payload: str
    status: ActionStatus
    attempts: int
    created_at: datetime
    next_attempt_at: datetime | None
    last_error: str | None = None
    digest: str | None = None  # sent in one request with the others of this digest


@dataclass(frozen=True, slots=True)
class AttemptRecord:
    """One try at performing an action, kept so ``actions`` can show what went wrong."""

    action_id: str
    number: int
    at: datetime
    outcome: AttemptOutcome
    error: str | None = None
    next_attempt_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class ChangeRecord:
    """A change someone made by hand (``retry`` of an action, ``pause`` or ``resume`` of a
    rule, ...): who (a login, ``dashboard``), when, what and to which ``target``."""

    at: datetime
    by: str
    what: str
    target: str
    detail: str = ""


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    """A firing as ``history`` shows it: the firing (with the actions it queued), whether it
    was rearmed, and where each of its actions stands."""

    firing: FiringRecord
    rearmed_at: datetime | None = None
    actions: tuple[OutboxItem, ...] = field(default=())


@dataclass(frozen=True, slots=True)
class HourlyHistory:
    """One post's stored hourly history of one metric, over the hours asked for
    (``automation.core.hours`` says what an hour, a total and a count are).

    ``totals`` are (hour start, last reading in that hour), oldest first, kept only where
    the value changed; the first may lie before the hours asked for: it is the value held
    when they begin. A total holds until the next one, within the ``polled`` spans
    (``[from, to)`` hour starts) of hours in which the post was read. ``counts`` are
    (hour start, increase within it), only those that are not zero; ``counted`` spans the
    hours whose count is known, so an hour inside them without a count had none.
    """

    totals: tuple[tuple[datetime, float], ...] = ()
    polled: tuple[tuple[datetime, datetime], ...] = ()
    counts: tuple[tuple[datetime, float], ...] = ()
    counted: tuple[tuple[datetime, datetime], ...] = ()


def compose_snapshots(
    baseline: Mapping[str, tuple[datetime, float]],
    changes: Iterable[tuple[datetime, str, float]],
) -> tuple[Snapshot, ...]:
    """Full snapshots from per-metric history, as both stores keep it.

    ``baseline`` maps each metric to its last (time, value) at or before the window start;
    ``changes`` are later (time, metric, value) rows in time order. Each snapshot carries
    every value known at its time, which is what windowed conditions compare against.
    """
    values = {metric: value for metric, (_, value) in baseline.items()}
    out: list[Snapshot] = []
    if baseline:
        out.append(Snapshot(at=max(at for at, _ in baseline.values()), values=dict(values)))
    pending_at: datetime | None = None
    for at, metric, value in changes:
        if pending_at is not None and at != pending_at:
            out.append(Snapshot(at=pending_at, values=dict(values)))
        values[metric] = value
        pending_at = at
    if pending_at is not None:
        out.append(Snapshot(at=pending_at, values=dict(values)))
    return tuple(out)


def checked_retry_at(
    item: OutboxItem, outcome: AttemptOutcome, next_attempt_at: datetime | None
) -> datetime | None:
    """When the action is due again after this attempt (None unless ``retry``), once the
    transition is checked: a StoreError for one that cannot happen."""
    if item.status != "pending":
        raise StoreError(f"action {item.id!r} is {item.status}, not pending")
    if outcome not in ("sent", "retry", "dead"):
        raise StoreError(f"unknown attempt outcome {outcome!r}")
    if outcome != "retry":
        return None
    if next_attempt_at is None:
        raise StoreError(f"a retry of action {item.id!r} needs next_attempt_at")
    return utc(next_attempt_at)

"""The engine's state behind one interface, so the engine, the dry run and the tests can
swap a SQLite file, a PostgreSQL database or plain dicts without noticing.

Three implementations keep the same contract (the tests in ``tests/store`` run against
each): ``MemoryStore``, ``SqliteStore`` and ``PostgresStore``. None reads a clock: every
time is passed in, as a timezone-aware datetime (a naive one raises ``ValueError``), and
comes back in UTC.

Metric snapshots are kept per post *only when something changed*, so a week of five-minute
cycles over thousands of slow-moving posts stays small. Totals given to ``record_totals``
are merged into the post's latest values: a metric missing from one reading keeps its last
known value, because "not reported this time" is not "zero".

The latest values are the latest dated reading's, not the last recorded one's. A reading
dated before a stored change (the clock went back, or a standby with a slower clock took
over) takes its place in time: each value is compared with the one held at its time, is
written there if it differs, and becomes the latest only for a metric with nothing stored
after it. The hourly history does the same by the hour, its unit: within one hour, the
reading recorded last is the hour's total whatever its minute.

Values are compared and kept as floats, in every store alike. Counts stay below 2**53
(9.0e15), where an int and its float are one number: the Engagement API sends counts as
decimal strings with no stated maximum, but the largest, impressions, counts views of one
post, which no post has had more than about 10**10 of, and the engine parses every count
into a float. A caller's int beyond 2**53 reads as its float (``2**53 + 1`` as ``2**53``).

A store is used from one thread only (the engine loop); SQLite connections refuse other
threads. Failures of the storage itself raise ``errors.StoreError``.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from datetime import datetime
from typing import Protocol

from automation.core.facts import RuleState, Snapshot
from automation.core.pauses import PauseRecord
from automation.core.records import (
    AttemptOutcome,
    AttemptRecord,
    ChangeRecord,
    CommitResult,
    CycleWrite,
    FiringRecord,
    HistoryEntry,
    HourlyHistory,
    LedgerPruned,
    OutboxItem,
    RuleVersion,
    WatchedPostRecord,
)

__all__ = ["POSTS_CHANGED", "STATES_CHANGED", "Store"]

# The meta key whose value moves whenever rule states change other than by ``commit_cycle``
# (a rearm): an engine keeps the states it committed while this value stays.
STATES_CHANGED = "rule_states_changed"
# The meta key whose value goes up by one with every ``upsert_posts`` and
# ``mark_unavailable`` given posts, in the same transaction: an engine keeps the watched
# posts it read while this value moves only by its own writes.
POSTS_CHANGED = "posts_changed"


class Store(Protocol):
    """Everything the engine remembers between cycles and across restarts."""

    # -- watched posts ------------------------------------------------------------------

    def upsert_posts(self, records: Iterable[WatchedPostRecord]) -> None:
        """Add posts or update them. An existing post keeps its earliest ``first_seen``;
        every other field takes the new record's value (so a post seen again on the
        timeline becomes available again when ``unavailable_at`` is None). Given any
        records, adds one to ``POSTS_CHANGED``."""
        ...

    def posts(self, include_unavailable: bool = False) -> list[WatchedPostRecord]:
        """Watched posts, oldest ``created_at`` first (ties by post id)."""
        ...

    def covered_posts(
        self, accounts: Collection[str], post_ids: Collection[str], since: datetime
    ) -> list[WatchedPostRecord]:
        """The available posts a watch covers: the timeline posts of ``accounts`` created
        at or after ``since``, and the posts named in ``post_ids`` whatever their source
        and age. Oldest ``created_at`` first (ties by post id), each post once."""
        ...

    def post_accounts(self, post_ids: Iterable[str]) -> list[str | None]:
        """The owned account of each of ``post_ids``, in their order, where it is a
        watched post of one (unavailable or not); None for public and unknown posts. A
        column beside the caller's IDs: no second copy of 100,000 of them, and one
        look-up an ID in all (the export splits and plans from it)."""
        ...

    def post(self, post_id: str) -> WatchedPostRecord | None:
        """One watched post, available or not."""
        ...

    def post_counts(self) -> dict[str, int]:
        """How many watched posts are ``available`` and ``unavailable``."""
        ...

    def unavailable_posts(self, limit: int | None = 20) -> list[WatchedPostRecord]:
        """Posts the API said are gone, the most recently gone first; every one of them
        when ``limit`` is None."""
        ...

    def mark_unavailable(self, post_ids: Iterable[str], at: datetime) -> None:
        """Stop polling posts the API says are gone; they stay for history. Unknown ids
        are ignored; a post already unavailable keeps its first ``unavailable_at``. Given
        any ids, adds one to ``POSTS_CHANGED``."""
        ...

    def since_id(self, account: str) -> str | None:
        """The newest timeline post id already seen for ``account``, for the next poll."""
        ...

    def set_since_id(self, account: str, post_id: str) -> None: ...

    # -- metric snapshots ---------------------------------------------------------------

    def record_totals(self, at: datetime, totals: Mapping[str, Mapping[str, float]]) -> int:
        """Store the totals read at ``at``, per post only if a value differs from the one
        held at ``at`` (its latest, unless the clock went back past a later change).
        Returns how many posts got a new snapshot."""
        ...

    def latest_totals(self, post_ids: Iterable[str]) -> dict[str, dict[str, float]]:
        """The latest known values of each post that has any; others are absent."""
        ...

    def snapshots(
        self, post_ids: Iterable[str], since: datetime
    ) -> dict[str, tuple[Snapshot, ...]]:
        """Each post's snapshots, oldest first: the latest one at or before ``since`` as the
        baseline (if there is one), then every later one. Each holds the post's full values
        as of its time. Posts without any snapshot map to ``()``."""
        ...

    def prune_snapshots(self, before: datetime) -> int:
        """Forget history older than ``before``, keeping for each post the values as of
        ``before`` (so baselines for any ``since >= before`` stay right, and the latest
        values are never lost). Returns the number of stored metric values deleted."""
        ...

    def top(self, metric: str, n: int) -> list[tuple[str, float]]:
        """The ``n`` available watched posts highest in ``metric`` by latest value, highest
        first (ties by post id); posts without that metric are left out."""
        ...

    # -- hourly history (``automation.core.hours`` defines hours, totals and counts) ------
    # Ranges are ``[start, end)`` widened to whole hours: start rounded down, end up.

    def record_hourly_totals(self, at: datetime, totals: Mapping[str, Mapping[str, float]]) -> int:
        """Keep readings taken at ``at``: each value becomes its post's total for the hour
        ``at`` closes (a later reading in that hour replaces it) and marks the hour polled
        for that metric. A value equal to the last one stored for the post and metric at
        or before that hour is not stored again. Returns how many values were stored."""
        ...

    def record_hourly_counts(
        self,
        start: datetime,
        end: datetime,
        counts: Mapping[str, Mapping[str, Iterable[tuple[datetime, float]]]],
    ) -> None:
        """Keep hourly increases (``/28hr``, ``/historical``) over ``[start, end)``: for each
        post and metric listed, its (hour start, count) pairs, every other hour of the range
        having had none. They replace what was stored for those hours, so an hour read
        twice counts once; pairs outside the range are ignored."""
        ...

    def hourly(
        self,
        post_ids: Iterable[str],
        metrics: Iterable[str] | None,
        start: datetime,
        end: datetime,
    ) -> dict[str, dict[str, HourlyHistory]]:
        """The stored history of each post and metric (None: every metric) over
        ``[start, end)``; posts and metrics with nothing stored there are absent."""
        ...

    def missing_hours(
        self, post_ids: Iterable[str], metrics: Iterable[str], start: datetime, end: datetime
    ) -> dict[str, tuple[tuple[datetime, datetime], ...]]:
        """The hours of ``[start, end)`` for which some of ``metrics`` has no count stored,
        as ``[from, to)`` spans per post; posts missing nothing are absent."""
        ...

    def count_sums(
        self, post_ids: Iterable[str], metrics: Iterable[str], start: datetime, end: datetime
    ) -> dict[str, dict[str, float]]:
        """Each post's stored counts of each metric summed over ``[start, end)``; a post and
        metric with no counted hour there is absent (``missing_hours`` tells whether every
        hour is)."""
        ...

    def prune_hourly(self, before: datetime) -> int:
        """Forget the hours before ``before`` (rounded down), keeping a metric's last total
        before it while the post is still polled after it. Returns how many values went."""
        ...

    # -- rules and their per-post state -------------------------------------------------

    def rule_versions(self) -> dict[str, RuleVersion]: ...

    def rule_states(self, rule_id: str) -> dict[str, RuleState]:
        """Every post's state for ``rule_id``."""
        ...

    def rule_state(self, rule_id: str, post_id: str) -> RuleState | None: ...

    # -- the ledger and the outbox, written together ------------------------------------

    def commit_cycle(self, write: CycleWrite) -> CommitResult:
        """Persist a cycle in one transaction: rule versions, states, firings and their
        actions. A firing whose (rule, post, key) is already in the ledger (and not
        rearmed) is skipped with its actions; a seeded firing is recorded but queues
        nothing. On any error nothing of ``write`` is kept and ``StoreError`` is raised."""
        ...

    def claim_actions(
        self, now: datetime, limit: int, *, skip_rules: Collection[str] = ()
    ) -> list[OutboxItem]:
        """Hand out at most ``limit`` pending actions due at ``now`` that are not already
        handed out, the longest-waiting first (by due time, then in the order queued).
        Actions of the rules in ``skip_rules`` (paused ones) stay where they are.

        A handed-out action is held until an attempt at it is recorded or it is released,
        so it is handed out once however often this is asked: whoever claimed it performs
        it. Claims last as long as this open store; a restarted engine finds every pending
        action free. A row that cannot be read is recorded dead with the reason instead
        of being handed out."""
        ...

    def release_actions(self, action_ids: Iterable[str], *, due_at: datetime | None = None) -> None:
        """Give claimed actions back without an attempt (a stop, a write limit to wait for):
        due again at ``due_at``, or as before when None. Unknown ids and actions that are
        not pending are ignored."""
        ...

    def record_attempt(
        self,
        action_id: str,
        *,
        at: datetime,
        outcome: AttemptOutcome,
        error: str | None,
        next_attempt_at: datetime | None,
    ) -> None:
        """Record one try at a pending action: ``sent`` and ``dead`` are final, ``retry``
        keeps it pending until ``next_attempt_at`` (required then). The action's claim
        ends. Raises ``StoreError`` for an unknown or not-pending action."""
        ...

    def actions(
        self,
        status: str | None = None,
        limit: int = 100,
        *,
        rule_id: str | None = None,
        post_id: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[OutboxItem]:
        """Outbox rows, newest first, optionally of one status, rule and post, queued in
        ``[since, until)``."""
        ...

    def action(self, action_id: str) -> OutboxItem | None: ...

    def retry_actions(
        self, now: datetime, *, action_id: str | None = None, rule_id: str | None = None
    ) -> list[str]:
        """Re-queue, due at ``now`` and in one transaction, the dead action ``action_id``,
        else every dead action of ``rule_id``, else every dead action; each takes the dead
        rest of its digest with it, and keeps its attempts. The IDs re-queued, in order;
        none when there is no such dead action."""
        ...

    def prune_ledger(self, before: datetime) -> LedgerPruned:
        """Forget firings recorded before ``before`` with their actions and attempts, so
        the ledger does not grow for ever. A firing with an action still pending is kept
        whole: what is still to be done stays until it is sent or dead. The rule states
        remember what fired, so a forgotten firing does not fire again."""
        ...

    def action_counts(self, rule_id: str | None = None) -> dict[str, int]:
        """How many actions (of ``rule_id`` only, when given) are in each status; every
        status is present, zero included."""
        ...

    def oldest_pending_at(self) -> datetime | None:
        """When the longest-waiting pending action was queued; None when none is pending."""
        ...

    def attempts(self, action_id: str) -> list[AttemptRecord]:
        """Every try at an action, oldest first."""
        ...

    def fired_count(self, rule_id: str, since: datetime) -> int:
        """How many firings of ``rule_id`` that acted (``fired``, rearmed ones included;
        not seeded or capped) were recorded after ``since``: what its cap counts."""
        ...

    # -- history and rearm --------------------------------------------------------------

    def history(
        self,
        rule_id: str | None = None,
        post_id: str | None = None,
        limit: int = 20,
        *,
        kind: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[HistoryEntry]:
        """Firings (seeded and rearmed ones included), newest first, optionally of one rule,
        post and kind, recorded in ``[since, until)``."""
        ...

    def firing_counts(self, since: datetime, kind: str = "fired") -> dict[str, int]:
        """How many firings of ``kind`` each rule recorded at or after ``since`` (rearmed
        ones included); rules with none are absent."""
        ...

    def rearm(
        self,
        rule_id: str,
        post_id: str | None,
        at: datetime,
        *,
        include_seeded: bool = False,
        dry_run: bool = False,
    ) -> list[FiringRecord]:
        """Let a rule fire again for ``post_id`` (every post when None): its live firings
        (capped ones too) are marked rearmed (kept for history, no longer blocking their
        key) and its states for the posts of those firings are forgotten. Seeded firings
        stay, since those posts were already past the rule when it was added, unless
        ``include_seeded``. Returns
        the firings rearmed, oldest first (without their actions); with ``dry_run`` the
        ones that would be, changing nothing."""
        ...

    # -- pauses ---------------------------------------------------------------------------

    def pauses(self) -> list[PauseRecord]:
        """Every pause record, active or ended but not yet settled, by rule id."""
        ...

    def set_pause(self, record: PauseRecord) -> None:
        """Add the record, or replace the one for its rule id (``ALL_RULES`` included)."""
        ...

    def clear_pause(self, rule_id: str, paused_at: datetime) -> bool:
        """Forget the record of ``rule_id`` if it is still the one paused at ``paused_at``
        (a pause set again meanwhile is kept). True when one was forgotten."""
        ...

    # -- changes made by hand ---------------------------------------------------------------

    def record_change(self, change: ChangeRecord) -> None:
        """Keep who changed what, and when (the dashboard's controls record each change)."""
        ...

    def changes(self, limit: int = 20) -> list[ChangeRecord]:
        """Changes made by hand, newest first."""
        ...

    # -- request budget and status ------------------------------------------------------

    def budget_load(self, api: str, since: float) -> list[float]:
        """Epoch times of requests to ``api`` at or after ``since``, oldest first."""
        ...

    def budget_record(self, api: str, at: float) -> None:
        """Record a request at epoch ``at``; entries older than ``BUDGET_KEEP_SECONDS``
        before it are dropped."""
        ...

    def budget_claim(
        self, api: str, at: float, since: float, allowance: int, count: int = 1
    ) -> int:
        """Record up to ``count`` requests at epoch ``at``, as many as keep the requests
        to ``api`` recorded after ``since`` (one at exactly ``since`` has left the
        window) within ``allowance``: checked and recorded in one transaction, so
        processes sharing the database never exceed the allowance together. Returns how
        many were recorded (0: none may go)."""
        ...

    # -- fetched parts of ``metrics`` exports, for resuming ----------------------------

    def save_export_parts(self, run: str, parts: Iterable[tuple[str, datetime, str]]) -> None:
        """Keep fetched parts of the export ``run``, each (name, saved at, JSON text), in
        one transaction; a part replaces an earlier one of the same name."""
        ...

    def export_parts(self, run: str, since: datetime) -> dict[str, str]:
        """The parts of ``run`` saved at or after ``since``, by name."""
        ...

    def forget_export_parts(self, *, run: str | None = None, before: datetime | None = None) -> int:
        """Drop every part of ``run`` and every part saved before ``before`` (at least one
        is required). Returns how many were dropped."""
        ...

    def set_meta(self, key: str, value: str) -> None: ...

    def meta(self, key: str) -> str | None: ...

    def size_bytes(self) -> int | None:
        """How many bytes the database takes, read without a scan of its tables (SQLite:
        the file and its ``-wal``; PostgreSQL: ``pg_database_size``); None when it is kept
        nowhere (in memory)."""
        ...

    def close(self) -> None: ...

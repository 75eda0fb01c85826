"""Where a cycle's results go: the store, or nowhere at all for a dry run.

The cycle reads from the store and writes only through a ``Recorder``. ``StoreRecorder``
writes; ``DryRun`` records nothing and reports every firing as one that would happen, so
a dry run is the same cycle with a different recorder (and no actions), not a branch in
every step.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import Protocol

from automation.core.evaluate import CompiledRule
from automation.core.facts import PostFacts
from automation.core.hours import hour_index, hour_start, reading_hour, whole_hours
from automation.core.records import CycleWrite, FiringKind, WatchedPostRecord
from automation.engine.counted_hours import CountedHours
from automation.engine.dry_run_tally import DryRunTally
from automation.store.base import Store
from automation.x.engagement_client import FetchResult

__all__ = ["DryRun", "NoActions", "Recorder", "StoreRecorder"]

Watched = Sequence[tuple[CompiledRule, Sequence[WatchedPostRecord]]]

SNAPSHOT_RETENTION = timedelta(hours=48)  # windows reach back at most 28h
PRUNE_EVERY = timedelta(hours=1)  # the ledger and the counted hours: once an hour is plenty
# A snapshot prune rewrites most of the table's pages (its rows are kept by series, not by
# time) whether it deletes one hour's rows or six: six hours at once cost a third as much.
PRUNE_SNAPSHOTS_EVERY = timedelta(hours=6)
PRUNE_HISTORY_EVERY = timedelta(days=1)  # it visits every post and metric kept


class Recorder(Protocol):
    """What a cycle writes. ``dry`` says whether anything is kept; ``event_names`` name a
    firing's event by its kind."""

    dry: bool
    event_names: Mapping[FiringKind, str]

    def add_posts(self, records: Sequence[WatchedPostRecord]) -> None: ...

    def set_since_id(self, account: str, post_id: str) -> None: ...

    def record_readings(self, now: datetime, fetched: FetchResult) -> None:
        """Keep what a fetch read: the totals, and which posts are gone."""
        ...

    def evaluated(self, watched: Watched, facts: Mapping[str, PostFacts], now: datetime) -> None:
        """The posts each rule was about to be evaluated on, and their facts."""
        ...

    def commit(self, write: CycleWrite) -> frozenset[str]:
        """Record a cycle's decisions in one transaction; returns the ids of the firings
        that are new (a firing already in the ledger is not recorded twice)."""
        ...

    def set_meta(self, key: str, value: str) -> None: ...


class StoreRecorder:
    """Writes to the store, pruning once an hour as it records totals: snapshots older
    than any window needs, and firings older than ``ledger_retention`` (none without). The
    readings also go to the hourly history, kept for ``history_keep``."""

    dry = False
    event_names: Mapping[FiringKind, str] = {
        "fired": "fired",
        "seeded": "seeded",
        "capped": "capped",
    }

    def __init__(
        self,
        store: Store,
        history_keep: timedelta = timedelta(days=90),
        *,
        ledger_retention: timedelta | None = None,
    ) -> None:
        self._store = store
        self._history_keep = history_keep
        self._ledger_retention = ledger_retention
        self._pruned_at: datetime | None = None
        self._snapshots_pruned_at: datetime | None = None
        self._history_pruned_at: datetime | None = None
        # (post, metric) -> the hour its stored /28hr counts reach: a cycle writes only
        # newer hours (per metric: an answer may lack one that the next holds)
        self._counted_to = CountedHours()

    @property
    def counted_to(self) -> Mapping[tuple[str, str], int]:
        """(post, metric) -> the hour its stored /28hr counts reach, as far as this
        recorder wrote or read them (a read-only view)."""
        return MappingProxyType(self._counted_to)

    def add_posts(self, records: Sequence[WatchedPostRecord]) -> None:
        self._store.upsert_posts(records)

    def set_since_id(self, account: str, post_id: str) -> None:
        self._store.set_since_id(account, post_id)

    def record_readings(self, now: datetime, fetched: FetchResult) -> None:
        if fetched.unavailable:
            self._store.mark_unavailable(sorted(fetched.unavailable), now)
        self._store.record_totals(now, fetched.totals)
        self._store.record_hourly_totals(now, fetched.totals)
        self._recall_counted(now, fetched)
        for (lo, hi), counts in whole_hours(fetched.hourly, self._counted_to).items():
            self._store.record_hourly_counts(hour_start(lo), hour_start(hi), counts)
            self._counted_to.update(
                ((p, m), hi) for p, per_metric in counts.items() for m in per_metric
            )
        self._prune(now)

    def _prune(self, now: datetime) -> None:
        """Forget what no window, rule or report reads any more, each at its own pace."""
        last = self._snapshots_pruned_at
        if last is None or now - last >= PRUNE_SNAPSHOTS_EVERY:
            self._store.prune_snapshots(now - SNAPSHOT_RETENTION)
            self._snapshots_pruned_at = now
        if self._pruned_at is None or now - self._pruned_at >= PRUNE_EVERY:
            if self._ledger_retention is not None:
                self._store.prune_ledger(now - self._ledger_retention)
            self._forget_counted(now)
            self._pruned_at = now
        if self._history_pruned_at is None or now - self._history_pruned_at >= PRUNE_HISTORY_EVERY:
            self._store.prune_hourly(now - self._history_keep)
            self._history_pruned_at = now

    def evaluated(self, watched: Watched, facts: Mapping[str, PostFacts], now: datetime) -> None:
        return None

    def _recall_counted(self, now: datetime, fetched: FetchResult) -> None:
        """For posts this process has not written counts for yet: those whose last 28
        hours are all stored already (a restart) need only newer hours."""
        new = [
            (p, m)
            for p, per in fetched.hourly.items()
            for m in per
            if (p, m) not in self._counted_to
        ]
        if not new:
            return
        posts, metrics = {p for p, _ in new}, {m for _, m in new}
        done = hour_index(now)  # the hour still running: /28hr's whole hours end there
        first = hour_start(reading_hour(now - timedelta(hours=28)) + 1)
        lacking = self._store.missing_hours(posts, metrics, first, hour_start(done))
        self._counted_to.update((key, done) for key in new if key[0] not in lacking)

    def _forget_counted(self, now: datetime) -> None:
        """Forget the stored hours of posts no /28hr answer read from ``now`` on can reach:
        its whole hours begin after them, so they no longer leave any out. Without this the
        map grows by every post ever read; a post read again is recalled as a new one is."""
        first = reading_hour(now - timedelta(hours=28)) + 1  # as ``complete_counts``
        self._counted_to.forget_to(first)

    def commit(self, write: CycleWrite) -> frozenset[str]:
        return frozenset(self._store.commit_cycle(write).new)

    def set_meta(self, key: str, value: str) -> None:
        self._store.set_meta(key, value)


class DryRun:
    """Records nothing: the database stays as it was, and every firing is one that would
    happen. It keeps a ``tally`` per rule for the summary a dry run ends with."""

    dry = True
    event_names: Mapping[FiringKind, str] = {
        "fired": "would_fire",
        "seeded": "would_seed",
        "capped": "would_cap",
    }

    def __init__(self) -> None:
        self.tally = DryRunTally()

    def evaluated(self, watched: Watched, facts: Mapping[str, PostFacts], now: datetime) -> None:
        self.tally.evaluated(watched, facts, now)

    def add_posts(self, records: Sequence[WatchedPostRecord]) -> None:
        return None

    def set_since_id(self, account: str, post_id: str) -> None:
        return None

    def record_readings(self, now: datetime, fetched: FetchResult) -> None:
        return None

    def commit(self, write: CycleWrite) -> frozenset[str]:
        self.tally.committed(write)
        return frozenset(f.id for f in write.firings)

    def set_meta(self, key: str, value: str) -> None:
        return None


class NoActions:
    """A dry run's outbox: it performs nothing."""

    def run_due(self, *, should_stop: Callable[[], bool] = lambda: False) -> int:
        return 0

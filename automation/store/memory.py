"""The store in plain dicts: for tests, and for the dry run's "what would happen" pass,
which must never touch the real database.

It keeps the same shapes as the SQLite store (per-metric change history, a ledger with
rearm marks, an outbox with attempts) so the contract tests hold for both.
"""

from __future__ import annotations

import dataclasses
import itertools
from bisect import bisect_left, bisect_right
from collections.abc import Collection, Iterable, Mapping
from datetime import datetime
from operator import itemgetter

from automation.core.errors import StoreError
from automation.core.facts import RuleState, Snapshot
from automation.core.pauses import PauseRecord
from automation.core.records import (
    BUDGET_KEEP_SECONDS,
    ActionRecord,
    ChangeRecord,
    CommitResult,
    CycleWrite,
    FiringRecord,
    HistoryEntry,
    LedgerPruned,
    OutboxItem,
    RuleVersion,
    WatchedPostRecord,
    compose_snapshots,
    utc,
)
from automation.store.base import POSTS_CHANGED, STATES_CHANGED
from automation.store.memory_data import FiringEntry, MemoryData, within
from automation.store.memory_hourly import MemoryHourly
from automation.store.memory_outbox import MemoryOutbox
from automation.store.snapshot_rows import changed_values

__all__ = ["MemoryStore"]


class MemoryStore(MemoryOutbox, MemoryHourly):
    """``Store`` kept in memory; lost when the process ends. One thread only. The hourly
    history's methods are in ``MemoryHourly``, the outbox's in ``MemoryOutbox``."""

    def __init__(self) -> None:
        super().__init__()
        self._d = MemoryData()
        self._seq = itertools.count(1)
        self._held: set[str] = set()  # actions handed out by claim_actions

    # -- watched posts ------------------------------------------------------------------

    def upsert_posts(self, records: Iterable[WatchedPostRecord]) -> None:
        records = list(records)
        if records:
            self._count_change(POSTS_CHANGED)
        for rec in records:
            old = self._d.posts.get(rec.post_id)
            first_seen = utc(rec.first_seen)
            if old is not None:
                first_seen = min(first_seen, old.first_seen)
            self._d.posts[rec.post_id] = dataclasses.replace(
                rec,
                created_at=utc(rec.created_at),
                first_seen=first_seen,
                unavailable_at=utc(rec.unavailable_at) if rec.unavailable_at else None,
            )

    def posts(self, include_unavailable: bool = False) -> list[WatchedPostRecord]:
        found = [
            p for p in self._d.posts.values() if include_unavailable or p.unavailable_at is None
        ]
        return sorted(found, key=lambda p: (p.created_at, p.post_id))

    def covered_posts(
        self, accounts: Collection[str], post_ids: Collection[str], since: datetime
    ) -> list[WatchedPostRecord]:
        oldest, owners, named = utc(since), set(accounts), set(post_ids)
        found = [
            p
            for p in self._d.posts.values()
            if p.unavailable_at is None
            and (
                p.post_id in named
                or (p.source == "timeline" and p.account in owners and p.created_at >= oldest)
            )
        ]
        return sorted(found, key=lambda p: (p.created_at, p.post_id))

    def post_accounts(self, post_ids: Iterable[str]) -> list[str | None]:
        posts = self._d.posts
        return [None if (post := posts.get(pid)) is None else post.account for pid in post_ids]

    def post(self, post_id: str) -> WatchedPostRecord | None:
        return self._d.posts.get(post_id)

    def post_counts(self) -> dict[str, int]:
        gone = sum(1 for p in self._d.posts.values() if p.unavailable_at is not None)
        return {"available": len(self._d.posts) - gone, "unavailable": gone}

    def unavailable_posts(self, limit: int | None = 20) -> list[WatchedPostRecord]:
        gone = [p for p in self._d.posts.values() if p.unavailable_at is not None]
        gone.sort(key=lambda p: (p.unavailable_at, p.post_id), reverse=True)
        return gone[:limit]

    def mark_unavailable(self, post_ids: Iterable[str], at: datetime) -> None:
        when = utc(at)
        post_ids = list(post_ids)
        if post_ids:
            self._count_change(POSTS_CHANGED)
        for post_id in post_ids:
            post = self._d.posts.get(post_id)
            if post is not None and post.unavailable_at is None:
                self._d.posts[post_id] = dataclasses.replace(post, unavailable_at=when)

    def since_id(self, account: str) -> str | None:
        return self._d.since_ids.get(account)

    def set_since_id(self, account: str, post_id: str) -> None:
        self._d.since_ids[account] = post_id

    # -- metric snapshots ---------------------------------------------------------------

    def record_totals(self, at: datetime, totals: Mapping[str, Mapping[str, float]]) -> int:
        when = utc(at)
        written = 0
        for post_id, values in totals.items():
            latest = self._d.latest.setdefault(post_id, {})
            series = self._d.history.setdefault(post_id, {})
            changed = changed_values(_held(latest, series, when), values)
            if not changed:
                continue
            written += 1
            for metric, value in changed.items():
                points = series.setdefault(metric, [])
                if not points or points[-1][0] <= when:  # nothing stored after it
                    latest[metric] = value
                # in time order, as the SQL stores' rows are, even when the clock went back
                i = bisect_left(points, when, key=itemgetter(0))
                if i < len(points) and points[i][0] == when:
                    points[i] = (when, value)  # the same reading given twice: the last counts
                else:
                    points.insert(i, (when, value))
        return written

    def latest_totals(self, post_ids: Iterable[str]) -> dict[str, dict[str, float]]:
        return {p: dict(self._d.latest[p]) for p in post_ids if self._d.latest.get(p)}

    def snapshots(
        self, post_ids: Iterable[str], since: datetime
    ) -> dict[str, tuple[Snapshot, ...]]:
        start = utc(since)
        out: dict[str, tuple[Snapshot, ...]] = {}
        for post_id in post_ids:
            baseline: dict[str, tuple[datetime, float]] = {}
            changes: list[tuple[datetime, str, float]] = []
            for metric, points in self._d.history.get(post_id, {}).items():
                before = [p for p in points if p[0] <= start]
                if before:
                    baseline[metric] = before[-1]
                changes.extend((at, metric, v) for at, v in points if at > start)
            changes.sort(key=lambda c: c[0])
            out[post_id] = compose_snapshots(baseline, changes)
        return out

    def prune_snapshots(self, before: datetime) -> int:
        cutoff = utc(before)
        deleted = 0
        for series in self._d.history.values():
            for metric, points in series.items():
                keep_from = max((i for i, p in enumerate(points) if p[0] <= cutoff), default=0)
                deleted += keep_from
                series[metric] = points[keep_from:]
        return deleted

    def top(self, metric: str, n: int) -> list[tuple[str, float]]:
        found = [
            (post_id, self._d.latest[post_id][metric])
            for post_id, post in self._d.posts.items()
            if post.unavailable_at is None and metric in self._d.latest.get(post_id, {})
        ]
        return sorted(found, key=lambda pv: (-pv[1], pv[0]))[:n]

    # -- rules ----------------------------------------------------------------------------

    def rule_versions(self) -> dict[str, RuleVersion]:
        return dict(self._d.versions)

    def rule_states(self, rule_id: str) -> dict[str, RuleState]:
        return {post: state for (rule, post), state in self._d.states.items() if rule == rule_id}

    def rule_state(self, rule_id: str, post_id: str) -> RuleState | None:
        return self._d.states.get((rule_id, post_id))

    # -- ledger and outbox ----------------------------------------------------------------

    def commit_cycle(self, write: CycleWrite) -> CommitResult:
        when = utc(write.at)
        new, duplicate, queued = self._plan(write)
        # Everything that can fail was checked above, so applying is all or nothing.
        for rule_id, fingerprint in write.rule_versions:
            _set_version(self._d, rule_id, fingerprint, when)
        stale = write.stale(self.meta(STATES_CHANGED))
        for rule_id, post_id, state in write.states_kept(self._d.states) if stale else write.states:
            self._d.states[(rule_id, post_id)] = state
        for firing in new:
            self._d.firings[firing.id] = FiringEntry(_normalised(firing), next(self._seq))
            self._d.active[(firing.rule_id, firing.post_id, firing.key)] = firing.id
            if firing.kind == "fired":
                for action in firing.actions:
                    item = _new_item(firing, action, when)
                    self._d.outbox[item.id] = (next(self._seq), item)
        return CommitResult(tuple(f.id for f in new), tuple(duplicate), tuple(queued))

    def _plan(self, write: CycleWrite) -> tuple[list[FiringRecord], list[str], list[str]]:
        """Split firings into new and duplicate, and refuse ids that are already taken."""
        new: list[FiringRecord] = []
        duplicate: list[str] = []
        queued: dict[str, None] = {}  # in order, and a set to look in
        keys: set[tuple[str, str, str]] = set()
        new_ids: set[str] = set()
        for firing in write.firings:
            key = (firing.rule_id, firing.post_id, firing.key)
            if key in self._d.active or key in keys:
                duplicate.append(firing.id)
                continue
            if firing.id in self._d.firings or firing.id in new_ids:
                raise StoreError(f"firing id {firing.id!r} is already in the ledger")
            keys.add(key)
            new_ids.add(firing.id)
            new.append(firing)
            if firing.kind != "fired":
                continue
            for action in firing.actions:
                action_id = f"{firing.id}.{action.index}"
                if action_id in self._d.outbox or action_id in queued:
                    raise StoreError(f"action id {action_id!r} is already in the outbox")
                queued[action_id] = None
        return new, duplicate, list(queued)

    def prune_ledger(self, before: datetime) -> LedgerPruned:
        when = utc(before)
        pending = {
            item.firing_id for _, item in self._d.outbox.values() if item.status == "pending"
        }
        gone = {
            fid for fid, f in self._d.firings.items() if f.record.at < when and fid not in pending
        }
        actions = [aid for aid, (_, item) in self._d.outbox.items() if item.firing_id in gone]
        for action_id in actions:
            del self._d.outbox[action_id]
            self._d.attempts.pop(action_id, None)
        for firing_id in gone:
            rec = self._d.firings.pop(firing_id).record
            key = (rec.rule_id, rec.post_id, rec.key)
            if self._d.active.get(key) == firing_id:
                del self._d.active[key]
        return LedgerPruned(firings=len(gone), actions=len(actions))

    def fired_count(self, rule_id: str, since: datetime) -> int:
        when = utc(since)
        return sum(
            1
            for f in self._d.firings.values()
            if f.record.rule_id == rule_id and f.record.kind == "fired" and f.record.at > when
        )

    # -- history and rearm ----------------------------------------------------------------

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
        found = [
            f
            for f in self._d.firings.values()
            if (rule_id is None or f.record.rule_id == rule_id)
            and (post_id is None or f.record.post_id == post_id)
            and (kind is None or f.record.kind == kind)
            and within(f.record.at, since, until)
        ]
        found.sort(key=lambda f: (f.record.at, f.seq), reverse=True)
        entries = []
        for f in found[:limit]:
            items = sorted(
                (item for _, item in self._d.outbox.values() if item.firing_id == f.record.id),
                key=lambda item: item.index,
            )
            entries.append(HistoryEntry(f.record, f.rearmed_at, tuple(items)))
        return entries

    def firing_counts(self, since: datetime, kind: str = "fired") -> dict[str, int]:
        counts: dict[str, int] = {}
        for f in self._d.firings.values():
            if f.record.kind == kind and within(f.record.at, since, None):
                counts[f.record.rule_id] = counts.get(f.record.rule_id, 0) + 1
        return counts

    def record_change(self, change: ChangeRecord) -> None:
        self._d.changes.append(dataclasses.replace(change, at=utc(change.at)))

    def changes(self, limit: int = 20) -> list[ChangeRecord]:
        ordered = sorted(enumerate(self._d.changes), key=lambda t: (t[1].at, t[0]), reverse=True)
        return [change for _, change in ordered][:limit]

    def rearm(
        self,
        rule_id: str,
        post_id: str | None,
        at: datetime,
        *,
        include_seeded: bool = False,
        dry_run: bool = False,
    ) -> list[FiringRecord]:
        kinds = ("fired", "capped", "seeded") if include_seeded else ("fired", "capped")
        found = sorted(
            (
                f
                for f in self._d.firings.values()
                if f.record.rule_id == rule_id
                and post_id in (None, f.record.post_id)
                and f.record.kind in kinds
                and not f.rearmed_at
            ),
            key=lambda f: (f.record.at, f.seq),
        )
        if not dry_run:
            when = utc(at)
            for f in found:
                f.rearmed_at = when
                del self._d.active[(rule_id, f.record.post_id, f.record.key)]
            for post in {f.record.post_id for f in found}:
                self._d.states.pop((rule_id, post), None)
            self._count_change(STATES_CHANGED)
        return [dataclasses.replace(f.record, actions=()) for f in found]

    # -- budget and meta ------------------------------------------------------------------

    def budget_load(self, api: str, since: float) -> list[float]:
        return sorted(t for t in self._d.budget.get(api, []) if t >= since)

    def budget_record(self, api: str, at: float) -> None:
        kept = [t for t in self._d.budget.get(api, []) if t >= at - BUDGET_KEEP_SECONDS]
        self._d.budget[api] = [*kept, at]

    def pauses(self) -> list[PauseRecord]:
        return [self._d.pauses[k] for k in sorted(self._d.pauses)]

    def set_pause(self, record: PauseRecord) -> None:
        self._d.pauses[record.rule_id] = dataclasses.replace(
            record,
            paused_at=utc(record.paused_at),
            until=None if record.until is None else utc(record.until),
            resumed_at=None if record.resumed_at is None else utc(record.resumed_at),
        )

    def clear_pause(self, rule_id: str, paused_at: datetime) -> bool:
        record = self._d.pauses.get(rule_id)
        if record is None or record.paused_at != utc(paused_at):
            return False
        del self._d.pauses[rule_id]
        return True

    def set_meta(self, key: str, value: str) -> None:
        self._d.meta[key] = value

    def meta(self, key: str) -> str | None:
        return self._d.meta.get(key)

    def size_bytes(self) -> int | None:
        return None

    def _count_change(self, key: str) -> None:
        self._d.meta[key] = str(int(self._d.meta.get(key, "0")) + 1)

    def budget_claim(
        self, api: str, at: float, since: float, allowance: int, count: int = 1
    ) -> int:
        used = sum(1 for t in self.budget_load(api, since) if t > since)
        kept = max(0, min(count, allowance - used))
        for _ in range(kept):
            self.budget_record(api, at)
        return kept

    def save_export_parts(self, run: str, parts: Iterable[tuple[str, datetime, str]]) -> None:
        for part, at, data in parts:
            self._d.export_parts[(run, part)] = (utc(at), data)

    def export_parts(self, run: str, since: datetime) -> dict[str, str]:
        since = utc(since)
        return {
            part: data
            for (r, part), (at, data) in self._d.export_parts.items()
            if r == run and at >= since
        }

    def forget_export_parts(self, *, run: str | None = None, before: datetime | None = None) -> int:
        if run is None and before is None:
            raise ValueError("forget_export_parts needs run or before")
        limit = utc(before) if before is not None else None
        gone = [
            key
            for key, (at, _) in self._d.export_parts.items()
            if key[0] == run or (limit is not None and at < limit)
        ]
        for key in gone:
            del self._d.export_parts[key]
        return len(gone)

    def close(self) -> None:
        """Nothing to release; present so callers treat every store alike."""


def _set_version(d: MemoryData, rule_id: str, fingerprint: str, at: datetime) -> None:
    old = d.versions.get(rule_id)
    if old is None or old.fingerprint != fingerprint:
        d.versions[rule_id] = RuleVersion(fingerprint, at)


def _new_item(firing: FiringRecord, action: ActionRecord, when: datetime) -> OutboxItem:
    return OutboxItem(
        id=f"{firing.id}.{action.index}",
        firing_id=firing.id,
        rule_id=firing.rule_id,
        post_id=firing.post_id,
        index=action.index,
        kind=action.kind,
        payload=action.payload,
        status="pending",
        attempts=0,
        created_at=when,
        next_attempt_at=when if action.due_at is None else utc(action.due_at),
        digest=action.digest,
    )


def _normalised(firing: FiringRecord) -> FiringRecord:
    """The firing as history gives it back: UTC time, plain metrics, queued actions only."""
    actions = tuple(
        dataclasses.replace(a, due_at=None) for a in sorted(firing.actions, key=lambda a: a.index)
    )
    if firing.kind != "fired":
        actions = ()
    metrics = {k: float(v) for k, v in firing.metrics.items()}
    windows = {k: float(v) for k, v in firing.windows.items()}
    return dataclasses.replace(
        firing, at=utc(firing.at), metrics=metrics, actions=actions, windows=windows
    )


def _held(
    latest: dict[str, float], series: dict[str, list[tuple[datetime, float]]], when: datetime
) -> dict[str, float]:
    """Each metric's value as of ``when``: its latest, unless the clock went back past a
    later change (then the last one stored at or before ``when``)."""
    if all(points[-1][0] <= when for points in series.values() if points):
        return latest
    held: dict[str, float] = {}
    for metric, points in series.items():
        if i := bisect_right(points, when, key=itemgetter(0)):
            held[metric] = points[i - 1][1]
    return held

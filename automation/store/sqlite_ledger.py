"""The firing ledger and the action outbox in the SQLite store: a cycle's states,
firings and queued actions in one transaction, attempts, history and rearming."""

from __future__ import annotations

import sqlite3
from collections.abc import Collection, Iterable, Sequence
from datetime import datetime
from pathlib import Path

from sqlite_utils import Database

from automation.core.errors import StoreError
from automation.core.facts import RuleState
from automation.core.records import (
    ACTION_STATUSES,
    AttemptOutcome,
    AttemptRecord,
    CommitResult,
    CycleWrite,
    FiringRecord,
    HistoryEntry,
    LedgerPruned,
    OutboxItem,
    checked_retry_at,
    from_epoch,
    to_epoch,
)
from automation.store.base import STATES_CHANGED
from automation.store.rows import (
    FIRING_COLUMNS,
    KEPT_COUNTS,
    OUTBOX_COLUMNS,
    STATE_COLUMNS,
    datetime_or_none,
    epoch_or_none,
    firing_rows,
    history_entry,
    json_ids,
    outbox_item,
    requeued_dead,
    state_row,
    where_clause,
)
from automation.store.sqlite_connection import SqliteConnection, count_change, guarded

__all__ = ["LedgerQueries"]

LiveKey = tuple[str, str, str]  # (rule, post, key) of a firing not rearmed


class LedgerQueries(SqliteConnection):
    def __init__(self, db: Database, path: Path) -> None:
        super().__init__(db, path)
        self._held: set[str] = set()  # actions handed out by claim_actions

    @guarded
    def commit_cycle(self, write: CycleWrite) -> CommitResult:
        when = to_epoch(write.at)
        with self._immediate() as conn:
            for rule_id, fingerprint in write.rule_versions:
                _set_version(conn, rule_id, fingerprint, when)
            conn.executemany(
                f"INSERT OR REPLACE INTO rule_states (rule_id, post_id, {STATE_COLUMNS})"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                ((rule, post, *state_row(state)) for rule, post, state in _states(conn, write)),
            )
            new, duplicate = _split(write.firings, _live_keys(conn, write.firings))
            _insert_firings(conn, new)
            queued = _queue_actions(conn, [f for f in new if f.kind == "fired"], when)
        return CommitResult(tuple(f.id for f in new), tuple(duplicate), tuple(queued))

    @guarded
    def claim_actions(
        self, now: datetime, limit: int, *, skip_rules: Collection[str] = ()
    ) -> list[OutboxItem]:
        rows = self._rows(
            f"SELECT seq, {OUTBOX_COLUMNS} FROM outbox WHERE status = 'pending'"
            " AND next_attempt_at <= ? AND id NOT IN (SELECT value FROM json_each(?))"
            " AND rule_id NOT IN (SELECT value FROM json_each(?))"
            " ORDER BY next_attempt_at, seq LIMIT ?",
            [to_epoch(now), json_ids(self._held), json_ids(skip_rules), limit],
        )
        claimed: list[OutboxItem] = []
        for seq, *row in rows:
            try:
                item = outbox_item(tuple(row))
            except (TypeError, ValueError, OverflowError) as exc:
                self._bury(seq, exc)
                continue
            if item.id in self._held:
                continue  # came with its digest already
            claimed.append(item)
            self._held.add(item.id)
            if item.digest is not None:
                claimed.extend(self._claim_digest(item.digest))
        return claimed

    def _claim_digest(self, digest: str) -> list[OutboxItem]:
        """The other pending actions of ``digest``: they go out in one request with it."""
        rows = self._rows(
            f"SELECT {OUTBOX_COLUMNS} FROM outbox WHERE digest = ? AND status = 'pending'"
            " AND id NOT IN (SELECT value FROM json_each(?)) ORDER BY seq",
            [digest, json_ids(self._held)],
        )
        members = [outbox_item(row) for row in rows]
        self._held.update(item.id for item in members)
        return members

    def _bury(self, seq: int, exc: Exception) -> None:
        """A row damaged outside the engine (a hand edit) is dead, never handed out."""
        reason = f"unreadable outbox row: {exc.__class__.__name__}: {exc}"
        with self._immediate() as conn:
            conn.execute(
                "UPDATE outbox SET status = 'dead', last_error = ? WHERE seq = ?", (reason, seq)
            )

    @guarded
    def release_actions(self, action_ids: Iterable[str], *, due_at: datetime | None = None) -> None:
        ids = list(action_ids)
        self._held.difference_update(ids)
        if due_at is not None and ids:
            with self._immediate() as conn:
                conn.execute(
                    "UPDATE outbox SET next_attempt_at = ? WHERE status = 'pending'"
                    " AND id IN (SELECT value FROM json_each(?))",
                    (to_epoch(due_at), json_ids(ids)),
                )

    @guarded
    def record_attempt(
        self,
        action_id: str,
        *,
        at: datetime,
        outcome: AttemptOutcome,
        error: str | None,
        next_attempt_at: datetime | None,
    ) -> None:
        when = to_epoch(at)
        with self._immediate() as conn:
            item = self._action(action_id)
            if item is None:
                raise StoreError(f"no action {action_id!r} in the outbox")
            retry_at = epoch_or_none(checked_retry_at(item, outcome, next_attempt_at))
            number = item.attempts + 1
            conn.execute(
                "INSERT INTO attempts (action_id, number, at, outcome, error, next_attempt_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (action_id, number, when, outcome, error, retry_at),
            )
            conn.execute(
                "UPDATE outbox SET status = ?, attempts = ?, next_attempt_at = ?,"
                " last_error = ? WHERE id = ?",
                ("pending" if outcome == "retry" else outcome, number, retry_at, error, action_id),
            )
        self._held.discard(action_id)

    @guarded
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
        where, params = where_clause(
            ("status = ?", status),
            ("rule_id = ?", rule_id),
            ("post_id = ?", post_id),
            ("created_at >= ?", epoch_or_none(since)),
            ("created_at < ?", epoch_or_none(until)),
        )
        rows = self._rows(
            f"SELECT {OUTBOX_COLUMNS} FROM outbox{where} ORDER BY created_at DESC, seq DESC"
            " LIMIT ?",
            [*params, limit],
        )
        return [outbox_item(row) for row in rows]

    @guarded
    def action(self, action_id: str) -> OutboxItem | None:
        return self._action(action_id)

    def _action(self, action_id: str) -> OutboxItem | None:
        rows = self._rows(f"SELECT {OUTBOX_COLUMNS} FROM outbox WHERE id = ?", [action_id])
        return outbox_item(rows[0]) if rows else None

    @guarded
    def retry_actions(
        self, now: datetime, *, action_id: str | None = None, rule_id: str | None = None
    ) -> list[str]:
        where, values = requeued_dead(action_id, rule_id)
        with self._immediate() as conn:
            ids = [
                row[0]
                for row in conn.execute(f"SELECT id FROM outbox WHERE {where} ORDER BY id", values)
            ]
            conn.execute(
                f"UPDATE outbox SET status = 'pending', next_attempt_at = ? WHERE {where}",
                [to_epoch(now), *values],
            )
        return ids

    @guarded
    def action_counts(self, rule_id: str | None = None) -> dict[str, int]:
        counts: dict[str, int] = dict.fromkeys(ACTION_STATUSES, 0)
        if rule_id is None:
            counts.update(self._rows(KEPT_COUNTS))
        else:
            counts.update(
                self._rows(
                    "SELECT status, count(*) FROM outbox WHERE rule_id = ? GROUP BY status",
                    [rule_id],
                )
            )
        return counts

    @guarded
    def oldest_pending_at(self) -> datetime | None:
        [(at,)] = self._rows("SELECT min(created_at) FROM outbox WHERE status = 'pending'")
        return datetime_or_none(at)

    @guarded
    def attempts(self, action_id: str) -> list[AttemptRecord]:
        rows = self._rows(
            "SELECT number, at, outcome, error, next_attempt_at FROM attempts"
            " WHERE action_id = ? ORDER BY number",
            [action_id],
        )
        return [
            AttemptRecord(action_id, number, from_epoch(at), outcome, error, datetime_or_none(nxt))
            for number, at, outcome, error, nxt in rows
        ]

    @guarded
    def fired_count(self, rule_id: str, since: datetime) -> int:
        [(count,)] = self._rows(
            "SELECT count(*) FROM firings WHERE rule_id = ? AND kind = 'fired' AND at > ?",
            [rule_id, to_epoch(since)],
        )
        return int(count)

    # -- history and rearm ----------------------------------------------------------------

    @guarded
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
        where, params = where_clause(
            ("rule_id = ?", rule_id),
            ("post_id = ?", post_id),
            ("kind = ?", kind),
            ("at >= ?", epoch_or_none(since)),
            ("at < ?", epoch_or_none(until)),
        )
        firings = self._rows(
            f"SELECT {FIRING_COLUMNS} FROM firings{where} ORDER BY at DESC, seq DESC LIMIT ?",
            [*params, limit],
        )
        items: dict[str, list[OutboxItem]] = {}
        for row in self._rows(
            f"SELECT {OUTBOX_COLUMNS} FROM outbox"
            " WHERE firing_id IN (SELECT value FROM json_each(?)) ORDER BY idx",
            [json_ids(row[0] for row in firings)],
        ):
            item = outbox_item(row)
            items.setdefault(item.firing_id, []).append(item)
        return [history_entry(row, tuple(items.get(row[0], ()))) for row in firings]

    @guarded
    def firing_counts(self, since: datetime, kind: str = "fired") -> dict[str, int]:
        # ``+rule_id``: grouped after reading the window's firings by ``at``, not by walking
        # every firing in rule order (SQLite's choice without it); the same rows, in order
        rows = self._rows(
            "SELECT rule_id, count(*) FROM firings WHERE at >= ? AND kind = ? GROUP BY +rule_id",
            [to_epoch(since), kind],
        )
        return dict(rows)

    @guarded
    def rearm(
        self,
        rule_id: str,
        post_id: str | None,
        at: datetime,
        *,
        include_seeded: bool = False,
        dry_run: bool = False,
    ) -> list[FiringRecord]:
        match = "rule_id = ? AND rearmed_at IS NULL" + (
            "" if post_id is None else " AND post_id = ?"
        )
        match += "" if include_seeded else " AND kind != 'seeded'"
        params = [rule_id] if post_id is None else [rule_id, post_id]
        with self._immediate() as conn:
            rows = conn.execute(
                f"SELECT {FIRING_COLUMNS} FROM firings WHERE {match} ORDER BY at, seq", params
            ).fetchall()
            if not dry_run:
                conn.execute(
                    f"UPDATE firings SET rearmed_at = ? WHERE {match}", [to_epoch(at), *params]
                )
                conn.execute(
                    "DELETE FROM rule_states WHERE rule_id = ?"
                    " AND post_id IN (SELECT value FROM json_each(?))",
                    [rule_id, json_ids({row[2] for row in rows})],
                )
                count_change(conn, STATES_CHANGED)
        return [history_entry(row, ()).firing for row in rows]

    @guarded
    def prune_ledger(self, before: datetime) -> LedgerPruned:
        done = (
            "SELECT f.id FROM firings f WHERE f.at < :before AND NOT EXISTS"
            " (SELECT 1 FROM outbox p WHERE p.firing_id = f.id AND p.status = 'pending')"
        )
        params = {"before": to_epoch(before)}
        with self._immediate() as conn:
            conn.execute(
                "DELETE FROM attempts WHERE action_id IN"
                f" (SELECT id FROM outbox WHERE firing_id IN ({done}))",
                params,
            )
            actions = conn.execute(f"DELETE FROM outbox WHERE firing_id IN ({done})", params)
            firings = conn.execute(f"DELETE FROM firings WHERE id IN ({done})", params)
            return LedgerPruned(firings=firings.rowcount, actions=actions.rowcount)


def _set_version(conn: sqlite3.Connection, rule_id: str, fingerprint: str, at: float) -> None:
    # In an UPDATE, every right-hand side sees the old row, so ``since`` moves only when
    # the fingerprint really changed.
    conn.execute(
        "INSERT INTO rule_versions (rule_id, fingerprint, since) VALUES (?, ?, ?)"
        " ON CONFLICT (rule_id) DO UPDATE SET fingerprint = excluded.fingerprint,"
        " since = CASE WHEN fingerprint = excluded.fingerprint THEN since"
        " ELSE excluded.since END",
        (rule_id, fingerprint, at),
    )


def _states(conn: sqlite3.Connection, write: CycleWrite) -> tuple[tuple[str, str, RuleState], ...]:
    """``write``'s states, less those a rearm forgot while the cycle ran (``stale``)."""
    mark = conn.execute("SELECT value FROM meta WHERE key = ?", [STATES_CHANGED]).fetchone()
    if not write.stale(None if mark is None else mark[0]):
        return write.states
    stored: set[tuple[str, str]] = set()
    for rule_id in {rule for rule, _, _ in write.states}:
        stored.update(
            conn.execute(
                "SELECT rule_id, post_id FROM rule_states WHERE rule_id = ?"
                " AND post_id IN (SELECT value FROM json_each(?))",
                (rule_id, json_ids({p for r, p, _ in write.states if r == rule_id})),
            )
        )
    return write.states_kept(stored)


def _live_keys(conn: sqlite3.Connection, firings: Sequence[FiringRecord]) -> set[LiveKey]:
    """The (rule, post, key) of the ledger's live firings among those of ``firings``' posts:
    one query per rule, on the live-key index, instead of one per firing."""
    posts: dict[str, set[str]] = {}
    for f in firings:
        posts.setdefault(f.rule_id, set()).add(f.post_id)
    live: set[LiveKey] = set()
    for rule_id, post_ids in posts.items():
        rows = conn.execute(
            "SELECT post_id, key FROM firings WHERE rule_id = ? AND rearmed_at IS NULL"
            " AND post_id IN (SELECT value FROM json_each(?))",
            (rule_id, json_ids(post_ids)),
        )
        live.update((rule_id, post_id, key) for post_id, key in rows)
    return live


def _split(
    firings: Sequence[FiringRecord], live: set[LiveKey]
) -> tuple[list[FiringRecord], list[str]]:
    """The firings to record, in order, and the ids of those whose key is live already (in
    the ledger, or given earlier in ``firings``)."""
    new: list[FiringRecord] = []
    duplicate: list[str] = []
    for f in firings:
        key = (f.rule_id, f.post_id, f.key)
        if key in live:
            duplicate.append(f.id)
        else:
            live.add(key)
            new.append(f)
    return new, duplicate


def _insert_firings(conn: sqlite3.Connection, firings: Sequence[FiringRecord]) -> None:
    """Insert in order, in one statement run many times; a reused id fails the whole
    transaction."""
    conn.executemany(
        "INSERT INTO firings (id, rule_id, post_id, key, kind, at, milestone, metrics)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        firing_rows(firings),
    )


def _queue_actions(
    conn: sqlite3.Connection, firings: Sequence[FiringRecord], when: float
) -> list[str]:
    rows = [
        (
            f"{f.id}.{a.index}",
            f.id,
            f.rule_id,
            f.post_id,
            a.index,
            a.kind,
            a.payload,
            "pending",
            0,
            when,
            when if a.due_at is None else to_epoch(a.due_at),
            a.digest,
        )
        for f in firings
        for a in f.actions
    ]
    conn.executemany(
        "INSERT INTO outbox (id, firing_id, rule_id, post_id, idx, kind, payload, status,"
        " attempts, created_at, next_attempt_at, digest)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        rows,
    )
    return [row[0] for row in rows]

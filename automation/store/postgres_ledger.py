"""The firing ledger and the action outbox in the PostgreSQL store: a cycle's states,
firings and queued actions in one transaction, claims, attempts, history and rearming.

Claims live in the database (``outbox.claim``, the claimer's term), so several engines
never hand out one action twice: due rows are taken with ``FOR UPDATE SKIP LOCKED`` and
marked in the same statement. A claim made under an earlier leadership epoch is stale (its
engine stopped leading) and the action is handed out again, with the same idempotency
key, once that engine has no session left (it died) or ``reclaim_stale`` allows: not
before the old leader's last action could have finished. An attempt is recorded by the
holder of the claim, the claim being its fencing token; what nobody holds only the leader
may record.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Sequence
from datetime import datetime
from typing import Any

from automation.config.database import PostgresDatabase
from automation.core.errors import StoreError
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
from automation.store.postgres_connection import (
    APPLICATION,
    STATES_LOCK,
    Conn,
    PostgresConnection,
    columns,
    count_change,
    guarded,
    unforgotten_states,
)
from automation.store.rows import (
    FIRING_COLUMNS,
    KEPT_COUNTS,
    OUTBOX_COLUMNS,
    STATE_COLUMNS,
    datetime_or_none,
    epoch_or_none,
    firing_rows,
    history_entry,
    outbox_item,
    requeued_dead,
    state_row,
    where_clause,
)

__all__ = ["LedgerQueries"]

# A claim is free when nobody holds it, or when it was made under an earlier epoch and
# either the leader says its predecessor's actions are over, or the engine that claimed it
# has no session left (it died: what it had started died with it).
_STALE = (
    "(claim IS NULL OR (claim < (SELECT epoch FROM leadership WHERE id = 1) AND (%(reclaim)s"
    " OR NOT EXISTS (SELECT 1 FROM pg_stat_activity WHERE datname = current_database()"
    f" AND application_name = '{APPLICATION} ' || 'engine ' || claim))))"
)


class LedgerQueries(PostgresConnection):
    def __init__(self, database: PostgresDatabase, conn: Conn, **kw: Any) -> None:
        super().__init__(database, conn, **kw)
        # Whether claims made under an earlier epoch may be handed out again: the leader
        # that takes over says when (its predecessor's last action must be over).
        self.reclaim_stale: Callable[[], bool] = lambda: True

    @guarded
    def commit_cycle(self, write: CycleWrite) -> CommitResult:
        when = to_epoch(write.at)
        with self._tx() as conn:
            _set_versions(conn, write.rule_versions, when)
            _save_states(conn, write)
            new, duplicate = _split(write.firings, _insert_firings(conn, write.firings))
            queued = _queue_actions(conn, [f for f in new if f.kind == "fired"], when)
        return CommitResult(tuple(f.id for f in new), tuple(duplicate), tuple(queued))

    @guarded
    def claim_actions(
        self, now: datetime, limit: int, *, skip_rules: Collection[str] = ()
    ) -> list[OutboxItem]:
        with self._tx() as conn:
            params = {
                "term": self._claim_term(conn),
                "reclaim": self.reclaim_stale(),
                "now": to_epoch(now),
                "skip": list(skip_rules),
                "limit": limit,
            }
            rows = conn.execute(
                "WITH due AS (SELECT seq FROM outbox WHERE status = 'pending'"
                " AND next_attempt_at <= %(now)s AND NOT rule_id = ANY(%(skip)s::text[])"
                f" AND {_STALE} ORDER BY next_attempt_at, seq LIMIT %(limit)s"
                " FOR UPDATE SKIP LOCKED)"
                " UPDATE outbox AS o SET claim = %(term)s FROM due WHERE o.seq = due.seq"
                f" RETURNING o.seq, o.next_attempt_at, {_prefixed('o')}".encode(),
                params,
            ).fetchall()
            rows.sort(key=lambda row: (row[1], row[0]))
            digests = sorted({row[-1] for row in rows if row[-1] is not None})
            members = self._claim_digests(conn, digests, params) if digests else {}
        return self._handed_out([(seq, row) for seq, _, *row in rows], members)

    def _claim_digests(
        self, conn: Conn, digests: list[str], params: dict[str, Any]
    ) -> dict[str, list[tuple[Any, ...]]]:
        """The other pending actions of ``digests``: they go out in one request with the
        first one claimed."""
        rows = conn.execute(
            "UPDATE outbox SET claim = %(term)s WHERE seq IN (SELECT seq FROM outbox"
            " WHERE digest = ANY(%(digests)s::text[]) AND status = 'pending'"
            f" AND {_STALE} FOR UPDATE SKIP LOCKED)"
            f" RETURNING seq, {OUTBOX_COLUMNS}".encode(),
            {**params, "digests": digests},
        ).fetchall()
        out: dict[str, list[tuple[Any, ...]]] = {}
        for seq, *row in sorted(rows, key=lambda r: r[0]):
            out.setdefault(row[-1], []).append((seq, *row))
        return out

    def _handed_out(
        self, rows: list[tuple[int, list[Any]]], members: dict[str, list[tuple[Any, ...]]]
    ) -> list[OutboxItem]:
        claimed: list[OutboxItem] = []
        seen: set[str] = set()
        for seq, row in rows:
            try:
                item = outbox_item(tuple(row))
            except (TypeError, ValueError, OverflowError) as exc:
                self._bury(seq, exc)
                continue
            if item.id in seen:
                continue  # came with its digest already
            claimed.append(item)
            seen.add(item.id)
            for _, *member in members.get(item.digest or "", []) if item.digest else []:
                other = outbox_item(tuple(member))
                if other.id not in seen:
                    claimed.append(other)
                    seen.add(other.id)
        return claimed

    def _bury(self, seq: int, exc: Exception) -> None:
        """A row damaged outside the engine (a hand edit) is dead, never handed out."""
        reason = f"unreadable outbox row: {exc.__class__.__name__}: {exc}"
        with self._tx() as conn:
            conn.execute(
                b"UPDATE outbox SET status = 'dead', last_error = %s, claim = NULL WHERE seq = %s",
                [reason, seq],
            )

    @guarded
    def release_actions(self, action_ids: Iterable[str], *, due_at: datetime | None = None) -> None:
        ids = list(action_ids)
        if not ids:
            return
        # Fenced by the claim itself: an engine that stopped leading still gives back what
        # it holds, so the new leader need not wait to hand it out.
        conn = self._connection()
        with conn.transaction():
            term = self._claim_term(conn)
            conn.execute(
                b"UPDATE outbox SET claim = NULL,"
                b" next_attempt_at = coalesce(%s, next_attempt_at) WHERE status = 'pending'"
                b" AND id = ANY(%s::text[]) AND (claim IS NULL OR claim = %s)",
                [epoch_or_none(due_at), ids, term],
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
        conn = self._connection()
        with conn.transaction():
            found = conn.execute(
                f"SELECT claim, {OUTBOX_COLUMNS} FROM outbox WHERE id = %s FOR UPDATE".encode(),
                [action_id],
            ).fetchone()
            if found is None:
                raise StoreError(f"no action {action_id!r} in the outbox")
            if self.epoch is not None and found[0] != self._claim_term(conn):
                self._check_epoch(conn)  # not its claim: only the leader records it
            item = outbox_item(tuple(found[1:]))
            retry_at = epoch_or_none(checked_retry_at(item, outcome, next_attempt_at))
            number = item.attempts + 1
            conn.execute(
                b"INSERT INTO attempts (action_id, number, at, outcome, error, next_attempt_at)"
                b" VALUES (%s, %s, %s, %s, %s, %s)",
                [action_id, number, to_epoch(at), outcome, error, retry_at],
            )
            conn.execute(
                b"UPDATE outbox SET status = %s, attempts = %s, next_attempt_at = %s,"
                b" last_error = %s, claim = NULL WHERE id = %s",
                ["pending" if outcome == "retry" else outcome, number, retry_at, error, action_id],
            )

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
            ("status = %s", status),
            ("rule_id = %s", rule_id),
            ("post_id = %s", post_id),
            ("created_at >= %s", epoch_or_none(since)),
            ("created_at < %s", epoch_or_none(until)),
        )
        rows = self._rows(
            f"SELECT {OUTBOX_COLUMNS} FROM outbox{where} ORDER BY created_at DESC, seq DESC"
            " LIMIT %s",
            [*params, limit],
        )
        return [outbox_item(row) for row in rows]

    @guarded
    def action(self, action_id: str) -> OutboxItem | None:
        rows = self._rows(f"SELECT {OUTBOX_COLUMNS} FROM outbox WHERE id = %s", [action_id])
        return outbox_item(rows[0]) if rows else None

    @guarded
    def retry_actions(
        self, now: datetime, *, action_id: str | None = None, rule_id: str | None = None
    ) -> list[str]:
        where, values = requeued_dead(action_id, rule_id, mark="%s")
        query = (
            f"UPDATE outbox SET status = 'pending', next_attempt_at = %s WHERE {where} RETURNING id"
        )
        with self._tx() as conn:
            rows = conn.execute(query.encode(), [to_epoch(now), *values])
            return sorted(row[0] for row in rows.fetchall())

    @guarded
    def action_counts(self, rule_id: str | None = None) -> dict[str, int]:
        counts: dict[str, int] = dict.fromkeys(ACTION_STATUSES, 0)
        if rule_id is None:
            counts.update(self._rows(KEPT_COUNTS))
        else:
            counts.update(
                self._rows(
                    "SELECT status, count(*) FROM outbox WHERE rule_id = %s GROUP BY status",
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
            " WHERE action_id = %s ORDER BY number",
            [action_id],
        )
        return [
            AttemptRecord(action_id, number, from_epoch(at), outcome, error, datetime_or_none(nxt))
            for number, at, outcome, error, nxt in rows
        ]

    @guarded
    def fired_count(self, rule_id: str, since: datetime) -> int:
        [(count,)] = self._rows(
            "SELECT count(*) FROM firings WHERE rule_id = %s AND kind = 'fired' AND at > %s",
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
            ("rule_id = %s", rule_id),
            ("post_id = %s", post_id),
            ("kind = %s", kind),
            ("at >= %s", epoch_or_none(since)),
            ("at < %s", epoch_or_none(until)),
        )
        firings = self._rows(
            f"SELECT {FIRING_COLUMNS} FROM firings{where} ORDER BY at DESC, seq DESC LIMIT %s",
            [*params, limit],
        )
        items: dict[str, list[OutboxItem]] = {}
        for row in self._rows(
            f"SELECT {OUTBOX_COLUMNS} FROM outbox WHERE firing_id = ANY(%s::text[]) ORDER BY idx",
            [[row[0] for row in firings]],
        ):
            item = outbox_item(row)
            items.setdefault(item.firing_id, []).append(item)
        return [history_entry(row, tuple(items.get(row[0], ()))) for row in firings]

    @guarded
    def firing_counts(self, since: datetime, kind: str = "fired") -> dict[str, int]:
        rows = self._rows(
            "SELECT rule_id, count(*) FROM firings WHERE at >= %s AND kind = %s GROUP BY rule_id",
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
        match = "rule_id = %s AND rearmed_at IS NULL" + (
            "" if post_id is None else " AND post_id = %s"
        )
        match += "" if include_seeded else " AND kind != 'seeded'"
        params = [rule_id] if post_id is None else [rule_id, post_id]
        with self._tx() as conn:
            rows = conn.execute(
                f"SELECT {FIRING_COLUMNS} FROM firings WHERE {match} ORDER BY at, seq".encode(),
                params,
            ).fetchall()
            if not dry_run:
                conn.execute(STATES_LOCK)
                conn.execute(
                    f"UPDATE firings SET rearmed_at = %s WHERE {match}".encode(),
                    [to_epoch(at), *params],
                )
                conn.execute(
                    b"DELETE FROM rule_states WHERE rule_id = %s AND post_id = ANY(%s::text[])",
                    [rule_id, sorted({row[2] for row in rows})],
                )
                count_change(conn, STATES_CHANGED)
        return [history_entry(row, ()).firing for row in rows]

    @guarded
    def prune_ledger(self, before: datetime) -> LedgerPruned:
        done = (
            "SELECT f.id FROM firings f WHERE f.at < %(before)s AND NOT EXISTS"
            " (SELECT 1 FROM outbox p WHERE p.firing_id = f.id AND p.status = 'pending')"
        )
        params = {"before": to_epoch(before)}
        with self._tx() as conn:
            conn.execute(
                "DELETE FROM attempts WHERE action_id IN"
                f" (SELECT id FROM outbox WHERE firing_id IN ({done}))".encode(),
                params,
            )
            actions = conn.execute(
                f"DELETE FROM outbox WHERE firing_id IN ({done})".encode(), params
            )
            firings = conn.execute(f"DELETE FROM firings WHERE id IN ({done})".encode(), params)
            return LedgerPruned(firings=firings.rowcount, actions=actions.rowcount)


def _set_versions(conn: Conn, versions: Sequence[tuple[str, str]], at: float) -> None:
    """Record rule fingerprints; ``since`` moves only when the fingerprint changed."""
    if not versions:
        return
    rules, prints = columns(list(dict(versions).items()), 2)  # a rule given twice: the last
    conn.execute(
        b"INSERT INTO rule_versions (rule_id, fingerprint, since)"
        b" SELECT r, f, %s FROM unnest(%s::text[], %s::text[]) AS v(r, f)"
        b" ON CONFLICT (rule_id) DO UPDATE SET fingerprint = excluded.fingerprint,"
        b" since = CASE WHEN rule_versions.fingerprint = excluded.fingerprint"
        b" THEN rule_versions.since ELSE excluded.since END",
        [at, rules, prints],
    )


def _prefixed(alias: str) -> str:
    return ", ".join(f"{alias}.{name.strip()}" for name in OUTBOX_COLUMNS.split(","))


def _save_states(conn: Conn, write: CycleWrite) -> None:
    """Each (rule, post)'s last state: one INSERT ... ON CONFLICT may not touch a row twice."""
    states = unforgotten_states(conn, write)
    if not states:
        return
    last = {(rule, post): state for rule, post, state in states}
    rows = [(rule, post, *state_row(state)) for (rule, post), state in last.items()]
    names = STATE_COLUMNS.split(", ")
    conn.execute(
        f"INSERT INTO rule_states (rule_id, post_id, {STATE_COLUMNS}) SELECT * FROM"
        " unnest(%s::text[], %s::text[], %s::text[], %s::float8[], %s::int[], %s::float8[],"
        " %s::int[], %s::int[], %s::int[]) ON CONFLICT (rule_id, post_id) DO UPDATE SET "
        f"{', '.join(f'{n} = excluded.{n}' for n in names)}".encode(),
        columns(rows, 9),
    )


def _insert_firings(conn: Conn, firings: Sequence[FiringRecord]) -> set[Any]:
    """Insert in order; a firing whose live key is in the ledger is skipped. Returns the
    (id, rule, post, key) of those inserted. A reused id fails the whole transaction."""
    if not firings:
        return set()
    rows = list(firing_rows(firings))
    return set(
        conn.execute(
            b"INSERT INTO firings (id, rule_id, post_id, key, kind, at, milestone, metrics)"
            b" SELECT id, rule_id, post_id, key, kind, at, milestone, metrics FROM unnest("
            b"%s::text[], %s::text[], %s::text[], %s::text[], %s::text[], %s::float8[],"
            b" %s::int[], %s::text[]) WITH ORDINALITY"
            b" AS f(id, rule_id, post_id, key, kind, at, milestone, metrics, n) ORDER BY n"
            b" ON CONFLICT (rule_id, post_id, key) WHERE rearmed_at IS NULL DO NOTHING"
            b" RETURNING id, rule_id, post_id, key",
            columns(rows, 8),
        ).fetchall()
    )


def _split(firings: Sequence[FiringRecord], done: set[Any]) -> tuple[list[FiringRecord], list[str]]:
    """The firings inserted and the ids of the others (a firing given twice: its second)."""
    new: list[FiringRecord] = []
    duplicate: list[str] = []
    for f in firings:
        if (row := (f.id, f.rule_id, f.post_id, f.key)) in done:
            done.remove(row)
            new.append(f)
        else:
            duplicate.append(f.id)
    return new, duplicate


def _queue_actions(conn: Conn, firings: Sequence[FiringRecord], when: float) -> list[str]:
    rows = [
        (
            f"{f.id}.{a.index}",
            f.id,
            f.rule_id,
            f.post_id,
            a.index,
            a.kind,
            a.payload,
            when,
            when if a.due_at is None else to_epoch(a.due_at),
            a.digest,
        )
        for f in firings
        for a in f.actions
    ]
    if rows:
        conn.execute(
            b"INSERT INTO outbox (id, firing_id, rule_id, post_id, idx, kind, payload, status,"
            b" created_at, next_attempt_at, digest)"
            b" SELECT id, firing_id, rule_id, post_id, idx, kind, payload, 'pending', created,"
            b" due, digest FROM unnest(%s::text[], %s::text[], %s::text[], %s::text[],"
            b" %s::int[], %s::text[], %s::text[], %s::float8[], %s::float8[], %s::text[])"
            b" WITH ORDINALITY AS a(id, firing_id, rule_id, post_id, idx, kind, payload,"
            b" created, due, digest, n) ORDER BY n",
            columns(rows, 10),
        )
    return [row[0] for row in rows]

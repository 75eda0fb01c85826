"""The store in one SQLite file, through sqlite-utils: what survives restarts and crashes.

The file runs in WAL mode so ``status`` and ``history`` can read while the engine writes.
Every read-modify-write runs in ``BEGIN IMMEDIATE``: a deferred transaction that reads
first can fail at once with "database is locked" when another connection wrote meanwhile,
whatever the busy timeout. Times are passed in and stored as epoch seconds; SQLite's own
clock is never read (it would ignore the injected clock of tests and the dry run).

A ``SqliteStore`` belongs to the thread that opened it (sqlite3 refuses others). Any
failure of the database itself is raised as ``StoreError`` naming the file.
"""

from __future__ import annotations

import functools
import json
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, TypeVar

from sqlite_utils import Database

from automation.errors import StoreError
from automation.facts import RuleState, Snapshot
from automation.store.migrations import MIGRATIONS
from automation.store.records import (
    ACTION_STATUSES,
    BUDGET_KEEP_SECONDS,
    ActionRecord,
    AttemptOutcome,
    AttemptRecord,
    CommitResult,
    CycleWrite,
    FiringRecord,
    HistoryEntry,
    OutboxItem,
    RuleVersion,
    WatchedPostRecord,
    check_attempt,
    compose_snapshots,
    from_epoch,
    to_epoch,
)

__all__ = ["SqliteStore"]

_WAL_LIMIT_BYTES = 8 * 1024 * 1024
_P = ParamSpec("_P")
_R = TypeVar("_R")

_OUTBOX_COLUMNS = (
    "id, firing_id, rule_id, post_id, idx, kind, payload, status, attempts,"
    " created_at, next_attempt_at, last_error"
)
_FIRING_COLUMNS = "id, rule_id, post_id, key, kind, at, milestone, metrics, rearmed_at"


def _guarded(
    method: Callable[Concatenate[SqliteStore, _P], _R],
) -> Callable[Concatenate[SqliteStore, _P], _R]:
    """Turn sqlite3's errors into StoreError naming the file, so callers catch one class."""

    @functools.wraps(method)
    def wrapper(self: SqliteStore, *args: _P.args, **kwargs: _P.kwargs) -> _R:
        try:
            return method(self, *args, **kwargs)
        except sqlite3.Error as exc:
            raise StoreError(f"state database {self.path}: {exc}") from exc

    return wrapper


def _json_ids(ids: Iterable[str]) -> str:
    """Ids as one JSON parameter for ``IN (SELECT value FROM json_each(?))``: any number of
    ids, one placeholder."""
    return json.dumps(list(ids))


def _compact(values: Mapping[str, float]) -> str:
    return json.dumps(
        {k: int(v) if float(v).is_integer() else v for k, v in values.items()},
        separators=(",", ":"),
        sort_keys=True,
    )


def _epoch_or_none(moment: datetime | None) -> float | None:
    return to_epoch(moment) if moment is not None else None


def _datetime_or_none(seconds: float | None) -> datetime | None:
    return from_epoch(seconds) if seconds is not None else None


def _moments() -> Callable[[float | None], datetime | None]:
    """``_datetime_or_none`` that converts each distinct value once. The rows of one hot
    read share few times (a cycle's clock stamps its snapshots, seeds and first sightings),
    and building datetimes was most of what those reads cost."""
    seen: dict[float, datetime] = {}

    def moment(seconds: float | None) -> datetime | None:
        if seconds is None:
            return None
        found = seen.get(seconds)
        if found is None:
            found = seen[seconds] = from_epoch(seconds)
        return found

    return moment


class SqliteStore:
    """``Store`` in a SQLite file. Open with ``SqliteStore.open(path)``; one thread only."""

    def __init__(self, db: Database, path: Path) -> None:
        self._db = db
        self._conn = db.conn
        self.path = path

    @classmethod
    def open(cls, path: Path | str, *, timeout: float = 10.0) -> SqliteStore:
        """Open (creating if needed) and migrate the database at ``path``.

        ``timeout`` is how long a write waits for another connection's lock.
        """
        path = Path(path)
        if not path.parent.is_dir():
            raise StoreError(
                f"cannot open the state database {path}: directory {path.parent} does not exist"
            )
        if path.is_dir():
            raise StoreError(f"cannot open the state database {path}: it is a directory")
        conn: sqlite3.Connection | None = None
        try:
            conn = sqlite3.connect(path, timeout=timeout)
            db = Database(conn, execute_plugins=False)
            db.enable_wal()
            # An hourly prune touches most snapshot pages in one transaction; without a
            # limit the WAL file would stay that large (as big as the database) for good.
            db.execute(f"PRAGMA journal_size_limit = {_WAL_LIMIT_BYTES}")
            MIGRATIONS.apply(db)
        except sqlite3.Error as exc:
            if conn is not None:
                conn.close()
            raise StoreError(_open_failure(path, exc)) from exc
        return cls(db, path)

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> SqliteStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _immediate(self) -> Iterator[sqlite3.Connection]:
        """One write transaction that takes the write lock up front; rolled back on error."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._conn
        except BaseException:
            self._db.rollback()
            raise
        self._db.commit()

    def _rows(self, sql: str, params: Iterable[Any] = ()) -> list[tuple[Any, ...]]:
        return self._conn.execute(sql, tuple(params)).fetchall()

    # -- watched posts ------------------------------------------------------------------

    @_guarded
    def upsert_posts(self, records: Iterable[WatchedPostRecord]) -> None:
        rows = [
            (
                r.post_id,
                r.account,
                to_epoch(r.created_at),
                r.source,
                to_epoch(r.first_seen),
                _epoch_or_none(r.unavailable_at),
            )
            for r in records
        ]
        with self._immediate() as conn:
            conn.executemany(
                "INSERT INTO posts (post_id, account, created_at, source, first_seen,"
                " unavailable_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (post_id) DO UPDATE"
                " SET account = excluded.account, created_at = excluded.created_at,"
                " source = excluded.source, first_seen = min(first_seen, excluded.first_seen),"
                " unavailable_at = excluded.unavailable_at",
                rows,
            )

    @_guarded
    def posts(self, include_unavailable: bool = False) -> list[WatchedPostRecord]:
        where = "" if include_unavailable else " WHERE unavailable_at IS NULL"
        rows = self._rows(
            "SELECT post_id, account, created_at, source, first_seen, unavailable_at"
            f" FROM posts{where} ORDER BY created_at, post_id"
        )
        moment = _moments()
        return [
            WatchedPostRecord(
                post_id=post_id,
                account=account,
                created_at=from_epoch(created),
                source=source,
                first_seen=moment(first),  # type: ignore[arg-type]  # never NULL
                unavailable_at=gone if gone is None else moment(gone),
            )
            for post_id, account, created, source, first, gone in rows
        ]

    @_guarded
    def mark_unavailable(self, post_ids: Iterable[str], at: datetime) -> None:
        self._db.execute(
            "UPDATE posts SET unavailable_at = ? WHERE unavailable_at IS NULL"
            " AND post_id IN (SELECT value FROM json_each(?))",
            [to_epoch(at), _json_ids(post_ids)],
        )

    @_guarded
    def since_id(self, account: str) -> str | None:
        rows = self._rows("SELECT post_id FROM since_ids WHERE account = ?", [account])
        return rows[0][0] if rows else None

    @_guarded
    def set_since_id(self, account: str, post_id: str) -> None:
        self._db["since_ids"].upsert({"account": account, "post_id": post_id}, pk="account")

    # -- metric snapshots ---------------------------------------------------------------

    @_guarded
    def record_totals(self, at: datetime, totals: Mapping[str, Mapping[str, float]]) -> int:
        when = to_epoch(at)
        if not totals:
            return 0
        with self._immediate() as conn:
            metric_ids = self._metric_ids({m for values in totals.values() for m in values})
            known = {
                post_id: (series, json.loads(latest))
                for series, post_id, latest in self._rows(
                    "SELECT id, post_id, latest FROM series"
                    " WHERE post_id IN (SELECT value FROM json_each(?))",
                    [_json_ids(totals)],
                )
            }
            updates: list[tuple[str, float, int]] = []
            points: list[tuple[int, int, float, float]] = []
            for post_id, values in totals.items():
                series, latest = known.get(post_id, (None, {}))
                changed = {m: float(v) for m, v in values.items() if latest.get(m) != v}
                if not changed:
                    continue
                latest.update(changed)
                if series is None:
                    series = conn.execute(
                        "INSERT INTO series (post_id, latest, latest_at) VALUES (?, ?, ?)",
                        (post_id, _compact(latest), when),
                    ).lastrowid
                else:
                    updates.append((_compact(latest), when, series))
                points.extend((series, metric_ids[m], when, v) for m, v in changed.items())
            conn.executemany("UPDATE series SET latest = ?, latest_at = ? WHERE id = ?", updates)
            conn.executemany("INSERT OR REPLACE INTO snapshots VALUES (?, ?, ?, ?)", points)
        return len({p[0] for p in points})

    def _metric_ids(self, names: set[str]) -> dict[str, int]:
        """Small integer ids for metric names, adding new names (inside the caller's
        transaction)."""
        self._conn.executemany(
            "INSERT OR IGNORE INTO metric_names (name) VALUES (?)", [(n,) for n in names]
        )
        return {name: mid for mid, name in self._rows("SELECT id, name FROM metric_names")}

    @_guarded
    def latest_totals(self, post_ids: Iterable[str]) -> dict[str, dict[str, float]]:
        rows = self._rows(
            "SELECT post_id, latest FROM series WHERE post_id IN (SELECT value FROM json_each(?))",
            [_json_ids(post_ids)],
        )
        return {
            post_id: {m: float(v) for m, v in json.loads(latest).items()}
            for post_id, latest in rows
        }

    @_guarded
    def snapshots(
        self, post_ids: Iterable[str], since: datetime
    ) -> dict[str, tuple[Snapshot, ...]]:
        start = to_epoch(since)
        wanted = list(post_ids)
        names = {mid: name for mid, name in self._rows("SELECT id, name FROM metric_names")}
        chosen = "(SELECT id FROM series WHERE post_id IN (SELECT value FROM json_each(?)))"
        ids = {
            series: post_id
            for series, post_id in self._rows(
                "SELECT id, post_id FROM series WHERE post_id IN (SELECT value FROM json_each(?))",
                [_json_ids(wanted)],
            )
        }
        moment = _moments()
        baselines: dict[str, dict[str, tuple[datetime, float]]] = {}
        # SQLite takes the bare ``value`` from the row holding max(at).
        for series, metric, at, value in self._rows(
            "SELECT series, metric, max(at), value FROM snapshots"
            f" WHERE series IN {chosen} AND at <= ? GROUP BY series, metric",
            [_json_ids(wanted), start],
        ):
            baselines.setdefault(ids[series], {})[names[metric]] = (moment(at), value)
        changes: dict[str, list[tuple[datetime, str, float]]] = {}
        for series, metric, at, value in self._rows(
            "SELECT series, metric, at, value FROM snapshots"
            f" WHERE series IN {chosen} AND at > ? ORDER BY series, at, metric",
            [_json_ids(wanted), start],
        ):
            changes.setdefault(ids[series], []).append((moment(at), names[metric], value))
        return {p: compose_snapshots(baselines.get(p, {}), changes.get(p, [])) for p in wanted}

    @_guarded
    def prune_snapshots(self, before: datetime) -> int:
        with self._immediate() as conn:
            cursor = conn.execute(
                "DELETE FROM snapshots AS old WHERE old.at < :before AND EXISTS ("
                " SELECT 1 FROM snapshots AS newer WHERE newer.series = old.series"
                " AND newer.metric = old.metric AND newer.at > old.at"
                " AND newer.at <= :before)",
                {"before": to_epoch(before)},
            )
            return cursor.rowcount

    @_guarded
    def top(self, metric: str, n: int) -> list[tuple[str, float]]:
        rows = self._rows(
            "SELECT s.post_id, j.value FROM series AS s JOIN posts AS p ON p.post_id = s.post_id,"
            " json_each(s.latest) AS j WHERE p.unavailable_at IS NULL AND j.key = ?"
            " ORDER BY j.value DESC, s.post_id LIMIT ?",
            [metric, n],
        )
        return [(post_id, float(value)) for post_id, value in rows]

    # -- rules ----------------------------------------------------------------------------

    @_guarded
    def rule_versions(self) -> dict[str, RuleVersion]:
        rows = self._rows("SELECT rule_id, fingerprint, since FROM rule_versions")
        return {rule: RuleVersion(fp, from_epoch(since)) for rule, fp, since in rows}

    @_guarded
    def set_rule_version(self, rule_id: str, fingerprint: str, at: datetime) -> None:
        with self._immediate() as conn:
            _set_version(conn, rule_id, fingerprint, to_epoch(at))

    @_guarded
    def rule_states(self, rule_id: str) -> dict[str, RuleState]:
        rows = self._rows(
            f"SELECT post_id, {_STATE_COLUMNS} FROM rule_states WHERE rule_id = ?", [rule_id]
        )
        moment = _moments()
        return {row[0]: _state(row[1:], moment) for row in rows}

    @_guarded
    def rule_state(self, rule_id: str, post_id: str) -> RuleState | None:
        rows = self._rows(
            f"SELECT {_STATE_COLUMNS} FROM rule_states WHERE rule_id = ? AND post_id = ?",
            [rule_id, post_id],
        )
        return _state(rows[0]) if rows else None

    # -- ledger and outbox ----------------------------------------------------------------

    @_guarded
    def commit_cycle(self, write: CycleWrite) -> CommitResult:
        when = to_epoch(write.at)
        new: list[str] = []
        duplicate: list[str] = []
        queued: list[str] = []
        with self._immediate() as conn:
            for rule_id, fingerprint in write.rule_versions:
                _set_version(conn, rule_id, fingerprint, when)
            conn.executemany(
                f"INSERT OR REPLACE INTO rule_states (rule_id, post_id, {_STATE_COLUMNS})"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [(rule, post, *_state_row(state)) for rule, post, state in write.states],
            )
            for firing in write.firings:
                if _live_key_exists(conn, firing):
                    duplicate.append(firing.id)
                    continue
                _insert_firing(conn, firing)
                new.append(firing.id)
                if firing.kind == "fired":
                    queued.extend(_queue_actions(conn, firing, when))
        return CommitResult(tuple(new), tuple(duplicate), tuple(queued))

    @_guarded
    def due_actions(self, now: datetime, limit: int = 100) -> list[OutboxItem]:
        rows = self._rows(
            f"SELECT {_OUTBOX_COLUMNS} FROM outbox WHERE status = 'pending'"
            " AND next_attempt_at <= ? ORDER BY next_attempt_at, seq LIMIT ?",
            [to_epoch(now), limit],
        )
        return [_item(row) for row in rows]

    @_guarded
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
            retry_at = _epoch_or_none(check_attempt(item, outcome, next_attempt_at))
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

    @_guarded
    def actions(self, status: str | None = None, limit: int = 100) -> list[OutboxItem]:
        where = "" if status is None else " WHERE status = ?"
        params: list[Any] = [] if status is None else [status]
        rows = self._rows(
            f"SELECT {_OUTBOX_COLUMNS} FROM outbox{where} ORDER BY created_at DESC, seq DESC"
            " LIMIT ?",
            [*params, limit],
        )
        return [_item(row) for row in rows]

    @_guarded
    def action(self, action_id: str) -> OutboxItem | None:
        return self._action(action_id)

    def _action(self, action_id: str) -> OutboxItem | None:
        rows = self._rows(f"SELECT {_OUTBOX_COLUMNS} FROM outbox WHERE id = ?", [action_id])
        return _item(rows[0]) if rows else None

    @_guarded
    def retry_action(self, action_id: str, now: datetime) -> bool:
        cursor = self._db.execute(
            "UPDATE outbox SET status = 'pending', next_attempt_at = ?"
            " WHERE id = ? AND status = 'dead'",
            [to_epoch(now), action_id],
        )
        return cursor.rowcount == 1

    @_guarded
    def action_counts(self) -> dict[str, int]:
        counts = dict.fromkeys(ACTION_STATUSES, 0)
        counts.update(self._rows("SELECT status, count(*) FROM outbox GROUP BY status"))
        return counts

    @_guarded
    def attempts(self, action_id: str) -> list[AttemptRecord]:
        rows = self._rows(
            "SELECT number, at, outcome, error, next_attempt_at FROM attempts"
            " WHERE action_id = ? ORDER BY number",
            [action_id],
        )
        return [
            AttemptRecord(action_id, number, from_epoch(at), outcome, error, _datetime_or_none(nxt))
            for number, at, outcome, error, nxt in rows
        ]

    # -- history and rearm ----------------------------------------------------------------

    @_guarded
    def history(
        self, rule_id: str | None = None, post_id: str | None = None, limit: int = 20
    ) -> list[HistoryEntry]:
        given = [
            (c, v) for c, v in (("rule_id = ?", rule_id), ("post_id = ?", post_id)) if v is not None
        ]
        clauses = [c for c, _ in given]
        params = [v for _, v in given]
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        firings = self._rows(
            f"SELECT {_FIRING_COLUMNS} FROM firings{where} ORDER BY at DESC, seq DESC LIMIT ?",
            [*params, limit],
        )
        items: dict[str, list[OutboxItem]] = {}
        for row in self._rows(
            f"SELECT {_OUTBOX_COLUMNS} FROM outbox"
            " WHERE firing_id IN (SELECT value FROM json_each(?)) ORDER BY idx",
            [_json_ids(row[0] for row in firings)],
        ):
            item = _item(row)
            items.setdefault(item.firing_id, []).append(item)
        return [_entry(row, tuple(items.get(row[0], ()))) for row in firings]

    @_guarded
    def rearm(self, rule_id: str, post_id: str | None, at: datetime) -> int:
        match = "rule_id = ?" + ("" if post_id is None else " AND post_id = ?")
        params = [rule_id] if post_id is None else [rule_id, post_id]
        with self._immediate() as conn:
            cursor = conn.execute(
                f"UPDATE firings SET rearmed_at = ? WHERE {match} AND rearmed_at IS NULL",
                [to_epoch(at), *params],
            )
            conn.execute(f"DELETE FROM rule_states WHERE {match}", params)
            return cursor.rowcount

    # -- budget and meta ------------------------------------------------------------------

    @_guarded
    def budget_load(self, api: str, since: float) -> list[float]:
        rows = self._rows(
            "SELECT at FROM budget WHERE api = ? AND at >= ? ORDER BY at", [api, since]
        )
        return [at for (at,) in rows]

    @_guarded
    def budget_record(self, api: str, at: float) -> None:
        with self._immediate() as conn:
            conn.execute("INSERT INTO budget (api, at) VALUES (?, ?)", (api, at))
            conn.execute(
                "DELETE FROM budget WHERE api = ? AND at < ?", (api, at - BUDGET_KEEP_SECONDS)
            )

    @_guarded
    def set_meta(self, key: str, value: str) -> None:
        self._db["meta"].upsert({"key": key, "value": value}, pk="key")

    @_guarded
    def meta(self, key: str) -> str | None:
        rows = self._rows("SELECT value FROM meta WHERE key = ?", [key])
        return rows[0][0] if rows else None


_STATE_COLUMNS = "fingerprint, holding_since, last_truth, last_fired_at, milestone, done, fires"


def _state_row(state: RuleState) -> tuple[Any, ...]:
    return (
        state.fingerprint,
        _epoch_or_none(state.holding_since),
        None if state.last_truth is None else int(state.last_truth),
        _epoch_or_none(state.last_fired_at),
        state.milestone,
        int(state.done),
        state.fires,
    )


def _state(
    row: tuple[Any, ...],
    moment: Callable[[float | None], datetime | None] = _datetime_or_none,
) -> RuleState:
    fingerprint, holding, truth, fired, milestone, done, fires = row
    return RuleState(
        fingerprint=fingerprint,
        holding_since=moment(holding),
        last_truth=None if truth is None else bool(truth),
        last_fired_at=moment(fired),
        milestone=milestone,
        done=bool(done),
        fires=fires,
    )


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


def _live_key_exists(conn: sqlite3.Connection, firing: FiringRecord) -> bool:
    return (
        conn.execute(
            "SELECT 1 FROM firings WHERE rule_id = ? AND post_id = ? AND key = ?"
            " AND rearmed_at IS NULL",
            (firing.rule_id, firing.post_id, firing.key),
        ).fetchone()
        is not None
    )


def _insert_firing(conn: sqlite3.Connection, firing: FiringRecord) -> None:
    conn.execute(
        "INSERT INTO firings (id, rule_id, post_id, key, kind, at, milestone, metrics)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            firing.id,
            firing.rule_id,
            firing.post_id,
            firing.key,
            firing.kind,
            to_epoch(firing.at),
            firing.milestone,
            json.dumps(dict(firing.metrics), separators=(",", ":")),
        ),
    )


def _queue_actions(conn: sqlite3.Connection, firing: FiringRecord, when: float) -> list[str]:
    rows = [
        (
            f"{firing.id}.{a.index}",
            firing.id,
            firing.rule_id,
            firing.post_id,
            a.index,
            a.kind,
            a.payload,
            "pending",
            0,
            when,
            when,
        )
        for a in firing.actions
    ]
    conn.executemany(
        "INSERT INTO outbox (id, firing_id, rule_id, post_id, idx, kind, payload, status,"
        " attempts, created_at, next_attempt_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        rows,
    )
    return [row[0] for row in rows]


def _item(row: tuple[Any, ...]) -> OutboxItem:
    action_id, firing_id, rule_id, post_id, idx, kind, payload, status, attempts = row[:9]
    created, next_at, last_error = row[9:]
    return OutboxItem(
        id=action_id,
        firing_id=firing_id,
        rule_id=rule_id,
        post_id=post_id,
        index=idx,
        kind=kind,
        payload=payload,
        status=status,
        attempts=attempts,
        created_at=from_epoch(created),
        next_attempt_at=_datetime_or_none(next_at),
        last_error=last_error,
    )


def _entry(row: tuple[Any, ...], items: tuple[OutboxItem, ...]) -> HistoryEntry:
    firing_id, rule_id, post_id, key, kind, at, milestone, metrics, rearmed_at = row
    firing = FiringRecord(
        id=firing_id,
        rule_id=rule_id,
        post_id=post_id,
        key=key,
        kind=kind,
        at=from_epoch(at),
        milestone=milestone,
        metrics={k: float(v) for k, v in json.loads(metrics).items()},
        actions=tuple(ActionRecord(i.index, i.kind, i.payload) for i in items),
    )
    return HistoryEntry(firing, _datetime_or_none(rearmed_at), items)


def _open_failure(path: Path, exc: sqlite3.Error) -> str:
    """A message that says what to check, since sqlite3's own words rarely name the file."""
    text = str(exc)
    if "not a database" in text:
        return f"{path} is not a SQLite database (wrong file, or damaged): {text}"
    if "readonly" in text or "unable to open" in text or "permission" in text.lower():
        return (
            f"cannot open the state database {path} for writing; check that the file and its"
            f" directory are writable by this user: {text}"
        )
    if "locked" in text:
        return f"the state database {path} is locked by another process: {text}"
    return f"cannot use the state database {path}: {text}"

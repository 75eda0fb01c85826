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

import contextlib
import sqlite3
from collections.abc import Collection, Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from automation.config.database import MigrateMode
from automation.core.errors import SchemaNewer, SchemaOutdated, StoreError
from automation.core.facts import RuleState
from automation.core.records import (
    BUDGET_KEEP_SECONDS,
    RuleVersion,
    WatchedPostRecord,
    from_epoch,
    to_epoch,
)
from automation.core.wording import shown_path
from automation.store.base import POSTS_CHANGED
from automation.store.migrations import MIGRATIONS, unknown_migrations
from automation.store.rows import (
    POST_COLUMNS,
    STATE_COLUMNS,
    epoch_or_none,
    json_ids,
    moments,
    post_records,
    state_from_row,
)
from automation.store.sqlite_changes import ChangeQueries
from automation.store.sqlite_connection import count_change, guarded, read_only_uri
from automation.store.sqlite_export_parts import ExportPartQueries
from automation.store.sqlite_hourly import HourlyQueries
from automation.store.sqlite_ledger import LedgerQueries
from automation.store.sqlite_pauses import PauseQueries
from automation.store.sqlite_snapshots import SnapshotQueries

__all__ = ["SqliteStore"]

_WAL_LIMIT_BYTES = 8 * 1024 * 1024
_LOOKUPS = 2_000  # post_accounts looks IDs up one by one below this many
_OWNED = "SELECT post_id, account FROM posts WHERE account IS NOT NULL"


class SqliteStore(
    SnapshotQueries, LedgerQueries, ExportPartQueries, HourlyQueries, PauseQueries, ChangeQueries
):
    """``Store`` in a SQLite file. Open with ``SqliteStore.open(path)``; one thread only.

    The snapshot, ledger, hourly-history, pause and change queries are in their own modules;
    watched posts, rule versions and states, the request budget and status values are here.
    """

    @classmethod
    def open(
        cls, path: Path | str, *, timeout: float = 10.0, migrate: MigrateMode = "auto"
    ) -> SqliteStore:
        """Open (creating if needed) and migrate the database at ``path``; with ``migrate``
        ``manual`` a schema that is behind raises ``SchemaOutdated`` instead.

        ``timeout`` is how long a write waits for another connection's lock.
        """
        path = Path(path)
        if not path.parent.is_dir():
            raise StoreError(
                f"cannot open the state database {shown_path(str(path))}: directory "
                f"{shown_path(str(path.parent))} does not exist"
            )
        if path.is_dir():
            raise StoreError(
                f"cannot open the state database {shown_path(str(path))}: it is a directory"
            )
        conn: sqlite3.Connection | None = None
        try:
            conn = sqlite3.connect(path, timeout=timeout)
            db = Database(conn, execute_plugins=False)
            db.enable_wal()
            # A snapshot prune touches most of their pages in one transaction; without a
            # limit the WAL file would stay that large (as big as the database) for good.
            db.execute(f"PRAGMA journal_size_limit = {_WAL_LIMIT_BYTES}")
            if unknown := unknown_migrations(db):
                conn.close()
                raise SchemaNewer(path, unknown)
            if migrate == "auto":
                MIGRATIONS.apply(db)
            elif pending := [m.name for m in MIGRATIONS.pending(db)]:
                conn.close()
                raise SchemaOutdated(
                    f"the database {shown_path(str(path))} lacks {len(pending)} "
                    "migration(s) this engine needs"
                    f" ({', '.join(pending)}): run 'automation migrate'"
                )
        except sqlite3.Error as exc:
            if conn is not None:
                conn.close()
            raise StoreError(_open_failure(path, exc)) from exc
        return cls(db, path)

    @classmethod
    def open_readonly(
        cls, path: Path | str, *, timeout: float = 5.0, current: bool = False
    ) -> SqliteStore:
        """Open an existing, migrated database only to read it (the dashboard's pages, or a
        command run by a user who may not write it): no migration, and every write fails.
        In WAL mode a reader never takes the write lock, so it never holds up the engine.
        ``current``: refuse a schema other than this version's (a command; the dashboard's
        pages beside a running engine skip the two reads it costs)."""
        path = Path(path)
        if not path.is_file():
            raise StoreError(f"no state database at {shown_path(str(path))}")
        conn: sqlite3.Connection | None = None
        try:
            conn = sqlite3.connect(read_only_uri(path), uri=True, timeout=timeout)
            conn.execute("PRAGMA query_only = 1")
            db = Database(conn, execute_plugins=False)
            unknown = unknown_migrations(db) if current else []
            pending = MIGRATIONS.pending(db) if current else []
        except sqlite3.Error as exc:
            if conn is not None:
                conn.close()
            raise StoreError(_open_failure(path, exc)) from exc
        if unknown or pending:
            conn.close()
            raise (
                SchemaNewer(path, unknown)
                if unknown
                else SchemaOutdated(
                    f"the database {shown_path(str(path))} lacks {len(pending)} "
                    "migration(s) this version needs"
                    f" ({', '.join(m.name for m in pending)}) and is opened only to read: run"
                    " 'automation migrate' as a user who may write it and its directory, or"
                    " copy it to a writable disk and name the copy in the config's database:"
                )
            )
        return cls(db, path)

    @staticmethod
    def applied_migrations(path: Path) -> list[str]:
        """The migrations the file at ``path`` has (none when there is no file)."""
        if not path.is_file():
            return []
        conn = sqlite3.connect(path)
        try:
            return [m.name for m in MIGRATIONS.applied(Database(conn, execute_plugins=False))]
        finally:
            conn.close()

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> SqliteStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- watched posts ------------------------------------------------------------------

    @guarded
    def upsert_posts(self, records: Iterable[WatchedPostRecord]) -> None:
        rows = [
            (
                r.post_id,
                r.account,
                to_epoch(r.created_at),
                r.source,
                to_epoch(r.first_seen),
                epoch_or_none(r.unavailable_at),
            )
            for r in records
        ]
        if not rows:
            return
        with self._immediate() as conn:
            count_change(conn, POSTS_CHANGED)
            conn.executemany(
                "INSERT INTO posts (post_id, account, created_at, source, first_seen,"
                " unavailable_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (post_id) DO UPDATE"
                " SET account = excluded.account, created_at = excluded.created_at,"
                " source = excluded.source, first_seen = min(first_seen, excluded.first_seen),"
                " unavailable_at = excluded.unavailable_at",
                rows,
            )

    @guarded
    def posts(self, include_unavailable: bool = False) -> list[WatchedPostRecord]:
        where = "" if include_unavailable else " WHERE unavailable_at IS NULL"
        return self._post_records(f"{where} ORDER BY created_at, post_id")

    @guarded
    def covered_posts(
        self, accounts: Collection[str], post_ids: Collection[str], since: datetime
    ) -> list[WatchedPostRecord]:
        return self._post_records(
            " WHERE unavailable_at IS NULL AND (post_id IN (SELECT value FROM json_each(?))"
            " OR (source = 'timeline' AND created_at >= ?"
            " AND account IN (SELECT value FROM json_each(?))))"
            " ORDER BY created_at, post_id",
            [json_ids(post_ids), to_epoch(since), json_ids(accounts)],
        )

    @guarded
    def post(self, post_id: str) -> WatchedPostRecord | None:
        found = self._post_records(" WHERE post_id = ?", [post_id])
        return found[0] if found else None

    @guarded
    def post_counts(self) -> dict[str, int]:
        [(total, gone)] = self._rows("SELECT count(*), count(unavailable_at) FROM posts")
        return {"available": total - gone, "unavailable": gone}

    @guarded
    def unavailable_posts(self, limit: int | None = 20) -> list[WatchedPostRecord]:
        return self._post_records(
            " WHERE unavailable_at IS NOT NULL ORDER BY unavailable_at DESC, post_id DESC LIMIT ?",
            [-1 if limit is None else limit],  # -1: no limit
        )

    def _post_records(self, clauses: str, params: Iterable[Any] = ()) -> list[WatchedPostRecord]:
        return post_records(
            self._conn.execute(f"SELECT {POST_COLUMNS} FROM posts{clauses}", tuple(params))
        )

    @guarded
    def post_accounts(self, post_ids: Iterable[str]) -> list[str | None]:
        ids = list(post_ids)
        rows: Iterable[tuple[str, str]]
        if len(ids) < _LOOKUPS:
            rows = self._rows(
                f"{_OWNED} AND post_id IN (SELECT value FROM json_each(?))", [json_ids(ids)]
            )
        else:  # a long list: one pass over the owned posts costs less than a lookup per ID
            rows = self._owned()
        found = dict(rows)
        return list(map(found.get, ids))  # one C-level look-up an ID

    def _owned(self) -> Iterable[tuple[str, str]]:
        """Every owned post and its account, from two joined texts (IDs, accounts): no row
        tuple and no new account string per post (0.022 against 0.042 s for 60,000 owned
        posts), unless a text holds the separator (a newline): then row by row."""
        ids_text, accounts_text = self._conn.execute(
            "SELECT group_concat(post_id, char(10)), group_concat(account, char(10))"
            " FROM posts WHERE account IS NOT NULL"
        ).fetchone()
        if ids_text is None:
            return ()
        ids, accounts = ids_text.split("\n"), accounts_text.split("\n")
        if len(ids) != len(accounts):
            return self._rows(_OWNED)
        one = {name: name for name in set(accounts)}  # one string per account
        return zip(ids, map(one.__getitem__, accounts), strict=True)

    @guarded
    def mark_unavailable(self, post_ids: Iterable[str], at: datetime) -> None:
        ids = list(post_ids)
        if not ids:
            return
        with self._immediate() as conn:
            count_change(conn, POSTS_CHANGED)
            conn.execute(
                "UPDATE posts SET unavailable_at = ? WHERE unavailable_at IS NULL"
                " AND post_id IN (SELECT value FROM json_each(?))",
                [to_epoch(at), json_ids(ids)],
            )

    @guarded
    def since_id(self, account: str) -> str | None:
        rows = self._rows("SELECT post_id FROM since_ids WHERE account = ?", [account])
        return rows[0][0] if rows else None

    @guarded
    def set_since_id(self, account: str, post_id: str) -> None:
        self._db.table("since_ids").upsert({"account": account, "post_id": post_id}, pk="account")

    # -- rules ----------------------------------------------------------------------------

    @guarded
    def rule_versions(self) -> dict[str, RuleVersion]:
        rows = self._rows("SELECT rule_id, fingerprint, since FROM rule_versions")
        return {rule: RuleVersion(fp, from_epoch(since)) for rule, fp, since in rows}

    @guarded
    def rule_states(self, rule_id: str) -> dict[str, RuleState]:
        rows = self._rows(
            f"SELECT post_id, {STATE_COLUMNS} FROM rule_states WHERE rule_id = ?", [rule_id]
        )
        moment = moments()
        return {row[0]: state_from_row(row[1:], moment) for row in rows}

    @guarded
    def rule_state(self, rule_id: str, post_id: str) -> RuleState | None:
        rows = self._rows(
            f"SELECT {STATE_COLUMNS} FROM rule_states WHERE rule_id = ? AND post_id = ?",
            [rule_id, post_id],
        )
        return state_from_row(rows[0]) if rows else None

    # -- budget and meta ------------------------------------------------------------------

    @guarded
    def budget_load(self, api: str, since: float) -> list[float]:
        rows = self._rows(
            "SELECT at FROM budget WHERE api = ? AND at >= ? ORDER BY at", [api, since]
        )
        return [at for (at,) in rows]

    @guarded
    def budget_record(self, api: str, at: float) -> None:
        with self._immediate(flush=False) as conn:
            conn.execute("INSERT INTO budget (api, at) VALUES (?, ?)", (api, at))
            conn.execute(
                "DELETE FROM budget WHERE api = ? AND at < ?", (api, at - BUDGET_KEEP_SECONDS)
            )

    @guarded
    def budget_claim(
        self, api: str, at: float, since: float, allowance: int, count: int = 1
    ) -> int:
        # one a request or block: not flushed to disk each (a power cut outlasts any
        # minute's window)
        with self._immediate(flush=False) as conn:
            (used,) = conn.execute(
                "SELECT COUNT(*) FROM budget WHERE api = ? AND at > ?", (api, since)
            ).fetchone()
            kept = max(0, min(count, allowance - int(used)))
            if not kept:
                return 0
            conn.executemany("INSERT INTO budget (api, at) VALUES (?, ?)", [(api, at)] * kept)
            conn.execute(
                "DELETE FROM budget WHERE api = ? AND at < ?", (api, at - BUDGET_KEEP_SECONDS)
            )
        return kept

    @guarded
    def set_meta(self, key: str, value: str) -> None:
        self._db.table("meta").upsert({"key": key, "value": value}, pk="key")

    @guarded
    def meta(self, key: str) -> str | None:
        rows = self._rows("SELECT value FROM meta WHERE key = ?", [key])
        return rows[0][0] if rows else None

    def size_bytes(self) -> int | None:
        total = 0
        for name in (self.path.name, f"{self.path.name}-wal"):
            with contextlib.suppress(FileNotFoundError):  # no -wal after a clean close
                total += self.path.with_name(name).stat().st_size
        return total


def _open_failure(path: Path, exc: sqlite3.Error) -> str:
    """A message that says what to check, since sqlite3's own words rarely name the file."""
    text = str(exc)
    if "not a database" in text:
        return f"{shown_path(str(path))} is not a SQLite database (wrong file, or damaged): {text}"
    if "readonly" in text or "unable to open" in text or "permission" in text.lower():
        return (
            f"cannot open the state database {shown_path(str(path))} for writing; check "
            "that the file and its"
            f" directory are writable by this user: {text}"
        )
    if "locked" in text:
        return f"the state database {shown_path(str(path))} is locked by another process: {text}"
    return f"cannot use the state database {shown_path(str(path))}: {text}"

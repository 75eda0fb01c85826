"""The store in a PostgreSQL database, through psycopg 3: for several engines on several
machines, one of which leads (``postgres_leadership``).

The tables are the SQLite store's (``postgres_schema``) and rows become records through
the same ``rows`` functions. Times are passed in and stored as epoch seconds; the
server's clock is never read for the engine's data. Lists of ids travel as one array
parameter (``= ANY(%s)``) and bulk writes as column arrays (``unnest``), so a cycle over
10,000 posts costs a few round trips, not 10,000.

A ``PostgresStore`` is used from one thread. Any failure of the database is raised as
``StoreError`` naming it (never its password); a lost connection is made again at the
next call.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import datetime
from typing import Any

from automation.config.database import MigrateMode, PostgresDatabase
from automation.core.errors import SchemaOutdated, StoreError
from automation.core.facts import RuleState
from automation.core.post_discovery import merge_posts
from automation.core.records import (
    BUDGET_KEEP_SECONDS,
    RuleVersion,
    WatchedPostRecord,
    from_epoch,
    to_epoch,
)
from automation.store import postgres_schema
from automation.store.base import POSTS_CHANGED
from automation.store.postgres_changes import ChangeQueries
from automation.store.postgres_connection import (
    columns,
    connect,
    count_change,
    engine_role,
    engine_settings,
    first_line,
    guarded,
)
from automation.store.postgres_export_parts import ExportPartQueries
from automation.store.postgres_hourly import HourlyQueries
from automation.store.postgres_ledger import LedgerQueries
from automation.store.postgres_pauses import PauseQueries
from automation.store.postgres_snapshots import SnapshotQueries
from automation.store.rows import (
    POST_COLUMNS,
    STATE_COLUMNS,
    epoch_or_none,
    moments,
    post_records,
    state_from_row,
)

__all__ = ["PostgresStore"]


class PostgresStore(
    SnapshotQueries, LedgerQueries, ExportPartQueries, HourlyQueries, PauseQueries, ChangeQueries
):
    """``Store`` in a PostgreSQL database. Open with ``PostgresStore.open(database)``."""

    @classmethod
    def open(
        cls,
        database: PostgresDatabase,
        *,
        migrate: MigrateMode = "manual",
        epoch: int | None = None,
    ) -> PostgresStore:
        """Connect, and migrate when ``migrate`` is ``auto``; with ``manual`` a database
        whose schema is behind raises ``SchemaOutdated``. ``epoch`` fences every write
        with the leadership of the engine that opens it."""
        conn = connect(database, role=engine_role(epoch), settings=engine_settings(epoch))
        try:
            postgres_schema.refuse_newer(database, conn)
            if migrate == "auto":
                postgres_schema.apply(conn, leading=epoch is not None)
            else:
                check_schema(database, postgres_schema.pending(conn))
        except BaseException as exc:
            conn.close()
            if isinstance(exc, StoreError):
                raise
            raise StoreError(f"cannot use the database {database}: {first_line(exc)}") from None
        return cls(database, conn, epoch=epoch)

    @classmethod
    def open_readonly(cls, database: PostgresDatabase) -> PostgresStore:
        """Only to read (the dashboard's pages): every write fails."""
        conn = connect(database, role="reader", read_only=True)
        try:
            postgres_schema.refuse_newer(database, conn)
            check_schema(database, postgres_schema.pending(conn))
        except BaseException:
            conn.close()
            raise
        return cls(database, conn, read_only=True)

    def __enter__(self) -> PostgresStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- watched posts ------------------------------------------------------------------

    @guarded
    def upsert_posts(self, records: Iterable[WatchedPostRecord]) -> None:
        records = list(records)
        if len({r.post_id for r in records}) < len(records):
            # one statement may not update a row twice: a post given twice (a timeline
            # read page by page may list it twice) is merged first, as SQLite applies it
            records = merge_posts((), records)
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
        with self._tx() as conn:
            count_change(conn, POSTS_CHANGED)
            conn.execute(
                f"INSERT INTO posts ({POST_COLUMNS}) SELECT * FROM unnest(%s::text[],"
                " %s::text[], %s::float8[], %s::text[], %s::float8[], %s::float8[])"
                " ON CONFLICT (post_id) DO UPDATE SET account = excluded.account,"
                " created_at = excluded.created_at, source = excluded.source,"
                " first_seen = least(posts.first_seen, excluded.first_seen),"
                " unavailable_at = excluded.unavailable_at".encode(),
                columns(rows, 6),
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
            " WHERE unavailable_at IS NULL AND (post_id = ANY(%s::text[])"
            " OR (source = 'timeline' AND created_at >= %s AND account = ANY(%s::text[])))"
            " ORDER BY created_at, post_id",
            [list(post_ids), to_epoch(since), list(accounts)],
        )

    @guarded
    def post(self, post_id: str) -> WatchedPostRecord | None:
        found = self._post_records(" WHERE post_id = %s", [post_id])
        return found[0] if found else None

    @guarded
    def post_counts(self) -> dict[str, int]:
        [(total, gone)] = self._rows("SELECT count(*), count(unavailable_at) FROM posts")
        return {"available": total - gone, "unavailable": gone}

    @guarded
    def unavailable_posts(self, limit: int | None = 20) -> list[WatchedPostRecord]:
        return self._post_records(
            " WHERE unavailable_at IS NOT NULL ORDER BY unavailable_at DESC, post_id DESC LIMIT %s",
            [limit],
        )

    def _post_records(self, clauses: str, params: Iterable[Any] = ()) -> list[WatchedPostRecord]:
        sql = f"SELECT {POST_COLUMNS} FROM posts{clauses}"
        return post_records(self._connection().execute(sql.encode(), list(params)))

    @guarded
    def post_accounts(self, post_ids: Iterable[str]) -> list[str | None]:
        ids = list(post_ids)
        rows = self._rows(
            "SELECT post_id, account FROM posts WHERE account IS NOT NULL"
            " AND post_id = ANY(%s::text[])",
            [list(dict.fromkeys(ids))],
        )
        found: dict[str, str] = dict(rows)
        return list(map(found.get, ids))

    @guarded
    def mark_unavailable(self, post_ids: Iterable[str], at: datetime) -> None:
        ids = list(post_ids)
        if not ids:
            return
        with self._tx() as conn:
            count_change(conn, POSTS_CHANGED)
            conn.execute(
                b"UPDATE posts SET unavailable_at = %s WHERE unavailable_at IS NULL"
                b" AND post_id = ANY(%s::text[])",
                [to_epoch(at), ids],
            )

    @guarded
    def since_id(self, account: str) -> str | None:
        rows = self._rows("SELECT post_id FROM since_ids WHERE account = %s", [account])
        return rows[0][0] if rows else None

    @guarded
    def set_since_id(self, account: str, post_id: str) -> None:
        with self._tx() as conn:
            conn.execute(
                b"INSERT INTO since_ids VALUES (%s, %s)"
                b" ON CONFLICT (account) DO UPDATE SET post_id = excluded.post_id",
                [account, post_id],
            )

    # -- rules ----------------------------------------------------------------------------

    @guarded
    def rule_versions(self) -> dict[str, RuleVersion]:
        rows = self._rows("SELECT rule_id, fingerprint, since FROM rule_versions")
        return {rule: RuleVersion(fp, from_epoch(since)) for rule, fp, since in rows}

    @guarded
    def rule_states(self, rule_id: str) -> dict[str, RuleState]:
        rows = self._rows(
            f"SELECT post_id, {STATE_COLUMNS} FROM rule_states WHERE rule_id = %s", [rule_id]
        )
        moment = moments()
        return {row[0]: state_from_row(row[1:], moment) for row in rows}

    @guarded
    def rule_state(self, rule_id: str, post_id: str) -> RuleState | None:
        rows = self._rows(
            f"SELECT {STATE_COLUMNS} FROM rule_states WHERE rule_id = %s AND post_id = %s",
            [rule_id, post_id],
        )
        return state_from_row(rows[0]) if rows else None

    # -- budget and meta ------------------------------------------------------------------

    @guarded
    def budget_load(self, api: str, since: float) -> list[float]:
        rows = self._rows(
            "SELECT at FROM budget WHERE api = %s AND at >= %s ORDER BY at", [api, since]
        )
        return [at for (at,) in rows]

    @guarded
    def budget_record(self, api: str, at: float) -> None:
        with self._tx() as conn:
            self._budget_add(conn, api, at)

    @guarded
    def budget_claim(
        self, api: str, at: float, since: float, allowance: int, count: int = 1
    ) -> int:
        with self._tx() as conn:
            # every process that spends this budget queues here, so none overspends
            conn.execute(b"SELECT pg_advisory_xact_lock(hashtext('budget ' || %s))", [api])
            row = conn.execute(
                b"SELECT count(*) FROM budget WHERE api = %s AND at > %s", [api, since]
            ).fetchone()
            kept = 0 if row is None else max(0, min(count, allowance - row[0]))
            if kept:
                self._budget_add(conn, api, at, kept)
        return kept

    @staticmethod
    def _budget_add(conn: Any, api: str, at: float, count: int = 1) -> None:
        conn.execute(
            b"INSERT INTO budget (api, at) SELECT %s, %s FROM generate_series(1, %s)",
            [api, at, count],
        )
        conn.execute(
            b"DELETE FROM budget WHERE api = %s AND at < %s", [api, at - BUDGET_KEEP_SECONDS]
        )

    @guarded
    def set_meta(self, key: str, value: str) -> None:
        with self._tx() as conn:
            conn.execute(
                b"INSERT INTO meta VALUES (%s, %s)"
                b" ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                [key, value],
            )

    @guarded
    def meta(self, key: str) -> str | None:
        rows = self._rows("SELECT value FROM meta WHERE key = %s", [key])
        return rows[0][0] if rows else None

    @guarded
    def size_bytes(self) -> int | None:
        size: int = self._rows("SELECT pg_database_size(current_database())", [])[0][0]
        return size


def check_schema(database: PostgresDatabase, missing: list[str]) -> None:
    if missing:
        raise SchemaOutdated(
            f"the database {database} lacks {len(missing)} migration(s) this engine needs"
            f" ({', '.join(missing)}): run 'automation migrate' (once, from any machine)"
        )

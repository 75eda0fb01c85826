"""A PostgreSQL state database as either side of ``copy-store`` (``copying``).

The source is read in one ``REPEATABLE READ READ ONLY`` transaction (one snapshot) through
server-side cursors, so a large database is never held in memory. The target is migrated
first (a new database for a deployment is set up by this copy), then written in one
transaction with ``COPY``, its tables locked against every other writer, and its
sequences moved past the rows copied so that the engine numbers new rows after them.

Neither side may have an engine connected: what it wrote after the copy's snapshot would
be missing from the copy. Engines name their connections ``automation engine ...`` (and
anything else but this package's commands), which ``pg_stat_activity`` shows.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager

import psycopg
from psycopg import sql

from automation.config.database import PostgresDatabase
from automation.core.errors import EngineLocked, SchemaOutdated
from automation.store import postgres_schema
from automation.store.copying import KEPT, Row, Tables, failures
from automation.store.postgres_connection import Conn, connect, first_line

__all__ = ["PostgresSide", "reading", "writing"]

# What is the database's own: its migration records, who leads it, what its triggers keep.
_OWN = ("schema_migrations", "leadership", *KEPT)
# Connections of this package's commands (``postgres_connection.connect``'s roles), which
# may be open while copying; every other ``automation ...`` connection is an engine's.
_COMMANDS = ("command", "reader", "migrate", "copy-store")
_BATCH = 5_000
_LOCK_WAIT = "10s"


class PostgresSide:
    def __init__(self, conn: Conn, database: PostgresDatabase, doing: str) -> None:
        self._conn = conn
        self.database = database
        self._doing = doing
        self._tables: dict[str, tuple[str, ...]] | None = None

    def tables(self) -> Tables:
        if self._tables is None:
            with self.guard():
                rows = self._conn.execute(
                    "SELECT table_name::text, array_agg(column_name::text ORDER BY"
                    " ordinal_position) FROM information_schema.columns"
                    " WHERE table_schema = current_schema() AND table_name <> ALL(%s)"
                    " AND table_name IN (SELECT tablename FROM pg_tables"
                    " WHERE schemaname = current_schema())"
                    " GROUP BY table_name ORDER BY table_name",
                    [list(_OWN)],
                ).fetchall()
            self._tables = {name: tuple(columns) for name, columns in rows}
        return self._tables

    def rows(self, table: str, columns: Sequence[str]) -> Iterator[Row]:
        with self.guard(table):
            key = self._key(table)
            order = sql.SQL(" ORDER BY {}").format(_names(key)) if key else sql.SQL("")
            query = sql.SQL("SELECT {} FROM {}{}").format(
                _names(columns), sql.Identifier(table), order
            )
            with self._conn.cursor(name=f"copy_{table}") as cursor:
                cursor.itersize = _BATCH
                cursor.execute(query)
                yield from cursor

    def count(self, table: str) -> int:
        with self.guard(table):
            query = sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))
            row = self._conn.execute(query).fetchone()
        return int(row[0]) if row else 0

    def clear(self, tables: Sequence[str]) -> None:
        with self.guard():
            self._conn.execute(
                sql.SQL("TRUNCATE {}").format(sql.SQL(", ").join(map(sql.Identifier, tables)))
            )

    def write(self, table: str, columns: Sequence[str], rows: Iterable[Row]) -> int:
        query = sql.SQL("COPY {} ({}) FROM STDIN").format(sql.Identifier(table), _names(columns))
        written = 0
        with self.guard(table), self._conn.cursor().copy(query) as copy:
            for row in rows:
                copy.write_row(row)
                written += 1
        return written

    def finish(self) -> None:
        """Move every serial column's sequence past the largest value copied."""
        with self.guard():
            serials = self._conn.execute(
                "SELECT table_name::text, column_name::text FROM information_schema.columns"
                " WHERE table_schema = current_schema() AND column_default LIKE 'nextval(%%'"
            ).fetchall()
            for table, column in serials:
                self._conn.execute(
                    sql.SQL(
                        "SELECT setval(pg_get_serial_sequence({t}, {c}),"
                        " coalesce(max({col}), 0) + 1, false) FROM {table}"
                    ).format(
                        t=sql.Literal(table),
                        c=sql.Literal(column),
                        col=sql.Identifier(column),
                        table=sql.Identifier(table),
                    )
                )

    def lock(self) -> None:
        """Hold every table against other writers until the copy commits."""
        with self.guard():
            self._conn.execute(f"SET LOCAL lock_timeout = '{_LOCK_WAIT}'")
            self._conn.execute(
                sql.SQL("LOCK TABLE {} IN EXCLUSIVE MODE").format(
                    sql.SQL(", ").join(map(sql.Identifier, self.tables()))
                )
            )

    def _key(self, table: str) -> list[str]:
        rows = self._conn.execute(
            "SELECT a.attname::text FROM pg_index i JOIN pg_attribute a"
            " ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)"
            " WHERE i.indrelid = %s::regclass AND i.indisprimary"
            " ORDER BY array_position(i.indkey::int2[], a.attnum)",
            [table],
        ).fetchall()
        return [name for (name,) in rows]

    def guard(self, table: str | None = None) -> AbstractContextManager[None]:
        return failures(psycopg.Error, self._doing, table, first_line)


@contextmanager
def reading(database: PostgresDatabase) -> Iterator[PostgresSide]:
    """``database`` in one read-only snapshot; refused when its schema is behind or an
    engine is connected to it."""
    with _connection(database) as conn:
        side = PostgresSide(conn, database, f"copy from {database}")
        with side.guard():
            postgres_schema.refuse_newer(database, conn)
            if pending := postgres_schema.pending(conn):
                raise SchemaOutdated(
                    f"the database {database} lacks {len(pending)} migration(s) this version"
                    f" has ({', '.join(pending)}): run 'automation migrate' on it, then copy"
                )
            _refuse_engines(conn, database)
        with conn.transaction():
            with side.guard():
                conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            yield side


@contextmanager
def writing(database: PostgresDatabase) -> Iterator[PostgresSide]:
    """``database``, migrated, in one write transaction that holds its tables; committed
    when the block ends without an error."""
    with _connection(database) as conn:
        side = PostgresSide(conn, database, f"copy into {database}")
        with side.guard():
            _refuse_engines(conn, database)
            postgres_schema.refuse_newer(database, conn)
            postgres_schema.apply(conn)
        with conn.transaction():
            side.lock()
            with side.guard():
                _refuse_engines(conn, database)  # one that connected meanwhile
            yield side


@contextmanager
def _connection(database: PostgresDatabase) -> Iterator[Conn]:
    conn = connect(database, role="copy-store")
    try:
        yield conn
    finally:
        conn.close()


def _refuse_engines(conn: Conn, database: PostgresDatabase) -> None:
    rows = conn.execute(
        "SELECT application_name, pid, coalesce(host(client_addr), 'local')"
        " FROM pg_stat_activity WHERE datname = current_database()"
        " AND pid <> pg_backend_pid() AND application_name LIKE 'automation %%'"
        " AND substr(application_name, 12) <> ALL(%s) ORDER BY pid",
        [list(_COMMANDS)],
    ).fetchall()
    if rows:
        shown = ", ".join(f"{name} (pid {pid}, from {host})" for name, pid, host in rows[:3])
        raise EngineLocked(
            f"an engine is connected to {database}: {shown}; stop every engine that uses it"
            " (systemctl stop automation on each machine), then copy"
        )


def _names(columns: Sequence[str]) -> sql.Composed:
    return sql.SQL(", ").join(map(sql.Identifier, columns))

"""A SQLite state database as either side of ``copy-store`` (``copying``).

The source is read in one read transaction (in WAL mode a snapshot of one moment), opened
read-write without being created, as ``sqlite_backup`` does: a read-only connection would
leave ``-wal`` and ``-shm`` files behind owned by whoever copied. The target is created
and migrated when it does not exist yet and written in one ``BEGIN IMMEDIATE``
transaction; a target this copy created is removed again when the copy fails.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from itertools import islice
from pathlib import Path
from urllib.parse import quote

from sqlite_utils import Database

from automation.core.errors import SchemaNewer, SchemaOutdated, StoreError, UsageError
from automation.core.wording import shown_path
from automation.store.copying import KEPT, Row, Tables, failures
from automation.store.migrations import MIGRATIONS, unknown_migrations
from automation.store.rows import json_ids
from automation.store.sqlite import SqliteStore

__all__ = ["SqliteSide", "reading", "writing"]

_BATCH = 5_000


class SqliteSide:
    """One connection inside a transaction the context managers below hold; ``doing``
    says what failed in an error (``copy from PATH``)."""

    def __init__(self, conn: sqlite3.Connection, path: Path, doing: str) -> None:
        self._conn = conn
        self.path = path
        self._doing = doing
        self._tables: dict[str, tuple[str, ...]] | None = None
        self._numbered: set[str] = set()  # rowid tables: read in rowid order

    def tables(self) -> Tables:
        with self.guard():
            return self._read_tables()

    def _read_tables(self) -> Tables:
        if self._tables is None:
            found = self._conn.execute(
                "SELECT name, wr FROM pragma_table_list WHERE schema = 'main'"
                " AND type = 'table' AND name NOT LIKE 'sqlite!_%' ESCAPE '!'"
                " AND name NOT LIKE '!_%' ESCAPE '!'"
                " AND name NOT IN (SELECT value FROM json_each(?)) ORDER BY name",
                [json_ids(KEPT)],
            ).fetchall()
            self._tables = {
                name: tuple(
                    row[1] for row in self._conn.execute(f"PRAGMA table_info({_quoted(name)})")
                )
                for name, _ in found
            }
            self._numbered = {name for name, without_rowid in found if not without_rowid}
        return self._tables

    def rows(self, table: str, columns: Sequence[str]) -> Iterator[Row]:
        with self.guard():
            self._read_tables()
            order = " ORDER BY rowid" if table in self._numbered else ""
            cursor = self._conn.execute(f"SELECT {_names(columns)} FROM {_quoted(table)}{order}")
            while batch := cursor.fetchmany(_BATCH):
                yield from batch

    def count(self, table: str) -> int:
        with self.guard():
            (n,) = self._conn.execute(f"SELECT count(*) FROM {_quoted(table)}").fetchone()
        return int(n)

    def clear(self, tables: Sequence[str]) -> None:
        with self.guard():
            for table in tables:
                self._conn.execute(f"DELETE FROM {_quoted(table)}")

    def write(self, table: str, columns: Sequence[str], rows: Iterable[Row]) -> int:
        sql = (
            f"INSERT INTO {_quoted(table)} ({_names(columns)})"
            f" VALUES ({', '.join('?' for _ in columns)})"
        )
        written = 0
        source = iter(rows)
        while batch := list(islice(source, _BATCH)):
            with self.guard(table):
                self._conn.executemany(sql, batch)
            written += len(batch)
        return written

    def finish(self) -> None:
        """Nothing: SQLite numbers new rows after the largest rowid there is."""

    def guard(self, table: str | None = None) -> AbstractContextManager[None]:
        return failures(sqlite3.Error, self._doing, table)


@contextmanager
def reading(path: Path) -> Iterator[SqliteSide]:
    """The database at ``path`` in one read transaction; refused when its schema is behind."""
    if not path.is_file():
        raise UsageError(f"no database at {shown_path(str(path))} to copy from")
    conn = _connect(f"file:{quote(os.fsencode(path.absolute()))}?mode=rw", path, uri=True)
    try:
        side = SqliteSide(conn, path, f"copy from {shown_path(str(path))}")
        with side.guard():
            _check_schema(conn, path)
            conn.execute("BEGIN")
        yield side
    finally:
        conn.close()


@contextmanager
def writing(path: Path) -> Iterator[SqliteSide]:
    """The database at ``path`` (created and migrated if there is none) in one write
    transaction, committed when the block ends without an error."""
    shown = shown_path(str(path))
    if path.is_dir():
        example = shown_path(str(path / "state.db"))
        raise UsageError(f"{shown} is a directory: name the database file, e.g. {example}")
    if not path.parent.is_dir():
        folder = shown_path(str(path.parent))
        raise UsageError(f"cannot write {shown}: directory {folder} does not exist")
    created = not path.exists()
    try:
        SqliteStore.open(path, migrate="auto").close()
        conn = _connect(str(path), path)
        side = SqliteSide(conn, path, f"copy into {shown_path(str(path))}")
        try:
            with side.guard():
                conn.execute("BEGIN IMMEDIATE")
            yield side
            with side.guard():
                conn.execute("COMMIT")
        finally:
            conn.close()  # an open transaction is rolled back
    except BaseException:
        if created:
            for leftover in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
                leftover.unlink(missing_ok=True)
        raise


def _connect(target: str, path: Path, *, uri: bool = False) -> sqlite3.Connection:
    try:
        return sqlite3.connect(target, uri=uri, timeout=10, isolation_level=None)
    except sqlite3.Error as exc:
        raise StoreError(f"cannot open {shown_path(str(path))}: {exc}") from None


def _check_schema(conn: sqlite3.Connection, path: Path) -> None:
    try:
        db = Database(conn, execute_plugins=False)
        if newer := unknown_migrations(db):
            raise SchemaNewer(path, newer)
        pending = [m.name for m in MIGRATIONS.pending(db)]
    except sqlite3.DatabaseError as exc:
        raise StoreError(
            f"{shown_path(str(path))} is not a state database of this engine: {exc}"
        ) from None
    if pending:
        raise SchemaOutdated(
            f"the database {shown_path(str(path))} lacks {len(pending)} migration(s) this"
            " version has"
            f" ({', '.join(pending)}): bring it up to date first ('automation migrate' with"
            " it as the config's database), then copy"
        )


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _names(columns: Sequence[str]) -> str:
    return ", ".join(_quoted(c) for c in columns)

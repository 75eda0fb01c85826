"""What every part of the SQLite store shares: the connection, write transactions, and
turning sqlite3's errors into ``StoreError`` naming the file.

``SqliteStore`` is assembled from query classes built on ``SqliteConnection``, one per
job (``sqlite_snapshots``, ``sqlite_ledger``), so each stays readable on its own.
"""

from __future__ import annotations

import functools
import os
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, TypeVar

from sqlite_utils import Database

from automation.core.errors import StoreError
from automation.core.wording import shown_path
from automation.store.snapshot_rows import (
    HOUR,
    NO_COMPARISONS,
    Compared,
    HourRows,
    Latest,
    moved_key,
)

__all__ = [
    "SqliteConnection",
    "count_change",
    "guarded",
    "hour_rows",
    "may_write",
    "move_hour_rows",
    "primary_code",
    "read_only_uri",
]

# settings that read back as a number but are set by name
_AS_SET: dict[tuple[str, Any], str] = {("secure_delete", 2): "FAST"}

_P = ParamSpec("_P")
_R = TypeVar("_R")
_S = TypeVar("_S", bound="SqliteConnection")


def guarded(
    method: Callable[Concatenate[_S, _P], _R],
) -> Callable[Concatenate[_S, _P], _R]:
    """Turn sqlite3's errors into StoreError naming the file, so callers catch one class."""

    @functools.wraps(method)
    def wrapper(self: _S, /, *args: _P.args, **kwargs: _P.kwargs) -> _R:
        try:
            return method(self, *args, **kwargs)
        except sqlite3.Error as exc:
            raise StoreError(
                f"state database {shown_path(str(self.path))}: {exc}{_fix_hint(self.path, exc)}"
            ) from exc

    return wrapper


def _fix_hint(path: Path, exc: sqlite3.Error) -> str:
    """What the operator can do about a full disk, a read-only file or a lock held by
    another process ("" for other errors)."""
    code = primary_code(exc)
    shown, folder = shown_path(str(path)), shown_path(str(path.parent))
    if code in (sqlite3.SQLITE_FULL, sqlite3.SQLITE_IOERR):
        return (
            f"; free space on the disk that holds {folder} (df -h {folder}):"
            " what was already recorded is kept, and the engine retries each cycle"
        )
    if code in (sqlite3.SQLITE_READONLY, sqlite3.SQLITE_CANTOPEN):
        return (
            f"; check that {shown} and its directory {folder} are writable by this user"
            " (SQLite keeps its -wal and -shm files beside the database)"
        )
    if code in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
        return (
            "; another process held its write lock longer than this one waits (a sqlite3"
            " shell with an open transaction, a long copy): try again"
            " once it is done"
        )
    return ""


def primary_code(exc: sqlite3.Error) -> int:
    """SQLite's primary result code of ``exc`` (that of an extended one; 0 when none)."""
    return (getattr(exc, "sqlite_errorcode", None) or 0) & 0xFF


def may_write(path: Path) -> bool:
    """Whether this user may write the database file and its directory, where SQLite keeps
    its -wal and -shm files (false on a read-only mount or an immutable directory, for
    root too)."""
    return os.access(path, os.W_OK) and os.access(path.parent, os.W_OK)


def read_only_uri(path: Path) -> str:
    """The URI that opens ``path`` only to read. A reader of a WAL database needs its -shm
    file; where none can be made (a backup copy on a read-only mount, in a directory this
    user may not write) and no -wal file is beside it, so that no engine has it open, the
    file is opened as immutable: read without locks and without the -shm file."""
    frozen = not os.access(path.parent, os.W_OK) and not Path(f"{path}-wal").exists()
    return f"{path.absolute().as_uri()}?mode=ro{'&immutable=1' if frozen else ''}"


def count_change(conn: sqlite3.Connection, key: str) -> None:
    """Add one to the ``meta`` count ``key`` (from 1), inside the caller's transaction."""
    conn.execute(
        "INSERT INTO meta (key, value) VALUES (?, '1')"
        " ON CONFLICT (key) DO UPDATE SET value = CAST(value AS INTEGER) + 1",
        [key],
    )


def hour_rows(
    conn: sqlite3.Connection,
    big: str,
    column: str,
    kind: Callable[[str], float],
    *,
    empty: float,
    per: float = HOUR,
) -> HourRows:
    """Where the big table ``big`` and its small one stand (``HourRows``): the newest
    ``column`` moved (``empty`` when none), the small table's oldest and newest."""
    moved = _moved_bound(conn, big, column, kind)
    ((oldest, newest),) = conn.execute(
        f"SELECT min({column}), max({column}) FROM {big}_hour"
    ).fetchall()
    return HourRows(empty if moved is None else moved, oldest, newest, big, per)


def move_hour_rows(conn: sqlite3.Connection, hour: HourRows, order: str) -> None:
    """The small table's rows into the big one in the key order ``order``, the small one
    emptied and the newest moved kept in ``meta`` (inside the caller's write transaction)."""
    if hour.oldest is not None:
        conn.execute(f"INSERT INTO {hour.big} SELECT * FROM {hour.small} ORDER BY {order}")
        conn.execute(f"DELETE FROM {hour.small}")
        hour.moved()
        conn.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?)"
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [hour.key, repr(hour.moved_at)],
        )


def _moved_bound(
    conn: sqlite3.Connection, big: str, column: str, kind: Callable[[str], float]
) -> float | None:
    """The newest ``column`` of the table ``big`` as its last move left it in ``meta``
    (``HourRows``), read by key; where the key is absent (a file written before it was
    kept, or a prune that may have cut that row), the table's newest (None: empty), found
    by a scan of it."""
    found = conn.execute("SELECT value FROM meta WHERE key = ?", [moved_key(big)]).fetchone()
    if found is not None:
        return kind(found[0])
    ((newest,),) = conn.execute(f"SELECT max({column}) FROM {big}").fetchall()
    return newest  # type: ignore[no-any-return]


class SqliteConnection:
    """One open database file; the query classes add the methods."""

    def __init__(self, db: Database, path: Path) -> None:
        self._db = db
        self._conn = db.conn
        self.path = path
        # each post's series and latest values, read from the file once (``snapshot_rows``);
        # the hourly history keeps the same objects as its posts' last readings
        self._latest: Latest = {}
        # where the snapshot rows stand (read once), the newest time a change is stored at
        # among it: a reading dated before it is compared with what was held at its time,
        # not with the latest values
        self._hour: HourRows | None = None
        # the last reading's comparisons with the latest values, which the hourly history
        # takes instead of comparing the same objects again (``plan_totals``)
        self._compared: Compared = NO_COMPARISONS

    @contextmanager
    def _immediate(self, *, flush: bool = True) -> Iterator[sqlite3.Connection]:
        """One write transaction that takes the write lock up front; rolled back on error.
        ``flush=False``: see ``_unflushed``."""
        with nullcontext() if flush else self._unflushed():
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._db.rollback()
                raise
            self._db.commit()

    def _unflushed(self) -> AbstractContextManager[None]:
        """Commit without waiting for the disk (WAL with ``synchronous=NORMAL``): still
        atomic and isolated, and durable once a later transaction flushes, but a power cut
        may lose it. For records worth less than a disk flush each: the request budget's
        sends, one a request."""
        return self._pragma("synchronous", "NORMAL")

    @contextmanager
    def _pragma(self, name: str, value: str) -> Iterator[None]:
        """``PRAGMA name = value`` for the block; the connection's own setting is put back
        afterwards, failures included."""
        (was,) = self._conn.execute(f"PRAGMA {name}").fetchone()
        self._conn.execute(f"PRAGMA {name} = {value}")
        try:
            yield
        finally:
            self._conn.execute(f"PRAGMA {name} = {_AS_SET.get((name, was), was)}")

    def _rows(
        self, sql: str, params: Iterable[Any] | Mapping[str, Any] = ()
    ) -> list[tuple[Any, ...]]:
        given = params if isinstance(params, Mapping) else tuple(params)
        return self._conn.execute(sql, given).fetchall()

    def _metric_ids(self, names: Iterable[str]) -> dict[str, int]:
        """Small integer ids for metric names, adding new names (inside the caller's
        transaction)."""
        self._conn.executemany(
            "INSERT OR IGNORE INTO metric_names (name) VALUES (?)", [(n,) for n in names]
        )
        return {name: mid for mid, name in self._rows("SELECT id, name FROM metric_names")}

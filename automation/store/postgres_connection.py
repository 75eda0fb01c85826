"""What every part of the PostgreSQL store shares: the connection (made again when it
breaks), write transactions fenced by the leadership the store acts under, and psycopg's
errors as ``StoreError`` naming the database without its password.

A store opened by a leading engine carries that engine's epoch: every write transaction
first reads ``leadership`` with a share lock and goes on only while the epoch is still
its own, so once another engine took over (and moved the epoch, which waits for that
lock) nothing more is written in the old leader's name. Stores opened by commands
(``status``, ``pause``, ``copy-store``) carry none and write as people do.

``PostgresStore`` is assembled from query classes built on ``PostgresConnection``, one
per job, as the SQLite store is.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, Concatenate, ParamSpec, TypeVar

import psycopg
from psycopg.conninfo import conninfo_to_dict

from automation.config.database import PostgresDatabase
from automation.core.errors import DatabaseUnreachable, LeadershipLost, StoreError
from automation.core.facts import RuleState
from automation.core.records import CycleWrite
from automation.store.base import STATES_CHANGED
from automation.store.snapshot_rows import (
    HOUR,
    NO_COMPARISONS,
    Compared,
    HourRows,
    Latest,
    moved_key,
)

__all__ = [
    "STATES_LOCK",
    "Conn",
    "PostgresConnection",
    "columns",
    "connect",
    "count_change",
    "engine_role",
    "engine_settings",
    "first_line",
    "guarded",
    "hour_rows",
    "move_hour_rows",
    "unforgotten_states",
]

Conn = psycopg.Connection[tuple[Any, ...]]

_P = ParamSpec("_P")
_R = TypeVar("_R")
_S = TypeVar("_S", bound="PostgresConnection")

APPLICATION = "automation"
CONNECT_TIMEOUT = 10  # seconds


def connect(
    database: PostgresDatabase,
    *,
    role: str,
    read_only: bool = False,
    settings: Mapping[str, str] | None = None,
    tcp_user_timeout: int | None = None,
) -> Conn:
    """A connection in autocommit mode (transactions are explicit), named in
    ``pg_stat_activity`` by ``role``, with TCP keepalives so that a peer that vanished is
    noticed in seconds, not hours. ``settings`` are the session's server settings
    (``idle_session_timeout``...); ``tcp_user_timeout`` (milliseconds) is how long sent
    data may go unacknowledged before the kernel gives up on the connection."""
    given = dict(settings or {})
    if read_only:
        given["default_transaction_read_only"] = "on"
    options = " ".join(f"-c {name}={value}" for name, value in given.items()) or None
    extra: dict[str, Any] = {}
    if tcp_user_timeout is not None:
        extra["tcp_user_timeout"] = tcp_user_timeout
    try:
        conn: Conn = psycopg.connect(
            database.url,
            password=database.password_value(),
            autocommit=True,
            application_name=f"{APPLICATION} {role}"[:63],
            connect_timeout=CONNECT_TIMEOUT,
            keepalives=1,
            keepalives_idle=10,
            keepalives_interval=5,
            keepalives_count=3,
            options=options,
            **extra,
        )
    except psycopg.Error as exc:
        reason = first_line(exc)
        hint = _connect_hint(database, reason)
        raise DatabaseUnreachable(
            f"cannot connect to the database {database}: {reason}; {hint}"
        ) from None
    return conn


def _connect_hint(database: PostgresDatabase, reason: str) -> str:
    """What to do about a refused connection, naming where the URL points (its host, port,
    database and user as libpq reads them; the password is not in ``url``). The server's
    answer tells a wrong password or a missing role or database from a server out of
    reach; any other answer gets the hint for the last."""
    try:
        fields = conninfo_to_dict(database.url)
    except psycopg.Error:
        fields = {}
    where = ", ".join(
        f"{name} {fields.get(key) or default}"
        for name, key, default in (
            ("host", "host", "the local socket (none given)"),
            ("port", "port", "5432"),
            ("database", "dbname", "named after the user (none given)"),
            ("user", "user", "this system user (none given)"),
        )
    )
    if "password authentication failed" in reason or "no password supplied" in reason:
        return (
            "check the password given for that user (the URL's ${NAME}, PGPASSWORD or"
            f" ~/.pgpass) ({where})"
        )
    if "does not exist" in reason:
        return (
            "create it (CREATE ROLE automation LOGIN PASSWORD '...'; CREATE DATABASE"
            " automation OWNER automation; docs/high-availability.md, step 1) or correct"
            f" the URL ({where})"
        )
    return (
        "check that the PostgreSQL server is running and reachable from this machine, and"
        f" that the URL names it ({where})"
    )


def guarded(
    method: Callable[Concatenate[_S, _P], _R],
) -> Callable[Concatenate[_S, _P], _R]:
    """Turn psycopg's errors into StoreError naming the database, so callers catch one
    class; a broken connection is made again at the next call."""

    @functools.wraps(method)
    def wrapper(self: _S, /, *args: _P.args, **kwargs: _P.kwargs) -> _R:
        try:
            return method(self, *args, **kwargs)
        except psycopg.Error as exc:
            raise self._failure(exc) from None

    return wrapper


def count_change(conn: Conn, key: str) -> None:
    """Add one to the ``meta`` count ``key`` (from 1), inside the caller's transaction."""
    conn.execute(
        b"INSERT INTO meta VALUES (%s, '1') ON CONFLICT (key)"
        b" DO UPDATE SET value = (meta.value::bigint + 1)::text",
        [key],
    )


def hour_rows(
    conn: Conn,
    big: str,
    column: str,
    kind: Callable[[str], float],
    *,
    empty: float,
    per: float = HOUR,
) -> HourRows:
    """As in the SQLite store: where the big table ``big`` and its small one stand."""
    moved = _moved_bound(conn, big, column, kind)
    found = conn.execute(f"SELECT min({column}), max({column}) FROM {big}_hour".encode()).fetchone()
    assert found is not None  # an aggregate's one row
    oldest, newest = found
    return HourRows(empty if moved is None else moved, oldest, newest, big, per)


def move_hour_rows(conn: Conn, hour: HourRows, order: str) -> None:
    """As in the SQLite store: the small table's rows into the big one in the key order
    ``order``, the small one emptied and the newest moved kept in ``meta``."""
    if hour.oldest is not None:
        conn.execute(f"INSERT INTO {hour.big} SELECT * FROM {hour.small} ORDER BY {order}".encode())
        conn.execute(f"DELETE FROM {hour.small}".encode())
        hour.moved()
        conn.execute(
            b"INSERT INTO meta VALUES (%s, %s)"
            b" ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [hour.key, repr(hour.moved_at)],
        )


def _moved_bound(conn: Conn, big: str, column: str, kind: Callable[[str], float]) -> float | None:
    """As in the SQLite store: the newest ``column`` of ``big`` from ``meta`` by key, else
    (None: empty) from a scan of the table."""
    found = conn.execute(b"SELECT value FROM meta WHERE key = %s", [moved_key(big)]).fetchone()
    if found is not None:
        return kind(found[0])
    newest = conn.execute(f"SELECT max({column}) FROM {big}".encode()).fetchone()
    assert newest is not None  # an aggregate's one row
    return newest[0]  # type: ignore[no-any-return]


def columns(rows: Sequence[Sequence[Any]], width: int) -> list[list[Any]]:
    """Rows as ``width`` column lists, for ``unnest(%s::type[], ...)``: one round trip
    for any number of rows."""
    if not rows:
        return [[] for _ in range(width)]
    return [list(column) for column in zip(*rows, strict=True)]


# taken by a rearm and by a commit of states it checks until their transactions end
STATES_LOCK = b"SELECT pg_advisory_xact_lock(hashtext('rule states'))"


def unforgotten_states(conn: Conn, write: CycleWrite) -> tuple[tuple[str, str, RuleState], ...]:
    """``write``'s states, less those a rearm forgot while the cycle ran
    (``CycleWrite.stale``), inside the commit's transaction."""
    if not write.states_mark or not write.states:
        return write.states
    conn.execute(STATES_LOCK)
    mark = conn.execute(b"SELECT value FROM meta WHERE key = %s", [STATES_CHANGED]).fetchone()
    if not write.stale(None if mark is None else mark[0]):
        return write.states
    stored = conn.execute(
        b"SELECT rule_id, post_id FROM rule_states WHERE (rule_id, post_id) IN"
        b" (SELECT * FROM unnest(%s::text[], %s::text[]))",
        columns([(rule, post) for rule, post, _ in write.states], 2),
    ).fetchall()
    return write.states_kept({(rule, post) for rule, post in stored})


class PostgresConnection:
    """One database; the query classes add the methods."""

    def __init__(
        self,
        database: PostgresDatabase,
        conn: Conn,
        *,
        epoch: int | None = None,
        read_only: bool = False,
    ) -> None:
        self.database = database
        self.path = database  # what messages name, as the SQLite store names its file
        self._conn: Conn | None = conn
        self._epoch = epoch
        self._read_only = read_only
        self._term: int | None = epoch  # the claim term; an unfenced store draws one
        self._latest: Latest = {}  # as in the SQLite store: read once per post
        self._hour: HourRows | None = None  # as in the SQLite store
        self._compared: Compared = NO_COMPARISONS  # as in the SQLite store

    @property
    def epoch(self) -> int | None:
        """The leadership epoch this store writes under (None: not an engine's store)."""
        return self._epoch

    def _connection(self) -> Conn:
        if self._conn is None or self._conn.closed:
            self._conn = connect(
                self.database,
                role=self._role(),
                read_only=self._read_only,
                settings=self._settings(),
            )
            self._reconnected()
        return self._conn

    def _role(self) -> str:
        return engine_role(self._epoch)

    def _settings(self) -> dict[str, str]:
        return engine_settings(self._epoch)

    def _reconnected(self) -> None:
        """Forget what was remembered of a connection that broke (the query classes that
        cache ids extend this)."""

    def _failure(self, exc: psycopg.Error) -> StoreError:
        conn = self._conn
        if conn is not None and (conn.broken or conn.closed):
            conn.close()
            self._conn = None
            return DatabaseUnreachable(
                f"lost the connection to the database {self.database}: {first_line(exc)}"
            )
        return StoreError(f"database {self.database}: {first_line(exc)}")

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    @contextmanager
    def _tx(self) -> Iterator[Conn]:
        """One write transaction, fenced by the store's epoch; rolled back on error."""
        conn = self._connection()
        with conn.transaction():
            if self._epoch is not None:
                self._check_epoch(conn)
            yield conn

    def _check_epoch(self, conn: Conn) -> None:
        row = conn.execute("SELECT epoch, leader FROM leadership WHERE id = 1 FOR SHARE").fetchone()
        if row is None or row[0] != self._epoch:
            who = f" ({row[1]}, epoch {row[0]})" if row else ""
            raise LeadershipLost(
                f"another engine leads the database {self.database} now{who}; "
                f"this one (epoch {self._epoch}) writes nothing more and stands by"
            )

    def _claim_term(self, conn: Conn) -> int:
        """The term claims are made under: the epoch of a leading engine's store, else one
        drawn for this store, later than every epoch so far."""
        if self._term is None:
            row = conn.execute("SELECT nextval('terms')").fetchone()
            assert row is not None
            self._term = int(row[0])
        return self._term

    def _rows(self, sql: str, params: Iterable[Any] | dict[str, Any] = ()) -> list[tuple[Any, ...]]:
        args = params if isinstance(params, dict) else list(params)
        return self._connection().execute(sql.encode(), args).fetchall()

    def _metric_ids(self, conn: Conn, names: Iterable[str]) -> dict[str, int]:
        """Small integer ids for metric names, adding new names (inside the caller's
        transaction)."""
        wanted = sorted(set(names))
        if wanted:
            conn.execute(
                b"INSERT INTO metric_names (name) SELECT unnest(%s::text[])"
                b" ON CONFLICT (name) DO NOTHING",
                [wanted],
            )
        rows = conn.execute(b"SELECT id, name FROM metric_names").fetchall()
        return {name: mid for mid, name in rows}


def engine_role(epoch: int | None) -> str:
    """How a store's sessions are named: a leading engine's by its epoch, which is how a
    new leader sees whether its predecessor still holds a session (``postgres_ledger``)."""
    return f"engine {epoch}" if epoch is not None else "command"


def engine_settings(epoch: int | None) -> dict[str, str]:
    """A leading engine's sessions never sit in a transaction for long: if its machine is
    cut off mid-transaction, the server ends it, so the next leader is not kept waiting
    for the share lock on ``leadership`` that the transaction holds."""
    return {"idle_in_transaction_session_timeout": "30s"} if epoch is not None else {}


def first_line(exc: BaseException) -> str:
    """The server's answer without the statement it quotes; a missing privilege also says
    how to fix it."""
    text = str(exc).strip()
    line = text.splitlines()[0] if text else exc.__class__.__name__
    if isinstance(exc, psycopg.errors.InsufficientPrivilege):
        line += f"; {PRIVILEGE_HINT}"
    return line


PRIVILEGE_HINT = (
    "connect as the role that owns the database and its tables: every engine and command"
    " uses that one role (CREATE DATABASE automation OWNER automation;"
    " docs/high-availability.md, step 1)"
)

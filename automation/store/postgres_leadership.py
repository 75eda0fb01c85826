"""One leader among the engines on a PostgreSQL database, decided by PostgreSQL itself.

Leading is holding a session-level advisory lock on a connection kept for that alone. The
server gives it to one session at a time and takes it back when that session ends,
however the engine ends: killed, its machine gone, its connection cut. On winning, the
engine moves ``leadership.epoch`` on (waiting for the old leader's writes in progress) and
opens its store under that epoch, which fences every write it makes (``postgres_connection``).

The leader proves its session alive every ``heartbeat`` and acts only while the last proof
is recent (``core.leadership.still_leading``). Its lock connection tells the server to end
the session when it stays silent for the lease (``idle_session_timeout``), and the kernel to
give up on unacknowledged data as fast (``tcp_user_timeout``): a leader cut off from the
database has stopped acting before its lock can pass to another engine.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
from collections.abc import Callable
from datetime import datetime

import psycopg

from automation.config.database import PostgresDatabase
from automation.core.errors import SchemaOutdated, StoreError
from automation.core.leadership import LeaderView, LeaseTimes, still_leading
from automation.core.records import to_epoch
from automation.store.postgres_connection import APPLICATION, Conn, connect, first_line

__all__ = ["LOCK_KEY", "Election", "engine_name", "leader_view"]

LOCK_KEY = 0x6175746F6C656164  # pg_try_advisory_lock key of leadership ("autolead")
_LEADER, _STANDBY = "leader", "standby"


def engine_name() -> str:
    """How this engine is named to the others: host and pid."""
    return f"{socket.gethostname()}:{os.getpid()}"


class Election:
    """This engine's part in the election: ``try_lead`` until it returns an epoch, then
    act while ``leading()``; ``close`` lets go."""

    def __init__(
        self,
        database: PostgresDatabase,
        *,
        times: LeaseTimes,
        name: str | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.database = database
        self.name = name or engine_name()
        self.times = times
        self._monotonic = monotonic
        self._conn: Conn | None = None
        self._epoch: int | None = None
        self._led_since: float | None = None
        self._last_answer: float | None = None
        self._lost = threading.Event()
        self._beating: threading.Thread | None = None
        self.problem: str | None = None  # why the database cannot be reached, if it cannot
        self.loss: str | None = None  # why the heartbeat found the lead lost, if it did

    @property
    def epoch(self) -> int | None:
        return self._epoch

    @property
    def led_since(self) -> float | None:
        """Monotonic time at which this engine took the lead."""
        return self._led_since

    def leading(self) -> bool:
        return not self._lost.is_set() and still_leading(
            holds_lock=self._epoch is not None,
            last_answer=self._last_answer,
            now=self._monotonic(),
            trust=self.times.trust,
        )

    def try_lead(self, now: datetime) -> int | None:
        """Lead when no engine does: the lock, then a new epoch. None while another engine
        leads or the database cannot be reached (``problem`` says why)."""
        if self.leading():
            return self._epoch
        self.resign()
        try:
            conn = self._connection()
            won = conn.execute("SELECT pg_try_advisory_lock(%s)", [LOCK_KEY]).fetchone()
            if not won or not won[0]:
                self.problem = None
                return None
            epoch = self._take_over(conn, now)
        except psycopg.errors.UndefinedTable:
            self._drop()
            raise SchemaOutdated(
                f"the database {self.database} has no leadership table yet: run"
                " 'automation migrate' (once, from any machine)"
            ) from None
        except (psycopg.Error, StoreError) as exc:
            self._unreachable(exc)
            return None
        self.problem = self.loss = None
        self._epoch, self._led_since = epoch, self._monotonic()
        self._last_answer = self._led_since
        self._lost.clear()
        self._beating = threading.Thread(
            target=self._beat, args=(conn, epoch), name="leadership-heartbeat", daemon=True
        )
        self._beating.start()
        return epoch

    def reach(self) -> str | None:
        """Whether a new session reaches the database now, for an engine that has just
        lost the lead: None, or why not (``problem`` says the same). Its lock session may
        have been cut off alone, the server answering the others; or the server is down."""
        try:
            self._connection().execute("SELECT 1")
        except (psycopg.Error, StoreError) as exc:
            self._unreachable(exc)
        else:
            self.problem = None
        return self.problem

    def _unreachable(self, exc: psycopg.Error | StoreError) -> None:
        self._drop()
        # a StoreError names the database already
        self.problem = (
            f"database {self.database}: {first_line(exc)}"
            if isinstance(exc, psycopg.Error)
            else str(exc)
        )

    def _take_over(self, conn: Conn, now: datetime) -> int:
        """A new epoch, once the old leader's write transactions in progress are over
        (they hold ``leadership`` with a share lock): none of its writes follows."""
        with conn.transaction():
            conn.execute(f"SET LOCAL lock_timeout = '{int(self.times.lease * 1000)}ms'".encode())
            row = conn.execute(
                "UPDATE leadership SET epoch = nextval('terms'), leader = %s, since = %s"
                " WHERE id = 1 RETURNING epoch",
                [self.name, to_epoch(now)],
            ).fetchone()
        if row is None:
            raise StoreError(f"the database {self.database} lacks its leadership row")
        conn.execute(
            "SELECT set_config('application_name', %s, false)", [_app_name(_LEADER, self.name)]
        )
        return int(row[0])

    def _beat(self, conn: Conn, epoch: int) -> None:
        """The heartbeat: the session answers, and the epoch is still this engine's."""
        while not self._lost.wait(self.times.heartbeat):
            try:
                row = conn.execute("SELECT epoch FROM leadership WHERE id = 1").fetchone()
            except psycopg.Error as exc:
                self.loss = f"its connection failed: {first_line(exc)}"
                self._lost.set()
                return
            if row is None or row[0] != epoch:
                self.loss = f"another engine took it (epoch {row[0] if row else '?'})"
                self._lost.set()
                return
            self._last_answer = self._monotonic()

    def resign(self) -> None:
        """Stop leading (if leading): end the heartbeat and the session, which releases
        the lock. A standby keeps its connection to ask again."""
        if self._epoch is None:
            return
        self._lost.set()
        if self._beating is not None:
            self._beating.join(timeout=self.times.lease)
            self._beating = None
        self._drop()

    def close(self) -> None:
        self.resign()
        self._drop()

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        self._epoch = self._led_since = self._last_answer = None
        if conn is not None:
            with contextlib.suppress(psycopg.Error):
                conn.close()

    def _connection(self) -> Conn:
        if self._conn is None or self._conn.closed or self._conn.broken:
            lease_ms = int(self.times.lease * 1000)
            self._conn = connect(
                self.database,
                role=f"{_STANDBY} {self.name}",
                settings={"idle_session_timeout": f"{lease_ms}ms"},
                tcp_user_timeout=lease_ms,
            )
        return self._conn


def _app_name(role: str, name: str) -> str:
    return f"{APPLICATION} {role} {name}"[:63]


def leader_view(database: PostgresDatabase) -> LeaderView:
    """Who leads the database and who stands by, from ``leadership`` and the sessions
    the engines named (every engine connects as one role, or a role that may read
    ``pg_stat_activity`` whole)."""
    try:
        with connect(database, role="command") as conn:
            return _view(conn)
    except psycopg.Error as exc:
        raise StoreError(f"database {database}: {first_line(exc)}") from None


def _view(conn: Conn) -> LeaderView:
    row = conn.execute("SELECT epoch, leader, since FROM leadership WHERE id = 1").fetchone()
    epoch, leader, since = row if row else (0, "", None)
    names = [
        str(name)
        for (name,) in conn.execute(
            "SELECT application_name FROM pg_stat_activity WHERE datname = current_database()"
            " AND application_name LIKE %s ORDER BY backend_start",
            [f"{APPLICATION} %"],
        ).fetchall()
    ]

    def named(role: str) -> tuple[str, ...]:
        prefix = f"{APPLICATION} {role} "
        return tuple(n[len(prefix) :] for n in names if n.startswith(prefix))

    return LeaderView(
        leader=str(leader),
        epoch=int(epoch),
        since=float(since) if since else None,
        connected=named(_LEADER),
        standby=named(_STANDBY),
    )

"""PostgreSQL for ``bench_cycle``: a throwaway local cluster, the server's CPU time, and the
engine on a PostgreSQL store.

The cluster is the tests' (``tests/pg_cluster.py``: ``initdb`` in a temporary directory,
a Unix socket only) but with PostgreSQL's durable defaults, fsync and synchronous commit
on, as a real server runs; SQLite's store commits durably too. With SQLite every byte of
the store's work is the engine's CPU; with PostgreSQL part of it is the server's, in
other processes, so it is measured apart: the CPU time of the server's processes.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from pg_cluster import Cluster, find_bindir, missing_reason

from automation.config.database import Database, PostgresDatabase
from automation.store import postgres_schema
from automation.store.postgres_connection import connect

__all__ = ["engine_on_postgres", "postgres_info", "server_cpu", "throwaway_database"]

EPOCH = 1  # the engine's store acts as a leader's does: every write fenced by this epoch
_TICK = os.sysconf("SC_CLK_TCK")


@contextmanager
def throwaway_database() -> Iterator[tuple[str, int]]:
    """A new database in a new local cluster: its URL and the server's pid."""
    bindir = find_bindir()
    if bindir is None:
        raise SystemExit(missing_reason())
    cluster = Cluster(bindir).start(durable=True)
    try:
        yield cluster.create_database("bench").url, cluster.pid
    finally:
        cluster.stop()


def server_cpu(pid: int) -> Callable[[], float]:
    """CPU seconds used so far by the server ``pid`` and its processes: the live ones
    (the engine's backend among them) and those it has reaped."""

    def measure() -> float:
        own = _stat(pid)
        total = sum(own[11:15])  # utime, stime, and the reaped children's cutime, cstime
        for entry in os.scandir("/proc"):
            if entry.name.isdigit() and entry.name != str(pid):
                fields = _stat(int(entry.name))
                if fields and int(fields[1]) == pid:
                    total += sum(fields[11:13])
        return total / _TICK

    return measure


def _stat(pid: int) -> list[int]:
    """Fields 3 onwards of /proc/PID/stat (numbers only from field 4 on); [] if gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return []
    rest = text[text.rindex(")") + 2 :].split()
    return [0, *(int(value) for value in rest[1:15])]


@contextmanager
def engine_on_postgres(url: str) -> Iterator[dict[str, int]]:
    """Prepare ``url`` for an engine that leads it: migrated, its leadership at ``EPOCH``.
    Yields what to add to ``open_runtime``'s arguments (the epoch its writes are fenced
    by)."""
    database = PostgresDatabase.parse(url)
    with connect(database, role="migrate") as conn:
        postgres_schema.apply(conn)
        conn.execute("UPDATE leadership SET epoch = %s, leader = 'bench_cycle'", [EPOCH])
    yield {"epoch": EPOCH}


def postgres_info(database: Database) -> dict[str, object]:
    """The database's size (its write-ahead log is the cluster's, not counted), and each
    table's rows and bytes (indexes included)."""
    assert isinstance(database, PostgresDatabase)
    with connect(database, role="reader", read_only=True) as conn:
        (size,) = conn.execute("SELECT pg_database_size(current_database())").fetchone() or (0,)
        tables = [
            name
            for (name,) in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
            )
        ]
        rows, sizes = {}, {}
        for t in tables:
            rows[t], sizes[t] = conn.execute(
                f'SELECT count(*), pg_total_relation_size(%s::regclass) FROM "{t}"', [t]
            ).fetchone()
    return {"db_mb": size / 1e6, "wal_mb": None, "rows": rows, "sizes": sizes}

"""The current hour's hourly totals wait in ``hourly_totals_hour`` and are moved into
``hourly_totals`` by the first reading of a later hour (``HourRows``), on SQLite and
PostgreSQL alike: which table holds each row, that every reader sees both (the windows'
history, a post's last reading read back, the values held when the clock went back, the
prune), that a restarted store goes on from what was committed, and that a database
written before the change is upgraded and read whole."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from pg_cluster import Cluster
from sqlite_utils import Database

from automation.core.hours import reading_hour
from automation.store import MemoryStore, SqliteStore, Store, postgres_schema
from automation.store.migrations import MIGRATIONS
from automation.store.postgres import PostgresStore

T0 = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
H0 = reading_hour(T0 + timedelta(minutes=5))  # 12:00-13:00
Opener = Callable[[], Store]
Rows = Callable[[str], list[tuple[int, float]]]  # table -> (hour, value) rows, sorted


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Opener, Rows]]:
    """How to open the store anew, and how to read a table's rows beside it."""
    if request.param == "sqlite":
        path = tmp_path / "state.db"

        def sqlite_rows(table: str) -> list[tuple[int, float]]:
            with sqlite3.connect(path) as conn:
                return sorted(conn.execute(f"SELECT hour, value FROM {table}").fetchall())

        yield (lambda: SqliteStore.open(path)), sqlite_rows
        return
    cluster: Cluster = request.getfixturevalue("postgres_cluster")
    database = cluster.create_database()
    with psycopg.connect(database.url, autocommit=True) as admin:

        def postgres_rows(table: str) -> list[tuple[int, float]]:
            return sorted(admin.execute(f"SELECT hour, value FROM {table}").fetchall())

        yield (lambda: PostgresStore.open(database, migrate="auto")), postgres_rows


def history(store: Store, start: datetime, end: datetime) -> Any:
    return store.hourly(["1"], None, start, end)


def test_the_hour_waits_apart_and_moves_in_the_next_hours_first_reading(backend) -> None:
    opened, rows = backend
    memory = MemoryStore()

    def both(minutes: float, likes: int) -> int:
        written = memory.record_hourly_totals(at(minutes), {"1": {"likes": likes}})
        with opened() as store:  # each reading by a restarted store: from what was committed
            assert store.record_hourly_totals(at(minutes), {"1": {"likes": likes}}) == written
            assert history(store, at(-60), at(200)) == history(memory, at(-60), at(200))
        return written

    both(5, 1)
    both(10, 2)
    assert rows("hourly_totals") == []
    assert rows("hourly_totals_hour") == [(H0, 2.0)]
    both(65, 3)
    assert rows("hourly_totals") == [(H0, 2.0)]
    assert rows("hourly_totals_hour") == [(H0 + 1, 3.0)]
    # in an hour before the rows moved (the clock went back): written beside them
    both(30, 9)
    assert rows("hourly_totals") == [(H0, 9.0)]
    assert rows("hourly_totals_hour") == [(H0 + 1, 3.0)]
    assert both(70, 3) == 0  # its last total read back from the small table: unchanged
    both(125, 4)
    assert rows("hourly_totals") == [(H0, 9.0), (H0 + 1, 3.0)]
    assert rows("hourly_totals_hour") == [(H0 + 2, 4.0)]
    with opened() as store:  # the hours after the first: its last total, from the big table
        assert history(store, at(65), at(130)) == history(memory, at(65), at(130))


def test_the_same_store_kept_open_moves_the_hour_alike(backend) -> None:
    opened, rows = backend
    with opened() as store:
        for minutes, likes in ((5, 1), (10, 2), (65, 3), (30, 9), (70, 3), (125, 4)):
            store.record_hourly_totals(at(minutes), {"1": {"likes": likes}})
        assert rows("hourly_totals") == [(H0, 9.0), (H0 + 1, 3.0)]
        assert rows("hourly_totals_hour") == [(H0 + 2, 4.0)]


def test_a_prune_moves_the_hour_only_when_it_prunes_rows_of_it(backend) -> None:
    opened, rows = backend
    memory = MemoryStore()
    with opened() as store:
        for target in (store, memory):
            target.record_hourly_totals(at(5), {"1": {"likes": 1, "replies": 1}})
            target.record_hourly_totals(at(65), {"1": {"likes": 2}})
        assert store.prune_hourly(at(60)) == memory.prune_hourly(at(60))
        assert rows("hourly_totals_hour") == [(H0 + 1, 2.0)]  # left in place
        assert store.prune_hourly(at(180)) == memory.prune_hourly(at(180)) == 2
        assert rows("hourly_totals_hour") == rows("hourly_totals") == []
        for target in (store, memory):  # an hour the big table no longer holds: apart
            target.record_hourly_totals(at(65), {"1": {"likes": 2}})
        assert rows("hourly_totals_hour") == [(H0 + 1, 2.0)]
    with opened() as store:
        assert history(store, at(0), at(240)) == history(memory, at(0), at(240))


def test_a_sqlite_file_from_before_m009_is_read_whole_and_goes_on(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    db = Database(sqlite3.connect(path), execute_plugins=False)
    try:
        MIGRATIONS.apply(db, stop_before="m009_hourly_totals_of_the_hour")
        with db.conn:
            for sql in _BEFORE:
                db.execute(sql)
    finally:
        db.close()
    _goes_on(lambda: SqliteStore.open(path))


@pytest.mark.postgres
def test_a_postgres_database_from_before_m004_is_read_whole_and_goes_on(
    postgres_cluster: Cluster,
) -> None:
    database = postgres_cluster.create_database()
    with psycopg.connect(database.url, autocommit=True) as admin:
        admin.execute("CREATE TABLE schema_migrations (name text PRIMARY KEY, applied_at float8)")
        for name, sql in postgres_schema.MIGRATIONS[:3]:
            admin.execute(sql.encode())
            admin.execute("INSERT INTO schema_migrations VALUES (%s, 0)", [name])
        for sql in _BEFORE:
            admin.execute(sql.encode())
        _goes_on(lambda: PostgresStore.open(database, migrate="auto"))
        assert postgres_schema.pending(admin) == []


# likes 1 then 2 in the hours H0 and H0 + 1, polled in both
_BEFORE = (
    "INSERT INTO hourly_posts VALUES (7, '1')",
    "INSERT INTO metric_names VALUES (1, 'likes')",
    f"INSERT INTO hourly_totals VALUES (7, 1, {H0}, 1), (7, 1, {H0 + 1}, 2)",
    f"INSERT INTO hourly_spans VALUES (7, 1, 0, {H0}, {H0 + 2})",
)


def _goes_on(opened: Opener) -> None:
    """An upgraded store reads the rows written before, and writes the hour apart."""
    memory = MemoryStore()
    for minutes, likes in ((5, 1), (65, 2)):
        memory.record_hourly_totals(at(minutes), {"1": {"likes": likes}})
    with opened() as store:
        assert history(store, at(0), at(120)) == history(memory, at(0), at(120))
        for target in (store, memory):
            assert target.record_hourly_totals(at(70), {"1": {"likes": 2}}) == 0
            assert target.record_hourly_totals(at(125), {"1": {"likes": 3}}) == 1
    with opened() as store:
        assert history(store, at(0), at(180)) == history(memory, at(0), at(180))
        assert store.record_hourly_totals(at(185), {"1": {"likes": 4}}) == 1

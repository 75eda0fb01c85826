"""The current hour's snapshot rows wait in ``snapshots_hour`` and are moved into
``snapshots`` once an hour (``HourRows``), on SQLite and PostgreSQL alike: which table holds
each row, that every reader sees both, that a restarted store goes on from what was
committed, and that a database written before the change is upgraded and read whole."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from pg_cluster import Cluster
from sqlite_utils import Database

from automation.core.records import WatchedPostRecord
from automation.store import SqliteStore, Store, postgres_schema
from automation.store.migrations import MIGRATIONS
from automation.store.postgres import PostgresStore

T0 = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
Opener = Callable[[], Store]
Rows = Callable[[str], list[tuple[float, float]]]  # table -> (at, value) rows, sorted


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def epoch(minutes: float) -> float:
    return at(minutes).timestamp()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Opener, Rows]]:
    """How to open the store anew, and how to read a table's rows beside it."""
    if request.param == "sqlite":
        path = tmp_path / "state.db"

        def sqlite_rows(table: str) -> list[tuple[float, float]]:
            with sqlite3.connect(path) as conn:
                return sorted(conn.execute(f"SELECT at, value FROM {table}").fetchall())

        yield (lambda: SqliteStore.open(path)), sqlite_rows
        return
    cluster: Cluster = request.getfixturevalue("postgres_cluster")
    database = cluster.create_database()
    with psycopg.connect(database.url, autocommit=True) as admin:

        def postgres_rows(table: str) -> list[tuple[float, float]]:
            return sorted(admin.execute(f"SELECT at, value FROM {table}").fetchall())

        yield (lambda: PostgresStore.open(database, migrate="auto")), postgres_rows


def watched(store: Store) -> None:
    store.upsert_posts([WatchedPostRecord("1", "brand", T0, "timeline", T0)])


def test_the_hour_waits_apart_and_moves_in_the_next_hours_first_reading(backend) -> None:
    opened, rows = backend
    with opened() as store:
        watched(store)
        store.record_totals(at(0), {"1": {"likes": 1}})
        store.record_totals(at(5), {"1": {"likes": 2}})
        assert rows("snapshots") == []
        assert rows("snapshots_hour") == [(epoch(0), 1.0), (epoch(5), 2.0)]
    with opened() as store:  # restarted: goes on from what was committed
        assert store.latest_totals(["1"]) == {"1": {"likes": 2.0}}
        store.record_totals(at(55), {"1": {"likes": 3}})
        assert rows("snapshots") == []
        store.record_totals(at(60), {"1": {"likes": 4}})
        assert rows("snapshots") == [(epoch(0), 1.0), (epoch(5), 2.0), (epoch(55), 3.0)]
        assert rows("snapshots_hour") == [(epoch(60), 4.0)]
        # dated before the rows moved (the clock went back): written beside them
        store.record_totals(at(30), {"1": {"likes": 9}})
        assert (epoch(30), 9.0) in rows("snapshots")
        assert rows("snapshots_hour") == [(epoch(60), 4.0)]
        assert store.latest_totals(["1"]) == {"1": {"likes": 4.0}}
        assert store.top("likes", 1) == [("1", 4.0)]
        window = store.snapshots(["1"], at(20))["1"]
        assert [(s.at, s.values["likes"]) for s in window] == [
            (at(5), 2.0),
            (at(30), 9.0),
            (at(55), 3.0),
            (at(60), 4.0),
        ]


def test_a_prune_moves_the_hour_first_and_keeps_each_newest_row(backend) -> None:
    opened, rows = backend
    with opened() as store:
        watched(store)
        store.record_totals(at(0), {"1": {"likes": 1, "replies": 1}})
        store.record_totals(at(10), {"1": {"likes": 2}})
        assert store.prune_snapshots(at(20)) == 1  # the 12:00 likes, older than 12:10's
        assert rows("snapshots_hour") == []
        assert rows("snapshots") == [(epoch(0), 1.0), (epoch(10), 2.0)]
        store.record_totals(at(15), {"1": {"likes": 3}})
        assert rows("snapshots_hour") == [(epoch(15), 3.0)]
    with opened() as store:
        assert store.latest_totals(["1"]) == {"1": {"likes": 3.0, "replies": 1.0}}


def test_a_sqlite_file_from_before_m008_is_read_whole_and_goes_on(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    db = Database(sqlite3.connect(path), execute_plugins=False)
    try:
        MIGRATIONS.apply(db, stop_before="m008_snapshots_of_the_hour")
        with db.conn:
            db.execute("INSERT INTO posts VALUES ('1', 'brand', 0, 'timeline', 0, NULL)")
            db.execute("INSERT INTO metric_names VALUES (1, 'likes')")
            db.execute("INSERT INTO series VALUES (7, '1')")
            db.execute(f"INSERT INTO snapshots VALUES (7, 1, {epoch(0)}, 1), (7, 1, {epoch(5)}, 2)")
    finally:
        db.close()
    _goes_on(lambda: SqliteStore.open(path))


@pytest.mark.postgres
def test_a_postgres_database_from_before_m003_is_read_whole_and_goes_on(
    postgres_cluster: Cluster,
) -> None:
    database = postgres_cluster.create_database()
    with psycopg.connect(database.url, autocommit=True) as admin:
        admin.execute("CREATE TABLE schema_migrations (name text PRIMARY KEY, applied_at float8)")
        for name, sql in postgres_schema.MIGRATIONS[:2]:
            admin.execute(sql.encode())
            admin.execute("INSERT INTO schema_migrations VALUES (%s, 0)", [name])
        admin.execute("INSERT INTO posts VALUES ('1', 'brand', 0, 'timeline', 0, NULL)")
        admin.execute("INSERT INTO metric_names VALUES (1, 'likes')")
        admin.execute("INSERT INTO series VALUES (7, '1')")
        admin.execute(
            "INSERT INTO snapshots VALUES (7, 1, %s, 1), (7, 1, %s, 2)", [epoch(0), epoch(5)]
        )
        _goes_on(lambda: PostgresStore.open(database, migrate="auto"))
        assert postgres_schema.pending(admin) == []


def _goes_on(opened: Opener) -> None:
    """An upgraded store reads the rows written before, and writes the hour apart."""
    with opened() as store:
        assert store.latest_totals(["1"]) == {"1": {"likes": 2.0}}
        assert store.top("likes", 1) == [("1", 2.0)]
        assert store.record_totals(at(6), {"1": {"likes": 2}}) == 0
        assert store.record_totals(at(10), {"1": {"likes": 3}}) == 1
    with opened() as store:
        assert store.latest_totals(["1"]) == {"1": {"likes": 3.0}}
        window = store.snapshots(["1"], at(1))["1"]
        assert [(s.at, s.values["likes"]) for s in window] == [
            (at(0), 1.0),
            (at(5), 2.0),
            (at(10), 3.0),
        ]

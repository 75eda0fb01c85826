"""The newest time (or hour) moved into ``snapshots`` and ``hourly_totals`` is committed in
``meta`` with each move (``HourRows``), so that a starting store reads it by key instead
of scanning the big table for its newest row: a restarted store places the rows as the
one kept open does, on SQLite and PostgreSQL alike; where a prune may have cut the newest
moved rows the key goes, and the bound is found by the scan, as before the key was kept."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pg_cluster import Cluster

from automation.core.hours import reading_hour
from automation.core.records import WatchedPostRecord
from automation.store import SqliteStore, Store
from automation.store.postgres import PostgresStore

T0 = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
H0 = reading_hour(T0 + timedelta(minutes=5))  # 12:00-13:00
Opener = Callable[[], Any]  # a SqliteStore or PostgresStore, whose bounds are compared


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def opened(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Opener]:
    if request.param == "sqlite":
        yield lambda: SqliteStore.open(tmp_path / "state.db")
        return
    cluster: Cluster = request.getfixturevalue("postgres_cluster")
    database = cluster.create_database()
    yield lambda: PostgresStore.open(database, migrate="auto")


def read(store: Store, minutes: float, likes: int) -> None:
    store.record_totals(at(minutes), {"1": {"likes": likes}})
    store.record_hourly_totals(at(minutes), {"1": {"likes": likes}})


def test_a_restarted_store_reads_the_bounds_the_moves_committed(opened: Opener) -> None:
    with opened() as kept:
        kept.upsert_posts([WatchedPostRecord("1", "brand", T0, "timeline", T0)])
        for minutes, likes in ((5, 1), (65, 2), (70, 3), (125, 4)):
            read(kept, minutes, likes)
        assert kept.meta("snapshots_moved") == repr(at(70).timestamp())
        assert kept.meta("hourly_totals_moved") == repr(H0 + 1)
        bounds = (kept._hour, kept._totals_hour)
    with opened() as restarted:
        read(restarted, 130, 4)  # unchanged: nothing written, the bounds read
        assert (restarted._hour, restarted._totals_hour) == bounds


def test_a_prune_past_the_moved_hour_drops_the_key_and_the_scan_finds_the_same(
    opened: Opener,
) -> None:
    with opened() as kept:
        for minutes, likes in ((5, 1), (65, 2), (125, 3)):
            kept.record_hourly_totals(at(minutes), {"1": {"likes": likes}})
        assert kept.meta("hourly_totals_moved") == repr(H0 + 1)
        kept.prune_hourly(at(300))  # cuts every row of hourly_totals
        assert kept.meta("hourly_totals_moved") is None
        kept.record_hourly_totals(at(305), {"1": {"likes": 4}})
        bounds = kept._totals_hour
        assert bounds is not None and bounds.moved_at == -1  # the big table found empty
    with opened() as restarted:
        restarted.record_hourly_totals(at(310), {"1": {"likes": 4}})
        assert restarted._totals_hour == bounds


def test_a_starting_sqlite_store_scans_neither_big_table(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    with SqliteStore.open(path) as store:
        store.upsert_posts([WatchedPostRecord("1", "brand", T0, "timeline", T0)])
        for minutes, likes in ((5, 1), (65, 2)):
            read(store, minutes, likes)
    seen: list[str] = []
    with SqliteStore.open(path) as store:
        store._conn.set_trace_callback(seen.append)
        read(store, 70, 3)
    assert seen
    scan = re.compile(r"max\((at|hour)\)(, -?\d\))? FROM (snapshots|hourly_totals)$")
    assert not [s for s in seen if scan.search(s)]

"""What the stores remember of their own writes changes no answer.

The SQLite and PostgreSQL stores keep each post's latest values and last hourly reading in
memory, and write only what changed. On random sequences of readings, prunes and restarts,
a store kept open (everything remembered) must hold exactly the rows of a store reopened
before every step (everything read back from the database, as when nothing was kept in
memory), and answer every query as ``MemoryStore`` does.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pg_cluster import emptied

from automation.config.database import PostgresDatabase
from automation.core.records import WatchedPostRecord
from automation.store import MemoryStore, SqliteStore, Store
from automation.store.postgres import PostgresStore
from automation.store.snapshot_rows import Latest, plan_snapshots

T0 = datetime(2026, 11, 26, 11, 50, tzinfo=UTC)
POSTS = ("1", "2", "3")
# the metrics each post has; a reading may lack some
METRICS = {"1": ("favorites", "retweets", "impressions"), "2": ("favorites",), "3": ("replies",)}
TABLES = {
    "series": "post_id",
    "snapshots": "(SELECT post_id FROM series WHERE id = series), metric, at, value",
    "snapshots_hour": "(SELECT post_id FROM series WHERE id = series), metric, at, value",
    "hourly_totals": "post, metric, hour, value",
    "hourly_totals_hour": "post, metric, hour, value",
    "hourly_spans": "post, metric, kind, lo, hi",
}

# small counts, and counts about 2**53, beyond which an int has no float of its own: every
# store compares a count as its float (so 2**53 + 1 reads as 2**53 everywhere)
counts = st.integers(0, 2) | st.sampled_from([2**53 - 1, 2**53, 2**53 + 1, 2**53 + 2])
values = counts | counts.map(float)


def reading(post: str) -> st.SearchStrategy[Any]:
    """A post's values: mostly every metric it has, sometimes only some or none (a public
    post reads only the public metrics, an answer may lack a post); as a dict, or as a
    read-only view the way the engine parses answers (which a store may remember as it
    is, instead of a copy), ints and floats alike."""
    every = st.fixed_dictionaries({m: values for m in METRICS[post]})
    some = st.fixed_dictionaries({}, optional={m: values for m in METRICS[post]})
    found = every | some
    return found | found.map(MappingProxyType)


readings = st.fixed_dictionaries({}, optional={p: reading(p) for p in POSTS})
steps = st.lists(
    st.one_of(
        st.tuples(st.just("read"), st.sampled_from([0, 5, 10, 55, 60, 65, 130]), readings),
        st.tuples(st.just("read"), st.sampled_from([-5, -70]), readings),  # the clock went back
        st.tuples(st.just("prune"), st.sampled_from([0, 1, 2, 5]), st.just({})),
        st.tuples(st.just("restart"), st.just(0), st.just({})),
    ),
    max_size=14,
)
SETTINGS = settings(
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


def watched(store: Store) -> None:
    store.upsert_posts(
        WatchedPostRecord(
            post_id=p, account="brand", created_at=T0, source="timeline", first_seen=T0
        )
        for p in POSTS
    )


def apply(store: Store, step: tuple[str, int, dict[str, Any]], now: datetime) -> Any:
    """One step on ``store``; what a write returns."""
    kind, minutes, totals = step
    if kind == "read":
        return store.record_totals(now, totals), store.record_hourly_totals(now, totals)
    if kind == "prune":
        cut = now - timedelta(hours=minutes)
        store.prune_snapshots(cut)
        store.prune_hourly(cut)
    return None


def answers(store: Store, now: datetime) -> dict[str, Any]:
    """Everything the windows, backtests, the dashboard and ``history`` read."""
    start = T0 - timedelta(hours=1)
    return {
        "latest": store.latest_totals(POSTS),
        "top": [store.top(m, 5) for m in ("favorites", "retweets", "impressions", "replies")],
        "snapshots": [
            store.snapshots(POSTS, start + timedelta(minutes=m)) for m in range(0, 600, 25)
        ],
        "hourly": store.hourly(POSTS, None, start, now + timedelta(hours=2)),
        "hourly favorites": store.hourly(POSTS, ["favorites"], T0 + timedelta(hours=2), now),
    }


def rows(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    conn = sqlite3.connect(path)
    try:
        return {
            table: sorted(conn.execute(f"SELECT {columns} FROM {table}").fetchall())
            for table, columns in TABLES.items()
        }
    finally:
        conn.close()


def later(now: datetime, step: tuple[str, int, dict[str, Any]]) -> datetime:
    return now + timedelta(minutes=step[1]) if step[0] == "read" else now


@SETTINGS
@given(sequence=steps)
def test_sqlite_remembering_writes_what_reading_everything_back_writes(
    tmp_path_factory: pytest.TempPathFactory,
    new_sqlite: Callable[[Path], Path],
    sequence: list[tuple[str, int, dict[str, Any]]],
) -> None:
    folder = tmp_path_factory.mktemp("remembered")
    kept, fresh, memory = folder / "kept.db", folder / "fresh.db", MemoryStore()
    for path in (kept, fresh):
        with SqliteStore.open(new_sqlite(path)) as target:
            watched(target)
    watched(memory)
    store = SqliteStore.open(kept)
    now = T0
    try:
        for step in sequence:
            now = later(now, step)
            if step[0] == "restart":
                store.close()
                store = SqliteStore.open(kept)
            with SqliteStore.open(fresh) as cold:  # remembers nothing: reads all back
                written = apply(cold, step, now)
            assert apply(store, step, now) == written == apply(memory, step, now)
            assert rows(kept) == rows(fresh)
            assert answers(store, now) == answers(memory, now)
    finally:
        store.close()


@pytest.mark.postgres
@settings(SETTINGS, max_examples=40)
@given(sequence=steps)
def test_postgres_remembering_answers_as_the_memory_store(
    postgres_shared: PostgresDatabase, sequence: list[tuple[str, int, dict[str, Any]]]
) -> None:
    memory = MemoryStore()
    store = PostgresStore.open(emptied(postgres_shared))
    watched(store)
    watched(memory)
    now = T0
    try:
        for step in sequence:
            now = later(now, step)
            if step[0] == "restart":
                store.close()
                store = PostgresStore.open(postgres_shared)
            assert apply(store, step, now) == apply(memory, step, now)
            assert answers(store, now) == answers(memory, now)
    finally:
        store.close()


def test_a_read_only_reading_is_remembered_as_it_is_only_when_it_is_the_latest_values() -> None:
    before = {"favorites": 1.0, "retweets": 2.0}
    latest: Latest = {"1": (7, before), "2": (8, before), "3": (9, before)}
    same = MappingProxyType({"favorites": 3.0, "retweets": 2.0})
    lacking = MappingProxyType({"favorites": 3.0})
    reordered = MappingProxyType({"retweets": 2.0, "favorites": 3.0})
    plan = plan_snapshots({"1": same, "2": lacking, "3": reordered}, latest)
    merged = {"favorites": 3.0, "retweets": 2.0}
    assert [(p, s, dict(v)) for p, s, v in plan.updates] == [
        ("1", 7, merged),
        ("2", 8, merged),
        ("3", 9, merged),
    ]
    kept = [v for _, _, v in plan.updates]
    assert kept[0] is same  # the engine holds it anyway: no copy
    assert kept[1] is not lacking and list(kept[2]) == list(before)  # stored as before

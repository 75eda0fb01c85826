"""The actions counted by status (``action_counts()``: ``automation status``, the
dashboard's overview and actions page, ``/metrics``) as the outbox's triggers keep them
(SQLite m011, PostgreSQL m006): after every path that queues, changes or removes an
action, and in a database migrated, restored or copied, they are what a full count of
the outbox says, on both backends."""

from __future__ import annotations

import sqlite3
import subprocess
from collections.abc import Callable
from contextlib import AbstractContextManager, closing
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from pg_cluster import Cluster

from automation.config.database import PostgresDatabase
from automation.core.records import ACTION_STATUSES
from automation.engine.retries import retry_all_dead, retry_dead
from automation.store import (
    ActionRecord,
    CycleWrite,
    FiringRecord,
    SqliteStore,
    Store,
    copy_postgres,
    copy_sqlite,
)
from automation.store.copying import copy_rows
from automation.store.opening import migrate
from automation.store.postgres import PostgresStore
from automation.store.sqlite_backup import backup_database

T0 = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
FULL_COUNT = "SELECT status, count(*) FROM outbox GROUP BY status ORDER BY status"
Database = Path | PostgresDatabase


@dataclass(frozen=True)
class Backend:
    database: Database
    open: Callable[[], Store]
    run: Callable[[str], list[tuple[object, ...]]]  # one statement on a connection of its own


def sqlite_backend(path: Path) -> Backend:
    def run(sql: str) -> list[tuple[object, ...]]:
        with closing(sqlite3.connect(path)) as conn, conn:
            return conn.execute(sql).fetchall()

    return Backend(path, lambda: SqliteStore.open(path), run)


def postgres_backend(database: PostgresDatabase) -> Backend:
    def run(sql: str) -> list[tuple[object, ...]]:
        with psycopg.connect(database.url, autocommit=True) as conn:
            cursor = conn.execute(sql.encode())
            return cursor.fetchall() if cursor.description else []

    return Backend(database, lambda: PostgresStore.open(database, migrate="auto"), run)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    if request.param == "sqlite":
        return sqlite_backend(tmp_path / "state.db")
    cluster: Cluster = request.getfixturevalue("postgres_cluster")
    return postgres_backend(cluster.create_database())


def full_count(backend: Backend) -> dict[str, int]:
    counts: dict[str, int] = dict.fromkeys(ACTION_STATUSES, 0)
    counts.update((str(status), int(str(n))) for status, n in backend.run(FULL_COUNT))
    return counts


def assert_counted(backend: Backend, store: Store, after: str) -> None:
    assert store.action_counts() == full_count(backend), after


def queue(store: Store, first: int, count: int, at: datetime) -> None:
    """``count`` firings over three rules, each queueing one or two actions."""
    firings = tuple(
        FiringRecord(
            id=f"f{n:03d}",
            rule_id=f"r{n % 3}",
            post_id=str(n % 5),
            key=f"k{n}",
            kind="fired",
            at=at,
            metrics={"likes": float(n)},
            actions=(ActionRecord(0, "log", "{}"), ActionRecord(1, "log", "{}"))[: 1 + n % 2],
        )
        for n in range(first, first + count)
    )
    store.commit_cycle(CycleWrite(at=at, firings=firings))


def dispatch(store: Store, at: datetime) -> None:
    """Hand out what is due and record an outcome for each: sent, dead, retried, left."""
    for number, item in enumerate(store.claim_actions(at, 100)):
        outcome = ("sent", "dead", "retry", None)[number % 4]
        if outcome is None:
            store.release_actions([item.id])
            continue
        store.record_attempt(
            item.id,
            at=at,
            outcome=outcome,
            error=None if outcome == "sent" else "boom",
            next_attempt_at=at + timedelta(minutes=1) if outcome == "retry" else None,
        )


def every_path(backend: Backend, store: Store) -> None:
    """Queue, dispatch, retry by hand and prune, comparing after each."""
    assert_counted(backend, store, "empty")
    queue(store, 0, 12, T0)
    assert_counted(backend, store, "queued")
    dispatch(store, T0)
    assert_counted(backend, store, "dispatched")
    dispatch(store, T0 + timedelta(minutes=2))  # the retried ones again
    assert_counted(backend, store, "retried by the outbox")
    dead = store.actions("dead", limit=100)
    assert len(dead) >= 3
    assert retry_dead(store, dead[0].id, who="ops", now=T0 + timedelta(minutes=3))
    assert_counted(backend, store, "one re-queued (actions retry ID, the dashboard's retry)")
    assert retry_all_dead(store, who="ops", now=T0 + timedelta(minutes=3), rule_id=dead[1].rule_id)
    assert_counted(backend, store, "a rule's re-queued (actions retry --all --rule)")
    dispatch(store, T0 + timedelta(minutes=4))
    assert retry_all_dead(store, who="ops", now=T0 + timedelta(minutes=5))
    assert_counted(backend, store, "every dead re-queued (actions retry --all)")
    dispatch(store, T0 + timedelta(minutes=6))
    queue(store, 100, 6, T0 + timedelta(hours=2))
    assert_counted(backend, store, "more queued")
    pruned = store.prune_ledger(T0 + timedelta(hours=1))
    assert pruned.actions
    assert_counted(backend, store, "pruned")
    backend.run("UPDATE outbox SET status = 'held' WHERE id = 'f101.0'")  # a hand edit
    assert_counted(backend, store, "an unknown status set by hand")
    backend.run("DELETE FROM outbox WHERE id = 'f101.0'")
    assert_counted(backend, store, "a row deleted by hand")
    dispatch(store, T0 + timedelta(hours=2))
    assert_counted(backend, store, "the last dispatched")


def test_the_kept_counts_match_a_full_count_after_every_change(backend: Backend) -> None:
    with backend.open() as store:
        every_path(backend, store)
        counts = store.action_counts()
        assert sum(counts.values()) and all(counts.values())  # every status has some
    with backend.open() as store:
        assert_counted(backend, store, "opened again")


def test_a_database_from_before_the_counts_is_migrated_with_them_filled(backend: Backend) -> None:
    with backend.open() as store:
        every_path(backend, store)
        expected = store.action_counts()
    if isinstance(backend.database, Path):
        name = "m011_outbox_counts"
        for trigger in ("outbox_counted", "outbox_uncounted", "outbox_recounted"):
            backend.run(f"DROP TRIGGER {trigger}")
        backend.run("DROP TABLE outbox_counts")
        backend.run(f"DELETE FROM _sqlite_migrations WHERE name = '{name}'")
    else:
        name = "m006_outbox_counts"
        backend.run("DROP TABLE outbox_counts")
        backend.run("DROP FUNCTION outbox_counts_change CASCADE")  # and its triggers
        backend.run(f"DELETE FROM schema_migrations WHERE name = '{name}'")
    assert migrate(backend.database).applied == (name,)
    with backend.open() as store:
        assert store.action_counts() == expected == full_count(backend)
        queue(store, 200, 3, T0 + timedelta(hours=3))
        dispatch(store, T0 + timedelta(hours=3))
        assert_counted(backend, store, "after the migration")


def test_a_sqlite_backup_restored_keeps_its_counts(tmp_path: Path) -> None:
    live = sqlite_backend(tmp_path / "state.db")
    with live.open() as store:
        every_path(live, store)
        expected = store.action_counts()
    backup_database(tmp_path / "state.db", tmp_path / "backup.db")
    with live.open() as store:
        queue(store, 300, 5, T0 + timedelta(hours=4))  # written after the backup
        assert store.action_counts() != expected
    (tmp_path / "backup.db").replace(tmp_path / "state.db")  # restored as the README says
    for leftover in ("state.db-wal", "state.db-shm"):
        (tmp_path / leftover).unlink(missing_ok=True)
    with live.open() as store:
        assert store.action_counts() == expected == full_count(live)
        dispatch(store, T0 + timedelta(hours=5))
        assert_counted(live, store, "restored, then dispatched")


@pytest.mark.postgres
def test_a_postgres_dump_restored_keeps_its_counts(postgres_cluster: Cluster) -> None:
    source = postgres_backend(postgres_cluster.create_database())
    with source.open() as store:
        every_path(source, store)
        expected = store.action_counts()
    restored = postgres_backend(postgres_cluster.create_database())
    assert isinstance(source.database, PostgresDatabase)
    assert isinstance(restored.database, PostgresDatabase)
    dump = subprocess.run(
        ["pg_dump", "--format=custom", source.database.url],
        check=True,
        capture_output=True,
    ).stdout
    subprocess.run(
        ["pg_restore", "--no-owner", "--dbname", restored.database.url],
        input=dump,
        check=True,
        capture_output=True,
    )
    with restored.open() as store:
        assert store.action_counts() == expected == full_count(restored)
        dispatch(store, T0 + timedelta(hours=5))
        assert_counted(restored, store, "restored, then dispatched")


def side(database: Database, *, reading: bool) -> AbstractContextManager[Any]:
    """``copy-store``'s side for ``database``, as the command opens it."""
    if isinstance(database, Path):
        return copy_sqlite.reading(database) if reading else copy_sqlite.writing(database)
    return copy_postgres.reading(database) if reading else copy_postgres.writing(database)


def copied(source: Backend, target: Backend, *, replace: bool = False) -> None:
    """``automation copy-store`` from one to the other."""
    with (
        side(source.database, reading=True) as reader,
        side(target.database, reading=False) as writer,
    ):
        copy_rows(reader, writer, target_name="target", replace=replace)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def other(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    """A second database of the kind named, for the copy (its cluster asked for at set-up,
    so that without PostgreSQL the test is skipped, or an error in CI, like the others)."""
    if request.param == "sqlite":
        return sqlite_backend(tmp_path / "copy.db")
    cluster: Cluster = request.getfixturevalue("postgres_cluster")
    return postgres_backend(cluster.create_database())


def test_copy_store_arrives_with_counts_that_match(backend: Backend, other: Backend) -> None:
    with backend.open() as store:
        every_path(backend, store)
        expected = store.action_counts()
    target = other
    copied(backend, target)
    with target.open() as store:
        assert store.action_counts() == expected == full_count(target)
    with target.open() as store:  # then over what it holds (--replace)
        queue(store, 400, 4, T0 + timedelta(hours=6))
        dispatch(store, T0 + timedelta(hours=6))
        assert store.action_counts() != expected
    copied(backend, target, replace=True)
    with target.open() as store:
        assert store.action_counts() == expected == full_count(target)
        dispatch(store, T0 + timedelta(hours=7))
        assert_counted(target, store, "copied, then dispatched")

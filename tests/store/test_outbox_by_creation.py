"""The outbox read newest first (``actions``: the dashboard's actions page, ``automation
actions``), whole or by status, rule, post or creation time, through its indexes on
``created_at`` (SQLite m010, PostgreSQL m005): the same answers as the memory store on
both backends, for a database from before the indexes once ``automation migrate`` has
run on it too; and on SQLite no such read sorts or scans the whole outbox."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from pg_cluster import Cluster

from automation.config.database import PostgresDatabase
from automation.store import ActionRecord, CycleWrite, FiringRecord, MemoryStore, SqliteStore, Store
from automation.store.opening import migrate
from automation.store.postgres import PostgresStore

T0 = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
INDEXES = ("outbox_created", "outbox_rule_id_created", "outbox_post_id_created")
# the reads that page through the outbox, by filter; each asked for 3 and for all
FILTERS: tuple[dict[str, Any], ...] = (
    {},
    {"status": "pending"},
    {"status": "sent"},
    {"status": "dead"},
    {"rule_id": "r1"},
    {"rule_id": "r1", "status": "sent"},
    {"post_id": "2"},
    {"since": T0 + timedelta(minutes=2)},
    {"until": T0 + timedelta(minutes=3)},
    {"since": T0 + timedelta(minutes=1), "until": T0 + timedelta(minutes=3), "post_id": "1"},
)
Opener = Callable[[], Store]


def fill(store: Store) -> None:
    """Five cycles of firings (each cycle's actions share their creation time, so the
    order among them is the order queued), over three rules and three posts; some sent,
    some dead, some retried, the rest pending."""
    n = 0
    for minute in range(5):
        at = T0 + timedelta(minutes=minute)
        firings = []
        for _ in range(3):
            firings.append(
                FiringRecord(
                    id=f"f{n:02d}",
                    rule_id=f"r{n % 3}",
                    post_id=str(n % 4 % 3),
                    key=f"k{n}",
                    kind="fired",
                    at=at,
                    metrics={"likes": float(n)},
                    actions=(ActionRecord(0, "log", "{}"), ActionRecord(1, "log", "{}"))[
                        : 1 + n % 2
                    ],
                )
            )
            n += 1
        store.commit_cycle(CycleWrite(at=at, firings=tuple(firings)))
    for number, item in enumerate(store.actions(limit=100)):
        outcome = ("sent", "dead", "retry", None)[number % 4]
        if outcome is not None:
            later = item.created_at + timedelta(minutes=1)
            store.record_attempt(
                item.id,
                at=later,
                outcome=outcome,
                error=None if outcome == "sent" else "boom",
                next_attempt_at=later if outcome == "retry" else None,
            )


def answers(store: Store) -> list[object]:
    found: list[object] = [store.action_counts(), store.oldest_pending_at()]
    for rule in ("r1", "r2"):
        found.append(store.action_counts(rule))
    for filters in FILTERS:
        for limit in (3, 100):
            found.append([item.id for item in store.actions(limit=limit, **filters)])
    return found


@pytest.fixture(scope="module")
def expected() -> list[object]:
    memory = MemoryStore()
    fill(memory)
    return answers(memory)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Opener]:
    if request.param == "sqlite":
        path = tmp_path / "state.db"
        yield lambda: SqliteStore.open(path)
        return
    cluster: Cluster = request.getfixturevalue("postgres_cluster")
    database = cluster.create_database()
    yield lambda: PostgresStore.open(database, migrate="auto")


def test_every_page_of_the_outbox_is_the_memory_store_s(backend: Opener, expected) -> None:
    with backend() as store:
        fill(store)
        assert answers(store) == expected
    with backend() as store:
        assert answers(store) == expected


def test_a_sqlite_file_from_before_m010_is_migrated_and_answers_alike(
    tmp_path: Path, expected
) -> None:
    path = tmp_path / "state.db"
    with SqliteStore.open(path) as store:
        fill(store)
    with sqlite3.connect(path) as conn:  # as the version before m010 left it
        for name in (*INDEXES, "outbox_status_created"):
            conn.execute(f"DROP INDEX {name}")
        conn.execute("DELETE FROM _sqlite_migrations WHERE name = 'm010_outbox_by_creation'")
    assert migrate(path).applied == ("m010_outbox_by_creation",)
    with sqlite3.connect(path) as conn:
        made = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
        assert {*INDEXES, "outbox_status_created"} <= made
    with SqliteStore.open(path) as store:
        assert answers(store) == expected


@pytest.mark.postgres
def test_a_postgres_database_from_before_m005_is_migrated_and_answers_alike(
    postgres_cluster: Cluster, expected
) -> None:
    database: PostgresDatabase = postgres_cluster.create_database()
    with PostgresStore.open(database, migrate="auto") as store:
        fill(store)
    with psycopg.connect(database.url, autocommit=True) as admin:
        admin.execute(f"DROP INDEX {', '.join(INDEXES)}".encode())
        admin.execute("DELETE FROM schema_migrations WHERE name = 'm005_outbox_by_creation'")
        assert migrate(database).applied == ("m005_outbox_by_creation",)
        made = admin.execute("SELECT indexname FROM pg_indexes WHERE tablename = 'outbox'")
        assert set(INDEXES) <= {name for (name,) in made}
    with PostgresStore.open(database) as store:
        assert answers(store) == expected


def test_no_sqlite_page_of_the_outbox_sorts_or_scans_it_whole(tmp_path: Path) -> None:
    """Each read's plan, as SQLite makes it for a file of any size (no statistics are
    kept): an index search or an index walk in order, never a sort of every action."""
    path = tmp_path / "state.db"
    seen: list[str] = []
    with SqliteStore.open(path) as store:
        fill(store)
        store._conn.set_trace_callback(seen.append)
        for filters in FILTERS:
            store.actions(limit=3, **filters)
        store.action_counts("r1")
        store.oldest_pending_at()
    reads = [s for s in seen if re.search(r"\bFROM outbox\b", s)]
    assert len(reads) == len(FILTERS) + 2
    with sqlite3.connect(path) as conn:
        plans = [
            " / ".join(row[3] for row in conn.execute(f"EXPLAIN QUERY PLAN {sql}")) for sql in reads
        ]
    assert plans[0] == "SCAN outbox USING INDEX outbox_created"  # newest first, stops at 3
    for sql, plan in zip(reads[1:], plans[1:], strict=True):
        assert plan.startswith("SEARCH outbox USING "), (sql, plan)
        assert "TEMP B-TREE FOR ORDER BY" not in plan, (sql, plan)

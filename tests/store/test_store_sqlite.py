"""What only the SQLite store promises: a durable file, WAL, migrations, locking, clear errors."""

from __future__ import annotations

import dataclasses
import os
import re
import sqlite3
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from unittest.mock import patch

import pytest
from cli_helpers import unwritable
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlite_utils import Database

from automation.core.errors import StoreError
from automation.core.facts import RuleState
from automation.store import ActionRecord, CycleWrite, FiringRecord, SqliteStore, WatchedPostRecord
from automation.store.migrations import MIGRATIONS

T0 = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
FAKE_SECRET = "whsec-FAKE-3c9a7e01d5b24f68"


def fired(fid: str, key: str = "once") -> FiringRecord:
    return FiringRecord(
        id=fid,
        rule_id="r1",
        post_id="p1",
        key=key,
        kind="fired",
        at=T0,
        metrics={"likes": 100.0},
        actions=(
            ActionRecord(0, "webhook", '{"url":"https://hooks.example","secret":"${HOOK_SECRET}"}'),
        ),
    )


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "state.db"


def test_the_file_runs_in_wal_mode_with_a_bounded_wal(path: Path) -> None:
    with SqliteStore.open(path) as store:
        limit = store._conn.execute("PRAGMA journal_size_limit").fetchone()[0]
        assert 0 < limit <= 16 * 1024 * 1024
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        conn.close()


def test_a_firing_s_windows_share_its_metrics_column_and_a_firing_without_is_as_before(
    path: Path,
) -> None:
    """No column for windows: a window's label has a space, which no metric name has, so
    it sits in the ``metrics`` object; a firing without one writes what it always did."""
    windowed = dataclasses.replace(fired("w", key="k"), windows={"likes over 1h": 52.0})
    with SqliteStore.open(path) as store:
        store.commit_cycle(CycleWrite(at=T0, firings=(fired("t"), windowed)))
    conn = sqlite3.connect(path)
    try:
        rows = dict(conn.execute("SELECT id, metrics FROM firings").fetchall())
    finally:
        conn.close()
    assert rows == {"t": '{"likes":100.0}', "w": '{"likes":100.0,"likes over 1h":52.0}'}


def test_migrations_apply_once(path: Path) -> None:
    SqliteStore.open(path).close()
    SqliteStore.open(path).close()
    db = Database(sqlite3.connect(path), execute_plugins=False)
    try:
        MIGRATIONS.apply(db)
        names = [m.name for m in MIGRATIONS.applied(db)]
        assert names == [
            "m001_initial",
            "m002_export_parts",
            "m003_hourly_history",
            "m004_pauses",
            "m005_changes",
            "m006_digests",
            "m007_latest_from_snapshots",
            "m008_snapshots_of_the_hour",
            "m009_hourly_totals_of_the_hour",
            "m010_outbox_by_creation",
            "m011_outbox_counts",
        ]
        assert MIGRATIONS.pending(db) == []
    finally:
        db.close()


def test_fired_counts_read_only_the_window_and_come_in_rule_order(path: Path) -> None:
    """The overview's and the rules' counts of the last day and week: the window's firings
    found by time, not every firing walked in rule order, and the rules in order."""
    firings = tuple(
        dataclasses.replace(fired(f"f{n}", key=f"k{n}"), rule_id=rule, at=T0 + timedelta(hours=n))
        for n, rule in enumerate(("r3", "r1", "r2", "r1", "r3"))
    )
    seen: list[str] = []
    with SqliteStore.open(path) as store:
        store.commit_cycle(CycleWrite(at=T0, firings=firings))
        store._conn.set_trace_callback(seen.append)
        counts = store.firing_counts(T0 + timedelta(hours=1))
    assert list(counts.items()) == [("r1", 2), ("r2", 1), ("r3", 1)]
    [sql] = seen
    with sqlite3.connect(path) as conn:
        plan = [row[3] for row in conn.execute(f"EXPLAIN QUERY PLAN {sql}")]
    assert plan[0] == "SEARCH firings USING INDEX idx_firings_at (at>?)"


def test_migrations_run_on_sqlite_older_than_3_35(path: Path) -> None:
    """Some systems' Python 3.11 links SQLite 3.34, which has no ``DROP COLUMN`` (3.35):
    a new file runs every migration, so none may use it; the series keep their key."""
    conn = sqlite3.connect(path)
    statements: list[str] = []
    conn.set_trace_callback(statements.append)
    db = Database(conn, execute_plugins=False)
    try:
        MIGRATIONS.apply(db)
        assert not [s for s in statements if "DROP COLUMN" in s.upper()]
        assert [(i.columns, i.unique) for i in db.table("series").indexes] == [(["post_id"], 1)]
    finally:
        db.close()


def test_a_file_from_before_m007_reads_its_latest_values_from_the_snapshots(path: Path) -> None:
    db = Database(sqlite3.connect(path), execute_plugins=False)
    try:
        MIGRATIONS.apply(db, stop_before="m007_latest_from_snapshots")
        with db.conn:
            db.execute("INSERT INTO posts VALUES ('1', 'brand', 0, 'timeline', 0, NULL)")
            db.execute("INSERT INTO metric_names VALUES (1, 'likes'), (2, 'replies')")
            db.execute("""INSERT INTO series VALUES (7, '1', '{"likes":3,"replies":1}', 600)""")
            db.execute("INSERT INTO snapshots VALUES (7, 1, 0, 1), (7, 2, 0, 1), (7, 1, 600, 3)")
    finally:
        db.close()
    with SqliteStore.open(path) as store:
        assert store.latest_totals(["1"]) == {"1": {"likes": 3.0, "replies": 1.0}}
        assert store.top("likes", 5) == [("1", 3.0)]
        moment = datetime.fromtimestamp(900, UTC)
        assert store.record_totals(moment, {"1": {"likes": 3, "replies": 1}}) == 0
        assert store.record_totals(moment, {"1": {"likes": 4}}) == 1
        columns = [row[1] for row in store._conn.execute("PRAGMA table_info(series)")]
    assert columns == ["id", "post_id"]
    with SqliteStore.open(path) as store:
        assert store.latest_totals(["1"]) == {"1": {"likes": 4.0, "replies": 1.0}}


def test_data_survives_close_and_reopen(path: Path) -> None:
    with SqliteStore.open(path) as store:
        store.upsert_posts([WatchedPostRecord("1", "brand", T0, "timeline", T0)])
        store.record_totals(T0, {"1": {"likes": 5}})
        store.commit_cycle(
            CycleWrite(at=T0, states=(("r1", "p1", RuleState(done=True)),), firings=(fired("f1"),))
        )
        store.set_meta("last_cycle", "{}")
    with SqliteStore.open(path) as store:
        assert [p.post_id for p in store.posts()] == ["1"]
        assert store.latest_totals(["1"]) == {"1": {"likes": 5.0}}
        assert store.rule_state("r1", "p1") == RuleState(done=True)
        assert [a.id for a in store.claim_actions(T0, 10)] == ["f1.0"]
        assert store.meta("last_cycle") == "{}"
        # The ledger holds across restarts: the same key is still a duplicate.
        assert store.commit_cycle(CycleWrite(at=T0, firings=(fired("f2"),))).duplicate == ("f2",)


def test_a_second_connection_sees_committed_data(path: Path) -> None:
    with SqliteStore.open(path) as writer, SqliteStore.open(path) as reader:
        writer.commit_cycle(CycleWrite(at=T0, firings=(fired("f1"),)))
        assert [e.firing.id for e in reader.history()] == ["f1"]
        assert reader.action_counts()["pending"] == 1


def test_readers_are_not_blocked_by_an_open_write(path: Path) -> None:
    with SqliteStore.open(path) as store:
        store.set_meta("k", "old")
        other = sqlite3.connect(path, timeout=0.1)
        try:
            other.execute("BEGIN IMMEDIATE")
            other.execute("UPDATE meta SET value = 'new' WHERE key = 'k'")
            assert store.meta("k") == "old"  # WAL: the committed version, no waiting
            other.execute("COMMIT")
            assert store.meta("k") == "new"
        finally:
            other.close()


def test_a_read_only_store_reads_beside_a_writer_and_never_writes(path: Path) -> None:
    with SqliteStore.open(path, timeout=0.2) as writer:
        writer.set_meta("k", "old")
        with SqliteStore.open_readonly(path, timeout=0.2) as reader:
            reader._conn.execute("BEGIN")
            assert reader.meta("k") == "old"  # a read transaction stays open...
            writer.commit_cycle(CycleWrite(at=T0, firings=(fired("f1"),)))  # ...never blocking
            writer.set_meta("k", "new")
            reader._conn.execute("COMMIT")
            assert reader.meta("k") == "new"
            assert [e.firing.id for e in reader.history()] == ["f1"]
            with pytest.raises(StoreError, match="readonly"):
                reader.retry_actions(T0, action_id="f1.0")
    with pytest.raises(StoreError, match="no state database"):
        SqliteStore.open_readonly(path.with_name("absent.db"))


def test_commit_cycle_takes_the_write_lock_up_front(path: Path) -> None:
    with SqliteStore.open(path, timeout=0.2) as store:
        statements: list[str] = []
        store._conn.set_trace_callback(statements.append)
        store.commit_cycle(CycleWrite(at=T0, firings=(fired("f1"),)))
        store._conn.set_trace_callback(None)
        assert statements[0] == "BEGIN IMMEDIATE"
        assert statements[-1] == "COMMIT"


def test_budget_sends_commit_without_a_disk_flush_and_other_writes_still_flush(
    path: Path,
) -> None:
    """One budget claim a request: each is atomic but not flushed on its own (a flush a
    request costs more than the request); the cycle's writes keep flushing."""
    with SqliteStore.open(path, timeout=0.2) as store:
        modes: list[str] = []
        store._conn.set_trace_callback(modes.append)
        assert store.budget_claim("engagement", 1_800_000_000.0, 1_800_000_000.0 - 60, 2)
        store._conn.set_trace_callback(None)
        assert modes.index("PRAGMA synchronous = NORMAL") < modes.index("BEGIN IMMEDIATE")
        assert modes[-2:] == ["COMMIT", "PRAGMA synchronous = 2"]
        other = sqlite3.connect(path)
        try:
            other.execute("BEGIN IMMEDIATE")  # a failed claim restores the setting too
            with pytest.raises(StoreError, match="locked"):
                store.budget_record("engagement", 1_800_000_001.0)
        finally:
            other.rollback()
            other.close()
        assert store._conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
        assert store.budget_load("engagement", 0) == [1_800_000_000.0]


@pytest.mark.parametrize("before", ["0", "1", "FAST"])
def test_forgetting_export_parts_does_not_zero_free_pages_and_restores_the_setting(
    path: Path, before: str
) -> None:
    """A finished export forgets megabytes of parts: their freed overflow pages are not
    zeroed (secure_delete FAST), and the connection's own setting is back afterwards,
    even when the delete fails."""
    parts = [(f"p{i}", T0, "x" * 20_000) for i in range(5)]
    with SqliteStore.open(path, timeout=0.2) as store:
        store._conn.execute(f"PRAGMA secure_delete = {before}")
        was = store._conn.execute("PRAGMA secure_delete").fetchone()[0]
        store.save_export_parts("run", parts)
        seen: list[str] = []
        store._conn.set_trace_callback(seen.append)
        assert store.forget_export_parts(run="run") == 5
        store._conn.set_trace_callback(None)
        assert seen.index("PRAGMA secure_delete = FAST") < seen.index("BEGIN IMMEDIATE")
        assert store.export_parts("run", T0 - timedelta(days=1)) == {}
        assert store._conn.execute("PRAGMA secure_delete").fetchone()[0] == was
        store.save_export_parts("run", parts)
        other = sqlite3.connect(path)
        try:
            other.execute("BEGIN IMMEDIATE")
            with pytest.raises(StoreError, match="locked"):
                store.forget_export_parts(run="run")
        finally:
            other.rollback()
            other.close()
        assert store._conn.execute("PRAGMA secure_delete").fetchone()[0] == was
        assert len(store.export_parts("run", T0 - timedelta(days=1))) == 5


_IDS = st.text("0123\n", min_size=1, max_size=3)  # a newline makes the joined texts unequal


@settings(derandomize=True, database=None, deadline=None, max_examples=150)
@given(
    watched=st.dictionaries(_IDS, st.sampled_from(["brand", "support", "b-2", None]), max_size=12),
    listed=st.lists(_IDS, max_size=12),
)
def test_a_long_list_finds_the_same_owners_as_one_lookup_an_id(
    tmp_path_factory: pytest.TempPathFactory,
    new_sqlite: Callable[[Path], Path],
    watched: dict[str, str | None],
    listed: list[str],
) -> None:
    """Past ``_LOOKUPS`` IDs, post_accounts matches the owned posts' joined texts in bulk
    (or, when a text holds the separator, walks their rows): the same answer as looking
    each ID up."""
    path = new_sqlite(tmp_path_factory.mktemp("owners") / "state.db")
    records = (
        WatchedPostRecord(pid, account, T0, "timeline", T0) for pid, account in watched.items()
    )
    with SqliteStore.open(path) as store:
        store.upsert_posts(records)
        one_by_one = store.post_accounts(listed)
        with patch("automation.store.sqlite._LOOKUPS", 0):
            in_bulk = store.post_accounts(listed)
    expected = [watched.get(pid) for pid in listed]
    assert one_by_one == in_bulk == expected
    if not any("\n" in pid for pid in watched):  # matched in bulk: one string an account
        accounts = set(filter(None, in_bulk))
        assert len({id(a) for a in in_bulk if a is not None}) == len(accounts)


def test_a_held_write_lock_becomes_a_store_error(path: Path) -> None:
    with SqliteStore.open(path, timeout=0.2) as store:
        other = sqlite3.connect(path)
        try:
            other.execute("BEGIN IMMEDIATE")
            with pytest.raises(StoreError, match=r"state\.db.*locked") as raised:
                store.commit_cycle(CycleWrite(at=T0, firings=(fired("f1"),)))
            assert "try again once it is done" in str(raised.value)
        finally:
            other.rollback()
            other.close()
        assert store.commit_cycle(CycleWrite(at=T0, firings=(fired("f1"),))).new == ("f1",)


def test_a_full_disk_says_to_free_space_and_keeps_what_was_recorded(path: Path) -> None:
    with SqliteStore.open(path) as store:
        store.commit_cycle(CycleWrite(at=T0, firings=(fired("f1"),)))
        (pages,) = store._conn.execute("PRAGMA page_count").fetchone()
        store._conn.execute(f"PRAGMA max_page_count = {pages}")  # the disk is now full
        many = tuple(fired(f"g{i}", key=f"k{i}" * 200) for i in range(200))
        with pytest.raises(StoreError, match=r"disk is full; free space on the disk that holds"):
            store.commit_cycle(CycleWrite(at=T0, firings=many))
        assert [h.firing.id for h in store.history()] == ["f1"]


def test_a_full_disk_names_a_latin_1_folder_as_a_terminal_shows_it(tmp_path: Path) -> None:
    folder = tmp_path / os.fsdecode(b"caf\xe9")  # a Latin-1 name on a UTF-8 system
    folder.mkdir()
    with SqliteStore.open(folder / "state.db") as store:
        (pages,) = store._conn.execute("PRAGMA page_count").fetchone()
        store._conn.execute(f"PRAGMA max_page_count = {pages}")
        many = tuple(fired(f"g{i}", key=f"k{i}" * 200) for i in range(200))
        with pytest.raises(StoreError) as raised:
            store.commit_cycle(CycleWrite(at=T0, firings=many))
    shown = f"{tmp_path}/caf\\xe9"
    assert str(raised.value).startswith(f"state database {shown}/state.db: ")
    assert f"free space on the disk that holds {shown} (df -h {shown}):" in str(raised.value)


def test_a_file_that_turned_read_only_says_to_make_it_writable(path: Path) -> None:
    with SqliteStore.open(path) as store:
        store._conn.execute("PRAGMA query_only = 1")  # as when the mount turns read-only
        with pytest.raises(StoreError, match=rf"readonly.*check that {path} and its directory"):
            store.commit_cycle(CycleWrite(at=T0, firings=(fired("f1"),)))


def test_an_injected_failure_rolls_the_whole_cycle_back(path: Path) -> None:
    with SqliteStore.open(path) as store:
        store._conn.execute(
            "CREATE TRIGGER fail_outbox BEFORE INSERT ON outbox BEGIN"
            " SELECT RAISE(ABORT, 'injected failure'); END"
        )
        write = CycleWrite(
            at=T0,
            states=(("r1", "p1", RuleState(done=True)),),
            firings=(fired("f1"),),
            rule_versions=(("r1", "fp"),),
        )
        with pytest.raises(StoreError, match="injected failure"):
            store.commit_cycle(write)
        assert store.history() == []
        assert store.rule_state("r1", "p1") is None
        assert store.rule_versions() == {}
        assert not store._conn.in_transaction


def test_use_from_another_thread_is_refused(path: Path) -> None:
    errors: list[BaseException] = []
    with SqliteStore.open(path) as store:
        worker = threading.Thread(target=lambda: _call_meta(store, errors))
        worker.start()
        worker.join()
    assert len(errors) == 1
    assert isinstance(errors[0], StoreError)


def _call_meta(store: SqliteStore, errors: list[BaseException]) -> None:
    try:
        store.meta("x")
    except BaseException as exc:
        errors.append(exc)


def test_no_column_can_hold_a_credential(path: Path) -> None:
    SqliteStore.open(path).close()
    db = Database(sqlite3.connect(path), execute_plugins=False)
    try:
        columns = [f"{t.name}.{c.name}" for t in db.tables for c in t.columns]
    finally:
        db.close()
    assert "outbox.payload" in columns
    credential = re.compile(r"secret|token|password|credential|bearer|consumer|auth", re.I)
    assert [c for c in columns if credential.search(c)] == []


def test_the_file_never_contains_a_secret_value(path: Path) -> None:
    with SqliteStore.open(path) as store:
        store.commit_cycle(CycleWrite(at=T0, firings=(fired("f1"),)))
        store.record_attempt(
            "f1.0",
            at=T0 + timedelta(seconds=1),
            outcome="retry",
            error="503 from https://hooks.example",
            next_attempt_at=T0 + timedelta(minutes=1),
        )
        blob = b"".join(p.read_bytes() for p in path.parent.glob("state.db*"))
    assert b"${HOOK_SECRET}" in blob  # the name is there, so the scan reads real content
    assert FAKE_SECRET.encode() not in blob


def test_missing_directory_is_named(tmp_path: Path) -> None:
    target = tmp_path / "nope" / "state.db"
    with pytest.raises(StoreError, match=r"nope.*does not exist"):
        SqliteStore.open(target)


def test_a_file_that_is_not_a_database_is_named(path: Path) -> None:
    path.write_bytes(b"this is a config file, not a database\n" * 200)
    with pytest.raises(StoreError, match=r"state\.db is not a SQLite database"):
        SqliteStore.open(path)


def test_a_directory_in_place_of_the_file_is_named(path: Path) -> None:
    path.mkdir()
    with pytest.raises(StoreError, match=r"state\.db.*is a directory"):
        SqliteStore.open(path)


def test_a_read_only_file_is_named(path: Path) -> None:
    SqliteStore.open(path).close()
    with (
        unwritable(path),  # as root too: made immutable
        unwritable(path.parent),
        pytest.raises(StoreError, match=r"state\.db.*writable"),
    ):
        store = SqliteStore.open(path)
        store.set_meta("k", "v")


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux /proc")
def test_a_place_where_no_file_can_be_created_is_named() -> None:
    # /proc refuses new files even to root, so this runs where chmod cannot stop anyone.
    with pytest.raises(StoreError, match=r"/proc/state\.db.*writable"):
        SqliteStore.open(Path("/proc/state.db"))


@pytest.mark.parametrize(
    ("sql", "index"),
    [
        (
            "SELECT id FROM outbox WHERE status = 'pending' AND next_attempt_at <= 0"
            " ORDER BY next_attempt_at",
            "idx_outbox_status_next_attempt_at",
        ),
        (
            "SELECT 1 FROM firings WHERE rule_id = 'r' AND post_id = 'p' AND key = 'k'"
            " AND rearmed_at IS NULL",
            "firings_live_key",
        ),
        ("SELECT id FROM firings WHERE rule_id = 'r' ORDER BY at DESC", "idx_firings_rule_id_at"),
        ("SELECT id FROM series WHERE post_id = '1'", "idx_series_post_id"),
        ("SELECT rule_id FROM firings WHERE at >= 0 AND kind = 'fired'", "idx_firings_at"),
        ("SELECT at FROM changes ORDER BY at DESC", "changes_at"),
        ("SELECT at FROM budget WHERE api = 'a' AND at >= 0", "idx_budget_api_at"),
    ],
)
def test_hot_queries_use_an_index(path: Path, sql: str, index: str) -> None:
    with SqliteStore.open(path) as store:
        plan = " ".join(row[-1] for row in store._conn.execute(f"EXPLAIN QUERY PLAN {sql}"))
    assert index in plan


def test_claims_end_with_the_open_store(path: Path) -> None:
    with SqliteStore.open(path) as store:
        store.commit_cycle(CycleWrite(at=T0, firings=(fired("f1"),)))
        assert [a.id for a in store.claim_actions(T0, 10)] == ["f1.0"]
        assert store.claim_actions(T0, 10) == []
    with SqliteStore.open(path) as store:  # the engine that held it is gone
        assert [a.id for a in store.claim_actions(T0, 10)] == ["f1.0"]


def test_an_unreadable_outbox_row_is_dead_with_the_reason_not_handed_out(path: Path) -> None:
    with SqliteStore.open(path) as store:
        store.commit_cycle(
            CycleWrite(at=T0, firings=(fired("f1"), fired("f2", key="k2"), fired("f3", key="k3")))
        )
    conn = sqlite3.connect(path)
    with conn:  # a hand edit: SQLite keeps text in a REAL column
        conn.execute("UPDATE outbox SET created_at = 'yesterday' WHERE id = 'f2.0'")
    conn.close()
    with SqliteStore.open(path) as store:
        assert [a.id for a in store.claim_actions(T0, 10)] == ["f1.0", "f3.0"]
        assert store.claim_actions(T0, 10) == []
        assert store.action_counts()["dead"] == 1
        [row] = store._rows("SELECT id, last_error FROM outbox WHERE status = 'dead'")
        assert row[0] == "f2.0" and row[1].startswith("unreadable outbox row: TypeError")

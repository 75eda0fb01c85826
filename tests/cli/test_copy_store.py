"""``automation copy-store FROM TO``: a deployment's whole state, filled by the real engine,
moved from SQLite to PostgreSQL and back with every table equal row for row; and every
way the command refuses, each leaving the target as it was."""

from __future__ import annotations

import sqlite3
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from cli_helpers import Cli, assert_no_traceback, database_dump, migrated_by_a_newer_version
from dashboard_scene import World, copy_world, make_world
from pg_cluster import Cluster
from sqlite_utils import Database

from automation.config.database import PostgresDatabase
from automation.core.pauses import PauseRecord
from automation.core.records import ActionRecord, ChangeRecord, CycleWrite, FiringRecord
from automation.service.instance_lock import InstanceLock
from automation.store.copying import KEPT
from automation.store.migrations import MIGRATIONS
from automation.store.postgres import PostgresStore
from automation.store.sqlite import SqliteStore

AT = datetime(2026, 3, 3, 12, 0, tzinfo=UTC)
PASSWORD = "pw-FAKE-c0py"
PG_ONLY = {"schema_migrations", "leadership"}


@pytest.fixture(scope="module")
def engine_world(tmp_path_factory: pytest.TempPathFactory) -> World:
    return make_world(tmp_path_factory.mktemp("copy-world"))


@pytest.fixture
def world(engine_world: World, tmp_path: Path) -> World:
    """The engine's database, with what the 30 cycles did not write added by hand, so that
    every table has rows."""
    own = copy_world(engine_world, tmp_path / "world")
    with SqliteStore.open(own.folder / "automation.db") as store:
        _add_the_rest(store, own.crossing)
    assert all(_sqlite_tables(own.folder / "automation.db").values())
    return own


def _add_the_rest(store: SqliteStore, post: str) -> None:
    digest = ActionRecord(1, "webhook", '{"text": "daily"}', due_at=AT + timedelta(hours=2))
    store.commit_cycle(
        CycleWrite(
            at=AT,
            firings=(
                FiringRecord("capped-1", "at-100-likes", "42", "once", "capped", AT),
                FiringRecord(
                    "digest-1",
                    "like-milestones",
                    post,
                    "m-250",
                    "fired",
                    AT,
                    milestone=250,
                    metrics={"likes": 251.0},
                    actions=(ActionRecord(0, "log", '{"message": "m"}', digest="d-1"), digest),
                ),
            ),
        )
    )
    store.set_pause(PauseRecord("big-reach", AT, "ops", until=AT + timedelta(days=1), reason="x"))
    store.set_pause(
        PauseRecord("like-milestones", AT, "dashboard", resumed_at=AT, resumed_by="ops")
    )
    for n in range(3):
        store.record_change(ChangeRecord(AT + timedelta(minutes=n), "ops", "pause", f"r{n}"))
    store.save_export_parts("run-1", [("part-0", AT, '{"data": [1, 2]}')])
    hour = AT.replace(minute=0) - timedelta(hours=3)
    store.record_hourly_counts(hour, AT, {post: {"likes": [(hour, 4.0)]}})


def _sqlite_tables(path: Path) -> dict[str, list[tuple[object, ...]]]:
    """Every table's rows in its key's order (rowid order for a table without one: the
    order they were written in), the migration records and the counts each database's
    triggers keep (``KEPT``: tests/store/test_outbox_counts.py) left out."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        names = [
            name
            for (name,) in conn.execute(
                "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE '\\_%'"
                " ESCAPE '\\' AND name NOT LIKE 'sqlite%' ORDER BY name"
            )
            if name not in KEPT
        ]
        tables = {}
        for name in names:
            info = conn.execute(f'PRAGMA table_info("{name}")').fetchall()
            key = [row[1] for row in sorted(info, key=lambda row: row[5]) if row[5]]
            order = ", ".join(f'"{column}"' for column in key) or "rowid"
            tables[name] = conn.execute(f'SELECT * FROM "{name}" ORDER BY {order}').fetchall()
        return tables
    finally:
        conn.close()


def _pg_tables(database: PostgresDatabase, columns_of: Path) -> dict[str, list[tuple[object, ...]]]:
    """Every table's rows with the SQLite file's columns, as sets go: sorted."""
    sqlite = sqlite3.connect(columns_of)
    try:
        layout = {
            name: [row[1] for row in sqlite.execute(f'PRAGMA table_info("{name}")')]
            for name in _sqlite_tables(columns_of)
        }
    finally:
        sqlite.close()
    with psycopg.connect(database.url) as conn:
        names = {
            n
            for (n,) in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        }
        assert names - PG_ONLY - set(KEPT) == set(layout)
        return {
            name: sorted(conn.execute(f"SELECT {', '.join(cols)} FROM {name}").fetchall(), key=repr)
            for name, cols in layout.items()
        }


def _pg_url(database: PostgresDatabase) -> str:
    return database.url.replace("postgres@", f"postgres:{PASSWORD}@")


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], world: World) -> Cli:
    return Cli(capsys, world.config_path)


@pytest.fixture
def database(postgres_cluster: Cluster) -> PostgresDatabase:
    return postgres_cluster.create_database("copy")


def test_sqlite_to_postgres_and_back_loses_nothing(
    cli: Cli, world: World, database: PostgresDatabase, tmp_path: Path
) -> None:
    source = world.folder / "automation.db"
    before = _sqlite_tables(source)

    there = cli("copy-store", "config", _pg_url(database))

    assert there.code == 0, there.err
    assert PASSWORD not in there.out + there.err
    total = sum(len(rows) for rows in before.values())
    assert there.out.splitlines()[0] == f"copied {total:,} rows from {source} to {database}"
    assert ["firings", str(len(before["firings"]))] in [
        line.split() for line in there.out.splitlines()
    ]
    in_pg = _pg_tables(database, source)
    assert in_pg == {name: sorted(rows, key=repr) for name, rows in before.items()}

    back = cli("copy-store", _pg_url(database), str(tmp_path / "back.db"))

    assert back.code == 0, back.err
    assert PASSWORD not in back.out + back.err
    assert _sqlite_tables(tmp_path / "back.db") == before  # row for row, in the same order


def test_the_copy_in_postgres_is_the_same_state_and_goes_on_numbering(
    cli: Cli, world: World, database: PostgresDatabase
) -> None:
    assert cli("copy-store", "config", database.url).code == 0
    with (
        SqliteStore.open(world.folder / "automation.db") as original,
        PostgresStore.open(database) as copy,
    ):
        assert copy.history(limit=100) == original.history(limit=100)
        assert copy.actions(limit=100) == original.actions(limit=100)
        assert copy.action_counts() == original.action_counts()
        assert copy.pauses() == original.pauses()
        assert copy.changes(limit=10) == original.changes(limit=10)
        assert copy.meta("last_cycle") == original.meta("last_cycle")
        assert copy.posts(include_unavailable=True) == original.posts(include_unavailable=True)
        assert copy.rule_versions() == original.rule_versions()
        # New rows are numbered after the copied ones, and come last.
        queued = copy.commit_cycle(CycleWrite(at=AT + timedelta(days=1), firings=(_new_firing(),)))
        assert queued.new == ("new-1",)
        copy.record_change(ChangeRecord(AT + timedelta(days=1), "ops", "resume", "big-reach"))
        assert copy.changes(limit=1)[0].what == "resume"
        assert copy.history(limit=1)[0].firing.id == "new-1"
        [pending] = [
            a
            for a in copy.claim_actions(AT + timedelta(days=1), limit=10)
            if a.firing_id == "new-1"
        ]
        assert pending.id.startswith("new-1")


def _new_firing() -> FiringRecord:
    return FiringRecord(
        "new-1",
        "at-100-likes",
        "77",
        "once",
        "fired",
        AT + timedelta(days=1),
        actions=(ActionRecord(0, "log", '{"message": "n"}'),),
    )


def test_a_target_that_is_not_empty_is_refused_unless_replaced(
    cli: Cli, world: World, database: PostgresDatabase, tmp_path: Path
) -> None:
    assert cli("copy-store", "config", database.url).code == 0
    other = tmp_path / "other.db"
    with SqliteStore.open(other) as store:
        store.set_meta("note", "someone else's")
    held = database_dump(other)

    refused = cli("copy-store", database.url, str(other))

    assert refused.code == 2
    assert refused.err.startswith(f"automation: {other} is not empty (meta 1)")
    assert "add --replace" in refused.err
    assert_no_traceback(refused.err)
    assert database_dump(other) == held

    with SqliteStore.open(world.folder / "automation.db") as store:
        store.set_meta("note", "moved on")
    again = cli("copy-store", "config", database.url)
    assert again.code == 2
    assert f"{database} is not empty (attempts " in again.err
    replaced = cli("copy-store", "--replace", "config", database.url)
    assert replaced.code == 0, replaced.err
    with PostgresStore.open(database) as copy:
        assert copy.meta("note") == "moved on"


def test_a_database_an_engine_uses_is_refused(
    cli: Cli, world: World, database: PostgresDatabase, tmp_path: Path
) -> None:
    with InstanceLock(world.folder / "automation.db"):
        locked = cli("copy-store", "config", str(tmp_path / "copy.db"))
    assert locked.code == 2
    assert "another engine (pid " in locked.err and "stop it first" in locked.err
    assert not (tmp_path / "copy.db").exists()

    assert_no_traceback(locked.err)
    # A leading engine's store, its hold on the lead, a standby waiting for it.
    for name in ("automation engine 3", "automation leader host-a", "automation standby host-b"):
        with psycopg.connect(database.url, application_name=name):
            connected = cli("copy-store", "config", database.url)
        assert connected.code == 2
        assert connected.err.startswith(f"automation: an engine is connected to {database}: ")
        assert f"{name} (pid " in connected.err
        assert "stop every engine that uses it" in connected.err
        assert_no_traceback(connected.err)
    with psycopg.connect(database.url) as conn:  # not even migrated
        assert conn.execute(
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"
        ).fetchone() == (0,)
    with psycopg.connect(database.url, application_name="automation command"):  # status, say
        assert cli("copy-store", "config", database.url).code == 0


def test_a_copy_that_fails_midway_leaves_the_target_empty(
    cli: Cli, world: World, database: PostgresDatabase
) -> None:
    conn = sqlite3.connect(world.folder / "automation.db")
    # PostgreSQL's text cannot hold a NUL character; SQLite's can.
    conn.execute("UPDATE meta SET value = ? WHERE key = 'reload_error'", ["a\x00b"])
    conn.commit()
    conn.close()

    failed = cli("copy-store", "config", database.url)

    assert failed.code == 2
    assert failed.err.startswith(f"automation: cannot copy into {database} (table meta): ")
    assert_no_traceback(failed.err)
    with PostgresStore.open(database) as copy:
        assert copy.history(limit=10) == [] and copy.meta("last_cycle") is None


@pytest.mark.parametrize(
    ("source", "target", "message"),
    [
        (
            "postgresql://automation:{pw}@/automation?host={tmp}/nowhere",
            "{tmp}/copy.db",
            "automation: cannot connect to the database postgresql://automation@/automation",
        ),
        (
            "config",
            "postgresql://automation:{pw}@/automation?host={tmp}/nowhere",
            "automation: cannot connect to the database postgresql://automation@/automation",
        ),
        (
            "mysql://automation:{pw}@db.internal/automation",
            "{tmp}/copy.db",
            "automation: mysql://automation@db.internal/automation is not a SQLite file or a"
            " PostgreSQL URL",
        ),
        ("{tmp}/missing.db", "{tmp}/copy.db", "automation: no database at {tmp}/missing.db"),
        ("config", "{tmp}/world/automation.db", "automation: FROM and TO are the same database"),
        (
            "config",
            "{tmp}/no/such/dir/copy.db",
            "automation: cannot write {tmp}/no/such/dir/copy.db",
        ),
    ],
)
def test_bad_databases_are_one_clear_line(
    cli: Cli, tmp_path: Path, source: str, target: str, message: str
) -> None:
    def filled(text: str) -> str:
        return text.format(pw=PASSWORD, tmp=tmp_path)

    done = cli("copy-store", filled(source), filled(target))

    assert done.code == 2
    assert done.err.startswith(filled(message)), done.err
    assert len(done.err.strip().splitlines()) == 1
    assert PASSWORD not in done.err + done.out
    assert_no_traceback(done.err)
    assert [p.name for p in tmp_path.iterdir()] == ["world"]  # nothing left behind


def test_a_source_whose_schema_is_behind_is_refused(cli: Cli, tmp_path: Path) -> None:
    sqlite3.connect(tmp_path / "old.db").close()
    done = cli("copy-store", str(tmp_path / "old.db"), str(tmp_path / "copy.db"))
    assert done.code == 2
    assert (
        f"lacks {len(MIGRATIONS.pending(Database(':memory:')))} migration(s)" in done.err
        and "bring it up to date first" in done.err
    )
    assert not (tmp_path / "copy.db").exists()


def test_a_source_a_newer_version_migrated_is_refused(cli: Cli, tmp_path: Path) -> None:
    migrated_by_a_newer_version(tmp_path / "new.db")
    done = cli("copy-store", str(tmp_path / "new.db"), str(tmp_path / "copy.db"))
    assert done.code == 2
    assert "newer version of automation" in done.err and "m999_from_the_future" in done.err
    assert_no_traceback(done.err)
    assert not (tmp_path / "copy.db").exists()


def test_actions_an_engine_had_claimed_arrive_unclaimed(
    cli: Cli, database: PostgresDatabase, postgres_cluster: Cluster
) -> None:
    assert cli("copy-store", "config", database.url).code == 0
    with PostgresStore.open(database) as first:
        pending = {a.id for a in first.actions(status="pending", limit=100)}
        claimed = {a.id for a in first.claim_actions(AT + timedelta(days=1), limit=100)}
        assert pending and claimed <= pending and claimed
        assert first.claim_actions(AT + timedelta(days=1), limit=100) == []  # held
    other = postgres_cluster.create_database("copy")

    assert cli("copy-store", database.url, other.url).code == 0

    with PostgresStore.open(other) as second:
        again = {a.id for a in second.claim_actions(AT + timedelta(days=1), limit=100)}
    assert again == claimed  # handed out again, under the same ids (idempotency keys)


def test_ctrl_c_midway_says_the_target_is_as_it_was(
    cli: Cli, database: PostgresDatabase, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert cli("copy-store", "config", database.url).code == 0
    with PostgresStore.open(database) as store:
        store.set_meta("note", "held before")
    held = _pg_tables(database, tmp_path / "world" / "automation.db")
    from automation.store import copy_postgres, copy_sqlite

    for side in (copy_postgres.PostgresSide, copy_sqlite.SqliteSide):
        write = side.write

        def interrupted(self, table, columns, rows, *, write=write):  # type: ignore[no-untyped-def]
            write(self, table, columns, rows)
            raise KeyboardInterrupt

        monkeypatch.setattr(side, "write", interrupted)

    replaced = cli("copy-store", "--replace", "config", database.url)
    assert replaced.code == 130
    assert replaced.err == (
        f"automation: interrupted: nothing was copied, {database} holds the rows it held"
        " before; run the same command again to copy\n"
    )
    assert _pg_tables(database, tmp_path / "world" / "automation.db") == held

    new = tmp_path / "new.db"
    created = cli("copy-store", database.url, str(new))
    assert created.code == 130
    assert created.err == (
        f"automation: interrupted: nothing was copied, {new} was not created; run the same"
        " command again to copy\n"
    )
    assert not new.exists() and not Path(f"{new}-wal").exists()


def test_ctrl_c_as_the_copy_commits_says_to_look(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from automation.cli import copy_store

    side = copy_store._side

    @contextmanager
    def committed_then_interrupted(database, *, reading):  # type: ignore[no-untyped-def]
        with side(database, reading=reading) as opened:
            yield opened
        if not reading:
            raise KeyboardInterrupt

    monkeypatch.setattr(copy_store, "_side", committed_then_interrupted)
    copy = tmp_path / "copy.db"
    stopped = cli("copy-store", "config", str(copy))
    assert stopped.code == 130
    assert stopped.err.startswith(
        f"automation: interrupted while committing the copy into {copy}: it holds either the"
        " whole copy or what it held before; 'automation status'"
    )
    assert "--replace" in stopped.err and "\n" not in stopped.err.rstrip("\n")

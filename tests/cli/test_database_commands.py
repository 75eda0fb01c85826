"""The config's database on the command line: a SQLite file or a PostgreSQL URL, migrated
by ``automation migrate`` (or on its own with ``migrate: auto``), used by every command."""

from __future__ import annotations

import sqlite3
import uuid
from pathlib import Path
from typing import Any

import psycopg
import pytest
from cli_helpers import (
    SECRET_ENV,
    Cli,
    assert_no_traceback,
    migrated_by_a_newer_version,
    write_env_config,
)
from pg_cluster import Cluster

from automation.config.database import PostgresDatabase
from automation.core.wording import counted
from automation.store import postgres_schema
from automation.store.migrations import MIGRATIONS
from automation.store.sqlite import SqliteStore

SQLITE_MIGRATIONS = len(MIGRATIONS._migrations)
PG_MIGRATIONS = [name for name, _ in postgres_schema.MIGRATIONS]


def project(root: Path, **overrides: Any) -> Path:
    (root / "rules").mkdir(exist_ok=True)
    return write_env_config(root / "automation.yaml", "http://127.0.0.1:9", overrides=overrides)


def test_migrate_brings_a_sqlite_file_up_to_date_once(tmp_path: Path, capsys) -> None:
    cli = Cli(capsys, project(tmp_path))
    first = cli("migrate")
    assert first.code == 0, first.err
    assert first.out.splitlines()[0].startswith("applied m001_initial, ")
    assert f"({SQLITE_MIGRATIONS} migrations applied)" in first.out
    again = cli("migrate")
    assert again.code == 0
    assert again.out.splitlines() == [
        f"the schema of {tmp_path / 'state.db'} is up to date"
        f" ({SQLITE_MIGRATIONS} migrations applied)"
    ]


def test_with_migrate_manual_a_sqlite_file_behind_is_refused(tmp_path: Path, capsys) -> None:
    sqlite3.connect(tmp_path / "state.db").close()  # a file without the schema
    cli = Cli(capsys, project(tmp_path, migrate="manual"))
    refused = cli("status")
    assert refused.code == 2
    assert "run 'automation migrate'" in refused.err
    assert_no_traceback(refused.err)
    assert cli("migrate").code == 0
    assert cli("status").code == 0


@pytest.mark.parametrize(
    ("mode", "command"),
    [
        ("auto", ["status"]),
        ("manual", ["status"]),
        ("auto", ["run", "--once"]),
        ("auto", ["migrate"]),
    ],
)
def test_a_sqlite_file_a_newer_version_migrated_is_refused_untouched(
    tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch, mode: str, command: list[str]
) -> None:
    for name, value in SECRET_ENV.items():
        monkeypatch.setenv(name, value)
    applied = migrated_by_a_newer_version(tmp_path / "state.db")
    cli = Cli(capsys, project(tmp_path, migrate=mode))
    refused = cli(*command)
    assert refused.code == 2
    assert (
        f"the database {tmp_path / 'state.db'} was brought up to date by a newer version of"
        " automation (1 migration(s) this version does not know: m999_from_the_future):"
        " run that version" in refused.err
    )
    assert_no_traceback(refused.err)
    assert SqliteStore.applied_migrations(tmp_path / "state.db") == applied


def test_every_command_works_on_postgres_once_migrated(
    tmp_path: Path, capsys, postgres_cluster: Cluster
) -> None:
    database = postgres_cluster.create_database()
    cli = Cli(capsys, project(tmp_path, database=database.url))
    before = cli("status")
    assert before.code == 2
    assert "run 'automation migrate' (once, from any machine)" in before.err
    migrated = cli("migrate")
    assert migrated.code == 0, migrated.err
    assert migrated.out.splitlines()[0] == f"applied {', '.join(PG_MIGRATIONS)} to {database}"
    assert cli("pause", "--all", "--reason", "maintenance").code == 0
    status = cli("status", "--json")
    assert status.code == 0, status.err
    assert [p["reason"] for p in status.json()["paused"]] == ["maintenance"]
    assert cli("history").code == 0
    assert cli("actions").code == 0
    assert cli("migrate").out.splitlines() == [
        f"the schema of {database} is up to date ({counted(len(PG_MIGRATIONS), 'migration')}"
        " applied)"
    ]


def test_migrate_auto_lets_a_command_migrate_postgres(
    tmp_path: Path, capsys, postgres_cluster: Cluster
) -> None:
    database = postgres_cluster.create_database()
    cli = Cli(capsys, project(tmp_path, database=database.url, migrate="auto"))
    assert cli("status").code == 0


def test_backup_of_postgres_says_to_use_pg_dump(tmp_path: Path, capsys) -> None:
    url = "postgresql://automation:pw-FAKE-52e1@db.internal/automation"
    cli = Cli(capsys, project(tmp_path, database=url))
    done = cli("backup", str(tmp_path / "copy.dump"))
    assert done.code == 2
    assert "pg_dump --format=custom" in done.err
    assert "restore with pg_restore" in done.err
    assert "postgresql://automation@db.internal/automation" in done.err
    assert "pw-FAKE-52e1" not in done.err + done.out
    assert not (tmp_path / "copy.dump").exists()


def test_with_migrate_manual_the_engine_leaves_a_sqlite_file_behind_alone(
    tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in SECRET_ENV.items():
        monkeypatch.setenv(name, value)
    sqlite3.connect(tmp_path / "state.db").close()
    cli = Cli(capsys, project(tmp_path, migrate="manual"))
    refused = cli("run", "--once")
    assert refused.code == 2
    assert f"lacks {SQLITE_MIGRATIONS} migration(s) this engine needs" in refused.err
    assert "run 'automation migrate'" in refused.err
    assert_no_traceback(refused.err)
    assert SqliteStore.applied_migrations(tmp_path / "state.db") == []


@pytest.mark.parametrize("mode", ["manual", "auto"])
def test_an_engine_migrates_postgres_at_start_only_with_migrate_auto(
    tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch, postgres_cluster: Cluster, mode: str
) -> None:
    for name, value in SECRET_ENV.items():
        monkeypatch.setenv(name, value)
    database = postgres_cluster.create_database()
    cli = Cli(capsys, project(tmp_path, database=database.url, migrate=mode))

    done = cli("run", "--once")

    with psycopg.connect(database.url) as conn:
        applied = postgres_schema.applied(conn)
    assert_no_traceback(done.err)
    if mode == "manual":
        assert done.code == 2
        assert "run 'automation migrate' (once, from any machine)" in done.err
        assert applied == []
    else:
        assert "automation migrate" not in done.err
        assert applied == PG_MIGRATIONS


@pytest.mark.parametrize("scheme", ["postgresql", "postgres"])
def test_an_unreachable_postgres_is_one_clear_line(tmp_path: Path, capsys, scheme: str) -> None:
    url = f"{scheme}://automation:pw-FAKE-52e1@/automation?host={tmp_path}/nowhere"
    cli = Cli(capsys, project(tmp_path, database=url))
    done = cli("status")
    assert done.code == 2
    assert done.err.startswith("automation: cannot connect to the database ")
    assert "pw-FAKE-52e1" not in done.err
    assert_no_traceback(done.err)
    # says how to fix it, and where the URL points, without its password
    assert "check that the PostgreSQL server is running and reachable" in done.err
    assert f"URL names it (host {tmp_path}/nowhere, port 5432, database automation," in done.err


def test_an_unreachable_postgres_names_host_port_database_and_user_never_the_password(
    tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PG_PASSWORD", "s3cret-FAKE-7a1")
    url = "postgresql://ops:${PG_PASSWORD}@127.0.0.1:1/engagement"  # nothing listens on port 1
    cli = Cli(capsys, project(tmp_path, database=url))
    done = cli("status")
    assert done.code == 2
    assert "s3cret-FAKE-7a1" not in done.err + done.out
    assert done.err.startswith("automation: cannot connect to the database postgresql://ops@127.")
    assert done.err.rstrip().endswith(
        "check that the PostgreSQL server is running and reachable from this machine, and that"
        " the URL names it (host 127.0.0.1, port 1, database engagement, user ops)"
    )
    assert_no_traceback(done.err)


def _as_a_new_role(cluster: Cluster, database: PostgresDatabase, password: str = "") -> str:
    """``database``'s URL for a new login role that owns nothing in it."""
    role = f"r_{uuid.uuid4().hex[:12]}"
    with cluster.admin() as conn:
        conn.execute(f"CREATE ROLE {role} LOGIN PASSWORD '{password or role}'".encode())
    return database.url.replace("postgresql://postgres@", f"postgresql://{role}@")


def test_migrate_as_a_role_without_privileges_says_which_role_to_use(
    tmp_path: Path, capsys, postgres_cluster: Cluster
) -> None:
    database = postgres_cluster.create_database()  # owned by another role
    cli = Cli(capsys, project(tmp_path, database=_as_a_new_role(postgres_cluster, database)))
    done = cli("migrate")
    assert done.code == 2
    assert done.err.startswith("automation: cannot migrate the database postgresql://r_")
    assert "permission denied for schema public; connect as the role that owns" in done.err
    assert_no_traceback(done.err)


def test_a_command_as_a_role_without_privileges_says_which_role_to_use(
    tmp_path: Path, capsys, postgres_cluster: Cluster
) -> None:
    database = postgres_cluster.create_database()
    with psycopg.connect(database.url, autocommit=True) as conn:
        postgres_schema.apply(conn)
    cli = Cli(capsys, project(tmp_path, database=_as_a_new_role(postgres_cluster, database)))
    done = cli("status")
    assert done.code == 2
    assert (
        "permission denied for table schema_migrations; connect as the role that owns the"
        " database and its tables: every engine and command uses that one role" in done.err
    )
    assert_no_traceback(done.err)


def test_a_missing_database_says_to_create_it(
    tmp_path: Path, capsys, postgres_cluster: Cluster
) -> None:
    cli = Cli(capsys, project(tmp_path, database=postgres_cluster.url("no_such_db")))
    done = cli("status")
    assert done.code == 2
    assert 'database "no_such_db" does not exist; create it (CREATE ROLE' in done.err
    assert "CREATE DATABASE automation OWNER automation" in done.err
    assert "server is running" not in done.err
    assert_no_traceback(done.err)


def test_a_wrong_password_says_to_check_it_never_showing_it(
    tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch, postgres_own_server: Cluster
) -> None:
    url = _as_a_new_role(postgres_own_server, postgres_own_server.database("postgres"), "right")
    role = url.split("://")[1].split("@")[0]
    hba = postgres_own_server.data / "pg_hba.conf"
    hba.write_text(f"local all {role} scram-sha-256\n" + hba.read_text())
    with postgres_own_server.admin() as conn:
        conn.execute("SELECT pg_reload_conf()")
    monkeypatch.setenv("PG_PASSWORD", "wrong-FAKE-93d2")
    given = url.replace(f"://{role}@", f"://{role}:${{PG_PASSWORD}}@")
    cli = Cli(capsys, project(tmp_path, database=given))
    done = cli("status")
    assert done.code == 2
    assert f'password authentication failed for user "{role}"; check the password' in done.err
    assert "server is running" not in done.err
    assert "wrong-FAKE-93d2" not in done.err + done.out
    assert_no_traceback(done.err)

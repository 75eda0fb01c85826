"""The commands that only read, on a database this user may not write: a backup copy on a
read-only mount, a state directory of another user. They read it as it is and create
nothing beside it; a command that writes says what to fix."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cli_helpers import SECRET_ENV, Cli, assert_no_traceback, unwritable, write_env_config

from automation.core.records import ActionRecord, CycleWrite, FiringRecord, WatchedPostRecord
from automation.store.sqlite import SqliteStore

T0 = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
RULES = """\
version: 1
rules:
  - id: likes-100
    watch: {accounts: [brand]}
    when: likes >= 100
    actions:
      - log: {message: "{post.url} reached 100 likes"}
"""


@pytest.fixture
def state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A state directory holding a database with one firing and its pending action, as
    an engine leaves it when it stops (no -wal or -shm file)."""
    for name in SECRET_ENV:
        monkeypatch.delenv(name, raising=False)
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "likes.yaml").write_text(RULES, encoding="utf-8")
    folder = tmp_path / "state"
    folder.mkdir()
    with SqliteStore.open(folder / "automation.db") as store:
        action = ActionRecord(0, "log", json.dumps({"kind": "log", "message": "hi"}))
        firing = FiringRecord(
            id="f1", rule_id="likes-100", post_id="1001", key="once", kind="fired", at=T0,
            metrics={"likes": 120.0}, actions=(action,),
        )  # fmt: skip
        store.commit_cycle(CycleWrite(at=T0, firings=(firing,)))
        store.upsert_posts([WatchedPostRecord("1001", "brand", T0, "timeline", T0)])
        store.record_totals(T0, {"1001": {"favorites": 120.0}})
    return folder


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], tmp_path: Path, state: Path) -> Cli:
    config = write_env_config(
        tmp_path / "automation.yaml",
        "http://127.0.0.1:9",
        overrides={"database": str(state / "automation.db")},
    )
    return Cli(capsys, config)


def test_status_history_and_the_other_reads_work_and_create_nothing(cli: Cli, state: Path) -> None:
    with unwritable(state):
        status = cli("status", "--json")
        history = cli("history", "--json")
        actions = cli("actions", "--json")
        top = cli("top", "--metric", "likes")
        explain = cli("explain", "likes-100", "1001")
        assert sorted(p.name for p in state.iterdir()) == ["automation.db"]
    for done in (status, history, actions, top, explain):
        assert done.code == 0, done.err
        assert_no_traceback(done.err, done.out)
    assert status.json()["actions"]["pending"] == 1
    assert [(f["id"], f["actions"][0]["status"]) for f in history.json()] == [("f1", "pending")]
    assert [a["id"] for a in actions.json()] == ["f1.0"]
    assert "1001" in top.out and "120" in top.out
    assert "recorded: fired once" in explain.out


def test_a_command_that_writes_says_the_database_must_be_writable(cli: Cli, state: Path) -> None:
    with unwritable(state):
        refused = cli("pause", "likes-100")
    assert refused.code == 2
    assert "check that the file and its directory are writable by this user" in refused.err
    assert_no_traceback(refused.err, refused.out)
    assert SqliteStore.open(state / "automation.db").pauses() == []


def test_a_read_only_database_behind_this_version_says_to_migrate_it(cli: Cli, state: Path) -> None:
    with sqlite3.connect(state / "automation.db") as conn:
        conn.execute("DELETE FROM _sqlite_migrations WHERE name = 'm008_snapshots_of_the_hour'")
    conn.close()
    with unwritable(state):
        refused = cli("history")
    assert refused.code == 2
    assert "lacks 1 migration(s) this version needs (m008_snapshots_of_the_hour)" in refused.err
    assert "run 'automation migrate' as a user who may write it" in refused.err
    assert (
        "or copy it to a writable disk and name the copy in the config's database:" in refused.err
    )
    assert_no_traceback(refused.err, refused.out)


def test_an_engine_refuses_a_database_file_it_may_not_write_at_start(
    cli: Cli, state: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A restored copy left read-only, in a directory the engine may write: without a check
    # it started, and every cycle failed to record ("attempt to write a readonly database").
    for name, value in SECRET_ENV.items():
        monkeypatch.setenv(name, value)
    database = state / "automation.db"
    before = database.read_bytes()
    with unwritable(database):
        refused = cli("run", "--once")
    assert refused.code == 2, refused.err
    assert f"this user may not write the state database {database} or its" in refused.err
    assert "engine started" not in refused.err
    assert_no_traceback(refused.err, refused.out)
    assert database.read_bytes() == before

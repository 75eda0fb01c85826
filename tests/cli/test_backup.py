"""``automation backup FILE``: a consistent copy of the database, taken while it is being
written, without the secrets being set; the copy restores as the database."""

from __future__ import annotations

import errno
import os
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cli_helpers import SECRET_ENV, Cli, assert_no_traceback, unwritable, write_env_config

from automation.core.records import ActionRecord, CycleWrite, FiringRecord
from automation.store.sqlite import SqliteStore
from automation.store.sqlite_backup import backup_database

T0 = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
ACTIONS_PER_FIRING = 3


def _firing(n: int) -> FiringRecord:
    return FiringRecord(
        id=f"f{n:06d}",
        rule_id="r1",
        post_id=str(1000 + n),
        key="once",
        kind="fired",
        at=T0 + timedelta(seconds=n),
        milestone=None,
        metrics={"likes": float(n)},
        actions=tuple(
            ActionRecord(i, "log", '{"message": "' + "x" * 200 + '"}')
            for i in range(ACTIONS_PER_FIRING)
        ),
    )


def _write(store: SqliteStore, first: int, count: int) -> None:
    firings = tuple(_firing(n) for n in range(first, first + count))
    store.commit_cycle(CycleWrite(at=T0 + timedelta(seconds=first), firings=firings))


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in SECRET_ENV:  # the service gets them through LoadCredential=; a shell does not
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    monkeypatch.delenv("AUTOMATION_CONFIG", raising=False)
    (tmp_path / "rules").mkdir()
    return write_env_config(tmp_path / "automation.yaml", "https://api.x.invalid")


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], project: Path) -> Cli:
    return Cli(capsys, project)


@pytest.fixture
def store(project: Path) -> Iterator[SqliteStore]:
    with SqliteStore.open(project.parent / "state.db") as s:
        yield s


def _copy_state(path: Path) -> tuple[int, dict[str, int]]:
    """Firings in a copy, and how many actions each has."""
    db = sqlite3.connect(path)
    try:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        per_firing = dict(
            db.execute("SELECT firing_id, count(*) FROM outbox GROUP BY firing_id").fetchall()
        )
        (firings,) = db.execute("SELECT count(*) FROM firings").fetchone()
        return firings, per_firing
    finally:
        db.close()


def test_a_backup_needs_no_secrets_and_restores_as_the_database(
    cli: Cli, store: SqliteStore, project: Path, tmp_path: Path
) -> None:
    _write(store, 0, 5)
    target = tmp_path / "backups" / "automation-2026-11-26.db"
    target.parent.mkdir()
    target.write_bytes(b"an older backup")  # replaced

    result = cli("backup", str(target))

    assert result.code == 0, result
    assert f"to {target}" in result.out
    assert "5 firings, 15 actions (15 pending)" in result.out
    assert target.stat().st_mode & 0o077 == 0  # the ledger is the owner's only
    assert [p.name for p in target.parent.iterdir()] == [target.name]  # no partial file left
    with SqliteStore.open(target) as restored:
        assert restored.history(limit=10) == store.history(limit=10)
        assert restored.action_counts() == store.action_counts()


def test_a_write_in_progress_is_not_in_the_copy_and_is_not_blocked(
    cli: Cli, store: SqliteStore, tmp_path: Path
) -> None:
    _write(store, 0, 10)
    writer = sqlite3.connect(store.path, timeout=0.5)
    writer.execute("BEGIN IMMEDIATE")  # the engine in the middle of recording a cycle
    writer.execute(
        "INSERT INTO firings (id, rule_id, post_id, key, kind, at, metrics)"
        " VALUES ('half', 'r1', '9', 'once', 'fired', 0, '{}')"
    )
    try:
        result = cli("backup", str(tmp_path / "copy.db"))
        writer.commit()  # the backup did not hold a lock that stops the engine
    finally:
        writer.close()
    assert result.code == 0, result
    firings, _ = _copy_state(tmp_path / "copy.db")
    assert firings == 10
    assert len(store.history(limit=100)) == 11


def test_backups_taken_during_a_stream_of_writes_are_each_one_moment(
    cli: Cli, store: SqliteStore, tmp_path: Path
) -> None:
    _write(store, 0, 3000)  # a few MB, so a copy takes a while
    stop = threading.Event()
    written = [3000]

    def engine() -> None:
        with SqliteStore.open(store.path) as own:
            while not stop.is_set():
                _write(own, written[0], 20)
                written[0] += 20

    thread = threading.Thread(target=engine)
    thread.start()
    try:
        copies = []
        for i in range(3):
            before = written[0]
            result = cli("backup", str(tmp_path / f"copy{i}.db"))
            assert result.code == 0, result
            copies.append((before, _copy_state(tmp_path / f"copy{i}.db"), written[0]))
    finally:
        stop.set()
        thread.join(timeout=30)
    assert written[0] > 3000, "the writer never wrote"
    for before, (firings, per_firing), after in copies:
        assert before <= firings <= after + 20
        assert len(per_firing) == firings  # every firing came with its actions ...
        assert set(per_firing.values()) == {ACTIONS_PER_FIRING}  # ... all of them


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("backups", "is a directory: name the backup file"),
        ("missing/dir/copy.db", "does not exist; create it (mkdir -p "),
        ("state.db", "is the database itself"),
    ],
)
def test_a_target_that_cannot_be_a_backup_is_refused(
    cli: Cli, store: SqliteStore, project: Path, target: str, message: str
) -> None:
    (project.parent / "backups").mkdir()
    result = cli("backup", str(project.parent / target))
    assert result.code == 2
    assert message in result.err
    assert_no_traceback(result.err, result.out)


def test_no_database_yet_is_a_clean_error(cli: Cli, tmp_path: Path) -> None:
    result = cli("backup", str(tmp_path / "copy.db"))
    assert result.code == 2
    assert "no database at" in result.err
    assert not (tmp_path / "state.db").exists()  # nor was one created
    assert_no_traceback(result.err, result.out)


def test_a_directory_it_may_not_write_says_where_to_back_up_instead(
    cli: Cli, store: SqliteStore, tmp_path: Path
) -> None:
    _write(store, 0, 3)
    folder = tmp_path / "backups"
    folder.mkdir()
    with unwritable(folder):
        result = cli("backup", str(folder / "copy.db"))
    assert result.code == 2
    assert f"this user may not write in {folder}: back up into a directory it may" in result.err
    assert "Nothing was written" in result.err
    assert_no_traceback(result.err, result.out)
    assert list(folder.iterdir()) == []


def test_a_full_disk_says_to_free_space_and_leaves_the_old_backup_as_it_was(
    cli: Cli, store: SqliteStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _write(store, 0, 50)
    target = tmp_path / "backups" / "copy.db"
    target.parent.mkdir()
    target.write_bytes(b"yesterday's backup")
    connect = sqlite3.connect

    def on_a_full_disk(database: object, *args: object, **kwargs: object) -> sqlite3.Connection:
        conn = connect(database, *args, **kwargs)  # type: ignore[arg-type]
        if ".partial-" in str(database):
            conn.execute("PRAGMA max_page_count = 4")  # room for four pages, then full
        return conn

    monkeypatch.setattr(sqlite3, "connect", on_a_full_disk)
    result = cli("backup", str(target))
    assert result.code == 2
    assert f"the disk that holds {target.parent} is full (df -h {target.parent})" in result.err
    assert_no_traceback(result.err, result.out)
    assert [p.name for p in target.parent.iterdir()] == ["copy.db"]  # no partial file left
    assert target.read_bytes() == b"yesterday's backup"


def test_a_database_this_user_may_not_write_is_backed_up_and_left_alone(
    cli: Cli, store: SqliteStore, project: Path, tmp_path: Path
) -> None:
    _write(store, 0, 5)
    store.close()  # the engine stopped: no -wal or -shm file beside it
    (tmp_path / "backups").mkdir()
    with unwritable(project.parent):
        result = cli("backup", str(tmp_path / "backups" / "copy.db"))
        assert sorted(p.name for p in project.parent.iterdir() if "state" in p.name) == ["state.db"]
    assert result.code == 0, result.err
    assert "5 firings, 15 actions (15 pending)" in result.out


def test_a_read_only_file_system_is_named_without_a_traceback(
    cli: Cli, store: SqliteStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _write(store, 0, 3)
    folder = tmp_path / "mnt"
    folder.mkdir()
    real_open, real_unlink = os.open, os.unlink

    def read_only(real: Any) -> Any:
        def call(path: Any, *args: Any, **kwargs: Any) -> Any:
            if str(path).startswith(str(folder)):  # as on a file system mounted read-only
                raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(path))
            return real(path, *args, **kwargs)

        return call

    monkeypatch.setattr(os, "open", read_only(real_open))
    monkeypatch.setattr(os, "unlink", read_only(real_unlink))
    result = cli("backup", str(folder / "copy.db"))
    assert result.code == 2
    assert f"{folder} is on a read-only file system: back up to a writable disk" in result.err
    assert_no_traceback(result.err, result.out)


def test_a_backup_removes_the_copies_killed_backups_to_its_file_left(tmp_path: Path) -> None:
    """A backup killed (SIGKILL) while copying leaves ``.FILE.partial-PID`` (with its -wal
    and -shm), as large as the database: the next backup to FILE removes those whose
    process is gone, and leaves a running one's and other files' alone."""
    database = tmp_path / "automation.db"
    SqliteStore.open(database).close()
    child = subprocess.Popen([sys.executable, "-c", ""])
    child.wait()  # its pid now names no process
    killed = [tmp_path / f".copy.db.partial-{child.pid}{end}" for end in ("", "-wal", "-shm")]
    running = tmp_path / f".copy.db.partial-{os.getppid()}"
    other = tmp_path / f".other.db.partial-{child.pid}"
    for path in (*killed, running, other):
        path.write_bytes(b"half a copy")

    backup_database(database, tmp_path / "copy.db")

    assert [p.name for p in killed if p.exists()] == []
    assert running.exists() and other.exists()
    assert (tmp_path / "copy.db").stat().st_size > 0

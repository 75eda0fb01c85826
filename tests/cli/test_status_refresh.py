"""``automation status`` shows how long ago the watched posts were read (the refresh age),
and says when the engine records nothing: no cycle for too long, the database's disk full.

The clock and the disk are fakes put in the command's place: no test waits, or fills a
disk (``tests/engine/test_full_disk_e2e.py`` fills a real one, as root).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cli_helpers import SECRET_ENV, Cli, write_env_config
from clock import Clock

from automation.config.database import Database, PostgresDatabase
from automation.config.disk_space import database_disk
from automation.core.recording import DiskSpace
from automation.store.sqlite import SqliteStore

pytestmark = pytest.mark.usefixtures("process_state")

CYCLE_AT = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)  # the last cycle's "at" below
GIB = 1024**3


class Disk:
    """What ``status`` is told of the database's disk: 50 GiB free of 100 unless set."""

    def __init__(self) -> None:
        self.total, self.free = 100 * GIB, 50 * GIB
        self.asked: list[Database] = []

    def __call__(self, database: Database) -> DiskSpace:
        self.asked.append(database)
        return DiskSpace("/var/lib/automation", self.total, self.free)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock[datetime]:
    """The time ``status`` reads, a minute after the last cycle unless a test moves it."""
    fake = Clock(CYCLE_AT + timedelta(minutes=1))
    monkeypatch.setattr("automation.cli.status.now", fake)
    return fake


@pytest.fixture
def disk(monkeypatch: pytest.MonkeyPatch) -> Disk:
    fake = Disk()
    monkeypatch.setattr("automation.cli.status.database_disk", fake)
    return fake


@pytest.fixture
def cli(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    clock: Clock,
    disk: Disk,
) -> Cli:
    monkeypatch.chdir(tmp_path)
    for name in [*SECRET_ENV, "AUTOMATION_CONFIG", "CREDENTIALS_DIRECTORY"]:
        monkeypatch.delenv(name, raising=False)
    (tmp_path / "rules").mkdir()
    config = write_env_config(tmp_path / "automation.yaml", "http://127.0.0.1:9")
    SqliteStore.open(tmp_path / "state.db").close()
    return Cli(capsys, config)


def last_cycle(cli_path: Path, **fields: object) -> None:
    cycle = {
        "at": "2026-11-20T12:00:00Z",
        "posts": 100000,
        "requests": 300,
        "fired": 2,
        "seeded": 0,
        "actions_sent": 2,
        "duration": 240.0,
        "errors": [],
        "dry_run": False,
        "rules": 20,
        **fields,
    }
    with SqliteStore.open(cli_path / "state.db") as store:
        store.set_meta("last_cycle", json.dumps(cycle))


def rows(text: str) -> dict[str, str]:
    found = {}
    for line in text.splitlines():
        key, _, value = line.partition("  ")
        found[key.strip()] = value.strip()
    return found


def test_status_shows_the_refresh_ages_and_the_posts_the_budget_chose(
    cli: Cli, tmp_path: Path
) -> None:
    ages = {"median": 190.4, "oldest": 3290.0}
    last_cycle(tmp_path, refreshed=75000, refresh_age=ages)

    data = cli("status", "--json").json()
    assert data["refresh_age"] == ages
    assert (data["posts_watched"], data["posts_refreshed"]) == (100000, 75000)

    table = cli("status")
    assert table.code == 0, table.err
    assert rows(table.out)["refresh age"] == (
        "median 3m, oldest 55m (75,000 of 100,000 posts read last cycle: the request budget chose)"
    )


def test_status_shows_only_the_ages_when_every_watched_post_was_read(
    cli: Cli, tmp_path: Path
) -> None:
    last_cycle(tmp_path, refreshed=100000, refresh_age={"median": 12.0, "oldest": 12.0})

    assert rows(cli("status").out)["refresh age"] == "median 12s, oldest 12s"


def test_before_any_cycle_the_refresh_age_is_unknown(cli: Cli) -> None:
    data = cli("status", "--json").json()
    assert data["refresh_age"] == {"median": None, "oldest": None}
    assert rows(cli("status").out)["refresh age"] == "unknown"


# --- when the engine records nothing -----------------------------------------------------


def test_a_recent_cycle_and_a_roomy_disk_add_no_row(cli: Cli, tmp_path: Path, disk: Disk) -> None:
    last_cycle(tmp_path)

    data = cli("status", "--json").json()
    assert data["recording"] == {
        "last_cycle_age": 60,
        "stale_after": 180,
        "stale": False,
        "waiting": None,
    }
    assert data["database_disk"] == {
        "directory": "/var/lib/automation",
        "free_bytes": 50 * GIB,
        "total_bytes": 100 * GIB,
        "almost_full": False,
    }
    assert disk.asked == [tmp_path / "state.db"]
    table = rows(cli("status").out)
    assert "stale" not in table and "disk" not in table


def test_a_last_cycle_older_than_three_poll_intervals_says_what_to_check(
    cli: Cli, tmp_path: Path, clock: Clock
) -> None:
    last_cycle(tmp_path)
    clock.now = CYCLE_AT + timedelta(minutes=3)  # three intervals of 1m: not yet
    assert "stale" not in rows(cli("status").out)

    clock.now = CYCLE_AT + timedelta(minutes=42, seconds=10)
    table = cli("status")
    assert table.code == 0, table.err
    assert rows(table.out)["stale"] == (
        "no cycle recorded for 42m (one is due every 1m): is the engine running?"
        " systemctl status automation; journalctl -u automation says why"
    )
    lines = table.out.splitlines()
    assert lines[0].startswith("last cycle") and lines[1].startswith("stale")
    assert cli("status", "--json").json()["recording"] == {
        "last_cycle_age": 2530,
        "stale_after": 180,
        "stale": True,
        "waiting": None,
    }


def test_an_engine_waiting_out_a_429_is_not_asked_if_it_runs(
    cli: Cli, tmp_path: Path, clock: Clock
) -> None:
    last_cycle(tmp_path)
    wait = {"at": "2026-11-20T12:00:40Z", "until": "2026-11-20T12:05:12Z", "why": "429"}
    with SqliteStore.open(tmp_path / "state.db") as store:
        store.set_meta("waiting", json.dumps(wait))
    clock.now = CYCLE_AT + timedelta(minutes=4)  # stale by the clock, yet still waiting
    table = cli("status")
    assert table.code == 0, table.err
    assert rows(table.out)["stale"] == (
        "no cycle recorded for 4m (one is due every 1m): waiting for the API's rate limit"
        " until 12:05:12 UTC (429)"
    )
    recording = cli("status", "--json").json()["recording"]
    assert recording["stale"] is True
    assert recording["waiting"] == {"until": "2026-11-20T12:05:12Z", "why": "429"}

    clock.now = CYCLE_AT + timedelta(minutes=9)  # three intervals past the wait's end
    assert "is the engine running?" in rows(cli("status").out)["stale"]
    assert cli("status", "--json").json()["recording"]["waiting"] is None


def test_a_full_disk_names_the_directory_the_free_bytes_and_the_fix(
    cli: Cli, tmp_path: Path, clock: Clock, disk: Disk
) -> None:
    last_cycle(tmp_path)
    clock.now = CYCLE_AT + timedelta(hours=2)
    disk.total, disk.free = 20 * GIB, 8192

    table = cli("status")
    assert table.code == 0, table.err
    found = rows(table.out)
    assert found["stale"] == (
        "no cycle recorded for 2h (one is due every 1m): is the engine running?"
        " systemctl status automation; the disk that holds /var/lib/automation is full,"
        " see below"
    )
    assert found["disk"] == (
        "/var/lib/automation has 8.0 KiB free (0.0 % of its disk): the engine records"
        " nothing until space is freed there (df -h /var/lib/automation); what was"
        " recorded is kept"
    )
    assert [line.split()[0] for line in table.out.splitlines()[:3]] == ["last", "stale", "disk"]
    data = cli("status", "--json").json()
    assert data["database_disk"]["almost_full"] is True
    assert data["database_disk"]["free_bytes"] == 8192


@pytest.mark.parametrize(
    ("total", "free", "full"),
    [
        (4 * 1024**2, 0, True),  # a 4 MiB tmpfs, filled
        (4 * 1024**2, 41_942, True),  # ... with a byte under 1 % free
        (4 * 1024**2, 41_943, False),  # ... with 1 % free
        (500 * GIB, GIB - 1, True),  # a large disk: under 1 GiB free
        (500 * GIB, GIB, False),
    ],
)
def test_almost_full_is_under_one_percent_and_under_a_gibibyte(
    cli: Cli, disk: Disk, total: int, free: int, full: bool
) -> None:
    disk.total, disk.free = total, free
    assert cli("status", "--json").json()["database_disk"]["almost_full"] is full
    assert ("disk" in rows(cli("status").out)) is full


def test_before_any_cycle_nothing_is_stale(cli: Cli, clock: Clock) -> None:
    clock.now = CYCLE_AT + timedelta(days=30)
    data = cli("status", "--json").json()
    assert data["recording"] == {
        "last_cycle_age": None,
        "stale_after": 180,
        "stale": False,
        "waiting": None,
    }
    assert "stale" not in rows(cli("status").out)


def test_the_disk_is_that_of_the_database_directory_and_unknown_on_postgresql(
    tmp_path: Path,
) -> None:
    space = database_disk(tmp_path / "state.db")
    assert space is not None and space.directory == str(tmp_path)
    assert 0 <= space.free <= space.total
    assert database_disk(PostgresDatabase("postgresql://automation@db.internal/x")) is None
    assert database_disk(tmp_path / "gone" / "state.db") is None


def test_status_shows_how_large_the_database_is_with_its_wal(cli: Cli, tmp_path: Path) -> None:
    from automation.core.wording import size_text

    last_cycle(tmp_path)
    database = tmp_path / "state.db"

    def with_wal() -> int:
        """3 MiB a checkpoint has not moved into the file yet (laid anew before each run:
        SQLite may fold an unreadable one away as the command closes the file)."""
        (tmp_path / "state.db-wal").write_bytes(b"\0" * 3 * 1024**2)
        return database.stat().st_size + 3 * 1024**2

    expected = with_wal()
    assert cli("status", "--json").json()["database_size_bytes"] == expected
    expected = with_wal()
    table = cli("status")
    assert table.code == 0, table.err
    assert rows(table.out)["database"] == f"{size_text(expected)} ({database})"
    assert rows(table.out)["database"].startswith("3.")  # 3 MiB of WAL and a small file

"""``automation status`` shows how long ago the watched posts were read (the refresh age)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_helpers import SECRET_ENV, Cli, write_env_config

from automation.store.sqlite import SqliteStore

pytestmark = pytest.mark.usefixtures("process_state")


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Cli:
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

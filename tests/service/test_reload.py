"""A SIGHUP reload whose config cannot be read: the running engine goes on, the failure is
dated like a rules file's and ends at the next good load, and a dry run records none of it."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from fixed_time import SANDBOX_START

from automation.config.loader import load_config
from automation.engine.recorder import DryRun
from automation.sandbox import write_config
from automation.service.run import _reload, _reread
from automation.service.runtime import open_runtime
from automation.store.sqlite import SqliteStore

RULES = """\
version: 1
rules:
  - id: liked
    watch: {accounts: [brand]}
    when: likes >= 1
    actions: [{log: {message: liked}}]
"""


def _project(tmp: Path, *, poll_interval: str = "1m") -> Path:
    (tmp / "rules").mkdir(exist_ok=True)
    (tmp / "rules" / "rules.yaml").write_text(RULES)
    return write_config(
        tmp / "automation.yaml",
        "http://127.0.0.1:9",  # never called: reloading reads files only
        poll_interval=poll_interval,
        database=str(tmp / "automation.db"),
        rules=[str(tmp / "rules")],
    )


def test_a_failed_config_reload_is_dated_and_ends_at_the_next_good_one(tmp_path: Path) -> None:
    config = load_config(_project(tmp_path), env={})
    runtime = open_runtime(config, emit=lambda event: None, clock=lambda: SANDBOX_START)
    try:
        _project(tmp_path, poll_interval="soon")
        _reload(runtime)
        failed = json.loads(runtime.store.meta("reload_error") or "{}")
        assert failed["at"] == "2026-11-26T12:07:13Z"
        assert "poll_interval" in failed["errors"] and "soon" in failed["errors"]
        assert runtime.config.poll_interval == 60  # the running config goes on

        _project(tmp_path, poll_interval="2m")
        _reload(runtime)
        assert not runtime.store.meta("reload_error")
        assert runtime.config.poll_interval == 120
        assert runtime.engine.config is runtime.config
    finally:
        runtime.close()


def test_a_dry_run_records_no_failed_config_reload(tmp_path: Path) -> None:
    config = load_config(_project(tmp_path), env={})
    SqliteStore.open(config.database).close()  # the service's database, already there
    runtime = open_runtime(config, emit=lambda event: None, dry_run=True)
    try:
        tally = runtime.engine.recorder
        _project(tmp_path, poll_interval="soon")
        _reload(runtime)
        assert runtime.store.meta("reload_error") is None
        _project(tmp_path, poll_interval="2m")
        _reload(runtime)
        assert runtime.config.poll_interval == 120
        # the dry run's summary spans its reloads
        recorder = runtime.engine.recorder
        assert isinstance(recorder, DryRun) and isinstance(tally, DryRun)
        assert recorder is not tally and recorder.tally is tally.tally
    finally:
        runtime.close()
    with SqliteStore.open(config.database) as store:
        assert store.meta("reload_error") is None


def test_a_reload_keeps_the_open_database_and_says_a_restart_moves_it(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # The engine keeps its database open and /metrics bound from its start: a reload that
    # changed them went on with the old ones, said "loaded" and nothing else, and ran with a
    # config naming a database it did not use (its disk check read the new one).
    config = load_config(_project(tmp_path), env={})
    runtime = open_runtime(config, emit=lambda event: None, clock=lambda: SANDBOX_START)
    try:
        path = write_config(
            tmp_path / "automation.yaml",
            "http://127.0.0.1:9",
            poll_interval="2m",
            database=str(tmp_path / "moved.db"),
            rules=[str(tmp_path / "rules")],
        )
        with path.open("a", encoding="utf-8") as out:
            out.write("metrics: {listen: 127.0.0.1:9464}\n")
        with caplog.at_level(logging.WARNING, logger="automation"):
            _reload(runtime)
        assert runtime.config.poll_interval == 120  # the rest of the edit is taken
        assert (runtime.config.database, runtime.config.metrics) == (config.database, None)
        warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
        assert warned == [
            f"database: changed in {path}, to {tmp_path / 'moved.db'}: the engine goes on"
            f" with {config.database} until it restarts (systemctl restart automation)",
            f"metrics: changed in {path}: the engine goes on with the metrics it serves"
            " until it restarts (systemctl restart automation)",
        ]
    finally:
        runtime.close()
    assert not (tmp_path / "moved.db").exists()


def test_a_standby_taking_the_lead_keeps_the_database_of_its_election(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # A standby re-reads the config when it takes the lead (the SIGHUPs it got meanwhile
    # had nothing to reload). It took a database: edited meanwhile as it found it, and led
    # a database other than the one its election was on.
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "rules.yaml").write_text(RULES)

    def project(database: str, poll_interval: str) -> Path:
        return write_config(
            tmp_path / "automation.yaml",
            "http://127.0.0.1:9",
            poll_interval=poll_interval,
            database=database,
            rules=[str(tmp_path / "rules")],
        )

    elected = "postgresql://automation@127.0.0.1:9/automation"
    config = load_config(project(elected, "1m"), env={})
    path = project("postgresql://automation@127.0.0.1:9/moved", "2m")
    with path.open("a", encoding="utf-8") as out:
        out.write("metrics: {listen: 127.0.0.1:9464}\n")
    with caplog.at_level(logging.WARNING, logger="automation"):
        leading = _reread(config)
    assert leading.poll_interval == 120  # the rest of the edit is taken
    assert (leading.database, leading.metrics) == (config.database, None)
    warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warned == [
        f"database: changed in {path}, to postgresql://automation@127.0.0.1:9/moved: the"
        f" engine goes on with {elected} until it restarts (systemctl restart automation)",
        f"metrics: changed in {path}: the engine goes on with the metrics it serves"
        " until it restarts (systemctl restart automation)",
    ]


def test_a_reload_says_which_sections_it_applied_and_names_no_secret(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # A reload that took a new poll interval and a new webhook secret said only "loaded 1
    # rules": whoever ran it could not tell from the journal that they were in effect.
    path = _project(tmp_path)
    runtime = open_runtime(
        load_config(path, env={}), emit=lambda event: None, clock=lambda: SANDBOX_START
    )
    try:
        with caplog.at_level(logging.INFO, logger="automation"):
            _reload(runtime)
            text = path.read_text(encoding="utf-8").replace(
                "poll_interval: 1m", "poll_interval: 2m"
            )
            secret = runtime.config.webhook_secrets[0][1].reveal()
            path.write_text(text.replace(secret, "a-new-secret-value"), encoding="utf-8")
            _reload(runtime)
            with path.open("a", encoding="utf-8") as out:
                out.write("dashboard: {password: p}\n")
            _reload(runtime)
        said = [r.getMessage() for r in caplog.records if r.name == "automation"]
        assert said == [
            f"reloaded {path}: the config is as it was",
            f"reloaded {path}: poll_interval, webhook_secrets changed, in effect from the"
            " next cycle",
            f"dashboard: changed in {path}: read by the dashboard as it starts (systemctl"
            " restart automation-dashboard)",
        ]
        assert "a-new-secret-value" not in caplog.text
    finally:
        runtime.close()

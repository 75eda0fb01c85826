"""A really full file system, end to end: the engine in-process against the sandbox, its
SQLite database on a tiny tmpfs that a filler file fills up, then space freed.

The other full-disk tests fake the refusal (``PRAGMA query_only``, ``max_page_count``);
this one lets the kernel refuse with ENOSPC, so SQLite, its WAL and the engine meet the
real thing. Mounting needs root (CI runs as root); elsewhere the test says why it skips.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from cli_helpers import Result, assert_no_traceback, run_subprocess
from engine_scene import SUPPORT, Env, Ticker, engine_env, threshold_rule
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families
from tiny_disk import fill, mounted_tmpfs

from automation.config.disk_space import database_disk
from automation.engine.cycle import CycleResult
from automation.service.loop import status_line
from automation.service.metrics import EngineMetrics

CYCLE = 20.0  # simulated seconds between cycles
FULL_CYCLES = 24  # eight simulated minutes on a full disk
BETWEEN = 1.0  # seconds the outbox works between cycles, as the service loop lets it; on a
# Ticker, so it waits no real time and claims at the same points every run
STALE = timedelta(minutes=15)  # three poll intervals of 5m
SIZE = "automation_database_disk_size_bytes"

# ``automation status`` in its own process, its clock set to the sandbox's time (argv[1])
STATUS_AT = """\
import sys
from datetime import datetime

import automation.cli.status as status
from automation.cli.main import main

at = datetime.fromisoformat(sys.argv[1])
status.now = lambda: at
sys.exit(main(sys.argv[2:]))
"""


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    yield from mounted_tmpfs(tmp_path)


@pytest.fixture
def env(tmp_path: Path, tiny_disk: Path) -> Iterator[Env]:
    """The receiver refuses the first delivery, so its retry falls due on the full disk."""
    yield from engine_env(tmp_path, database=tiny_disk / "automation.db", fail_first=1)


def cli(env: Env, *args: str) -> Result:
    """What an operator types on the server meanwhile, as its own process."""
    result = run_subprocess(["--config", str(env.tmp / "automation.yaml"), *args], cwd=env.tmp)
    assert_no_traceback(result.out, result.err)
    return result


def status_rows(env: Env, at: datetime) -> dict[str, str]:
    """``automation status`` as an operator reads it at ``at``: its rows by name."""
    config = ["--config", str(env.tmp / "automation.yaml"), "status"]
    done = subprocess.run(
        [sys.executable, "-c", STATUS_AT, at.isoformat(), *config],
        cwd=env.tmp,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert_no_traceback(done.stdout, done.stderr)
    found = {}
    for line in done.stdout.splitlines():
        key, _, value = line.partition("  ")
        found[key.strip()] = value.strip()
    return found


def cycle(env: Env) -> CycleResult:
    """A cycle, then the outbox's work until the next one (the service loop's order)."""
    assert env.runtime is not None and env.runtime.outbox is not None
    result = env.runtime.engine.cycle()
    env.sandbox.clock.advance(CYCLE)
    env.runtime.outbox.dispatcher.work(BETWEEN)
    return result


def systemd_and_metrics(env: Env, result: CycleResult) -> tuple[str, dict[str, float]]:
    """The line ``systemctl status`` would show after ``result``, and the disk gauges a
    scrape of ``/metrics`` would read now."""
    assert env.runtime is not None
    config = env.runtime.config
    text = generate_latest(EngineMetrics(config).registry).decode()
    gauges = {
        s.name: s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name.startswith("automation_database_disk_")
    }
    return status_line(result, database_disk(config.database)), gauges


def test_a_full_disk_loses_nothing_sends_nothing_twice_and_does_not_flood_the_log(
    env: Env, tiny_disk: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    early, late = env.post(20), env.post(20)
    threshold_rule(env, [early, late])
    runtime = env.open(outbox=Ticker())  # actions on the engine's thread, as rule tests do
    assert runtime.outbox is not None
    limits = runtime.outbox.limits
    cycle(env)  # learns the rule: nothing past it

    env.sandbox.world.set_metric(early, "favorites", 130)
    start = env.sandbox.clock.now().timestamp()
    limits.block("support", "repost", start + 120)  # X: no reposts for two minutes
    cycle(env)  # fires: the webhook is refused (retry in ~10s), the repost waits

    filler = fill(tiny_disk)
    limits.block("support", "repost", start + 360)  # X: six minutes after all
    env.sandbox.world.set_metric(late, "favorites", 130)  # crosses while the disk is full
    caplog.clear()
    for n in range(FULL_CYCLES):
        result = cycle(env)
        if n % 8 == 0:
            line, gauges = systemd_and_metrics(env, result)
            assert line.startswith(f"disk full: {tiny_disk} has "), line
            assert ", 1 errors: fetch: state database " in line, line
            assert "database or disk is full" in (result.unrecorded or ""), result  # /healthz
            free, size = gauges["automation_database_disk_free_bytes"], gauges[SIZE]
            assert free < size / 100 and size <= 4 * 1024**2, gauges
            status, history = status_rows(env, env.sandbox.clock.now()), cli(env, "history")
            assert "actions pending" in status, status
            assert status["disk"].startswith(f"{tiny_disk} has "), status  # the tmpfs's
            assert f"(df -h {tiny_disk})" in status["disk"], status
            assert "stale" not in status  # the last cycle was recorded minutes ago
            assert history.code == 0 and early in history.out, history
            assert late not in history.out  # its firing waits for space
    full_log = [(r.levelname, r.getMessage()) for r in caplog.records]
    caplog.clear()
    # An operator who looks a quarter of an hour on is told why nothing was recorded.
    later = status_rows(env, env.sandbox.clock.now() + STALE)
    assert later["stale"].startswith("no cycle recorded for 23m (one is due every 5m): "), later
    assert later["stale"].endswith(f"the disk that holds {tiny_disk} is full, see below")
    assert "disk" in later

    os.unlink(filler)  # space freed
    freed_at = env.sandbox.clock.now()
    for _ in range(3):
        result = cycle(env)
    line, gauges = systemd_and_metrics(env, result)
    assert not line.startswith("disk full") and "errors" not in line, line
    assert result.unrecorded is None, result
    assert gauges["automation_database_disk_free_bytes"] > gauges[SIZE] / 2, gauges
    env.close()

    # Each webhook delivered once (the early one's first try was refused), each repost once.
    ok = Counter(d.idempotency_key for d in env.receiver.deliveries() if d.status == 200)
    assert sorted(ok.values()) == [1, 1], env.receiver.deliveries()
    assert [d.status for d in env.receiver.deliveries()][:2] == [503, 200]
    reposted = Counter(a.post_id for a in env.sandbox.world.actions_by(SUPPORT, "repost"))
    assert reposted == Counter([early, late])

    # Recorded after the space came back: the late firing, and every outcome; status is
    # quiet again.
    status = status_rows(env, env.sandbox.clock.now())
    assert status["actions pending"] == "0", status
    assert "stale" not in status and "disk" not in status, status
    firings = {e["post"]: e for e in json.loads(cli(env, "history", "--json").out)}
    assert datetime.fromisoformat(firings[late]["at"]) >= freed_at
    outcomes = {
        (post, a["kind"]): (a["status"], a["attempts"])
        for post, entry in firings.items()
        for a in entry["actions"]
    }
    assert outcomes == {
        (early, "webhook"): ("sent", 2),
        (early, "repost"): ("sent", 1),
        (late, "webhook"): ("sent", 1),
        (late, "repost"): ("sent", 1),
    }

    # The log said it, without a flood: a few lines a cycle, each repeated postpone not.
    lines = Counter(text.split(": ")[0] for level, text in full_log if level != "INFO")
    assert sum(lines.values()) <= 3 * FULL_CYCLES + 10, lines
    # handed back some twice a cycle for four minutes: said once, then once a minute
    assert 2 <= lines["could not postpone 1 action"] <= 5, lines
    assert lines["fetch failed"] == FULL_CYCLES, lines
    assert not any("Traceback" in text for _, text in full_log)
    assert "Traceback" not in caplog.text
    recovered = [r.getMessage() for r in caplog.records if "works again" in r.getMessage()]
    assert len(recovered) == 1 and recovered[0].startswith("postponing actions works again")

"""The engine's metrics and health: counted from events, read from the store, served over
HTTP by a real server, checked by promtool; health judged against an injected clock."""

from __future__ import annotations

import socketserver
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from clock import Clock
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families
from promtool import promtool, promtool_check

from automation.config.database import Database, PostgresDatabase
from automation.config.loader import load_config
from automation.config.model import Config, MetricsSettings
from automation.core.errors import ConfigError
from automation.core.pauses import PauseRecord
from automation.core.recording import DiskSpace, Waiting
from automation.core.records import ActionRecord, CycleWrite, FiringRecord
from automation.engine.events import ActionEvent, CycleEvent, ErrorEvent, FiredEvent
from automation.service.health import Health
from automation.service.metrics import EngineMetrics, api_endpoint, outcome_of
from automation.service.metrics_server import MetricsServer
from automation.service.observers import Observers
from automation.service.server_thread import STOP_POLL
from automation.store.memory import MemoryStore

T0 = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
CONFIG = """\
database: automation.db
rules: [rules/]
poll_interval: 1m
engagement_api: {base_url: "https://data-api.x.com", requests_per_minute: 60}
x_api: {base_url: "https://api.x.com"}
app: {consumer_key: k, consumer_secret: s, bearer_token: b}
metrics: {listen: "127.0.0.1:0"}
"""


@pytest.fixture
def config(tmp_path: Path) -> Config:
    path = tmp_path / "automation.yaml"
    path.write_text(CONFIG, encoding="utf-8")
    return load_config(path, env={})


def samples(text: bytes) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(text.decode()):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def test_events_and_the_store_become_metrics(config: Config) -> None:
    metrics = EngineMetrics(config)
    store = MemoryStore()
    firing = FiringRecord(
        "f1", "likes-100", "p1", "once", "fired", T0, actions=(ActionRecord(0, "log", "{}"),)
    )
    store.commit_cycle(CycleWrite(at=T0 - timedelta(minutes=5), firings=(firing,)))
    store.set_pause(PauseRecord("likes-100", T0, "alice"))
    for t in range(20):
        store.budget_record("engagement", T0.timestamp() - 30 + t)
    for event in (
        FiredEvent("fired", "likes-100", "p1", "once"),
        FiredEvent("seeded", "likes-100", "p2", "once"),
        ActionEvent("f1.0", "webhook", "dead", error="410"),
        ActionEvent("f0.0", "repost", "sent"),
        ErrorEvent("fetch", "boom"),
        CycleEvent(posts=7, requests=3, duration=1.5, errors=1, at="2026-11-26T11:59:00Z"),
        CycleEvent(posts=8, requests=3, duration=0.5, budget_wait=0.25, at="2026-11-26T12:00:00Z"),
    ):
        metrics(event)
    metrics.observe_request("POST", "https://data-api.x.com/insights/engagement/totals", 200)
    metrics.observe_request("POST", "https://data-api.x.com/insights/engagement/28hr", 429)
    metrics.observe_request("GET", "https://api.x.com/2/users/2244994945/tweets", None)
    metrics.observe_request("POST", "https://hooks.example.com/secret-token", 200)
    metrics.refresh(store, rules=["likes-100", "quiet-rule"], config=config, now=T0)

    got = samples(metrics_text(metrics))
    assert got[("automation_cycles_total", ())] == 2
    assert got[("automation_cycles_failed_total", ())] == 1
    assert got[("automation_cycle_duration_seconds_count", ())] == 2
    assert got[("automation_cycle_duration_seconds_sum", ())] == 2.0
    assert got[("automation_last_successful_cycle_timestamp_seconds", ())] == T0.timestamp()
    assert got[("automation_last_cycle_timestamp_seconds", ())] == T0.timestamp()
    assert got[("automation_posts_watched", ())] == 8
    assert got[("automation_api_budget_wait_seconds_total", ())] == 0.25
    assert got[("automation_firings_total", (("kind", "fired"), ("rule", "likes-100")))] == 1
    assert got[("automation_firings_total", (("kind", "seeded"), ("rule", "likes-100")))] == 1
    assert got[("automation_firings_total", (("kind", "fired"), ("rule", "quiet-rule")))] == 0
    assert got[("automation_actions_total", (("kind", "webhook"), ("outcome", "dead")))] == 1
    assert got[("automation_actions_total", (("kind", "repost"), ("outcome", "sent")))] == 1
    api = "automation_api_requests_total"
    assert got[(api, (("endpoint", "engagement/totals"), ("outcome", "ok")))] == 1
    assert got[(api, (("endpoint", "engagement/28hr"), ("outcome", "rate_limited")))] == 1
    assert got[(api, (("endpoint", "users/:id/tweets"), ("outcome", "network_error")))] == 1
    assert not any("hooks.example.com" in str(k) or "secret-token" in str(k) for k in got)
    assert got[("automation_actions_pending", ())] == 1
    assert got[("automation_actions_dead", ())] == 0
    assert got[("automation_outbox_oldest_pending_age_seconds", ())] == 300
    assert got[("automation_rules_loaded", ())] == 2
    assert got[("automation_rules_paused", ())] == 1
    assert got[("automation_reload_failed", ())] == 0
    assert got[("automation_reload_errors", ())] == 0
    assert got[("automation_api_budget_remaining_requests", ())] == 40
    assert got[("automation_api_budget_limit_requests", ())] == 60
    assert got[("automation_poll_interval_seconds", ())] == 60
    assert all(name.startswith("automation_") for name, _ in got)
    promtool_check(metrics_text(metrics))


def test_counters_carry_no_created_series(config: Config) -> None:
    """prometheus_client adds a ``_created`` sample to each counter and histogram series:
    for 300 rules, 600 more series of firings that only say when the engine started."""
    metrics = EngineMetrics(config)
    rules = [f"rule-{n}" for n in range(300)]
    metrics.refresh(MemoryStore(), rules=rules, config=config, now=T0)
    metrics(CycleEvent(posts=1, requests=1, duration=0.5, at="2026-11-26T12:00:00Z"))
    text = metrics_text(metrics)
    got = samples(text)
    assert [name for name, _ in got if name.endswith("_created")] == []
    assert len([1 for name, _ in got if name == "automation_firings_total"]) == 600
    promtool_check(text)


def test_a_failed_reload_is_counted_with_its_errors(config: Config) -> None:
    from automation.core.reload_failure import ReloadFailure, encode

    metrics = EngineMetrics(config)
    store = MemoryStore()
    errors = "rules.yaml:4:11: error: unknown metric 'lieks'\nrules.yaml:9:3: error: no id"
    store.set_meta("reload_error", encode(ReloadFailure(errors, T0)))
    metrics.refresh(store, rules=["likes-100"], config=config, now=T0)
    got = samples(metrics_text(metrics))
    assert got[("automation_reload_failed", ())] == 1
    assert got[("automation_reload_errors", ())] == 2
    store.set_meta("reload_error", "")  # the next good load
    metrics.refresh(store, rules=["likes-100"], config=config, now=T0)
    got = samples(metrics_text(metrics))
    assert (got[("automation_reload_failed", ())], got[("automation_reload_errors", ())]) == (0, 0)


def test_the_database_disk_is_read_at_each_scrape(config: Config) -> None:
    measured: list[Database] = []
    disks = iter([DiskSpace("/var/lib/automation", 8 * 1024**3, 300 * 1024**2), None])

    def disk(database: Database) -> DiskSpace | None:
        measured.append(database)
        return next(disks)

    metrics = EngineMetrics(config, disk=disk)
    assert measured == []  # nothing until a scrape
    got = samples(metrics_text(metrics))
    assert measured == [config.database]
    assert got[("automation_database_disk_free_bytes", ())] == 300 * 1024**2
    assert got[("automation_database_disk_size_bytes", ())] == 8 * 1024**3
    again = metrics_text(metrics)  # the directory is gone now: no gauges, no guess
    assert measured == [config.database] * 2
    assert b"automation_database_disk" not in again
    promtool_check(again)


def test_on_postgresql_the_database_disk_is_the_servers_and_absent(config: Config) -> None:
    on_postgres = Config(
        **{**config.__dict__, "database": PostgresDatabase("postgresql://db.internal/a")}
    )
    text = metrics_text(EngineMetrics(on_postgres, disk=lambda database: pytest.fail("measured")))
    assert b"automation_database_disk" not in text
    promtool_check(text)


def test_the_database_disk_of_a_real_directory(config: Config) -> None:
    got = samples(metrics_text(EngineMetrics(config)))
    free = got[("automation_database_disk_free_bytes", ())]
    assert 0 <= free <= got[("automation_database_disk_size_bytes", ())]


def metrics_text(metrics: EngineMetrics) -> bytes:
    from prometheus_client import generate_latest

    return generate_latest(metrics.registry)


def test_cycles_show_the_posts_read_and_their_refresh_ages(config: Config) -> None:
    metrics = EngineMetrics(config)
    metrics(
        CycleEvent(
            posts=100000,
            requests=300,
            duration=240.0,
            refreshed=75000,
            refresh_age_median=190.5,
            refresh_age_oldest=3290.0,
        )
    )
    metrics(CycleEvent(posts=4, requests=1, duration=0.1, refreshed=4))  # no ages: kept

    got = samples(metrics_text(metrics))
    assert got[("automation_posts_watched", ())] == 4
    assert got[("automation_posts_refreshed", ())] == 4
    assert got[("automation_refresh_age_median_seconds", ())] == 190.5
    assert got[("automation_refresh_age_oldest_seconds", ())] == 3290.0
    promtool_check(metrics_text(metrics))


@pytest.mark.parametrize(
    ("url", "endpoint"),
    [
        ("https://data-api.x.com/insights/engagement/historical", "engagement/historical"),
        ("https://api.x.com/2/users/783214/retweets", "users/:id/retweets"),
        ("https://api.x.com/2/tweets", "tweets"),
        ("https://api.x.com.evil.example/2/tweets", None),
        ("http://127.0.0.1:8099/hook", None),
    ],
)
def test_api_endpoints_fold_ids_and_leave_other_hosts_out(url: str, endpoint: str | None) -> None:
    assert api_endpoint(url, ["https://data-api.x.com", "https://api.x.com/"]) == endpoint


def test_outcomes_by_status() -> None:
    assert [outcome_of(s) for s in (204, 404, 429, 503, None)] == [
        "ok",
        "client_error",
        "rate_limited",
        "server_error",
        "network_error",
    ]


def test_a_standby_that_cannot_reach_the_database_is_unhealthy_and_says_why() -> None:
    """With the database down no engine acts, so no standby may answer that another one
    does: it answers 503 saying why, and 200 standby once it is back."""
    health = Health(poll_interval=60, clock=Clock(T0))
    down = "cannot connect to the database postgresql://automation@db/automation: refused"
    health.set_standby(True, problem=down)
    assert health.check() == (503, f"standby: {down}")
    health.set_standby(True)
    assert health.check() == (200, "standby: another engine is acting on this database")


def test_health_is_ok_within_three_intervals_and_says_why_when_not() -> None:
    clock = Clock(T0)
    health = Health(poll_interval=60, clock=clock)
    assert health.check() == (
        200,
        "starting: the first cycle is running (started 2026-11-26T12:00:00Z)",
    )
    clock.now = T0 + timedelta(minutes=3, seconds=1)
    status, reason = health.check()
    assert status == 503
    assert reason == (
        "stale: no cycle finished within 3m (3 poll intervals); none since the engine started "
        "at 2026-11-26T12:00:00Z"
    )
    health.cycle_finished()
    assert health.check() == (200, "ok: the last cycle finished at 2026-11-26T12:03:01Z")
    clock.now += timedelta(minutes=3)
    assert health.check()[0] == 200
    clock.now += timedelta(seconds=1)
    assert health.check() == (
        503,
        "stale: no cycle finished within 3m (3 poll intervals); the last one finished at "
        "2026-11-26T12:03:01Z",
    )
    health.set_standby(True)
    assert health.check() == (200, "standby: another engine is acting on this database")
    clock.now += timedelta(hours=1)
    health.set_standby(False)  # it took the lead: three intervals for its first cycle
    assert health.check()[1].startswith("starting: the first cycle is running")
    clock.now += timedelta(minutes=3, seconds=1)
    assert health.check()[0] == 503


def test_a_cycle_that_could_not_record_is_unhealthy_until_one_records_again() -> None:
    """A cycle that finished while the database refused its writes did not do its job:
    503, saying why; past three intervals the engine is stale, as always; 200 again once
    a cycle records."""
    clock = Clock(T0)
    health = Health(poll_interval=60, clock=clock)
    full = "state database /var/lib/automation/automation.db: database or disk is full"
    health.cycle_finished(unrecorded=full)
    assert health.check() == (
        503,
        f"unrecorded: the cycle at 2026-11-26T12:00:00Z could not record: {full}",
    )
    clock.now = T0 + timedelta(minutes=3, seconds=1)
    assert health.check()[1].startswith("stale: no cycle finished within 3m")
    health.cycle_finished()
    assert health.check() == (200, "ok: the last cycle finished at 2026-11-26T12:03:01Z")


def test_an_engine_waiting_out_a_rate_limit_is_stale_and_says_it_waits_until_when() -> None:
    clock = Clock(T0)
    health = Health(poll_interval=60, clock=clock)
    clock.now = T0 + timedelta(seconds=30)
    health.waiting(Waiting(clock.now, clock.now + timedelta(minutes=15), "429"))
    clock.now = T0 + timedelta(minutes=10)
    assert health.check() == (
        503,
        "stale: no cycle finished within 3m (3 poll intervals); the engine is waiting for the"
        " API's rate limit until 12:15:30 UTC (429); none since the engine started at"
        " 2026-11-26T12:00:00Z",
    )
    health.cycle_finished(T0 + timedelta(minutes=16))
    clock.now = T0 + timedelta(minutes=20)  # the wait is older than the last cycle
    assert health.check()[0] == 503
    health.waiting(Waiting(clock.now, clock.now + timedelta(hours=1), "budget"))
    clock.now += timedelta(hours=1, minutes=3)
    assert health.check() == (
        503,
        "stale: no cycle finished within 3m (3 poll intervals); the engine is waiting for the"
        " request budget until 13:20:00 UTC (engagement_api: requests_per_minute); the last one"
        " finished at 2026-11-26T12:16:00Z",
    )
    clock.now += timedelta(seconds=1)  # three intervals after the wait's end: stale again
    assert health.check() == (
        503,
        "stale: no cycle finished within 3m (3 poll intervals); the last one finished at "
        "2026-11-26T12:16:00Z",
    )


def test_a_wait_shows_in_metrics_until_the_cycle_ends(config: Config) -> None:
    metrics = EngineMetrics(config)
    gauge = ("automation_api_wait_until_timestamp_seconds", ())
    assert samples(metrics_text(metrics))[gauge] == 0
    metrics.waiting(Waiting(T0, T0 + timedelta(minutes=15), "429"))
    assert samples(metrics_text(metrics))[gauge] == (T0 + timedelta(minutes=15)).timestamp()
    metrics(CycleEvent(posts=1, requests=1, duration=900.0, at="2026-11-26T12:15:01Z"))
    assert samples(metrics_text(metrics))[gauge] == 0


@pytest.fixture
def served(config: Config) -> Iterator[tuple[Observers, Clock]]:
    clock = Clock(T0)
    observers = Observers(config, clock=clock).start()
    try:
        yield observers, clock
    finally:
        observers.close()


def test_the_server_answers_metrics_health_and_nothing_else(
    served: tuple[Observers, Clock], config: Config
) -> None:
    observers, clock = served
    assert observers.server is not None
    base = observers.server.url
    observers.sink(lambda e: None)(
        CycleEvent(posts=1, requests=1, duration=0.1, at="2026-11-26T12:00:00Z")
    )
    observers.after_cycle(MemoryStore(), rules=["r"], config=config)
    status, body = get(base + "/metrics")
    assert status == 200
    assert samples(body)[("automation_cycles_total", ())] == 1
    promtool_check(body)
    assert get(base + "/healthz") == (200, b"ok: the last cycle finished at 2026-11-26T12:00:00Z\n")
    clock.now += timedelta(minutes=4)
    status, body = get(base + "/healthz")
    assert status == 503 and body.startswith(b"stale: no cycle finished within 3m")
    assert get(base + "/")[0] == 404


def test_an_address_in_use_is_a_config_error(
    served: tuple[Observers, Clock], config: Config
) -> None:
    observers, _ = served
    assert observers.server is not None
    port = int(observers.server.url.rpartition(":")[2])
    taken = Config(**{**config.__dict__, "metrics": MetricsSettings("127.0.0.1", port)})
    with pytest.raises(ConfigError) as caught:
        Observers(taken, clock=Clock(T0)).start()
    assert f"metrics.listen 127.0.0.1:{port}: cannot serve there" in str(caught.value)


RULES = Path(__file__).parents[2] / "deploy" / "automation.rules.yml"


def test_the_alerting_rules_are_valid_and_the_readme_shows_them_as_they_are() -> None:
    done = promtool("check", "rules", str(RULES))
    assert done.returncode == 0, (done.stdout + done.stderr).decode()
    assert b"SUCCESS: 3 rules found" in done.stdout
    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    block = readme.split("```yaml\ngroups:", 1)[1].split("```", 1)[0]
    assert "groups:" + block == RULES.read_text(encoding="utf-8")


def test_the_alerting_rules_pass_their_promtool_unit_tests() -> None:
    done = promtool("test", "rules", str(Path(__file__).with_name("automation_rules_test.yml")))
    assert done.returncode == 0, (done.stdout + done.stderr).decode()


def test_the_metrics_server_looks_for_a_stop_as_often_as_the_sandbox(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An engine's shutdown (or a lead lost) waits for the serving loop to notice: it looks
    every ``STOP_POLL`` (0.05 s), not every 0.5 s, the standard library's default."""
    polls: list[float] = []
    serve = socketserver.BaseServer.serve_forever

    def serve_forever(self: socketserver.BaseServer, poll_interval: float = 0.5) -> None:
        polls.append(poll_interval)
        serve(self, poll_interval)

    monkeypatch.setattr(socketserver.BaseServer, "serve_forever", serve_forever)
    health = Health(poll_interval=60, clock=Clock(T0))
    server = MetricsServer(
        MetricsSettings("127.0.0.1", 0), registry=CollectorRegistry(), health=health
    ).start()
    server.stop()

    assert polls == [STOP_POLL] and STOP_POLL <= 0.05

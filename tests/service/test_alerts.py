"""Alerts about the engine itself, delivered to a local receiver that checks the §6
signature, on a frozen clock: at most one of a kind an hour, recovery once, and a restart
(a new monitor on the reopened database) neither repeats nor forgets one."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from clock import Clock

from automation.config.loader import load_config
from automation.config.model import Config, WebhookSettings
from automation.config.secret import Secret
from automation.core.records import ActionRecord, CycleWrite, FiringRecord
from automation.engine.events import ActionEvent, CycleEvent
from automation.sandbox.webhook_receiver import Receiver
from automation.service.alerts import AlertMonitor
from automation.store.sqlite import SqliteStore
from automation.x.http import HttpClient

T0 = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
SECRET = "alert-signing-secret"


@pytest.fixture
def clock() -> Clock:
    return Clock(T0)


@pytest.fixture
def receiver(clock: Clock) -> Iterator[Receiver]:
    with Receiver(Secret(SECRET), clock=lambda: clock.now.timestamp()) as rec:
        yield rec


def make_config(tmp_path: Path, url: str) -> Config:
    path = tmp_path / "automation.yaml"
    path.write_text(
        f"""\
database: automation.db
rules: [rules/]
poll_interval: 1m
engagement_api: {{base_url: "https://data-api.x.com"}}
x_api: {{base_url: "https://api.x.com"}}
app: {{consumer_key: k, consumer_secret: s, bearer_token: b}}
webhook_secrets: {{ops: {SECRET}}}
alerts: {{webhook: "{url}/alerts/T0KEN", secret: ops, after: 2}}
""",
        encoding="utf-8",
    )
    return load_config(path, env={})


class Engine:
    """The monitor as ``run`` drives it: events, then ``after_cycle`` on the store."""

    def __init__(self, config: Config, clock: Clock, http: HttpClient) -> None:
        self.config, self.clock = config, clock
        self.store = SqliteStore.open(config.database)
        self.monitor = AlertMonitor(http=http, clock=clock)

    def cycle(
        self,
        *,
        errors: tuple[str, ...] = (),
        dead: int = 0,
        duration: float = 1.0,
        budget_wait: float = 0.0,
    ) -> None:
        for n in range(dead):
            self.monitor(ActionEvent(f"f{n}.0", "webhook", "dead", error="410", rule="r"))
        self.monitor(
            CycleEvent(
                posts=1,
                requests=1,
                duration=duration,
                budget_wait=budget_wait,
                errors=len(errors),
            )
        )
        self.monitor.after_cycle(self.store, self.config, list(errors))
        self.clock.now += timedelta(minutes=1)

    def close(self) -> None:
        self.store.close()


@pytest.fixture
def http() -> Iterator[HttpClient]:
    with HttpClient(timeout=5.0) as client:
        yield client


def told(receiver: Receiver) -> list[tuple[str, str]]:
    return [
        (b["alert"], b["event"]) for b in map(json.loads, (d.body for d in receiver.deliveries()))
    ]


def test_signed_alerts_once_an_hour_recovery_once_and_restart_safe(
    tmp_path: Path, clock: Clock, receiver: Receiver, http: HttpClient
) -> None:
    config = make_config(tmp_path, receiver.url)
    engine = Engine(config, clock, http)
    engine.cycle(errors=("fetch: HTTP 503",))
    assert told(receiver) == []  # one failure is not yet "in a row"
    engine.cycle(errors=("fetch: HTTP 503",))
    assert told(receiver) == [("cycles_failing", "alert.firing")]
    [first] = receiver.deliveries()
    assert first.verified and first.path == "/alerts/T0KEN"
    assert first.idempotency_key == f"alert.cycles_failing.firing.{int(T0.timestamp()) + 60}"
    body = json.loads(first.body)
    assert body["summary"] == "engine cycles keep failing"
    assert body["detail"] == "2 cycles in a row failed: fetch: HTTP 503"
    assert body["since"] == "2026-11-26T12:01:00Z" and body["at"] == "2026-11-26T12:01:00Z"
    engine.cycle(errors=("fetch: HTTP 503",))
    engine.close()

    # a restart: the new engine knows the alert was sent and the failures so far
    engine = Engine(config, clock, http)
    engine.cycle(errors=("fetch: HTTP 503",))
    assert len(receiver.deliveries()) == 1
    engine.cycle()
    assert told(receiver)[-1] == ("cycles_failing", "alert.resolved")
    engine.cycle(errors=("x",))
    engine.cycle(errors=("x",))  # failing again, within the hour: not alerted
    engine.cycle()
    assert len(receiver.deliveries()) == 2
    assert all(d.verified for d in receiver.deliveries())
    engine.close()


def test_dead_actions_and_failed_reloads_alert_and_recover(
    tmp_path: Path, clock: Clock, receiver: Receiver, http: HttpClient
) -> None:
    config = make_config(tmp_path, receiver.url)
    engine = Engine(config, clock, http)
    action = ActionRecord(0, "webhook", "{}")
    firing = FiringRecord("f0", "r", "p", "once", "fired", T0, actions=(action,))
    engine.store.commit_cycle(CycleWrite(at=T0, firings=(firing,)))
    engine.store.record_attempt("f0.0", at=T0, outcome="dead", error="410", next_attempt_at=None)
    engine.store.set_meta("reload_error", json.dumps({"at": "x", "errors": "r.yaml:1:1: bad"}))
    engine.cycle(dead=1)
    assert sorted(told(receiver)) == [
        ("action_dead", "alert.firing"),
        ("reload_failed", "alert.firing"),
    ]
    bodies = {b["alert"]: b for b in map(json.loads, (d.body for d in receiver.deliveries()))}
    assert bodies["reload_failed"]["detail"] == "r.yaml:1:1: bad"
    assert bodies["action_dead"]["detail"] == "action f0.0 (webhook of rule r, post ): 410"
    assert bodies["action_dead"]["count"] == 1
    engine.store.set_meta("reload_error", "")
    engine.store.retry_actions(clock.now, action_id="f0.0")
    engine.store.record_attempt(
        "f0.0", at=clock.now, outcome="sent", error=None, next_attempt_at=None
    )
    engine.cycle()
    assert sorted(told(receiver)[2:]) == [
        ("action_dead", "alert.resolved"),
        ("reload_failed", "alert.resolved"),
    ]
    engine.cycle()
    assert len(receiver.deliveries()) == 4
    engine.close()


def test_an_alert_that_cannot_be_delivered_is_tried_again_after_the_next_cycle(
    tmp_path: Path, clock: Clock, http: HttpClient, caplog: pytest.LogCaptureFixture
) -> None:
    with Receiver(Secret(SECRET), fail_first=1, clock=lambda: clock.now.timestamp()) as flaky:
        config = make_config(tmp_path, flaky.url)
        engine = Engine(config, clock, http)
        engine.store.set_meta("reload_error", "automation.yaml:3: bad")
        engine.cycle()
        engine.cycle()
        statuses = [d.status for d in flaky.deliveries()]
        engine.close()
    assert statuses == [503, 200]
    assert "could not send the reload_failed alert" in caplog.text
    assert "T0KEN" not in caplog.text


def test_alerts_go_to_webhooks_redirect_to_like_every_webhook(
    tmp_path: Path, clock: Clock, receiver: Receiver, http: HttpClient
) -> None:
    config = make_config(tmp_path, "http://127.0.0.1:9")  # nothing listens there
    staged = replace(config, webhooks=WebhookSettings(redirect_to=f"{receiver.url}/staging"))
    engine = Engine(staged, clock, http)
    engine.cycle(errors=("fetch: HTTP 503",))
    engine.cycle(errors=("fetch: HTTP 503",))
    engine.close()
    assert told(receiver) == [("cycles_failing", "alert.firing")]
    assert [(d.path, d.verified) for d in receiver.deliveries()] == [("/staging", True)]


def test_a_redirected_alert_that_fails_names_the_url_that_failed_once(
    tmp_path: Path, clock: Clock, http: HttpClient, caplog: pytest.LogCaptureFixture
) -> None:
    config = make_config(tmp_path, "https://ops.example.com")
    staged = replace(config, webhooks=WebhookSettings(redirect_to="http://127.0.0.1:9/staging"))
    engine = Engine(staged, clock, http)  # nothing listens on port 9
    engine.cycle(errors=("fetch: HTTP 503",))
    engine.cycle(errors=("fetch: HTTP 503",))
    engine.close()
    [line] = [r.getMessage() for r in caplog.records if "could not send" in r.getMessage()]
    # one failure, at the redirect_to URL: not "to https://ops.example.com: webhook to ..."
    assert line.startswith("could not send the cycles_failing alert: webhook to http://127.0.0.1:9")
    assert line.endswith(" (redirected by webhooks.redirect_to from https://ops.example.com)")
    assert line.count("https://ops.example.com") == 1 and "T0KEN" not in line


def test_an_alert_that_fails_unredirected_names_its_url_once(
    tmp_path: Path, clock: Clock, http: HttpClient, caplog: pytest.LogCaptureFixture
) -> None:
    engine = Engine(make_config(tmp_path, "http://127.0.0.1:9"), clock, http)
    engine.cycle(errors=("fetch: HTTP 503",))
    engine.cycle(errors=("fetch: HTTP 503",))
    engine.close()
    [line] = [r.getMessage() for r in caplog.records if "could not send" in r.getMessage()]
    assert line.startswith("could not send the cycles_failing alert: webhook to http://127.0.0.1:9")
    assert line.count("127.0.0.1:9") == 1 and "redirect" not in line


def test_the_budget_stall_alert_counts_only_cycles_the_budget_held_past_their_interval(
    tmp_path: Path, clock: Clock, receiver: Receiver, http: HttpClient
) -> None:
    config = make_config(tmp_path, receiver.url)  # poll_interval 1m, after 2
    engine = Engine(config, clock, http)
    for _ in range(3):  # slow, but it would have been as slow with budget to spare
        engine.cycle(duration=90.0, budget_wait=20.0)
    engine.cycle(duration=50.0, budget_wait=45.0)  # waited, yet finished in its interval
    assert told(receiver) == []
    engine.cycle(duration=70.0, budget_wait=20.0)  # late only because of the waits
    assert told(receiver) == []  # one interval held up is not yet two
    engine.cycle(duration=70.0, budget_wait=20.0)
    assert told(receiver) == [("budget_stalled", "alert.firing")]
    body = json.loads(receiver.deliveries()[0].body)
    assert body["detail"] == "cycles have waited for the Engagement API budget for 2 min"
    engine.cycle(duration=10.0)
    assert told(receiver)[-1] == ("budget_stalled", "alert.resolved")
    engine.close()

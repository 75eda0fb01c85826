"""The engine end to end, in-process: real engine, real SQLite, the sandbox over loopback
and a local webhook receiver, on a hand-driven simulated clock."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from cli_helpers import Cli, table_rows
from engine_scene import SUPPORT, Env, engine_env, threshold_rule

from automation.config.secret import Secret
from automation.engine.events import to_json
from automation.sandbox.credentials import WEBHOOK_SECRETS
from automation.sandbox.webhook_receiver import Receiver
from automation.service.run import describe
from automation.x.historical import plan_history


@pytest.fixture
def env(tmp_path: Path) -> Iterator[Env]:
    yield from engine_env(tmp_path)


def start_below_threshold(env: Env) -> str:
    """A post under the threshold rule's 100 likes, after the rule's first cycle."""
    crossing = env.post(20)
    threshold_rule(env, [crossing])
    env.open()
    env.cycle()
    return crossing


def test_first_cycle_seeds_posts_already_past_the_threshold(env: Env) -> None:
    past, below = env.post(150), env.post(20)
    threshold_rule(env, [past, below])
    env.open()
    env.cycle()
    assert [e.post for e in env.fired("seeded")] == [past]
    assert env.fired("fired") == []
    assert env.sandbox.world.actions_by(SUPPORT, "repost") == []
    assert env.receiver.deliveries() == []


def test_a_crossing_fires_exactly_once_with_its_actions(env: Env) -> None:
    past, crossing = env.post(150), env.post(20)
    threshold_rule(env, [past, crossing])
    env.open()
    env.cycle()
    env.sandbox.world.set_metric(crossing, "favorites", 130)
    for _ in range(4):
        env.cycle()
    assert [(e.rule, e.post, e.key) for e in env.fired()] == [("at-100", crossing, "once")]
    assert env.fired()[0].metrics == {"likes": 130}
    reposted = [a.post_id for a in env.sandbox.world.actions_by(SUPPORT, "repost")]
    assert reposted == [crossing]
    [delivery] = env.receiver.deliveries()
    assert delivery.verified
    payload = json.loads(delivery.body)
    assert payload["event"] == "rule.fired" and payload["post"]["id"] == crossing
    assert payload["metrics"] == {"likes": 130}
    assert delivery.idempotency_key == f"{payload['id']}.1"


def test_repeated_cycles_and_a_restart_add_nothing(env: Env) -> None:
    crossing = start_below_threshold(env)
    env.sandbox.world.set_metric(crossing, "favorites", 120)
    env.cycle()
    env.cycle()
    env.close()
    env.open()
    env.sandbox.world.set_metric(crossing, "favorites", 400)
    env.cycle()
    env.cycle()
    assert len(env.fired()) == 1
    assert len(env.sandbox.world.actions_by(SUPPORT, "repost")) == 1
    assert len(env.receiver.deliveries()) == 1
    history = env.runtime.store.history(rule_id="at-100") if env.runtime else []
    assert [h.firing.kind for h in history] == ["fired"]
    assert {a.status for a in history[0].actions} == {"sent"}


def test_milestones_fire_once_per_multiple_and_once_for_a_jump(env: Env) -> None:
    post = env.post(500)
    env.write_rules(f"""\
        version: 1
        rules:
          - id: milestones
            watch: {{posts: ["{post}"], owner: brand}}
            fire: {{every: 1000, metric: likes}}
            actions:
              - log: {{message: "{{post.id}} passed {{milestone}}"}}
        """)
    env.open()
    env.cycle()
    for likes in (999, 1000, 1500, 2100, 5300, 5400):
        env.sandbox.world.set_metric(post, "favorites", likes)
        env.cycle()
    keys = [e.key for e in env.fired()]
    assert keys == ["every:favorites:1000", "every:favorites:2000", "every:favorites:5000"]
    assert len(env.actions("sent")) == 3


def test_a_dry_run_leaves_the_database_and_the_world_untouched(env: Env) -> None:
    past, crossing = env.post(150), env.post(20)
    threshold_rule(env, [past, crossing])
    env.open()
    env.cycle()
    env.close()
    db = env.tmp / "automation.db"
    store_before = _store_dump(env)
    env.sandbox.world.set_metric(crossing, "favorites", 300)
    env.open(dry_run=True)
    env.cycle()
    env.close()
    assert [e.post for e in env.fired("would_fire")] == [crossing]
    assert env.fired("fired") == []
    assert env.sandbox.world.actions_by(SUPPORT, "repost") == []
    assert env.receiver.deliveries() == []
    assert _store_dump(env) == store_before
    assert db.exists()


def test_a_dry_run_of_a_new_rule_says_what_would_be_seeded(env: Env) -> None:
    past = env.post(150)
    threshold_rule(env, [past])
    env.open(dry_run=True)
    env.cycle()
    assert [e.post for e in env.fired("would_seed")] == [past]
    env.close()
    env.open()
    env.cycle()
    assert [e.post for e in env.fired("seeded")] == [past]


def test_a_webhook_failing_twice_is_delivered_on_the_third_try_with_the_same_key(
    env: Env,
) -> None:
    env.receiver.stop()
    env.receiver = Receiver(Secret(WEBHOOK_SECRETS["team-chat"], "team-chat"), fail_first=2).start()
    crossing = start_below_threshold(env)
    env.sandbox.world.set_metric(crossing, "favorites", 101)
    for _ in range(4):
        env.cycle(advance=600)
    deliveries = env.receiver.deliveries()
    assert [d.status for d in deliveries] == [503, 503, 200]
    assert len({d.idempotency_key for d in deliveries}) == 1
    assert len({d.body for d in deliveries}) == 1
    assert all(d.verified for d in deliveries)
    webhook = [a for a in env.actions() if a.kind == "webhook"]
    assert [a.status for a in webhook] == ["retry", "retry", "sent"]
    # the repost succeeded once and was never repeated by the webhook's retries
    assert len(env.sandbox.world.actions_by(SUPPORT, "repost")) == 1


def test_a_dead_webhook_is_kept_and_can_be_retried_by_hand(env: Env) -> None:
    env.receiver.stop()
    env.receiver = Receiver(None, fail_first=1, fail_status=404).start()
    crossing = start_below_threshold(env)
    env.sandbox.world.set_metric(crossing, "favorites", 101)
    env.cycle()
    assert env.runtime is not None
    store = env.runtime.store
    [dead] = store.actions(status="dead")
    assert dead.kind == "webhook" and "404" in (dead.last_error or "")
    assert store.retry_actions(env.sandbox.clock.now(), action_id=dead.id)
    env.cycle()
    assert store.action(dead.id).status == "sent"


def test_editing_only_an_action_never_refires(env: Env) -> None:
    crossing = start_below_threshold(env)
    env.sandbox.world.set_metric(crossing, "favorites", 150)
    env.cycle()
    text = (
        (env.tmp / "rules" / "rules.yaml")
        .read_text()
        .replace("repost: {as: support}", "like: {as: support}")
    )
    (env.tmp / "rules" / "rules.yaml").write_text(text)
    env.cycle()
    env.cycle()
    assert len(env.fired()) == 1
    assert env.fired("seeded") == []


def test_changing_a_condition_seeds_instead_of_firing(env: Env) -> None:
    a, b = env.post(150), env.post(20)
    threshold_rule(env, [a, b])
    env.open()
    env.cycle()
    text = (env.tmp / "rules" / "rules.yaml").read_text().replace("likes >= 100", "likes >= 10")
    (env.tmp / "rules" / "rules.yaml").write_text(text)
    env.cycle()
    assert env.fired("fired") == []
    assert sorted(e.post for e in env.fired("seeded")) == sorted([a, b])


def _store_dump(env: Env) -> tuple[object, ...]:
    from automation.store.sqlite import SqliteStore

    store = SqliteStore.open(env.tmp / "automation.db")
    try:
        posts = store.posts(include_unavailable=True)
        return (
            tuple(posts),
            tuple(store.history(limit=1000)),
            tuple(store.actions(limit=1000)),
            store.rule_versions(),
            store.latest_totals([p.post_id for p in posts]),
            store.meta("last_cycle"),
        )
    finally:
        store.close()


def test_a_deleted_post_stops_being_watched(env: Env) -> None:
    gone, kept = env.post(20), env.post(30)
    threshold_rule(env, [gone, kept])
    env.open()
    env.cycle()
    env.sandbox.world.delete_post(gone)
    env.cycle()
    env.cycle()
    assert env.runtime is not None
    store = env.runtime.store
    assert [p.post_id for p in store.posts()] == [kept]
    [record] = [p for p in store.posts(include_unavailable=True) if p.post_id == gone]
    assert record.unavailable_at is not None


def test_a_broken_rule_edit_is_reported_once_and_the_running_rules_keep_working(
    env: Env, caplog: pytest.LogCaptureFixture
) -> None:
    crossing = start_below_threshold(env)
    rules_file = env.tmp / "rules" / "rules.yaml"
    rules_file.write_text(rules_file.read_text().replace("likes >= 100", "lieks >= 100"))
    with caplog.at_level("ERROR", logger="automation.engine"):
        env.cycle()
        env.cycle()
        env.sandbox.world.set_metric(crossing, "favorites", 150)
        env.cycle()
    failures = [r for r in caplog.records if "reload failed" in r.getMessage()]
    assert len(failures) == 1
    assert "lieks" in failures[0].getMessage()
    assert [e.post for e in env.fired()] == [crossing]


def test_write_limits_survive_a_restart(env: Env) -> None:
    crossing = start_below_threshold(env)
    env.sandbox.world.set_metric(crossing, "favorites", 150)
    env.cycle()
    env.close()
    runtime = env.open()
    limits = runtime.engine._x._limits  # the client the restarted engine writes with
    now = env.sandbox.clock.now().timestamp()
    events, _ = limits.snapshot(now)
    assert [(account, kind) for account, kind, _ in events] == [("support", "repost")]


def test_metrics_named_only_in_an_action_are_fetched_and_rendered(env: Env) -> None:
    crossing = env.post(20)
    env.sandbox.world.set_metrics(crossing, {"impressions": 5000, "retweets": 7})
    env.write_rules(f"""\
        version: 1
        rules:
          - id: at-100
            watch: {{posts: ["{crossing}"], owner: brand}}
            when: likes >= 100
            actions:
              - webhook:
                  url: "{env.receiver.url}/hook"
                  body: {{text: "{{metrics.impressions}} seen, {{metrics.reposts}} reposts"}}
        """)
    env.open()
    env.cycle()
    env.sandbox.world.set_metric(crossing, "favorites", 120)
    env.cycle()
    [delivery] = env.receiver.deliveries()
    assert json.loads(delivery.body) == {"text": "5000 seen, 7 reposts"}


def test_a_window_rule_s_firing_shows_the_window_that_decided_it(
    env: Env, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``likes over 1h >= 50`` fires at 90 likes, 70 of them within the hour: history and
    explain show ``likes over 1h = 70`` beside the total, and the webhook's body is the
    spec's, with the totals only; a rule without a window shows what it always did."""
    post, other = env.post(20), env.post(150)
    env.write_rules(f"""\
        version: 1
        rules:
          - id: burst
            watch: {{posts: ["{post}"]}}
            when: likes over 1h >= 50
            actions:
              - webhook: {{url: "{env.receiver.url}/hook", secret: team-chat}}
          - id: at-100
            watch: {{posts: ["{other}"], owner: brand}}
            when: likes >= 100
            actions: [{{log: {{message: "at 100"}}}}]
        """)
    env.open()
    env.cycle(advance=2 * 3600)  # 20 likes stored; the other post is seeded
    env.sandbox.world.set_metric(post, "favorites", 90)
    env.cycle()
    env.close()
    [fired] = env.fired()
    assert (fired.rule, fired.metrics) == ("burst", {"likes": 90})
    # the engine's own log says why, as history does: run --log-format json and the text
    logged = json.loads(to_json(fired))
    assert (logged["metrics"], logged["windows"]) == ({"likes": 90}, {"likes over 1h": 70})
    assert describe(fired).endswith(" key=once (likes=90; likes over 1h = 70)")
    [seed] = env.fired("seeded")  # no window: the same bytes as before windows were logged
    assert list(json.loads(to_json(seed))) == [
        *("event", "rule", "post", "key", "metrics", "id", "reason", "at")
    ]
    assert describe(seed) == f"seeded rule=at-100 post={other} key=once (likes=150)"
    [delivery] = env.receiver.deliveries()
    payload = json.loads(delivery.body)
    assert set(payload) == {"event", "id", "rule", "post", "metrics", "fired_at"}
    assert payload["metrics"] == {"likes": 90} and b"over" not in delivery.body

    cli = Cli(capsys, env.tmp / "automation.yaml")
    table = cli("history")
    assert table.out.splitlines()[0].split() == [
        *("when", "rule", "post", "kind", "key", "actions", "window")
    ]
    rows = {r[1]: r for r in table_rows(table.out)}
    assert rows["burst"][6] == "likes over 1h = 70"
    assert rows["at-100"][5:] == ["-", "-"]
    entries = {e["rule"]: e for e in cli("history", "--json").json()}
    assert entries["burst"]["metrics"] == {"likes": 90}
    assert entries["burst"]["windows"] == {"likes over 1h": 70}
    assert "windows" not in entries["at-100"]
    assert "window" not in cli("history", "--rule", "at-100").out
    monkeypatch.setattr("automation.cli.explain.now", env.sandbox.clock.now)
    explained = cli("explain", "burst", post).out
    assert re.search(r"^recorded: fired once at \S+ \(likes over 1h = 70\)$", explained, re.M)
    seeded = cli("explain", "at-100", other).out
    assert re.search(r"^recorded: seeded once at \S+$", seeded, re.M)


def test_readings_and_28hr_series_become_the_hourly_history(env: Env) -> None:
    post = env.post(20)
    env.write_rules(f"""\
        version: 1
        rules:
          - id: busy-hour
            watch: {{posts: ["{post}"], owner: brand}}
            when: {{all: ["likes >= 100", "impressions over 1h >= 10"]}}
            actions: [{{log: {{message: "busy"}}}}]
        """)
    env.open()
    assert env.runtime is not None
    store = env.runtime.store
    start = env.sandbox.clock.now()
    env.cycle(advance=3600)
    env.sandbox.world.set_metric(post, "favorites", 40)
    env.cycle(advance=3600)
    env.cycle()
    history = store.hourly([post], None, start - timedelta(days=2), start + timedelta(hours=3))
    likes = history[post]["favorites"]
    assert [v for _, v in likes.totals] == [20.0, 40.0]
    (polled,) = likes.polled
    assert polled == (likes.totals[0][0], likes.totals[0][0] + timedelta(hours=3))
    # the /28hr answers' whole hours are counted, up to the hour still running
    impressions = history[post]["impressions"]
    (counted,) = impressions.counted
    assert counted[1] == env.sandbox.clock.now().replace(minute=0, second=0, microsecond=0)
    assert counted[1] - counted[0] >= timedelta(hours=27)
    # what /28hr brought, a backtest does not ask /historical for again
    again = plan_history(store, {post: "brand"}, ["impressions"], *counted, now=start)
    assert again.requests == () and again.missing == {}


def test_the_hourly_history_is_kept_as_long_as_the_config_says(env: Env) -> None:
    post = env.post(20)
    threshold_rule(env, [post])
    config = env.tmp / "automation.yaml"
    config.write_text(config.read_text() + "history: {keep: 2d}\n")
    env.open()
    assert env.runtime is not None
    store = env.runtime.store
    start = env.sandbox.clock.now()
    env.cycle(advance=3 * 86400)
    env.cycle()
    first = start.replace(minute=0, second=0, microsecond=0)
    history = store.hourly([post], ["favorites"], first, first + timedelta(days=4))
    (polled,) = history[post]["favorites"].polled
    # the hour polled three days ago is gone; the hour just polled is kept
    assert polled == (first + timedelta(days=3), first + timedelta(days=3, hours=1))


# --- digests and quiet hours across a restart (a real receiver, the real outbox) --------


def _paths(env: Env) -> list[str]:
    return [d.path for d in env.receiver.deliveries()]


def test_a_restart_inside_a_digest_window_sends_its_request_once_with_every_firing(
    env: Env,
) -> None:
    a, b = env.post(20), env.post(20)
    ids = ", ".join(f'"{p}"' for p in (a, b))
    env.write_rules(f"""\
        version: 1
        rules:
          - id: roundup
            watch: {{posts: [{ids}], owner: brand}}
            when: likes >= 100
            actions:
              - webhook: {{url: "{env.receiver.url}/digest", secret: team-chat, digest: 15m}}
        """)
    env.open()
    env.cycle(advance=60)  # 12:07:13, inside the window 12:00-12:15
    env.sandbox.world.set_metric(a, "favorites", 130)
    env.cycle(advance=60)  # a fires at 12:08:13: its request waits for the window's end
    env.close()  # the engine stops in the middle of the window
    env.open()
    env.sandbox.world.set_metric(b, "favorites", 140)
    env.cycle(advance=360)  # b fires at 12:09:13, same window
    assert env.receiver.deliveries() == []
    env.cycle(advance=300)  # 12:15:13: the window has ended
    env.close()
    env.open()
    env.cycle()
    env.cycle()
    [delivery] = env.receiver.deliveries()
    assert delivery.verified and delivery.path == "/digest"
    assert delivery.idempotency_key == "digest.roundup.0.20261126T120000Z"
    body = json.loads(delivery.body)
    assert body["event"] == "rule.digest" and body["count"] == 2
    assert [f["post"]["id"] for f in body["firings"]] == [a, b]
    assert [e.post for e in env.fired()] == [a, b]


def test_a_restart_in_quiet_hours_loses_no_held_action_and_sends_none_twice(env: Env) -> None:
    crossing = env.post(20)
    env.write_rules(f"""\
        version: 1
        rules:
          - id: quiet-at-noon
            watch: {{posts: ["{crossing}"], owner: brand}}
            when: likes >= 100
            quiet: {{from: "12:10", to: "12:20", tz: UTC}}
            actions:
              - repost: {{as: support}}
              - webhook: {{url: "{env.receiver.url}/later", secret: team-chat}}
              - webhook: {{url: "{env.receiver.url}/now", secret: team-chat, quiet: false}}
        """)
    env.open()
    env.cycle()  # 12:07:13, before quiet hours
    env.sandbox.world.set_metric(crossing, "favorites", 130)
    env.cycle(advance=60)  # fires at 12:12:13, in quiet hours: only /now goes
    assert _paths(env) == ["/now"]
    env.close()  # stopped during quiet hours
    env.open()
    env.cycle(advance=420)  # 12:13:13: still quiet
    assert _paths(env) == ["/now"]
    assert env.sandbox.world.actions_by(SUPPORT, "repost") == []
    env.cycle()  # 12:20:13: quiet hours are over
    env.close()
    env.open()
    env.cycle()
    env.cycle()
    assert _paths(env) == ["/now", "/later"]
    assert [a.post_id for a in env.sandbox.world.actions_by(SUPPORT, "repost")] == [crossing]
    assert len(env.fired()) == 1

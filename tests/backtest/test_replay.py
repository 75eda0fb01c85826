"""The replay against the engine itself: a scripted month backtested fires exactly where
``automation test`` plays it through the real engine, and skipping the polls inside an
hour changes nothing."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta
from pathlib import Path

from scripted_month import POLLS, PUBLIC, START, fill_history, posts, write_rule_test

from automation.backtest import BacktestSpec, plan_backtest, run_backtest
from automation.backtest.job import load_readings
from automation.backtest.ledger import ThrowawayLedger
from automation.backtest.posts import rule_posts
from automation.backtest.replay import poll_times, replay
from automation.backtest.unknowns import unknowns
from automation.core.errors import RequestRejected
from automation.core.evaluate import compile_rules
from automation.core.periods import Period
from automation.core.records import CycleWrite, FiringRecord
from automation.rule_tests.runner import run_test
from automation.rule_tests.test_file import load_test_file
from automation.rulefiles.rule_parser import load_rules
from automation.store import MemoryStore
from automation.x.engagement_client import FetchResult
from automation.x.v2_client import DiscoveredPost, Discovery

HOUR = timedelta(hours=1)
MONTH = Period(START, START + POLLS * HOUR)


class Timeline:
    """The brand account's scripted posts, as X would list them."""

    def discover(self, account: str, *, since_id=None, start_time=None, end_time=None, **_):
        found = [
            DiscoveredPost(p.post_id, START + p.created, "")
            for p in posts()
            if p.account == account
            and (start_time is None or START + p.created >= start_time)
            and (end_time is None or START + p.created < end_time)
        ]
        return Discovery(tuple(reversed(found)), None)


class NoApi:
    def fetch(self, requests, compact=None) -> FetchResult:
        raise AssertionError(f"the history is all stored, yet it asked for {list(requests)}")


def scripted(tmp_path: Path):
    (test,) = load_test_file(write_rule_test(tmp_path)).tests
    store = MemoryStore()
    fill_history(store)
    spec = BacktestSpec(compile_rules(test.rules), MONTH, 3600)
    plan = plan_backtest(spec, store=store, timeline=Timeline(), now=MONTH.end + HOUR)
    return test, store, plan


def test_a_backtest_of_a_scripted_month_fires_where_automation_test_does(tmp_path) -> None:
    test, store, plan = scripted(tmp_path)
    run = run_test(test)
    assert run.errors == ()
    expected = sorted(
        (f.kind, f.rule, f.post, START + (f.poll - 1) * HOUR, f.key, f.metrics) for f in run.firings
    )
    assert plan.history.requests == ()
    result = run_backtest(plan, store=store, engagement=NoApi())
    got = sorted((e.kind, e.rule, e.post, e.at, e.key, dict(e.metrics)) for e in result.events)
    assert got == expected
    # the month exercises every rule, and both firing and seeding
    assert {(kind, rule) for kind, rule, *_ in expected} >= {
        ("fired", rule)
        for rule in ("at-100", "milestones", "two-a-day", "held-2h", "busy-hour", "public-burst")
    } | {("seeded", "at-100"), ("seeded", "milestones"), ("capped", "two-a-day")}
    summary = {r.rule: (r.would_fire, r.would_seed, r.would_cap) for r in result.rules}
    assert summary["at-100"] == (2, 1, 0)
    assert summary["two-a-day"][2] == sum(e.kind == "capped" for e in result.events) > 0
    # 1002 is too old to be watched today, yet was watched then: past 100 likes, it is
    # seeded; 1003, written five days in, fires
    assert MONTH.end + HOUR - START - posts()[1].created > timedelta(days=30)
    at_100 = {(e.kind, e.post) for e in result.events if e.rule == "at-100"}
    assert at_100 == {("seeded", "1002"), ("fired", "1001"), ("fired", "1003")}


def test_a_backtest_says_what_it_cannot_know(tmp_path) -> None:
    _, store, plan = scripted(tmp_path)
    result = run_backtest(plan, store=store, engagement=NoApi())
    unknown = {r.rule: r.unknown for r in result.rules}
    assert unknown["public-burst"] == ("4 post-hours of public posts nobody polled",)
    assert unknown["at-100"] == ()  # owned posts, every hour stored
    # a private metric of a public post: the note a rule on it gets
    (tmp_path / "reach.yaml").write_text(
        "version: 1\nrules:\n  - id: reach\n"
        f'    watch: {{posts: ["{PUBLIC}"], max_age: 30d}}\n'
        "    when: impressions >= 10\n    actions: [{log: {message: seen}}]\n"
    )
    reach = compile_rules(load_rules([tmp_path / "reach.yaml"]).rules)
    watched = rule_posts(reach, plan.posts, MONTH)
    assert unknowns(reach, load_readings(store, plan), watched, MONTH)["reach"] == [
        "1 public post: impressions known only for owned posts",
        "4 post-hours of public posts nobody polled",
    ]


def test_history_is_fetched_only_for_the_metrics_each_post_is_read_for(tmp_path) -> None:
    test, store, _ = scripted(tmp_path)
    (tmp_path / "reach.yaml").write_text(
        "version: 1\nrules:\n  - id: reach\n"
        f'    watch: {{posts: ["{PUBLIC}"], max_age: 30d}}\n'
        "    when: impressions >= 10\n    actions: [{log: {message: seen}}]\n"
    )
    rules = [*test.rules, *load_rules([tmp_path / "reach.yaml"]).rules]
    spec = BacktestSpec(compile_rules(rules), MONTH, 3600)
    # the brand posts' likes and reposts are stored; only a public post is read for
    # impressions, which /historical cannot give
    plan = plan_backtest(spec, store=store, timeline=Timeline(), now=MONTH.end + HOUR)
    assert plan.history.requests == ()
    # a brand rule on impressions does lack them
    brand = rules[0].watch
    rules.append(dataclasses.replace(rules[-1], id="brand-reach", watch=brand))
    spec = BacktestSpec(compile_rules(rules), MONTH, 3600)
    plan = plan_backtest(spec, store=store, timeline=Timeline(), now=MONTH.end + HOUR)
    assert {p for r in plan.history.requests for p in r.tweet_ids} == {"1001", "1002", "1003"}
    assert all("impressions" in r.engagement_types for r in plan.history.requests)


def test_polls_inside_an_hour_are_skipped_only_where_nothing_can_change(tmp_path) -> None:
    test, store, plan = scripted(tmp_path)
    readings = load_readings(store, plan)
    rules = compile_rules(test.rules)
    fast = replay(rules, readings, MONTH.start, MONTH.end, 300)
    slow = replay(rules, readings, MONTH.start, MONTH.end, 300, every_poll=True)
    assert fast == slow
    assert len(fast) > 20


def test_polls_fall_on_multiples_of_the_interval() -> None:
    start = datetime.fromisoformat("2026-01-05T12:03:10+00:00")
    times = list(poll_times(start, start + timedelta(minutes=16), 300))
    assert [t.strftime("%H:%M:%S") for t in times] == ["12:05:00", "12:10:00", "12:15:00"]


def test_a_period_before_any_post_says_why_none_and_what_to_do(tmp_path) -> None:
    test, store, month = scripted(tmp_path)
    assert run_backtest(month, store=store, engagement=NoApi()).notes == ()  # posts there
    before = Period(START - 30 * 24 * HOUR, START - 29 * 24 * HOUR)
    at_100 = [r for r in test.rules if r.id == "at-100"]
    spec = BacktestSpec(compile_rules(at_100), before, 3600)
    plan = plan_backtest(spec, store=store, timeline=Timeline(), now=MONTH.end + HOUR)
    result = run_backtest(plan, store=store, engagement=NoApi())
    assert [r.posts for r in result.rules] == [0]
    assert result.notes == (
        f"at-100 watches no post in {before.text()}: no post of its watch (accounts brand)"
        " existed then or was stored; backtest from a later date, or run the engine first:"
        " it stores the posts it watches",
    )


def test_the_throwaway_ledger_fires_a_key_once_as_the_store_does() -> None:
    ledger = ThrowawayLedger()
    seed = FiringRecord(id="a", rule_id="r", post_id="1", key="once", kind="seeded", at=START)
    assert ledger.commit(CycleWrite(at=START, firings=(seed,))) == {"a"}
    later = START + HOUR
    fired = dataclasses.replace(seed, id="b", kind="fired", at=later)
    assert ledger.commit(CycleWrite(at=later, firings=(fired,))) == frozenset()  # seed blocks it
    assert ledger.fired_count("r", START - HOUR) == 0


class Refusing:
    """An Engagement API that reaches 365 days back, the month being older than that."""

    def __init__(self) -> None:
        self.asked: list[object] = []

    def fetch(self, requests, compact=None) -> FetchResult:
        self.asked += list(requests)
        refusal = RequestRejected(
            "Engagement API /historical (account 'brand'): HTTP 400: Post engagement data"
            " is limited to only 365 days in the past",
            status=400,
        )
        return FetchResult({}, {}, frozenset(), {}, frozenset(), (), (refusal,), 1)


def test_a_backtest_older_than_x_reaches_says_so_once_and_asks_once(tmp_path) -> None:
    """Reference §1.3 ⚠: "Post engagement data is limited to only 365 days in the past".
    A month X refuses is asked for once, not window by window, and the note says from
    when X answers and why, instead of a failure to retry."""
    (test,) = load_test_file(write_rule_test(tmp_path)).tests
    spec = BacktestSpec(compile_rules(test.rules), MONTH, 3600)
    now = MONTH.end + timedelta(days=400)
    store = MemoryStore()
    plan = plan_backtest(spec, store=store, timeline=Timeline(), now=now)
    assert len(plan.history.requests) > 1
    api = Refusing()
    result = run_backtest(plan, store=store, engagement=api)
    assert len(api.asked) == 1
    since = (now - timedelta(days=364)).replace(minute=0, second=0, microsecond=0)
    (note,) = [n for n in result.notes if "365" in n]
    assert note.startswith(f"X answered /historical only from {since:%Y-%m-%d %H:%M} UTC")
    assert "limited to only 365 days in the past" in note
    assert "choose a period within the last 365 days" in note
    assert not any("failed" in n for n in result.notes)

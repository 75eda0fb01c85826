"""The replay against the engine itself: a scripted month backtested fires exactly where
``automation test`` plays it through the real engine, and skipping the polls inside an
hour changes nothing."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from scripted_month import POLLS, START, fill_history, posts, write_rule_test

from automation.backtest import BacktestSpec, plan_backtest, run_backtest
from automation.backtest.job import load_readings
from automation.backtest.replay import poll_times, replay
from automation.core.evaluate import compile_rules
from automation.core.periods import Period
from automation.rule_tests.runner import run_test
from automation.rule_tests.test_file import load_test_file
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
    def fetch(self, requests) -> FetchResult:
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
        ("fired", rule) for rule in ("at-100", "milestones", "held-2h", "busy-hour", "public-burst")
    } | {("seeded", "at-100"), ("seeded", "milestones")}
    summary = {r.rule: (r.would_fire, r.would_seed) for r in result.rules}
    assert summary["at-100"] == (2, 1)


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

"""How ``automation backtest`` prints the scripted month: a firing over a rule's cap is a
``would_cap`` event and counted apart, never as a seed."""

from __future__ import annotations

import io
import json
from collections import Counter
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

from scripted_month import POLLS, START, fill_history, posts, write_rule_test

from automation.backtest import BacktestResult, BacktestSpec, plan_backtest, run_backtest
from automation.cli.backtest_output import print_json, print_table
from automation.core.evaluate import compile_rules
from automation.core.periods import Period
from automation.core.records import CycleWrite, FiringRecord
from automation.rule_tests.test_file import load_test_file
from automation.store import MemoryStore
from automation.x.engagement_client import FetchResult
from automation.x.v2_client import DiscoveredPost, Discovery

HOUR = timedelta(hours=1)
MONTH = Period(START, START + POLLS * HOUR)


class Timeline:
    def discover(self, account: str, **_: object) -> Discovery:
        found = [DiscoveredPost(p.post_id, START + p.created, "") for p in posts() if p.account]
        return Discovery(tuple(reversed(found)), None)


class NoApi:
    def fetch(self, requests: object, compact: object = None) -> FetchResult:
        raise AssertionError("the history is all stored")


def month(tmp_path: Path, store: MemoryStore | None = None) -> BacktestResult:
    (test,) = load_test_file(write_rule_test(tmp_path)).tests
    store = store or MemoryStore()
    fill_history(store)
    spec = BacktestSpec(compile_rules(test.rules), MONTH, 3600)
    plan = plan_backtest(spec, store=store, timeline=Timeline(), now=MONTH.end + HOUR)
    assert plan.history.requests == ()  # the history is all stored
    return run_backtest(plan, store=store, engagement=NoApi())


def test_json_names_each_event_and_counts_caps_apart(tmp_path: Path) -> None:
    result = month(tmp_path)
    out = io.StringIO()
    print_json(result, out)
    *events, summary = [json.loads(line) for line in out.getvalue().splitlines()]
    kinds = Counter((e["event"], e["rule"]) for e in events)
    assert kinds[("would_cap", "two-a-day")] > 0 and kinds[("would_seed", "two-a-day")] == 1
    assert all(e["at"].endswith(":00:00Z") for e in events)
    rules = {r["rule"]: r for r in summary["rules"]}
    assert (rules["two-a-day"]["would_fire"], rules["two-a-day"]["would_seed"]) == (
        kinds[("would_fire", "two-a-day")],
        1,
    )
    assert rules["two-a-day"]["would_cap"] == kinds[("would_cap", "two-a-day")]
    assert summary["poll_interval"] == 3600


def test_the_table_says_how_many_firings_the_cap_held_back(tmp_path: Path) -> None:
    result = month(tmp_path)
    out = io.StringIO()
    print_table(result, out)
    (rule,) = [r for r in result.rules if r.rule == "two-a-day"]
    assert (
        f"two-a-day: would fire {rule.would_fire}, would seed 1, {rule.would_cap} capped by"
        " its limit (3 posts watched)" in out.getvalue()
    )
    assert "at-100: would fire 2, would seed 1 (3 posts watched)" in out.getvalue()


def test_each_rule_shows_beside_it_what_the_live_engine_fired_in_the_period(
    tmp_path: Path,
) -> None:
    store = MemoryStore()
    live = [  # the engine's own ledger: at 150 likes, once in the month and once before
        FiringRecord(
            "f1", "at-100", "1001", "once", "fired", START + 40 * HOUR, None, {"likes": 150.0}
        ),
        FiringRecord("f0", "at-100", "1000", "once", "fired", START - HOUR),
    ]
    store.commit_cycle(CycleWrite(at=START, firings=tuple(live)))
    out = io.StringIO()
    print_table(month(tmp_path, store), out)
    text = out.getvalue()
    assert (
        "at-100: would fire 2, would seed 1 (3 posts watched); the live engine fired 1"
        " (+1 in the backtest)" in text
    )
    section = text.split("at-100:", 1)[1].split("\n\n", 1)[0]
    assert "  the live engine fired:" in section
    assert f"{(START + 40 * HOUR):%Y-%m-%dT%H:%M:%SZ}  1001" in section
    assert "likes=150" in section
    assert (
        "milestones: would fire 35, would seed 1 (3 posts watched); the live engine fired 0 (+35"
        in text
    )


def test_a_long_or_uneven_period_reads_plainly_on_one_line_a_rule(tmp_path: Path) -> None:
    """A year is a bar a week, not 365 characters a line; a period that ends at the
    current hour reads as days and hours, not '33.7917 days'."""
    result = month(tmp_path)
    rule = result.rules[0]
    year = [(START.date() + timedelta(days=i), i % 3) for i in range(365)]
    long = replace(
        result,
        period=Period(START, START + timedelta(days=33, hours=19)),
        rules=(replace(rule, would_fire=365, per_day=tuple(year)),),
    )
    out = io.StringIO()
    print_table(long, out)
    text = out.getvalue()
    assert "UTC (33 days 19 hours), a poll every 1h;" in text
    [line] = [x for x in text.splitlines() if x.startswith("  per ")]
    assert line.startswith(f"  per week  {START:%b %d} ")
    # 52 weeks and a day: at most 2+0+1+2+0+1+2 in a week, 364 firings in 365 days
    assert line.endswith(f"{year[-1][0]:%b %d}  (at most 8 a week, 7.0 on average)")
    assert len(line) < 120, line
    # a month stays a bar a day, as before
    out = io.StringIO()
    print_table(result, out)
    assert f"({POLLS // 24} days), a poll every 1h;" in out.getvalue()
    assert "  per day  " in out.getvalue()


def test_a_window_rule_s_firings_show_the_window_that_decided_them(tmp_path: Path) -> None:
    """``busy-hour`` (``likes over 1h >= 10``): each event names its window's value beside
    the total; ``at-100`` (no window) prints what it always did."""
    store = MemoryStore()
    live = FiringRecord(
        "f1", "busy-hour", "1001", "t", "fired", START + 40 * HOUR, None, {"likes": 150.0}
    )
    live = replace(live, windows={"likes over 1h": 12.0})
    store.commit_cycle(CycleWrite(at=START, firings=(live,)))
    result = month(tmp_path, store)
    out = io.StringIO()
    print_json(result, out)
    events = [json.loads(line) for line in out.getvalue().splitlines()][:-1]
    busy = [e for e in events if e["rule"] == "busy-hour" and e["event"] == "would_fire"]
    assert busy and all(e["windows"]["likes over 1h"] >= 10 for e in busy)
    assert all(set(e["windows"]) == {"likes over 1h"} and "likes" in e["metrics"] for e in busy)
    assert all("windows" not in e for e in events if e["rule"] == "at-100")
    out = io.StringIO()
    print_table(result, out)
    section = out.getvalue().split("busy-hour:", 1)[1].split("\n\n", 1)[0]
    first = busy[0]
    values = (
        f"likes over 1h = {first['windows']['likes over 1h']}, likes={first['metrics']['likes']}"
    )
    assert f"{first['at']}  {first['post']}  {values}" in section
    assert "  1001  likes over 1h = 12, likes=150" in section  # the live firing
    at_100 = out.getvalue().split("at-100:", 1)[1].split("\n\n", 1)[0]
    assert "over" not in at_100

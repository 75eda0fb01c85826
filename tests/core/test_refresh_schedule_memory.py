"""A cycle's high-water mark is often its schedule step's, late in a day: what choosing
the posts holds at its peak beyond the refresh it returns. Measured with tracemalloc
(bytes, not time)."""

from __future__ import annotations

import tracemalloc
from datetime import UTC, datetime, timedelta

from automation.core.evaluate import compile_rule
from automation.core.fetch_plan import plan_fetch
from automation.core.records import WatchedPostRecord
from automation.core.refresh_outlook import Recent
from automation.core.refresh_schedule import schedule_refresh
from automation.core.rules import Leaf, Rule, Watch

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
N = 20_000


def test_the_places_and_times_of_every_post_go_before_the_narrowed_plan_is_made() -> None:
    posts = [
        WatchedPostRecord(str(10**6 + n), "brand", NOW - timedelta(days=2), "timeline", NOW)
        for n in range(N)
    ]
    rules = [  # as bench_latency's rules, many watches over the same posts
        compile_rule(
            Rule(
                f"r{k}",
                Watch(accounts=("brand",), max_age=(3 + k) * 86400),
                Leaf("favorites", "gte", 50.0),
            )
        )
        for k in range(8)
    ]
    plan = plan_fetch(rules, posts, NOW)
    values = {"favorites": 1.0}
    times = [(NOW - timedelta(minutes=5 * (k + 1))).timestamp() for k in range(12)]
    recent = {p.post_id: Recent(times[n % 12], values) for n, p in enumerate(posts)}
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        refresh = schedule_refresh(
            plan,
            recent,
            budget=40,  # 10,000 of the 20,000 posts
            interval=timedelta(minutes=5),
            max_staleness=timedelta(hours=1),
            now=NOW,
        )
        now, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert refresh.scheduled and len(refresh.plan.posts) == N // 2
    # 33 bytes a post; 69 with the places (and their ints) and times held while the
    # narrowed plan is made
    assert (peak - now) / N < 50

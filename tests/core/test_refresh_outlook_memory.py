"""The first cycle projects every post (100,000 in bench_latency) and its records are kept:
``outlooks`` makes each post's ``Recent`` in the place of its view, so a view and its rate
go as its record is made, and the table of views becomes the table of records. Measured
with tracemalloc (bytes, not time): what the call holds at its peak beyond what it returns."""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from automation.core.evaluate import compile_rule
from automation.core.metric_values import MetricValues
from automation.core.records import WatchedPostRecord
from automation.core.refresh_outlook import Recent, outlooks
from automation.core.rules import Leaf, Rule, Watch

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
N = 20_000


def peak_beyond_kept(call: Callable[[], object]) -> tuple[float, object]:
    """Bytes a post that ``call`` held at its peak beyond what it returns, and that."""
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        kept = call()
        now, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert now >= base
    return (peak - now) / N, kept


def test_the_first_readings_records_are_made_in_place_of_their_views() -> None:
    posts = tuple(
        WatchedPostRecord(str(10**6 + n), "brand", NOW - timedelta(hours=1), "timeline", NOW)
        for n in range(N)
    )
    rule = compile_rule(Rule("r", Watch(accounts=("brand",)), Leaf("favorites", "gte", 50.0)))
    totals = {
        p.post_id: MetricValues({"favorites": float(n % 40), "impressions": 100.0})
        for n, p in enumerate(posts)
    }
    recent: dict[str, Recent] = {}

    beyond, fresh = peak_beyond_kept(
        lambda: outlooks([(rule, posts)], totals, lambda r: {}, recent, NOW)
    )

    assert isinstance(fresh, dict) and len(fresh) == N
    # 87 bytes a post (the views' table of rates before they go); 211 with a second
    # table of records made beside the views
    assert beyond < 140

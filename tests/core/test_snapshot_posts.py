"""The posts a cycle reads snapshots for: giving the facts the snapshots of only those posts
decides and explains every (rule, post) pair exactly as giving them every watched post's
snapshots does, whatever the posts' owners, ages, readings, series and snapshots."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from automation.core.cycle_facts import CycleFacts
from automation.core.evaluate import compile_rule
from automation.core.facts import HourlySeries, Snapshot
from automation.core.fetch_plan import plan_fetch
from automation.core.records import WatchedPostRecord
from automation.core.rules import AllOf, Every, Leaf, Rearm, Rule, Watch

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
IDS = tuple(str(n) for n in range(1, 9))
EVERY_POST = Watch(accounts=("brand",), posts=IDS)
RULES = tuple(
    compile_rule(r)
    for r in (
        Rule(id="clicks", watch=EVERY_POST, when=Leaf("url_clicks", "gte", 3, over=3600)),
        Rule(
            id="rate",
            watch=EVERY_POST,
            when=AllOf(
                (Leaf("engagement_rate", "gte", 0.2, over=7200), Leaf("favorites", "gte", 1))
            ),
            fire=Rearm(0),
        ),
        Rule(id="reposts", watch=EVERY_POST, when=Leaf("retweets", "gte", 2, over=1800)),
        Rule(id="plain", watch=EVERY_POST, when=None, fire=Every(5, "favorites")),
    )
)
METRICS = ("favorites", "retweets", "url_clicks", "impressions", "engagements")

POST = st.tuples(st.booleans(), st.integers(0, 8))  # owned, age in half hours
SNAPSHOTS = st.lists(
    st.tuples(st.integers(1, 12), st.dictionaries(st.sampled_from(METRICS), st.integers(0, 9))),
    max_size=4,
)  # (half hours ago, values), in any order
SERIES = st.dictionaries(st.sampled_from(METRICS), st.lists(st.integers(0, 4), max_size=5))
READING = st.tuples(
    st.booleans(),  # read this cycle
    st.dictionaries(st.sampled_from(METRICS), st.integers(0, 30)),
    SERIES,
    st.booleans(),  # refused as owned: fetched as public
    SNAPSHOTS,
    st.booleans(),  # left out of the windowed rules' posts, as a budget may leave it
)


def _snapshots(kept: list[tuple[int, dict[str, int]]]) -> tuple[Snapshot, ...]:
    at = sorted({ago: values for ago, values in kept}.items(), reverse=True)
    return tuple(
        Snapshot(NOW - ago * HOUR / 2, {m: float(v) for m, v in vs.items()}) for ago, vs in at
    )


def _series(counts: list[int]) -> HourlySeries:
    hours = NOW.replace(minute=0) - HOUR * (len(counts) - 1)
    return HourlySeries.of(((hours + i * HOUR, float(c)) for i, c in enumerate(counts)), NOW)


@settings(max_examples=300, derandomize=True, deadline=None)
@given(st.lists(st.tuples(POST, READING), min_size=len(IDS), max_size=len(IDS)), st.booleans())
def test_only_the_snapshots_a_window_may_read_are_needed(posts, seeding):
    records = [
        WatchedPostRecord(pid, "brand" if owned else None, NOW - age * HOUR / 2, "explicit", NOW)
        for pid, ((owned, age), _) in zip(IDS, posts, strict=True)
    ]
    plan = plan_fetch(RULES, records, NOW)
    left_out = {pid for pid, (_, r) in zip(IDS, posts, strict=True) if r[5]}
    plan = replace(  # a budget that chose fewer posts: windowed rules evaluate fewer
        plan,
        watched=tuple(
            (rule, tuple(p for p in ps if not (rule.max_window and p.post_id in left_out)))
            for rule, ps in plan.watched
        ),
    )
    totals, hourly, forbidden, snapshots = {}, {}, set(), {}
    for pid, (_, (read, values, series, refused, kept, _)) in zip(IDS, posts, strict=True):
        snapshots[pid] = _snapshots(kept)
        if not read:
            continue
        totals[pid] = {m: float(v) for m, v in values.items()}
        if series:
            hourly[pid] = {m: _series(c) for m, c in series.items()}
        if refused:
            forbidden.add(pid)
    wanted = plan.snapshot_posts(totals, hourly, forbidden)
    every = CycleFacts(plan.posts, totals, hourly, forbidden, snapshots, NOW)
    some = CycleFacts(plan.posts, totals, hourly, forbidden, {p: snapshots[p] for p in wanted}, NOW)
    for compiled, watched in plan.watched:
        for post in watched:
            pid = post.post_id
            if pid not in totals:
                continue
            assert compiled.evaluate(some[pid], None, NOW, seeding=seeding) == compiled.evaluate(
                every[pid], None, NOW, seeding=seeding
            )
            assert compiled.explain(some[pid], None, NOW) == compiled.explain(every[pid], None, NOW)


def test_owned_posts_with_their_series_need_no_snapshots():
    records = [
        WatchedPostRecord("1", "brand", NOW - 6 * HOUR, "timeline", NOW),
        WatchedPostRecord("2", "brand", NOW - 6 * HOUR, "timeline", NOW),
        WatchedPostRecord("3", None, NOW - 6 * HOUR, "explicit", NOW),
        WatchedPostRecord("4", "brand", NOW - 6 * HOUR, "timeline", NOW),
    ]
    plan = plan_fetch(RULES, records, NOW)
    series = {m: _series([1, 2]) for m in METRICS}
    totals = {pid: {"favorites": 1.0} for pid in ("1", "2", "3", "4")}
    hourly = {"1": series, "2": {"retweets": series["retweets"]}, "4": series}
    # 1 has every window metric's series, 2 lacks some, 3 is public, 4 was refused as owned
    assert plan.snapshot_posts(totals, hourly, {"4"}) == ["2", "3", "4"]

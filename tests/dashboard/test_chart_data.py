"""What a post's charts and a rule's "nearest" list are built from: pure functions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from automation.core.facts import Snapshot
from automation.core.records import FiringRecord, HistoryEntry, HourlyHistory, WatchedPostRecord
from automation.core.rules import AllOf, Every, Leaf, Rule, Watch
from automation.dashboard.nearest import nearest, rule_target, watched
from automation.dashboard.post_charts import MetricChart, post_charts
from automation.store import MemoryStore

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
H = timedelta(hours=1)
DAY = timedelta(days=1)


def _rule(rule_id: str, when: object = None, **kw: object) -> Rule:
    return Rule(id=rule_id, watch=Watch(posts=("1",)), when=when, **kw)  # type: ignore[arg-type]


def _firing(rule: str, at: datetime, metrics: dict[str, float]) -> HistoryEntry:
    return HistoryEntry(FiringRecord("f" + rule, rule, "1", "once", "fired", at, None, metrics))


def _likes(history: HourlyHistory, now: datetime, snaps: tuple[Snapshot, ...] = ()) -> MetricChart:
    """The likes chart of a post with this hourly ``history`` (and the engine's ``snaps``),
    drawn at ``now`` with no rule and no firing."""
    [chart] = post_charts({"favorites": history}, snaps, [], [], now, created=T0 - DAY)
    return chart


def test_totals_are_drawn_at_each_hours_end_with_gaps_where_nobody_polled() -> None:
    history = HourlyHistory(
        totals=((T0, 10.0), (T0 + 1 * H, 30.0), (T0 + 4 * H, 50.0)),
        polled=((T0, T0 + 3 * H), (T0 + 4 * H, T0 + 5 * H)),
    )
    chart = _likes(history, T0 + 10 * H)
    assert chart.label == "likes"
    ends = [(T0 + n * H).timestamp() for n in (1, 2, 3, 5)]
    assert chart.times == ends
    assert chart.totals == [10.0, 30.0, 30.0, 50.0]  # hour 3 was not polled: no point
    assert chart.per_hour is None


def test_an_owned_posts_counts_rebuild_totals_before_it_was_first_polled() -> None:
    history = HourlyHistory(
        totals=((T0 + 3 * H, 100.0),),
        polled=((T0 + 3 * H, T0 + 4 * H),),
        counts=((T0, 40.0), (T0 + 1 * H, 25.0), (T0 + 3 * H, 15.0)),
        counted=((T0, T0 + 4 * H),),
    )
    chart = _likes(history, T0 + 4 * H)
    assert chart.totals == [60.0, 85.0, 85.0, 100.0]
    assert chart.per_hour == [40.0, 25.0, 0.0, 15.0]


def test_counts_rebuild_the_totals_when_no_hour_since_the_first_poll_is_counted() -> None:
    # an engine started half an hour ago: the API has counted every hour but this one
    history = HourlyHistory(
        totals=((T0 + 3 * H, 100.0),),
        polled=((T0 + 3 * H, T0 + 4 * H),),
        counts=((T0, 40.0), (T0 + 1 * H, 25.0), (T0 + 2 * H, 15.0)),
        counted=((T0, T0 + 3 * H),),
    )
    now = T0 + 3 * H + 30 * timedelta(minutes=1)
    chart = _likes(history, now)
    assert chart.totals == [60.0, 85.0, 100.0, 100.0]
    assert chart.per_hour == [40.0, 25.0, 15.0, None]
    snaps = (Snapshot(T0 + 3 * H + 10 * timedelta(minutes=1), {"favorites": 100.0}),)
    chart = _likes(history, now, snaps)  # as the page draws it
    assert chart.totals == [60.0, 85.0, 100.0, 100.0]
    # polled on into the next hour, still without counts after the last fetch
    later = HourlyHistory(
        totals=((T0 + 3 * H, 100.0), (T0 + 4 * H, 104.0)),
        polled=((T0 + 3 * H, T0 + 5 * H),),
        counts=history.counts,
        counted=history.counted,
    )
    chart = _likes(later, T0 + 4 * H + 30 * timedelta(minutes=1))
    assert chart.totals == [60.0, 85.0, 100.0, 100.0, 104.0]
    # a polled hour the API skipped, with counted hours after it, still ends the rebuild
    skipped = HourlyHistory(
        totals=((T0 + 2 * H, 90.0),),
        polled=((T0 + 2 * H, T0 + 3 * H),),
        counts=((T0, 40.0), (T0 + 1 * H, 25.0), (T0 + 3 * H, 5.0)),
        counted=((T0, T0 + 2 * H), (T0 + 3 * H, T0 + 4 * H)),
    )
    chart = _likes(skipped, T0 + 4 * H)
    assert chart.totals == [None, None, 90.0, None]


def test_the_engines_snapshots_replace_the_hours_they_cover() -> None:
    history = HourlyHistory(totals=((T0, 5.0), (T0 + H, 9.0)), polled=((T0, T0 + 2 * H),))
    snaps = (
        Snapshot(T0 + 90 * timedelta(minutes=1), {"favorites": 8.0}),
        Snapshot(T0 + 2 * H, {"favorites": 9.0}),
    )
    chart = _likes(history, T0 + 3 * H, snaps)
    assert chart.times == [(T0 + H).timestamp(), snaps[0].at.timestamp(), snaps[1].at.timestamp()]
    assert chart.totals == [5.0, 8.0, 9.0]


def test_thresholds_and_markers_go_on_the_metric_they_concern() -> None:
    likes = Leaf("favorites", "gte", 100, written="likes")
    windowed = Leaf("favorites", "gte", 20, over=3600, written="likes")
    reach = Leaf("impressions", "gte", 5000)
    rules = [_rule("a", AllOf((likes, windowed))), _rule("b", reach)]
    history = {
        m: HourlyHistory(totals=((T0, 1.0),), polled=((T0, T0 + H),))
        for m in ("favorites", "impressions")
    }
    firings = [_firing("a", T0 + H / 2, {"likes": 100.0}), _firing("b", T0, {"impressions": 9e3})]
    charts = {c.metric: c for c in post_charts(history, (), rules, firings, T0 + H, created=T0)}
    assert [t["value"] for t in charts["favorites"].thresholds] == [100]  # not the window
    assert [m["rule"] for m in charts["favorites"].markers] == ["a"]
    assert charts["favorites"].markers[0]["value"] == 100.0
    assert [m["rule"] for m in charts["impressions"].markers] == ["b"]


def _post(post_id: str) -> WatchedPostRecord:
    return WatchedPostRecord(post_id, "brand", T0, "explicit", T0)


def test_a_rule_watches_its_accounts_recent_posts_and_the_named_ones_however_old() -> None:
    store = MemoryStore()
    store.upsert_posts(
        WatchedPostRecord(post_id, account, T0 - age * H, source, T0)
        for post_id, account, age, source in [
            ("fresh", "brand", 2, "timeline"),
            ("stale", "brand", 30, "timeline"),  # older than max_age
            ("theirs", "support", 2, "timeline"),  # another account's
            ("named", None, 300, "explicit"),  # named by ID: however old
            ("named-stale", "support", 30, "timeline"),  # named, but discovered and old
        ]
    )
    watch = Watch(accounts=("brand",), posts=("named", "named-stale"), max_age=86_400)
    posts = watched(Rule(id="w", watch=watch, when=None), store, T0)  # type: ignore[arg-type]
    assert [p.post_id for p in posts] == ["named", "fresh"]


def test_the_nearest_posts_come_with_progress_and_a_crossing_estimate() -> None:
    target = rule_target(_rule("a", Leaf("favorites", "gte", 100, written="likes")))
    assert target is not None and target.label == "likes >= 100"
    posts = [_post(p) for p in ("1", "2", "3", "4")]
    totals = {"1": {"favorites": 80.0}, "2": {"favorites": 50.0}, "3": {"favorites": 120.0}}
    now = T0 + 6 * H
    history = {"1": (Snapshot(T0, {"favorites": 20.0}), Snapshot(now, {"favorites": 80.0}))}
    close, past = nearest(target, posts, totals, lambda ids, since: history, now)
    assert past == 1  # post 3; post 4 has no value
    assert [(n.post.post_id, n.progress) for n in close] == [("1", 0.8), ("2", 0.5)]
    assert close[0].per_hour == 10.0 and close[0].hours_left == 2.0
    assert close[1].per_hour is None and close[1].hours_left is None


def test_a_milestone_rule_is_near_its_next_multiple() -> None:
    target = rule_target(_rule("m", fire=Every(1000, "favorites", "likes")))
    assert target is not None
    close, _ = nearest(target, [_post("1")], {"1": {"favorites": 2750.0}}, lambda i, s: {}, T0)
    assert (close[0].value, close[0].threshold) == (2750.0, 3000)


def test_a_post_exactly_at_a_rules_threshold_is_past_it_for_gte_and_near_it_for_gt() -> None:
    totals = {"1": {"favorites": 100.0}}
    for op, past_it in (("gte", 1), ("gt", 0)):
        target = rule_target(_rule("a", Leaf("favorites", op, 100, written="likes")))
        assert target is not None
        close, past = nearest(target, [_post("1")], totals, lambda i, s: {}, T0)
        assert (past, [n.progress for n in close]) == (past_it, [] if past_it else [1.0])

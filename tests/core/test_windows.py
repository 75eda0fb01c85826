"""Increases within a window: hourly series (prorated, stale, too short), snapshots, and
the zero baseline of posts younger than the window."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from automation.core.facts import HourlySeries, PostFacts, Snapshot
from automation.core.windows import (
    hourly_increase,
    increase,
    missing_total_reason,
    rate_increase,
    snapshot_increase,
    young_post_totals,
)

NOW = datetime(2026, 11, 26, 11, 30, tzinfo=UTC)
HOUR = timedelta(hours=1)
OLD = NOW - timedelta(days=2)


def at(hh: int, mm: int = 0) -> datetime:
    return datetime(2026, 11, 26, hh, mm, tzinfo=UTC)


def series(*counts: float, first: datetime | None = None, read_at: datetime = NOW) -> HourlySeries:
    first = first or at(8)
    return HourlySeries.of(((first + HOUR * i, c) for i, c in enumerate(counts)), read_at)


def owned(**kw) -> PostFacts:
    return PostFacts("1", "brand", kw.pop("created_at", OLD), **kw)


def public(**kw) -> PostFacts:
    return PostFacts("1", None, kw.pop("created_at", OLD), **kw)


# buckets 08:00=10, 09:00=20, 10:00=40, 11:00=8; now 11:30
@pytest.mark.parametrize(
    ("span", "expected"),
    [
        (timedelta(minutes=30), 8.0),  # lo 11:00: the 11:00 bucket only
        (HOUR, 8 + 40 * 0.5),  # lo 10:30: half of the 10:00 bucket
        (timedelta(minutes=75), 8 + 40 * 0.75),  # lo 10:15
        (2 * HOUR, 8 + 40 + 20 * 0.5),  # lo 09:30
        (timedelta(hours=3, minutes=30), 8 + 40 + 20 + 10),  # lo 08:00: bucket starts at lo
    ],
)
def test_hourly_sums_buckets_in_window_and_prorates_the_first(span, expected):
    facts = owned(totals={"retweets": 500}, hourly={"retweets": series(10, 20, 40, 8)})
    assert increase(facts, "retweets", span, NOW) == pytest.approx(expected)


def test_hourly_ignores_buckets_after_now():
    s = series(10, 20, 40, 8, 999)  # a 12:00 bucket, after now
    assert hourly_increase(s, NOW - HOUR, NOW) == pytest.approx(28.0)


def test_hourly_too_short_is_unknown_with_reason():
    facts = owned(totals={"retweets": 500}, hourly={"retweets": series(40, 8, first=at(10))})
    why: list[str] = []
    assert increase(facts, "retweets", 2 * HOUR, NOW, why) is None
    assert why == ["no data before 09:30 for the 2h window: the /28hr series starts at 10:00"]


def test_hourly_empty_series_is_unknown():
    why: list[str] = []
    assert hourly_increase(HourlySeries((), (), NOW), NOW - HOUR, NOW, why) is None
    assert "empty" in why[0]


@pytest.mark.parametrize(
    ("read_at", "known"),
    [(NOW - HOUR, True), (NOW - HOUR - timedelta(seconds=1), False), (NOW, True)],
)
def test_hourly_stale_after_one_hour(read_at, known):
    facts = owned(totals={"retweets": 5}, hourly={"retweets": series(1, 2, 3, 4, read_at=read_at)})
    why: list[str] = []
    value = increase(facts, "retweets", HOUR, NOW, why)
    assert (value is not None) is known
    if not known:
        assert why == ["/28hr series is stale: read at 10:29:59"]


def test_new_post_baseline_is_zero_uses_current_total():
    young = owned(
        created_at=NOW - timedelta(minutes=20),
        totals={"retweets": 70},
        hourly={"retweets": series(1, first=at(11))},
    )
    assert increase(young, "retweets", HOUR, NOW) == 70


def test_a_post_created_at_the_windows_start_counts_its_whole_total():
    """The window is (now - span, now]: a post created at its start was zero there, so its
    increase is its total, as for a post a moment younger, not unknown for want of an
    earlier reading."""
    edge = public(created_at=NOW - HOUR, totals={"likes": 5})
    assert increase(edge, "likes", HOUR, NOW) == 5
    younger = public(created_at=NOW - HOUR + timedelta(microseconds=1), totals={"likes": 5})
    assert increase(younger, "likes", HOUR, NOW) == 5


def test_new_post_without_total_falls_back_to_fresh_series():
    young = owned(created_at=at(10, 45), hourly={"url_clicks": series(3, 4, first=at(10))})
    assert increase(young, "url_clicks", HOUR, NOW) == 7.0


def test_new_post_without_any_value_is_unknown():
    why: list[str] = []
    assert increase(public(created_at=at(11)), "favorites", HOUR, NOW, why) is None
    assert why == ["no current value for favorites"]


def test_public_post_uses_snapshots_even_with_a_series():
    facts = public(
        totals={"retweets": 100},
        hourly={"retweets": series(1, 1, 1, 1)},
        snapshots=(Snapshot(at(10), {"retweets": 60}),),
    )
    assert increase(facts, "retweets", HOUR, NOW) == 40


@pytest.mark.parametrize(
    ("snapshots", "expected"),
    [
        # the latest at or before lo (10:30) is the baseline
        (((9, 0, 10), (10, 0, 30), (10, 30, 45), (11, 0, 80)), 100 - 45),
        (((9, 0, 10), (10, 0, 30), (11, 0, 80)), 100 - 30),
        (((9, 0, 10),), 90),
    ],
)
def test_snapshot_increase_from_latest_at_or_before_window_start(snapshots, expected):
    snaps = tuple(Snapshot(at(h, m), {"favorites": v}) for h, m, v in snapshots)
    facts = public(totals={"favorites": 100}, snapshots=snaps)
    assert increase(facts, "favorites", HOUR, NOW) == expected


def test_snapshot_without_the_metric_is_skipped():
    snaps = (Snapshot(at(9), {"favorites": 10}), Snapshot(at(10), {"retweets": 3}))
    facts = public(totals={"favorites": 100}, snapshots=snaps)
    assert snapshot_increase(facts, "favorites", NOW - HOUR, NOW) == 90


@pytest.mark.parametrize(
    ("snaps", "reason"),
    [
        ((), "no data before 10:30 for the 1h window: no data yet"),
        (
            (Snapshot(at(11), {"favorites": 5}),),
            "no data before 10:30 for the 1h window: watching started at 11:00",
        ),
    ],
)
def test_snapshot_window_unknown_until_watching_long_enough(snaps, reason):
    why: list[str] = []
    facts = public(totals={"favorites": 100}, snapshots=snaps)
    assert increase(facts, "favorites", HOUR, NOW, why) is None
    assert why == [reason]


def test_snapshot_window_unknown_without_current_total():
    why: list[str] = []
    facts = public(snapshots=(Snapshot(at(9), {"impressions": 5}),))
    assert increase(facts, "impressions", HOUR, NOW, why) is None
    assert why == ["impressions are known only for owned posts"]


def test_rate_increase_divides_increases():
    facts = owned(
        totals={"engagements": 0, "impressions": 0},
        hourly={"engagements": series(0, 0, 10, 6), "impressions": series(0, 0, 100, 100)},
    )
    # engagements 6 + 10/2 = 11; impressions 100 + 100/2 = 150
    assert rate_increase(facts, HOUR, NOW) == pytest.approx(11 / 150)


def test_rate_increase_unknown_when_no_new_impressions():
    facts = owned(
        hourly={"engagements": series(0, 0, 0, 0), "impressions": series(5, 0, 0, 0)},
    )
    why: list[str] = []
    assert rate_increase(facts, HOUR, NOW, why) is None
    assert why == ["no new impressions in the 1h window"]


def test_rate_increase_unknown_when_a_part_is_unknown():
    why: list[str] = []
    assert rate_increase(public(totals={"engagements": 3}), HOUR, NOW, why) is None
    assert any("impressions" in w for w in why)


def test_missing_total_reason_names_owned_only_metrics():
    assert missing_total_reason(public(), "impressions") == (
        "impressions are known only for owned posts"
    )
    assert missing_total_reason(owned(), "impressions") == "no current value for impressions"
    assert missing_total_reason(public(), "favorites", "likes") == "no current value for likes"


def test_new_post_series_read_exactly_an_hour_ago_is_still_fresh():
    clicks = series(3, first=at(10), read_at=NOW - HOUR)  # as hourly_increase reads it
    young = owned(created_at=at(10, 5), hourly={"url_clicks": clicks})
    assert increase(young, "url_clicks", 2 * HOUR, NOW) == 3.0


def test_new_post_series_counts_the_bucket_that_starts_now():
    now = at(11)
    clicks = series(3, 4, first=at(10), read_at=now)
    young = owned(created_at=at(10, 45), hourly={"url_clicks": clicks})
    assert increase(young, "url_clicks", HOUR, now) == 7.0  # as hourly_increase counts it


@pytest.mark.parametrize(
    ("age", "known"), [(timedelta(hours=27), True), (timedelta(hours=27, seconds=1), False)]
)
def test_the_series_gives_a_total_only_for_posts_at_most_27_hours_old(age, known):
    clicks = series(*([1.0] * 28), first=at(11) - timedelta(hours=27))
    totals = young_post_totals({"favorites": 5.0}, {"url_clicks": clicks}, NOW - age, NOW)
    assert totals.get("url_clicks") == (28.0 if known else None)
    assert totals["favorites"] == 5.0

from __future__ import annotations

import itertools
import json
import math
from datetime import UTC, datetime, timedelta, timezone

import pytest

from automation.core import metric_names as m
from automation.core.errors import UsageError
from automation.x.engagement_plan import (
    EARLIEST_HISTORICAL,
    HOURLY_GROUP_BY,
    MAX_HISTORICAL_WINDOW,
    EngagementRequest,
    WatchedPost,
    plan_historical,
    plan_requests,
)

ALL = frozenset(m.API_METRICS)
BIG = 1_700_000_000_000_000_000  # beyond 2**53: a JSON number would lose digits


def ids(n: int, start: int = BIG) -> list[str]:
    return [str(start + i) for i in range(n)]


def owned(n: int, account: str = "brand", start: int = BIG) -> list[WatchedPost]:
    return [WatchedPost(i, account) for i in ids(n, start)]


@pytest.mark.parametrize("n", [1, 249, 250, 251, 500, 501, 1234])
def test_owned_posts_of_one_account_cost_ceil_n_over_250_totals_requests(n: int) -> None:
    plan = plan_requests(owned(n), totals_metrics=ALL, hourly_posts=(), hourly_metrics=frozenset())
    assert len(plan) == math.ceil(n / 250)
    assert all(r.endpoint == "totals" and r.account == "brand" for r in plan)
    assert [i for r in plan for i in r.tweet_ids] == ids(n)
    assert all(len(r.tweet_ids) <= 250 for r in plan)


def test_owned_totals_ask_only_metrics_totals_accepts() -> None:
    plan = plan_requests(
        owned(3),
        totals_metrics=frozenset({"favorites", "impressions", "url_clicks"}),
        hourly_posts=(),
        hourly_metrics=frozenset(),
    )
    (req,) = plan
    assert req.engagement_types == ("impressions", "favorites")


def test_no_totals_request_when_no_totals_metric_is_needed() -> None:
    plan = plan_requests(
        [*owned(3), WatchedPost("42", None)],
        totals_metrics=frozenset({"url_clicks"}),
        hourly_posts=(),
        hourly_metrics=frozenset(),
    )
    assert plan == ()


def test_accounts_get_separate_requests_and_public_posts_use_bearer() -> None:
    posts = (
        owned(300, "brand")
        + owned(2, "support", BIG + 10_000)
        + [WatchedPost(i, None) for i in ids(260, BIG + 20_000)]
    )
    plan = plan_requests(posts, totals_metrics=ALL, hourly_posts=(), hourly_metrics=frozenset())
    assert [(r.account, len(r.tweet_ids)) for r in plan] == [
        ("brand", 250),
        ("brand", 50),
        ("support", 2),
        (None, 250),
        (None, 10),
    ]
    public = [r for r in plan if r.account is None]
    assert all(set(r.engagement_types) == m.PUBLIC_TOTALS_METRICS for r in public)


def test_public_posts_need_no_request_without_a_public_metric() -> None:
    plan = plan_requests(
        [WatchedPost("42", None)],
        totals_metrics=frozenset({"impressions", "engagements"}),
        hourly_posts={"42"},
        hourly_metrics=ALL,
    )
    assert plan == ()


def test_hourly_requests_only_for_owned_posts_listed_in_chunks_of_25() -> None:
    posts = [*owned(60), WatchedPost("7", None)]
    hourly_posts = set(ids(53)) | {"7"}
    plan = plan_requests(
        posts,
        totals_metrics=frozenset(),
        hourly_posts=hourly_posts,
        hourly_metrics=frozenset({"favorites", "quote_tweets", "url_clicks"}),
    )
    assert [len(r.tweet_ids) for r in plan] == [25, 25, 3]
    for r in plan:
        assert r.endpoint == "28hr"
        assert r.account == "brand"
        assert r.group_by == HOURLY_GROUP_BY
        assert r.engagement_types == ("favorites", "url_clicks")  # no quote_tweets on /28hr
    assert [i for r in plan for i in r.tweet_ids] == ids(53)


def test_a_post_listed_twice_is_requested_once() -> None:
    posts = owned(2) + owned(2) + [WatchedPost(ids(1)[0], None)]
    plan = plan_requests(posts, totals_metrics=ALL, hourly_posts=(), hourly_metrics=ALL)
    assert [r.tweet_ids for r in plan] == [tuple(ids(2))]


def test_body_keeps_ids_as_strings_and_matches_the_reference_shape() -> None:
    (req,) = plan_requests(
        owned(2), totals_metrics=ALL, hourly_posts=(), hourly_metrics=frozenset()
    )
    body = json.loads(json.dumps(req.body()))
    assert body["tweet_ids"] == ids(2)
    assert all(isinstance(i, str) for i in body["tweet_ids"])
    assert set(body) == {"tweet_ids", "engagement_types", "groupings"}
    assert body["engagement_types"] == [x for x in m.API_METRICS if x in m.TOTALS_METRICS]
    (grouping,) = body["groupings"].values()
    assert grouping == {"group_by": ["tweet.id", "engagement.type"]}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"tweet_ids": tuple(ids(251))}, "1..250"),
        ({"tweet_ids": (1,)}, "strings"),
        ({"tweet_ids": ()}, "1..250"),
        ({"engagement_types": ()}, "metric"),
        ({"endpoint": "28hr", "account": None, "tweet_ids": ("1",)}, "user context"),
        ({"group_by": ("engagement.hour",)}, "group_by"),
    ],
)
def test_request_refuses_what_the_api_would_reject(kwargs: dict, message: str) -> None:
    base = {
        "endpoint": "totals",
        "account": "brand",
        "tweet_ids": ("1",),
        "engagement_types": ("favorites",),
    }
    with pytest.raises(ValueError, match=message):
        EngagementRequest(**{**base, **kwargs})


NOW = datetime(2024, 6, 30, 12, 30, tzinfo=UTC)


def test_historical_aligns_to_whole_hours_and_formats_utc() -> None:
    start = datetime(2024, 6, 1, 12, 24, tzinfo=UTC)
    end = datetime(2024, 6, 2, 8, 37, tzinfo=UTC)
    (req,) = plan_historical(["5"], "brand", {"impressions"}, start, end, now=NOW)
    assert req.start == datetime(2024, 6, 1, 12, tzinfo=UTC)
    assert req.end == datetime(2024, 6, 2, 9, tzinfo=UTC)
    body = req.body()
    assert (body["start"], body["end"]) == ("2024-06-01T12:00:00Z", "2024-06-02T09:00:00Z")
    assert req.group_by == HOURLY_GROUP_BY


def test_historical_converts_other_timezones_and_rejects_naive_times() -> None:
    start = datetime(2024, 6, 1, 14, 0, tzinfo=timezone(timedelta(hours=2)))
    end = start + timedelta(hours=3)
    (req,) = plan_historical(["5"], "brand", {"impressions"}, start, end, now=NOW)
    assert req.body()["start"] == "2024-06-01T12:00:00Z"
    with pytest.raises(UsageError, match="timezone"):
        plan_historical(["5"], "brand", {"impressions"}, start.replace(tzinfo=None), end, now=NOW)


def test_long_ranges_are_stitched_from_4_week_windows_that_share_no_hour() -> None:
    start = datetime(2024, 1, 1, tzinfo=UTC)
    end = datetime(2024, 5, 1, tzinfo=UTC)
    plan = plan_historical(ids(30), "brand", {"favorites"}, start, end, now=NOW)
    windows = list(dict.fromkeys((r.start, r.end) for r in plan))
    assert len(plan) == 2 * len(windows)  # 30 ids = chunks of 25 + 5 per window
    assert windows[0][0] == start and windows[-1][1] == end
    for (_, e), (next_s, _) in itertools.pairwise(windows):
        assert e == next_s  # consecutive: the boundary hour belongs to the later window
    assert all(s < e <= s + MAX_HISTORICAL_WINDOW for s, e in windows)
    hours = [
        s + timedelta(hours=h) for s, e in windows for h in range((e - s) // timedelta(hours=1))
    ]
    assert len(hours) == len(set(hours)) == (end - start) // timedelta(hours=1)


def test_historical_is_clipped_to_2014_09_01_and_to_the_past() -> None:
    plan = plan_historical(
        ["5"],
        "brand",
        {"favorites"},
        datetime(2014, 8, 1, tzinfo=UTC),
        datetime(2014, 9, 3, 5, tzinfo=UTC),
        now=NOW,
    )
    assert plan[0].start == EARLIEST_HISTORICAL
    future = plan_historical(
        ["5"], "brand", {"favorites"}, NOW - timedelta(days=1), NOW + timedelta(days=3), now=NOW
    )
    assert future[-1].end == datetime(2024, 6, 30, 12, tzinfo=UTC)  # last complete hour


@pytest.mark.parametrize(
    ("start", "end", "metrics", "message"),
    [
        (NOW, NOW - timedelta(days=1), {"favorites"}, "empty"),
        (datetime(2010, 1, 1, tzinfo=UTC), datetime(2014, 1, 1, tzinfo=UTC), {"favorites"}, "2014"),
        (NOW + timedelta(hours=2), NOW + timedelta(days=2), {"favorites"}, "future"),
        (NOW - timedelta(days=2), NOW, {"quote_tweets"}, "quote_tweets"),
    ],
)
def test_historical_bad_ranges_and_metrics_say_why(start, end, metrics, message) -> None:
    with pytest.raises(UsageError, match=message):
        plan_historical(["5"], "brand", metrics, start, end, now=NOW)

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from automation.core import metric_names as m
from automation.x.engagement_plan import (
    HOURLY_GROUP_BY,
    EngagementRequest,
    WatchedPost,
    plan_owned_requests,
    plan_requests,
    plan_totals,
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


def test_accounts_are_asked_for_in_their_names_order_whatever_the_posts_order() -> None:
    posts = [*owned(1, "support", BIG + 10_000), *owned(1, "brand"), *owned(1, "agency", BIG + 5)]
    plan = plan_requests(
        posts, totals_metrics=ALL, hourly_posts=ids(1), hourly_metrics=frozenset({"favorites"})
    )
    assert [(r.endpoint, r.account) for r in plan] == [
        ("totals", "agency"),
        ("totals", "brand"),
        ("28hr", "brand"),
        ("totals", "support"),
    ]


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


def test_plan_totals_plans_what_plan_requests_does_from_a_column_of_owners() -> None:
    ids = [str(1000 + i) for i in range(700)]
    accounts = [("brand" if i % 3 else "support") if i % 5 else None for i in range(700)]
    metrics = frozenset(m.TOTALS_METRICS)
    posts = [WatchedPost(pid, account) for pid, account in zip(ids, accounts, strict=True)]
    expected = plan_requests(
        posts, totals_metrics=metrics, hourly_posts=(), hourly_metrics=frozenset()
    )
    assert plan_totals(ids, accounts, metrics) == expected
    assert [(r.account, len(r.tweet_ids)) for r in expected] == [
        ("brand", 250), ("brand", 123), ("support", 187), (None, 140)
    ]  # fmt: skip


def test_plan_owned_requests_plans_what_plan_requests_does_from_pairs() -> None:
    ids = [str(1000 + i) for i in range(300)]
    posts = [WatchedPost(pid, (None, "brand", "support")[i % 3]) for i, pid in enumerate(ids)]
    posts.append(posts[4])
    kwargs = {"totals_metrics": ALL, "hourly_posts": ids[::7], "hourly_metrics": ALL}
    expected = plan_requests(posts, **kwargs)
    assert plan_owned_requests([(p.post_id, p.account) for p in posts], **kwargs) == expected
    assert [(r.endpoint, r.account, len(r.tweet_ids)) for r in expected] == [
        ("totals", "brand", 100), ("28hr", "brand", 14),
        ("totals", "support", 100), ("28hr", "support", 14),
        ("totals", None, 100),
    ]  # fmt: skip


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


def test_plan_totals_refuses_a_column_of_another_length() -> None:
    with pytest.raises(ValueError, match="account for each post"):
        plan_totals(ids(3), ["brand", None], frozenset(m.TOTALS_METRICS))


# plan_totals on random lists (each post once, as an export lists them), owners over a
# few accounts (and owners of posts not listed), any metrics; the spec's rules checked
# one by one.
_LISTED = st.lists(st.integers(0, 1_200).map(lambda i: str(BIG + i)), max_size=1_500, unique=True)
_ACCOUNTS = st.sampled_from(["brand", "support", "news"])


@settings(max_examples=150, derandomize=True, deadline=None)
@given(
    _LISTED,
    st.dictionaries(st.integers(0, 1_300).map(lambda i: str(BIG + i)), _ACCOUNTS),
    st.frozensets(st.sampled_from(sorted(m.API_METRICS))),
    st.booleans(),
)
def test_plan_totals_asks_for_every_post_once_unmixed_in_fewest_requests_in_listed_order(
    listed: list[str], owner: dict[str, str], metrics: frozenset[str], texts: bool
) -> None:
    plan = plan_totals(listed, list(map(owner.get, listed)), metrics, texts=texts)
    unique = listed
    owned_metrics = {n for n in metrics if n in m.TOTALS_METRICS}
    public_metrics = {n for n in metrics if n in m.PUBLIC_TOTALS_METRICS}
    groups: dict[str | None, list[str]] = {}
    for pid in unique:
        groups.setdefault(owner.get(pid), []).append(pid)
    wanted = {
        account: posts
        for account, posts in groups.items()
        if (owned_metrics if account is not None else public_metrics)
    }
    asked: dict[str | None, list[str]] = {}
    for request in plan:  # owned accounts in name order, then the public posts
        assert request.endpoint == "totals" and request.texts is texts
        assert {owner.get(pid) for pid in request.tweet_ids} == {request.account}  # unmixed
        shown = owned_metrics if request.account is not None else public_metrics
        assert set(request.engagement_types) == shown
        asked.setdefault(request.account, []).extend(request.tweet_ids)
    assert asked == wanted  # every post once, in the order first listed
    assert len(plan) == sum(math.ceil(len(posts) / 250) for posts in wanted.values())
    order = [r.account for r in plan]
    assert order == sorted(order, key=lambda a: (a is None, a or ""))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"tweet_ids": tuple(ids(251))}, "1..250"),
        ({"tweet_ids": (1,)}, "strings"),
        ({"tweet_ids": ("12", "")}, "strings"),
        ({"tweet_ids": ("", "12")}, "strings"),
        ({"tweet_ids": ("12", "3a")}, "strings"),
        ({"tweet_ids": ("12", " 3")}, "strings"),
        ({"tweet_ids": ("12", 3)}, "strings"),
        ({"tweet_ids": ("12", "١٢")}, "ASCII digits"),  # digits, but not the API's
        ({"tweet_ids": ()}, "1..250"),
        ({"engagement_types": ()}, "metric"),
        ({"endpoint": "28hr", "account": None, "tweet_ids": ("1",)}, "user context"),
        ({"group_by": ("engagement.hour",)}, "group_by"),
        ({"start": datetime(2026, 1, 1, tzinfo=UTC), "end": None}, "start and end"),
        (  # /totals has no window: a start and end would be sent and rejected
            {"start": datetime(2026, 1, 1, tzinfo=UTC), "end": datetime(2026, 1, 2, tzinfo=UTC)},
            "only on /historical",
        ),
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


def _historical(start: datetime, end: datetime) -> EngagementRequest:
    return EngagementRequest(
        "historical", "brand", ("1",), ("favorites",), "hourly", HOURLY_GROUP_BY, start, end
    )


def test_a_historical_window_is_sent_as_whole_utc_hours() -> None:
    ist = timezone(timedelta(hours=5, minutes=30))
    # 10:45 at +05:30 is 05:15Z: the request starts at 05:00Z, not at 10:00 local (04:30Z)
    body = _historical(
        datetime(2026, 3, 1, 10, 45, tzinfo=ist), datetime(2026, 3, 8, 9, 59, 59, tzinfo=UTC)
    ).body()
    assert (body["start"], body["end"]) == ("2026-03-01T05:00:00Z", "2026-03-08T09:00:00Z")


def test_a_request_for_other_ids_is_the_same_request_otherwise() -> None:
    start, end = datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 3, 2, tzinfo=UTC)
    for req in (
        _historical(start, end),
        EngagementRequest("totals", None, ("1", "2"), ("impressions",), texts=True),
    ):
        again = req.with_ids(["7"])
        assert again.tweet_ids == ("7",)
        assert again == EngagementRequest(**{**vars(req), "tweet_ids": ("7",)})

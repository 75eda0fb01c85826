"""The export's result table, its columns, ranking and the budget-paced ETA."""

from __future__ import annotations

import pytest

from automation.core.errors import UsageError
from automation.core.metric_columns import (
    CURRENT_DEFAULT,
    PERIOD_DEFAULT,
    Column,
    api_metrics,
    choose_columns,
)
from automation.core.metric_table import MetricTable
from automation.core.request_eta import request_eta


def test_unknown_is_none_never_zero_and_engagement_rate_is_derived() -> None:
    table = MetricTable(["1", "2", "3"])
    table.put("1", {"impressions": 200.0, "engagements": 10.0, "favorites": 0.0})
    table.put("2", {"favorites": 5.0})
    table.put("9", {"favorites": 1.0})  # not listed: ignored
    assert table.value(0, "favorites") == 0.0
    assert table.value(0, "engagement_rate") == 0.05
    assert table.value(1, "impressions") is None
    assert table.value(1, "engagement_rate") is None
    assert table.value(2, "favorites") is None
    assert [table.read(r) for r in range(3)] == [True, True, False]
    assert list(table.rows_read()) == [0, 1]


def test_a_second_answer_for_a_post_adds_to_the_first() -> None:
    table = MetricTable(["1"])
    table.put("1", {"favorites": 5.0})
    table.put("1", {"retweets": 2.0})
    assert (table.value(0, "favorites"), table.value(0, "retweets")) == (5.0, 2.0)


def test_an_answer_of_many_posts_fills_their_rows_and_leaves_the_rest_unread() -> None:
    table = MetricTable(["1", "2", "3", "4"])
    table.put_all({"3": {"favorites": 3.0}, "1": {"favorites": 1.0}})
    table.put_all({"4": {"favorites": 4.0}, "1": {"retweets": 2.0}, "8": {"favorites": 8.0}})
    assert [table.value(r, "favorites") for r in range(4)] == [1.0, None, 3.0, 4.0]
    assert table.value(0, "retweets") == 2.0
    assert list(table.rows_read()) == [0, 2, 3]


def test_ranking_breaks_ties_by_post_id_as_a_number_and_leaves_out_unknowns() -> None:
    ids = ["30", "100", "20", "5", "7"]
    table = MetricTable(ids)
    for pid, likes in zip(ids, [9.0, 9.0, 12.0, 9.0, None], strict=True):
        table.put(pid, {} if likes is None else {"favorites": likes})
    assert [ids[r] for r in table.ranked("favorites", 3)] == ["20", "5", "30"]
    assert [ids[r] for r in table.ranked("favorites")] == ["20", "5", "30", "100"]


def test_columns_default_per_mode_and_keep_the_names_users_write() -> None:
    assert [c.name for c in choose_columns(None, by=None, period=False)] == list(CURRENT_DEFAULT)
    assert [c.name for c in choose_columns(None, by=None, period=True)] == list(PERIOD_DEFAULT)
    columns = choose_columns("likes, reposts,favorites", by="replies", period=False)
    assert columns == (
        Column("likes", "favorites"),
        Column("reposts", "retweets"),
        Column("replies", "replies"),
    )
    rate = choose_columns("engagement_rate", by=None, period=True)
    assert api_metrics(rate) == {"engagements", "impressions"}


@pytest.mark.parametrize(
    ("text", "period", "message"),
    [
        ("lieks", False, "did you mean 'likes'"),
        ("url_clicks", False, "no current total"),
        ("quotes", True, "no hourly history"),
        (" , ", False, "needs metric names"),
    ],
)
def test_bad_metric_choices(text: str, period: bool, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        choose_columns(text, by=None, period=period)


def test_a_count_that_is_not_a_number_is_ranked_as_unknown() -> None:
    ids = ["1", "2", "3"]
    table = MetricTable(ids)
    for pid, likes in zip(ids, [5.0, float("nan"), 7.0], strict=True):
        table.put(pid, {"favorites": likes})
    assert [ids[r] for r in table.ranked("favorites")] == ["3", "1"]
    assert [ids[r] for r in table.ranked("favorites", 2)] == ["3", "1"]


def test_eta_is_paced_by_the_budget_and_never_below_the_time_requests_take() -> None:
    assert request_eta(0, available_now=0, per_minute=60) == 0.0
    assert request_eta(50, available_now=60, per_minute=60) == 0.0
    assert request_eta(100, available_now=60, per_minute=60) == 60.0
    assert request_eta(100, available_now=0, per_minute=60) == 120.0
    assert request_eta(10, available_now=60, per_minute=60, seconds_each=0.5) == 5.0
    assert request_eta(60, available_now=-5, per_minute=60) == 60.0  # overdrawn: none left
    assert request_eta(3, available_now=0, per_minute=1) == 180.0  # one a minute


@pytest.mark.parametrize("period", [False, True])
def test_a_metric_with_no_near_name_is_answered_with_those_that_can_be_given(
    period: bool,
) -> None:
    with pytest.raises(UsageError) as caught:
        choose_columns("likes,zzzzzz", by=None, period=period)
    head, _, listed = str(caught.value).partition("; use any of: ")
    assert head == "unknown metric 'zzzzzz'"
    names = listed.split(", ")
    for name in names:  # each one listed is accepted in this mode
        assert choose_columns(name, by=None, period=period)[0].name == name
    assert {"likes", "impressions", "engagement_rate"} <= set(names)
    assert ("url_clicks" in names) is period and ("quotes" in names) is not period

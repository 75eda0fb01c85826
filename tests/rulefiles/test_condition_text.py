from __future__ import annotations

import pytest

from automation.core.rules import Leaf
from automation.rulefiles.condition_text import (
    SyntaxProblem,
    check_threshold,
    check_window,
    metric_problem,
    parse_condition,
)

GOOD = [
    ("likes >= 100", Leaf("favorites", "gte", 100.0, None, "likes")),
    ("retweets over 1h >= 50", Leaf("retweets", "gte", 50.0, 3600, "retweets")),
    ("reposts over 28h > 0", Leaf("retweets", "gt", 0.0, 28 * 3600, "reposts")),
    ("quotes==3", Leaf("quote_tweets", "eq", 3.0, None, "quotes")),
    ("  impressions   <=   1e4  ", Leaf("impressions", "lte", 10000.0, None, "impressions")),
    ("engagement_rate < .05", Leaf("engagement_rate", "lt", 0.05, None, "engagement_rate")),
    ("replies >= -1", Leaf("replies", "gte", -1.0, None, "replies")),
    ("video_views over 90m>=+2.5", Leaf("video_views", "gte", 2.5, 5400, "video_views")),
]


@pytest.mark.parametrize(("text", "leaf"), GOOD, ids=[g[0] for g in GOOD])
def test_good_conditions(text: str, leaf: Leaf) -> None:
    assert parse_condition(text) == leaf


# (text, offset of the bad token, message substring)
BAD = [
    ("", 0, "empty condition"),
    ("   ", 0, "empty condition"),
    (">= 5", 0, "a condition starts with a metric name"),
    ("likse >= 5", 0, "unknown metric 'likse' (did you mean 'likes'?)"),
    ("zzzzzz >= 5", 0, "unknown metric 'zzzzzz' (run 'automation schema' for the list)"),
    ("likes", 5, "expected a comparison (>=, >, <=, <, ==) after 'likes'"),
    ("likes 5", 6, "expected a comparison (>=, >, <=, <, ==), got '5'"),
    ("likes = 5", 6, "use '==' to compare for equality"),
    ("likes => 5", 6, "write '>=', not '=>'"),
    ("likes =< 5", 6, "write '<=', not '=<'"),
    ("likes != 5", 6, "'!=' is not supported"),
    ("likes >=", 8, "expected a number after '>='"),
    ("likes >= many", 9, "expected a number after '>=', got 'many'"),
    ("likes >= 1,000", 9, "got '1,000': write 1000, without separators"),
    ("likes > = 100", 6, "write '>=' without a space between '>' and '='"),
    ("likes < == 100", 6, "write '<=' without a space between '<' and '='"),
    ("likes >= 1k", 9, "got '1k': write 1000 (numbers take no k or m)"),
    ("likes >= 1.5M", 9, "got '1.5M': write 1500000 (numbers take no k or m)"),
    ('likes >= "100"', 9, "got '\"100\"': write 100 without quotes"),
    ("likes >= '2.5'", 9, "got ''2.5'': write 2.5 without quotes"),
    ("likes >= 1e999", 9, "the number must be finite, got 1e999"),
    ("likes >= 1e19", 9, "must fit in 64 bits"),
    ("likes >= 5 and replies > 1", 11, "'and' cannot join conditions here"),
    ("likes >= 5 5", 11, "unexpected '5' after the condition"),
    ("likes over", 10, "expected a duration after 'over'"),
    (
        "likes over 1 hour >= 5",
        11,
        "expected a duration like 30s, 15m, 1h or 7d after 'over', got '1'",
    ),
    ("likes over 29h >= 5", 11, "'over' can look back at most 28h, got 29h"),
    ("likes over 2d >= 5", 11, "'over' can look back at most 28h, got 2d"),
    ("likes over 0m >= 5", 11, "'over' must be longer than 0s"),
]


@pytest.mark.parametrize(("text", "offset", "message"), BAD, ids=[b[0] or "empty" for b in BAD])
def test_bad_conditions_point_at_the_bad_token(text: str, offset: int, message: str) -> None:
    problem = parse_condition(text)
    assert isinstance(problem, SyntaxProblem)
    assert problem.offset == offset
    assert message in problem.message


def test_shared_checks() -> None:
    assert metric_problem("likes") is None
    assert metric_problem("user_follows") is None
    assert metric_problem("retweet") == "unknown metric 'retweet' (did you mean 'retweets'?)"
    assert check_window(28 * 3600) is None
    assert check_window(28 * 3600 + 1) is not None
    assert check_threshold(2**63 - 1) is None
    assert check_threshold(-(2**63) + 1) is None
    assert "64 bits" in (check_threshold(2**63) or "")
    assert "finite" in (check_threshold(float("nan")) or "")
    assert check_threshold(True) is None  # not a number: the schema reports its type

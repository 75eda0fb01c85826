"""How people read a firing's windows: a count the /28hr series prorated to a value
between two whole numbers reads as an estimate that never contradicts the rule's answer;
whole counts, rates and the JSON stay as they were."""

from __future__ import annotations

import operator
from datetime import UTC, datetime, timedelta

import pytest

from automation.core.evaluate import compile_rule
from automation.core.facts import HourlySeries, Outcome, PostFacts
from automation.core.rules import Leaf, Once, Rule, Watch
from automation.core.window_text import (
    beside_windows,
    window_entry,
    window_value,
    windows_json,
    windows_text,
)

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
COMPARE = (operator.gt, operator.ge, operator.lt, operator.le, operator.eq)


def test_a_count_between_whole_numbers_reads_as_an_estimate_off_every_whole_number():
    assert windows_text({"likes over 1h": 10.0045}) == "likes over 1h ≈ 10.005"
    assert windows_text({"likes over 1h": 12.37}) == "likes over 1h ≈ 12.4"
    assert windows_text({"likes over 1h": 10.96}) == "likes over 1h ≈ 10.96"
    assert windows_text({"likes over 1h": 10.0000001}) == "likes over 1h ≈ 10.0000001"
    assert windows_text({"likes over 1h": -0.04}) == "likes over 1h ≈ -0.04"
    both = {"retweets over 1h": 52.0, "likes over 30m": 9.999}
    assert windows_text(both) == "retweets over 1h = 52, likes over 30m ≈ 9.999"
    assert beside_windows("likes=90", both) == (
        "likes=90; retweets over 1h = 52, likes over 30m ≈ 9.999"
    )


@pytest.mark.parametrize("whole", [0, 1, 10, 99, 1000, 123456])
@pytest.mark.parametrize("offset", [-0.96, -0.5, -0.05, -0.0045, -1e-7, 1e-7, 0.0045, 0.05, 0.96])
def test_the_shown_estimate_compares_with_every_whole_threshold_as_the_value_does(
    whole: int, offset: float
) -> None:
    value = whole + offset
    shown = float(window_value("likes over 1h", value).removeprefix("≈ "))
    for threshold in range(whole - 2, whole + 3):
        for compare in COMPARE:
            assert compare(shown, threshold) == compare(value, threshold), (value, shown)


def test_whole_counts_rates_and_the_json_read_as_before():
    assert windows_text({"retweets over 1h": 52.0}) == "retweets over 1h = 52"
    assert windows_text({"engagement_rate over 1h": 0.0523456}) == (
        "engagement_rate over 1h = 0.052346"
    )
    assert windows_json({"likes over 1h": 10.0045}) == {"windows": {"likes over 1h": 10.0045}}
    assert window_entry("likes over 1h", 52.0, "=") == "likes over 1h=52"
    assert window_value("likes over 1h", 1234.0, lambda v: f"{v:,.0f}") == "1,234"


def test_a_fired_window_rule_says_why_with_the_estimate():
    """The bucket holding the window's start counts by its part inside: 10 + 1 x 0.0045."""
    leaf = Leaf("favorites", "gt", 10, over=3600, written="likes")
    watch = Watch(accounts=("brand",), max_age=7 * 86400)
    compiled = compile_rule(Rule(id="r", watch=watch, when=leaf, fire=Once()))
    lo = NOW - HOUR
    first = lo - HOUR + timedelta(seconds=3600 * 0.0045)  # 0.45% of this hour is inside
    series = HourlySeries.of(((first, 1.0), (first + HOUR, 10.0)), NOW)
    created = NOW - timedelta(days=1)
    facts = PostFacts("1", "brand", created, {"favorites": 500}, hourly={"favorites": series})
    decision = compiled.evaluate(facts, None, NOW, seeding=False)
    assert decision is not None and decision.outcome is Outcome.FIRE
    assert decision.windows["likes over 1h"] == pytest.approx(10.0045)
    assert decision.reason == "fired: likes over 1h > 10 is true (likes over 1h ≈ 10.005)"
    assert windows_text(decision.windows) == "likes over 1h ≈ 10.005"

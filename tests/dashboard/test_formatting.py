"""How pages write ages, estimates and numbers (``dashboard.formatting``): the edges."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from automation.dashboard.formatting import ago, eta, number

NOW = datetime(2026, 3, 2, 9, 5, tzinfo=UTC)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "just now"),
        (59, "just now"),
        (60, "1 min ago"),
        (47 * 3600, "47 h ago"),
        (48 * 3600, "2 days ago"),
        (-120, "in 2 min"),
    ],
)
def test_an_age_is_just_now_below_a_minute_and_hours_below_two_days(
    seconds: int, text: str
) -> None:
    assert ago(NOW - timedelta(seconds=seconds), NOW) == text


@pytest.mark.parametrize(
    ("hours", "text"),
    [
        (None, "not rising"),
        (0.99, "within the hour"),
        (1.0, "in about 1 h"),
        (47.0, "in about 47 h"),
        (48.0, "in about 2 days"),
    ],
)
def test_an_estimate_is_within_the_hour_only_below_one_hour(hours: float | None, text: str) -> None:
    assert eta(hours) == text


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, "-"),
        (1234.0, "1,234"),
        (0.012345, "0.0123"),
        (-0.5, "-0.5"),
        (1234.56, "1,234.6"),
        (-1234.56, "-1,234.6"),
    ],
)
def test_numbers_are_grouped_and_only_those_near_zero_keep_three_digits(
    value: float | None, text: str
) -> None:
    assert number(value) == text

"""A rate-limit header's number: white space around it allowed, anything else unread."""

from __future__ import annotations

import pytest

from automation.x.rate_headers import header_number


@pytest.mark.parametrize(
    ("text", "number"),
    [("12", 12.0), (" 1700000000 \t", 1_700_000_000.0), ("-1", -1.0), ("0.5", 0.5)],
)
def test_a_number_is_read(text: str, number: float) -> None:
    assert header_number(text) == number


@pytest.mark.parametrize("text", [None, "", "soon", "inf", "-inf", "nan", "1 2"])
def test_no_number_is_none(text: str | None) -> None:
    assert header_number(text) is None

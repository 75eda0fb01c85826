"""Periods from --since / --from / --to: whole UTC hours, up to the last complete hour."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from automation.core.errors import UsageError
from automation.core.periods import Period, parse_period

NOW = datetime(2026, 11, 20, 12, 34, tzinfo=UTC)


def at(day: int, hour: int = 0, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=UTC)


def test_no_period() -> None:
    assert parse_period(since=None, start=None, end=None, now=NOW) is None


def test_since_is_whole_hours_until_the_last_complete_one() -> None:
    period = parse_period(since="2d", start=None, end=None, now=NOW)
    assert period == Period(at(18, 12), at(20, 12))
    assert period.hours == 48
    assert period.text() == "2026-11-18 12:00 .. 2026-11-20 12:00 UTC"


def test_a_to_date_includes_its_whole_day() -> None:
    period = parse_period(since=None, start="2026-07-01", end="2026-09-30", now=NOW)
    assert period == Period(at(1, month=7), at(1, month=10))


def test_times_are_widened_to_hours_and_offsets_respected() -> None:
    period = parse_period(
        since=None, start="2026-11-01T09:30+02:00", end="2026-11-02T10:15Z", now=NOW
    )
    assert period == Period(at(1, 7), at(2, 11))


def test_without_to_and_past_now_the_period_stops_at_the_last_complete_hour() -> None:
    assert parse_period(since=None, start="2026-11-20", end=None, now=NOW) == Period(
        at(20), at(20, 12)
    )
    assert parse_period(since=None, start="2026-11-19", end="2026-12-31", now=NOW) == Period(
        at(19), at(20, 12)
    )


@pytest.mark.parametrize(
    ("since", "start", "end", "message"),
    [
        ("30d", "2026-11-01", None, "either --since or --from/--to"),
        (None, None, "2026-11-01", "--to needs --from"),
        ("30 days", None, None, "expected a duration such as"),
        ("0d", None, None, "expected a duration such as"),
        ("1y", None, None, "expected a duration such as 12h, 30d or 90d: write 365d "),
        ("2 weeks", None, None, "90d: write 14d "),
        ("28", None, None, "90d: 28 what[?] write 28d for days "),
        (None, "yesterday", None, "expected a date"),
        # the form right, a field out of range: it said the form was wrong
        (None, "2026-11-31", None, "^--from '2026-11-31': no such date or time: day is out of "),
        (None, "2026-11-01", "2026-11-01T25:00", "^--to '2026-11-01T25:00': no such date or t"),
        (None, "2026-11-05", "2026-11-01", "^--to 2026-11-01 is before --from 2026-11-05: "),
        (None, "2026-11-05", "2026-11-04", "^--to 2026-11-04 is before --from 2026-11-05: "),
        (None, "2026-11-05T10:00", "2026-11-05T09:00", "^--to 2026-11-05T09:00 is before --from"),
        (None, "2026-11-20T12:10Z", None, "not yet over"),
    ],
)
def test_bad_periods_say_what_to_give(
    since: str | None, start: str | None, end: str | None, message: str
) -> None:
    with pytest.raises(UsageError, match=message):
        parse_period(since=since, start=start, end=end, now=NOW)


@pytest.mark.parametrize(
    ("since", "start", "end"),
    [
        ("99999999999999d", None, None),
        ("1000000d", None, None),
        (None, "9999-12-31", "9999-12-31"),
        (None, "0001-01-01T00:00+14:00", None),
        (None, "9999-12-31T23:59-14:00", None),
        (None, "2026-01-01", "9999-12-31T23:30"),
    ],
)
def test_a_period_beyond_the_years_a_date_holds_is_a_usage_error(
    since: str | None, start: str | None, end: str | None
) -> None:
    with pytest.raises(UsageError, match="outside the years 1 to 9999"):
        parse_period(since=since, start=start, end=end, now=NOW)

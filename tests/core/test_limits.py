"""The pure arithmetic of caps, quiet hours (with daylight saving time) and digest windows."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from automation.core.caps import room, window_start
from automation.core.digests import digest_body, digest_window
from automation.core.quiet_hours import in_quiet_hours, quiet_until
from automation.core.rules import Limit, Quiet


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def quiet(start: str, end: str, tz: str) -> Quiet:
    def minutes(text: str) -> int:
        hours, minutes = text.split(":")
        return int(hours) * 60 + int(minutes)

    return Quiet(minutes(start), minutes(end), tz, ZoneInfo(tz))


def test_a_cap_counts_the_firings_of_a_sliding_window() -> None:
    limit = Limit(max=5, per=86400)
    assert window_start(limit, utc("2026-03-02T12:00:00")) == utc("2026-03-01T12:00:00")
    assert room(limit, 0) == 5
    assert room(limit, 4) == 1
    assert room(limit, 5) == 0
    assert room(limit, 9) == 0  # never negative, even after the cap was lowered


BERLIN_NIGHT = quiet("22:00", "07:00", "Europe/Berlin")


@pytest.mark.parametrize(
    ("moment", "until"),
    [
        # winter (UTC+1): 23:30 local, quiet until 07:00 local = 06:00 UTC
        ("2026-01-10T22:30:00", "2026-01-11T06:00:00"),
        # after midnight, the same night
        ("2026-01-11T02:00:00", "2026-01-11T06:00:00"),
        # summer (UTC+2): 07:00 local is 05:00 UTC
        ("2026-07-10T21:00:00", "2026-07-11T05:00:00"),
        # the night the clocks spring forward (29 March 2026, 02:00 -> 03:00):
        # quiet from 22:00 CET, ends 07:00 CEST, which is 05:00 UTC
        ("2026-03-28T23:00:00", "2026-03-29T05:00:00"),
        # the night they fall back (25 October 2026, 03:00 -> 02:00): ends 07:00 CET
        ("2026-10-24T23:00:00", "2026-10-25T06:00:00"),
        # the first instant of quiet hours is quiet
        ("2026-01-10T21:00:00", "2026-01-11T06:00:00"),
    ],
)
def test_quiet_hours_end_at_the_local_time_whatever_daylight_saving_does(
    moment: str, until: str
) -> None:
    assert quiet_until(BERLIN_NIGHT, utc(moment)) == utc(until)


@pytest.mark.parametrize(
    "moment",
    [
        "2026-01-11T06:00:00",  # 07:00 local: quiet hours are over
        "2026-01-11T12:00:00",
        "2026-01-10T20:59:59",  # 21:59:59 local
        "2026-07-10T19:59:00",  # 21:59 local in summer
    ],
)
def test_outside_quiet_hours_nothing_waits(moment: str) -> None:
    assert not in_quiet_hours(BERLIN_NIGHT, utc(moment))
    assert quiet_until(BERLIN_NIGHT, utc(moment)) is None


def test_quiet_hours_within_one_day() -> None:
    lunch = quiet("12:00", "13:30", "America/New_York")
    assert quiet_until(lunch, utc("2026-01-12T17:10:00")) == utc("2026-01-12T18:30:00")
    # its first minute (12:00 local) is quiet, as a night's is
    assert quiet_until(lunch, utc("2026-01-12T17:00:00")) == utc("2026-01-12T18:30:00")
    assert quiet_until(lunch, utc("2026-01-12T18:30:00")) is None
    assert quiet_until(lunch, utc("2026-01-12T16:59:00")) is None


def test_an_end_the_clocks_skip_is_reached_when_they_jump_past_it() -> None:
    # Berlin, 29 March 2026: at 01:00 UTC the clocks go from 02:00 straight to 03:00,
    # so "until 02:30" ends at the jump, not half an hour early or late.
    night = quiet("23:00", "02:30", "Europe/Berlin")
    assert quiet_until(night, utc("2026-03-28T23:30:00")) == utc("2026-03-29T01:00:00")


def test_any_end_the_clocks_skip_is_reached_at_the_jump_to_the_second() -> None:
    # the jump is found to the second, wherever in the skipped hour the end falls
    night = quiet("23:00", "02:07", "Europe/Berlin")
    assert quiet_until(night, utc("2026-03-28T23:30:00")) == utc("2026-03-29T01:00:00")


def test_an_end_the_clocks_pass_twice_is_reached_the_first_time() -> None:
    # Berlin, 25 October 2026: 02:30 happens at 00:30 UTC (CEST) and again at 01:30 UTC.
    night = quiet("23:00", "02:30", "Europe/Berlin")
    assert quiet_until(night, utc("2026-10-24T22:00:00")) == utc("2026-10-25T00:30:00")


def test_digest_windows_are_aligned_to_the_clock_and_keyed_stably() -> None:
    window = digest_window("viral-hour", 1, 900, utc("2026-11-26T12:07:41"))
    assert (window.start, window.end) == (utc("2026-11-26T12:00:00"), utc("2026-11-26T12:15:00"))
    assert window.key == "digest.viral-hour.1.20261126T120000Z"
    same = digest_window("viral-hour", 1, 900, utc("2026-11-26T12:14:59"))
    assert same == window
    later = digest_window("viral-hour", 1, 900, utc("2026-11-26T12:15:00"))
    assert later.start == window.end and later.key != window.key
    day = digest_window("r", 0, 86400, utc("2026-11-26T23:59:00"))
    assert day.start == utc("2026-11-26T00:00:00")


def test_a_digest_body_lists_each_firing_body_in_order() -> None:
    part = {"rule": "r", "description": "D", "from": "A", "to": "B"}
    members = [
        {"body": '{"event":"rule.fired","id":"f1"}', "digest": part},
        {"body": '{"text":"second"}', "digest": part},
    ]
    assert digest_body("digest.r.0.X", members) == {
        "event": "rule.digest",
        "id": "digest.r.0.X",
        "rule": {"id": "r", "description": "D"},
        "window": {"from": "A", "to": "B"},
        "count": 2,
        "firings": [{"event": "rule.fired", "id": "f1"}, {"text": "second"}],
    }

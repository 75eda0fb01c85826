"""Quiet hours (``quiet: {from: "22:00", to: "07:00", tz: Europe/Berlin}``): when they end.

Local wall-clock times in the rule's time zone, so the hours follow daylight saving time:
quiet until 07:00 in Berlin ends at 06:00 UTC in winter and 05:00 UTC in summer, whatever
the night of the change. An end that the clocks skip (02:30 on the night they spring
forward) is reached when they jump past it; one they pass twice (falling back) is reached
the first time. Pure: the moment is passed in, the zone comes resolved with the rule.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from automation.core.rules import Quiet

__all__ = ["in_quiet_hours", "quiet_until"]


def in_quiet_hours(quiet: Quiet, moment: datetime) -> bool:
    local = moment.astimezone(quiet.zone)
    minute = local.hour * 60 + local.minute
    if quiet.start < quiet.end:
        return quiet.start <= minute < quiet.end
    return minute >= quiet.start or minute < quiet.end


def quiet_until(quiet: Quiet, moment: datetime) -> datetime | None:
    """When the quiet hours ``moment`` falls in end (UTC); None outside quiet hours."""
    if not in_quiet_hours(quiet, moment):
        return None
    local = moment.astimezone(quiet.zone)
    minute = local.hour * 60 + local.minute
    day = local.date()
    if quiet.start > quiet.end and minute >= quiet.start:
        day += timedelta(days=1)  # the quiet hours began this evening and end tomorrow
    return _first_reaching(quiet, day, quiet.end)


def _first_reaching(quiet: Quiet, day: date, minute: int) -> datetime:
    """The first instant at which the local clock on ``day`` reads ``minute`` or later."""
    wall = datetime.combine(day, time(minute // 60, minute % 60))
    early = wall.replace(tzinfo=quiet.zone, fold=0).astimezone(UTC)
    if early.astimezone(quiet.zone).replace(tzinfo=None) == wall:
        return early  # the wall time exists (the first of two, when the clocks fall back)
    # Skipped by the clocks: the answer is the jump, between the two readings of the wall
    # time (the offsets before and after it). Search it to the second.
    low = wall.replace(tzinfo=quiet.zone, fold=1).astimezone(UTC)
    high = early
    if low > high:
        low, high = high, low
    while high - low > timedelta(seconds=1):
        middle = low + (high - low) / 2
        if middle.astimezone(quiet.zone).replace(tzinfo=None) >= wall:
            high = middle
        else:
            low = middle
    return high.replace(microsecond=0)

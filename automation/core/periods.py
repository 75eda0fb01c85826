"""A period as people give it on the command line: ``--since 30d`` or ``--from T --to T``.

Engagement history is hourly, so a period is whole UTC hours: its start is rounded down
to the hour, its end up, and it stops at the last complete hour before now (history of
the hour still running is not final). ``--from``/``--to`` take a date (``2026-07-01``)
or a time (``2026-07-01T09:00``, UTC unless it carries an offset such as ``Z`` or
``+02:00``); a ``--to`` date includes that whole day, so ``--from 2026-07-01 --to
2026-09-30`` is the third quarter. Without ``--to`` the period runs until now.

Pure: ``now`` is passed in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from automation.core.durations import duration_hint, parse_duration
from automation.core.errors import UsageError
from automation.core.hours import HOUR, floor_hour

__all__ = ["Period", "parse_period"]


@dataclass(frozen=True)
class Period:
    """Whole hours from ``start`` (included) to ``end`` (excluded), UTC."""

    start: datetime
    end: datetime

    @property
    def hours(self) -> int:
        return int((self.end - self.start) / HOUR)

    def text(self) -> str:
        return f"{self.start:%Y-%m-%d %H:%M} .. {self.end:%Y-%m-%d %H:%M} UTC"


def parse_period(
    *, since: str | None, start: str | None, end: str | None, now: datetime
) -> Period | None:
    """The period the options name, or None when none is given."""
    if since is not None and (start is not None or end is not None):
        raise UsageError("give either --since or --from/--to, not both")
    if end is not None and start is None:
        raise UsageError("--to needs --from (or use --since D for the last D until now)")
    if since is None and start is None:
        return None
    now = now.astimezone(UTC)
    try:
        lo, hi = _bounds(since, start, end, now)
        first, last = floor_hour(lo), min(_ceil(hi), floor_hour(now))
    except OverflowError:  # beyond the years 1 to 9999 a datetime holds
        given = f"--since {since}" if since is not None else f"--from {start}"
        given += f" --to {end}" if end is not None else ""
        raise UsageError(
            f"{given}: the period reaches outside the years 1 to 9999; give one within them"
        ) from None
    if first >= floor_hour(now):
        raise UsageError(
            f"the period starts at {first:%Y-%m-%d %H:%M} UTC, which is not yet over: "
            "it must start before the current hour"
        )
    return Period(first, last)


def _bounds(
    since: str | None, start: str | None, end: str | None, now: datetime
) -> tuple[datetime, datetime]:
    """The period's first and last moment as given, before rounding to hours."""
    if since is not None:
        seconds = parse_duration(since)
        if not seconds:
            raise UsageError(
                f"--since {since!r}: expected a duration such as 12h, 30d or 90d"
                f"{duration_hint(since, likely='d')} (for a date use --from 2026-07-01)"
            )
        return now - timedelta(seconds=seconds), now
    assert start is not None
    lo = _moment(start, "--from", end_of_day=False)
    hi = _moment(end, "--to", end_of_day=True) if end is not None else now
    if end is not None and hi <= lo:  # a --from still to come: not yet over, below
        same = _moment(end, "--to", end_of_day=False) == lo
        raise UsageError(
            f"--to {end} is {'the same time as' if same else 'before'} --from {start}: "
            "--to must come after --from "
            "(a --to date includes its whole day)"
        )
    return lo, hi


def _moment(text: str, option: str, *, end_of_day: bool) -> datetime:
    raw = text.strip()
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        pass
    else:  # a date alone: from its start, or to its end (the whole day is included)
        midnight = datetime(day.year, day.month, day.day, tzinfo=UTC)
        return midnight + timedelta(days=1) if end_of_day else midnight
    try:
        parsed = datetime.fromisoformat(raw)
    except ValueError as exc:
        if not str(exc).startswith("Invalid isoformat"):  # the form right, a field out of range
            raise UsageError(f"{option} {text!r}: no such date or time: {exc}") from None
        raise UsageError(
            f"{option} {text!r}: expected a date (2026-07-01) or a UTC time (2026-07-01T09:00Z)"
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def _ceil(t: datetime) -> datetime:
    down = floor_hour(t)
    return down if down == t else down + HOUR

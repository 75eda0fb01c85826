"""What both stores' hourly history shares: ranges widened to whole hours, spans clipped
to a range, and stored rows turned into the ``HourlyHistory`` records callers get."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from automation.core.hours import Span, hour_index, hour_start, reading_hour
from automation.core.records import HourlyHistory

__all__ = ["clipped", "history_of", "hour_range", "span_times"]


def hour_range(start: datetime, end: datetime) -> Span:
    """``[start, end)`` widened to whole hours, as the Engagement API widens a window."""
    return hour_index(start), reading_hour(end) + 1


def clipped(spans: Iterable[Span], lo: int, hi: int) -> list[Span]:
    return [(max(a, lo), min(b, hi)) for a, b in spans if b > lo and a < hi]


def span_times(spans: Iterable[Span]) -> tuple[tuple[datetime, datetime], ...]:
    return tuple((hour_start(a), hour_start(b)) for a, b in spans)


def history_of(
    totals: Sequence[tuple[int, float]],
    polled: Sequence[Span],
    counts: Sequence[tuple[int, float]],
    counted: Sequence[Span],
) -> HourlyHistory | None:
    """The record for one post and metric, or None when nothing of it lies in the range."""
    if not (polled or counted):
        return None
    return HourlyHistory(
        totals=tuple((hour_start(h), v) for h, v in totals),
        polled=span_times(polled),
        counts=tuple((hour_start(h), v) for h, v in counts),
        counted=span_times(counted),
    )

"""Hours as the hourly history counts them: whole UTC hours, numbered from the epoch.

Hour ``h`` is the time from ``hour_start(h)`` to ``hour_start(h + 1)``. Two kinds of value
are kept per hour. A *count* is the increase within the hour, as ``/28hr`` and
``/historical`` report it. A *total* is the last reading taken in the hour, standing for
the value the post had when the hour ended; a reading at exactly 13:00 closes the hour
12:00-13:00 (``reading_hour``), so readings on the hour land where their counts would.

Which hours are known is kept as spans: ``(lo, hi)`` means hours ``lo`` up to but not
including ``hi``. The helpers here merge and subtract them; they are pure.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import islice

from automation.core.facts import HourlySeries

__all__ = [
    "HOUR",
    "HourCounts",
    "Span",
    "add_span",
    "complete_counts",
    "floor_hour",
    "hour_index",
    "hour_start",
    "reading_hour",
    "spans_of",
    "uncovered",
    "whole_hours",
]

HOUR = timedelta(hours=1)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

Span = tuple[int, int]


def _aware(moment: datetime) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"naive datetime {moment.isoformat()}: pass UTC")
    return moment


# Histories name the same few thousand hours over and over (a backtest converts millions
# of them): each conversion is remembered, up to a bound.
_CACHE_LIMIT = 100_000
_INDEX: dict[datetime, int] = {}
_START: dict[int, datetime] = {}


def hour_index(moment: datetime) -> int:
    """The hour that contains ``moment``."""
    found = _INDEX.get(moment)
    if found is None:
        if len(_INDEX) > _CACHE_LIMIT:
            _INDEX.clear()
        found = _INDEX[moment] = (_aware(moment) - _EPOCH) // HOUR
    return found


def hour_start(index: int) -> datetime:
    found = _START.get(index)
    if found is None:
        if len(_START) > _CACHE_LIMIT:
            _START.clear()
        found = _START[index] = _EPOCH + index * HOUR
    return found


def floor_hour(moment: datetime) -> datetime:
    """The start of the hour that contains ``moment``, in ``moment``'s own time zone."""
    return moment.replace(minute=0, second=0, microsecond=0)


def reading_hour(moment: datetime) -> int:
    """The hour a reading at ``moment`` closes: the one ending at or after it."""
    since = _aware(moment) - _EPOCH
    return -(-since // HOUR) - 1


def add_span(spans: Sequence[Span], new: Span) -> list[Span]:
    """``spans`` (sorted, disjoint, not touching) with ``new`` merged in, still so."""
    lo, hi = new
    if hi <= lo:
        return list(spans)
    out: list[Span] = []
    for a, b in spans:
        if b < lo or a > hi:
            out.append((a, b))
        else:
            lo, hi = min(lo, a), max(hi, b)
    out.append((lo, hi))
    out.sort()
    return out


def uncovered(lo: int, hi: int, spans: Iterable[Span]) -> list[Span]:
    """The hours of ``[lo, hi)`` that no span covers, as sorted spans."""
    out: list[Span] = []
    at = lo
    for a, b in sorted(spans):
        if b <= at:
            continue
        if a >= hi:
            break
        if a > at:
            out.append((at, a))
        at = max(at, b)
    if at < hi:
        out.append((at, hi))
    return out


def spans_of(hours: Iterable[int]) -> list[Span]:
    """Runs of consecutive hours, as sorted spans."""
    out: list[Span] = []
    for h in sorted(set(hours)):
        if out and out[-1][1] == h:
            out[-1] = (out[-1][0], h + 1)
        else:
            out.append((h, h + 1))
    return out


@dataclass(frozen=True, slots=True)
class HourCounts:
    """Buckets ``first`` up to ``stop`` of a series, as (hour start, count) pairs made
    while they are iterated: a poll's answers hold about 2,000,000 buckets, which the
    hourly history takes a slice of posts at a time."""

    series: HourlySeries
    first: int
    stop: int

    def __iter__(self) -> Iterator[tuple[datetime, float]]:
        pairs = zip(self.series.starts, self.series.counts, strict=True)
        return islice(pairs, self.first, self.stop)

    def __len__(self) -> int:
        return max(0, self.stop - self.first)

    def since(self, moment: datetime) -> HourCounts:
        """These buckets less those starting before ``moment``."""
        at = bisect_left(self.series.starts, moment, self.first, self.stop)
        return HourCounts(self.series, at, self.stop)


def complete_counts(series: HourlySeries) -> tuple[Span, HourCounts]:
    """The hours of a ``/28hr`` answer that are whole: those that ended by the time it was
    read and began no earlier than 28 hours before (the first bucket may hold only part of
    its hour). Returns their span and their (hour start, count) buckets."""
    last = hour_index(series.read_at)  # the hour still running when it was read
    first = reading_hour(series.read_at - 28 * HOUR) + 1
    starts = series.starts  # oldest first, each hour once
    counts = HourCounts(
        series, bisect_left(starts, hour_start(first)), bisect_left(starts, hour_start(last))
    )
    if not counts:
        return (last, last), counts
    return (hour_index(starts[counts.first]), last), counts


def whole_hours(
    hourly: Mapping[str, Mapping[str, HourlySeries]],
    stored_to: Mapping[tuple[str, str], int] | None = None,
) -> dict[Span, dict[str, dict[str, HourCounts]]]:
    """The whole hours of a poll's ``/28hr`` answers, grouped by the span they cover (one
    span for most posts of a poll), each (hour start, count). A whole hour's count is
    final, so hours before ``stored_to[post, metric]`` (already kept) are left out: per
    metric, since an answer may lack one that the next holds with the hours between."""
    out: dict[Span, dict[str, dict[str, HourCounts]]] = {}
    stored_to = stored_to or {}
    for post_id, per_metric in hourly.items():
        for metric, series in per_metric.items():
            start = stored_to.get((post_id, metric))
            if start is not None and start >= hour_index(series.read_at):
                continue  # its whole hours end by ``start``: most series, most cycles
            (lo, hi), counts = complete_counts(series)
            if start is not None and start > lo:
                lo, counts = start, counts.since(hour_start(start))
            if counts:
                out.setdefault((lo, hi), {}).setdefault(post_id, {})[metric] = counts
    return out

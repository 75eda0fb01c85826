"""What the engine would have read about a post at a moment of the past, from its hourly
history: the ``/totals`` values, the ``/28hr`` series and the stored snapshots.

History is hourly, so the replay sees the past in steps: an hour's values become known
when the hour ends (a poll at 13:05 sees the world as of 13:00), and nothing moves until
the next hour ends; the replay moves what a poll inside the hour sees forward to its time
(``shift``). For an owned post the totals are its hourly counts added up from the
hour it was written (where a count is missing, continued from a reading the engine took);
for a public post they are what the engine polled, unknown in hours nobody polled. Only
what the engine could have read is offered: ``/totals`` metrics (public ones for a public
post), and series for owned posts.

Everything a poll asks for is prepared once per post and hour, since a replay asks for
the same hour at every poll within it. Pure: built from ``HourlyHistory`` records.
"""

from __future__ import annotations

import bisect
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import MappingProxyType

from automation.core.facts import HourlySeries, Snapshot
from automation.core.hours import Span, hour_index, hour_start
from automation.core.metric_names import PUBLIC_TOTALS_METRICS, TOTALS_METRICS
from automation.core.records import HourlyHistory, WatchedPostRecord

__all__ = ["SERIES_HOURS", "PostReadings", "build_readings"]

SERIES_HOURS = 28  # a /28hr answer: the hour still running and the 27 before it
_SNAPSHOT_HOURS = 30  # windows reach back 28h; a little more for the baseline
_NO_SERIES: Mapping[str, HourlySeries] = MappingProxyType({})
_NO_SHIFT = timedelta(0)


@dataclass
class PostReadings:
    """One post's readings hour by hour, from the hour it was written (``first``) on.

    ``totals[i]`` is what /totals would have said once hour ``first + i`` ended (None:
    nothing known then); ``buckets[m][i]`` the /28hr bucket of that hour, if known.
    """

    post: WatchedPostRecord
    first: int
    totals: list[Mapping[str, float] | None] = field(default_factory=list)
    buckets: dict[str, list[tuple[datetime, float]]] = field(default_factory=dict)
    unknown: dict[str, list[int]] = field(default_factory=dict)  # hours whose count is not
    _changes: list[int] = field(default_factory=list)  # hours whose totals differ from before
    _snapshots: list[Snapshot] = field(default_factory=list)

    def totals_at(self, hour: int) -> Mapping[str, float] | None:
        i = hour - self.first
        return self.totals[i] if 0 <= i < len(self.totals) else None

    def series_at(
        self, hour: int, metrics: Collection[str], shift: timedelta = _NO_SHIFT
    ) -> Mapping[str, HourlySeries]:
        """The /28hr series read when ``hour`` ended: the 27 hours up to ``hour`` and the
        one starting, still empty; with ``shift``, as if read that much later (each bucket
        moved with it). A metric with an hour not known is left out."""
        if not self.buckets:
            return _NO_SERIES
        read_at = hour_start(hour + 1)
        lo = hour - SERIES_HOURS + 2
        before = tuple((hour_start(h), 0.0) for h in range(lo, min(self.first, hour + 1)))
        out: dict[str, HourlySeries] = {}
        for metric in metrics:
            found = self.buckets.get(metric)
            if found is None:
                continue
            part = found[max(0, lo - self.first) : hour + 1 - self.first]
            gaps = self.unknown[metric]
            if len(part) + len(before) == hour + 1 - lo and not _any_between(gaps, lo, hour):
                buckets = (*before, *part, (read_at, 0.0))
                if shift:
                    buckets = tuple((at + shift, count) for at, count in buckets)
                out[metric] = HourlySeries.of(buckets, read_at + shift)
        return MappingProxyType(out)

    def snapshots_at(self, hour: int, shift: timedelta = _NO_SHIFT) -> tuple[Snapshot, ...]:
        """Snapshots as the store would hold them when ``hour`` ended: each hour's end
        where a value changed, from the values held ``_SNAPSHOT_HOURS`` before; with
        ``shift``, each moved that much later."""
        hi = bisect.bisect_right(self._changes, hour)
        lo = max(0, bisect.bisect_right(self._changes, hour - _SNAPSHOT_HOURS) - 1)
        found = self._snapshots[lo:hi]
        if shift:
            return tuple(Snapshot(s.at + shift, s.values) for s in found)
        return tuple(found)


def build_readings(
    post: WatchedPostRecord,
    history: Mapping[str, HourlyHistory],
    last_hour: int,
    metrics: Collection[str],
) -> PostReadings:
    """The post's readings of ``metrics`` (API names) from its creation to ``last_hour``."""
    first = hour_index(post.created_at)
    size = max(0, last_hour - first + 1)
    owned = post.account is not None
    allowed = TOTALS_METRICS if owned else PUBLIC_TOTALS_METRICS
    readings = PostReadings(post, first)
    columns: dict[str, list[float | None]] = {}
    for metric, found in history.items():
        polled = _polled_values(found, first, size)
        if not owned:
            columns[metric] = polled
            continue
        counts = _counts(found, first, size)
        if any(c is not None for c in counts):
            readings.buckets[metric] = [
                (hour_start(first + i), c or 0.0) for i, c in enumerate(counts)
            ]
            readings.unknown[metric] = [first + i for i, c in enumerate(counts) if c is None]
        columns[metric] = _running(counts, polled)
    offered = [m for m in metrics if m in allowed and m in columns]
    last: Mapping[str, float] = {}
    for i in range(size):
        values = {m: v for m in offered if (v := columns[m][i]) is not None}
        if not values:
            readings.totals.append(None)
            continue
        if values != last:  # an hour nobody polled changes nothing the store would keep
            last = MappingProxyType(values)
            readings._changes.append(first + i)
            readings._snapshots.append(Snapshot(at=hour_start(first + i + 1), values=last))
        readings.totals.append(last)
    return readings


def _any_between(hours: list[int], lo: int, hi: int) -> bool:
    """Whether a sorted list holds an hour of ``[lo, hi]``."""
    i = bisect.bisect_left(hours, lo)
    return i < len(hours) and hours[i] <= hi


def _spans(spans: tuple[tuple[datetime, datetime], ...]) -> list[Span]:
    return [(hour_index(a), hour_index(b)) for a, b in spans]


def _polled_values(found: HourlyHistory, first: int, size: int) -> list[float | None]:
    """Each hour's total as polled: the last reading at or before it, in polled hours."""
    out: list[float | None] = [None] * size
    readings = [(hour_index(at), value) for at, value in found.totals]
    for lo, hi in _spans(found.polled):
        held = None
        for h, value in readings:
            if h <= lo:
                held = value
        at = {h: value for h, value in readings if lo < h < hi}
        for h in range(max(lo, first), min(hi, first + size)):
            held = at.get(h, held)
            out[h - first] = held
    return out


def _counts(found: HourlyHistory, first: int, size: int) -> list[float | None]:
    out: list[float | None] = [None] * size
    for lo, hi in _spans(found.counted):
        for h in range(max(lo, first), min(hi, first + size)):
            out[h - first] = 0.0
    for at, count in found.counts:
        i = hour_index(at) - first
        if 0 <= i < size:
            out[i] = count
    return out


def _running(counts: list[float | None], polled: list[float | None]) -> list[float | None]:
    """Totals from counts added up from the post's first hour, where the chain of counts is
    unbroken; after a gap, continued from the first polled reading."""
    out: list[float | None] = []
    running: float | None = 0.0
    for count, reading in zip(counts, polled, strict=True):
        running = running + count if running is not None and count is not None else None
        if running is None and reading is not None:
            running = reading
        out.append(running)
    return out

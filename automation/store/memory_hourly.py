"""The hourly history of ``MemoryStore``: plain dicts keyed by (post, metric), hours as
``automation.core.hours`` numbers them."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from automation.core.hours import Span, add_span, hour_index, reading_hour, spans_of, uncovered
from automation.core.records import HourlyHistory
from automation.store.hourly_rows import clipped, history_of, hour_range, span_times

__all__ = ["MemoryHourly"]

_Key = tuple[str, str]  # (post id, metric)


@dataclass
class _Hourly:
    totals: dict[_Key, dict[int, float]] = field(default_factory=dict)
    polled: dict[_Key, list[Span]] = field(default_factory=dict)
    counts: dict[_Key, dict[int, float]] = field(default_factory=dict)
    counted: dict[_Key, list[Span]] = field(default_factory=dict)


class MemoryHourly:
    """``Store``'s hourly-history methods over dicts."""

    def __init__(self) -> None:
        self._h = _Hourly()

    def record_hourly_totals(self, at: datetime, totals: Mapping[str, Mapping[str, float]]) -> int:
        hour = reading_hour(at)
        stored = 0
        for post_id, values in totals.items():
            for metric, value in values.items():
                key = (post_id, metric)
                rows = self._h.totals.setdefault(key, {})
                self._h.polled[key] = add_span(self._h.polled.get(key, []), (hour, hour + 1))
                held = max((h for h in rows if h <= hour), default=None)
                if held is not None and rows[held] == float(value):  # as every store compares
                    continue
                rows[hour] = float(value)
                stored += 1
        return stored

    def record_hourly_counts(
        self,
        start: datetime,
        end: datetime,
        counts: Mapping[str, Mapping[str, Iterable[tuple[datetime, float]]]],
    ) -> None:
        lo, hi = hour_range(start, end)
        for post_id, per_metric in counts.items():
            for metric, pairs in per_metric.items():
                key = (post_id, metric)
                rows = {h: v for h, v in self._h.counts.get(key, {}).items() if not lo <= h < hi}
                for moment, count in pairs:
                    h = hour_index(moment)
                    if lo <= h < hi and count:
                        rows[h] = float(count)
                self._h.counts[key] = rows
                self._h.counted[key] = add_span(self._h.counted.get(key, []), (lo, hi))

    def hourly(
        self,
        post_ids: Iterable[str],
        metrics: Iterable[str] | None,
        start: datetime,
        end: datetime,
    ) -> dict[str, dict[str, HourlyHistory]]:
        lo, hi = hour_range(start, end)
        wanted = None if metrics is None else set(metrics)
        posts = set(post_ids)
        keys = {
            key
            for table in (self._h.polled, self._h.counted)
            for key in table
            if key[0] in posts and (wanted is None or key[1] in wanted)
        }
        out: dict[str, dict[str, HourlyHistory]] = {}
        for key in sorted(keys):
            totals = self._h.totals.get(key, {})
            before = max((h for h in totals if h < lo), default=None)
            rows = sorted((h, v) for h, v in totals.items() if lo <= h < hi)
            if before is not None:
                rows.insert(0, (before, totals[before]))
            counts = sorted((h, v) for h, v in self._h.counts.get(key, {}).items() if lo <= h < hi)
            polled = clipped(self._h.polled.get(key, []), lo, hi)
            counted = clipped(self._h.counted.get(key, []), lo, hi)
            found = history_of(rows, polled, counts, counted)
            if found is not None:
                out.setdefault(key[0], {})[key[1]] = found
        return out

    def missing_hours(
        self, post_ids: Iterable[str], metrics: Iterable[str], start: datetime, end: datetime
    ) -> dict[str, tuple[tuple[datetime, datetime], ...]]:
        lo, hi = hour_range(start, end)
        names = list(dict.fromkeys(metrics))
        out: dict[str, tuple[tuple[datetime, datetime], ...]] = {}
        for post_id in dict.fromkeys(post_ids):
            gaps = [
                h
                for m in names
                for a, b in uncovered(lo, hi, self._h.counted.get((post_id, m), []))
                for h in range(a, b)
            ]
            if gaps:
                out[post_id] = span_times(spans_of(gaps))
        return out

    def count_sums(
        self, post_ids: Iterable[str], metrics: Iterable[str], start: datetime, end: datetime
    ) -> dict[str, dict[str, float]]:
        lo, hi = hour_range(start, end)
        names = list(dict.fromkeys(metrics))
        out: dict[str, dict[str, float]] = {}
        for post_id in dict.fromkeys(post_ids):
            for metric in names:
                key = (post_id, metric)
                if not clipped(self._h.counted.get(key, []), lo, hi):
                    continue
                rows = self._h.counts.get(key, {})
                total = sum(v for h, v in rows.items() if lo <= h < hi)
                out.setdefault(post_id, {})[metric] = float(total)
        return out

    def prune_hourly(self, before: datetime) -> int:
        cut = hour_index(before)
        deleted = 0
        for key, rows in self._h.totals.items():
            older = sorted(h for h in rows if h < cut)
            still_polled = any(b > cut for _, b in self._h.polled.get(key, []))
            for h in older[:-1] if still_polled else older:
                del rows[h]
                deleted += 1
        for rows in self._h.counts.values():
            for h in [h for h in rows if h < cut]:
                del rows[h]
                deleted += 1
        for table in (self._h.polled, self._h.counted):
            for key, spans in table.items():
                table[key] = [(max(a, cut), b) for a, b in spans if b > cut]
        return deleted

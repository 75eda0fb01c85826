"""A post's charts: each metric's total over time from the stored hourly history and the
engine's recent snapshots, the increase per hour where the API reported it (``/28hr``,
``/historical`` for owned posts), the threshold of every rule that watches the post, and a
marker at each firing.

Everything here is plain data for the page to carry as JSON; ``static/charts.js`` draws it.
Times are epoch seconds. An hour's total is the last reading taken in it, drawn at the
hour's end (or now, for the hour under way); hours nobody polled are gaps, except that an
owned post's totals before the engine first polled it are rebuilt from its hourly counts.
No hour ending before the post was written is drawn: ``/28hr`` counts the 28 hours before
a read, older than a young post, and those would draw a line before the post existed.
Where the engine still keeps its snapshots (the last two days), they replace the hourly
points with every reading it took.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from automation.core.facts import Snapshot
from automation.core.hours import HOUR, hour_index
from automation.core.metric_names import ALIASES, API_METRICS
from automation.core.records import HistoryEntry, HourlyHistory
from automation.core.rules import Rule, condition_metrics

__all__ = ["ChartDay", "MetricChart", "post_charts"]

_FRIENDLY = {api: alias for alias, api in ALIASES.items()}


@dataclass(frozen=True)
class ChartDay:
    """One UTC day of a chart in words and numbers, for whoever cannot see the chart: the
    last total read in it, what its hours added, and the firings marked in it."""

    day: str
    total: float | None
    added: float | None
    firings: tuple[str, ...]


@dataclass(frozen=True)
class MetricChart:
    metric: str
    label: str
    times: list[float]
    totals: list[float | None]
    per_hour: list[float | None] | None = None
    thresholds: list[dict[str, object]] = field(default_factory=list)
    markers: list[dict[str, object]] = field(default_factory=list)

    def as_json(self) -> dict[str, object]:
        """Whole numbers as integers: a 90-day chart is thousands of points per metric."""
        return {
            "metric": self.metric,
            "label": self.label,
            "times": [_whole(t) for t in self.times],
            "totals": [_whole(v) for v in self.totals],
            "per_hour": [_whole(v) for v in self.per_hour] if self.per_hour else None,
            "thresholds": self.thresholds,
            "markers": self.markers,
        }

    def by_day(self) -> list[ChartDay]:
        """The chart's points a day each. A point stands at the end of the hour it closes,
        so one at midnight belongs to the day before. Days are counted from the epoch (a
        90-day chart is thousands of points: a date is made once a day, not a point)."""
        days: dict[int, tuple[float | None, float | None]] = {}
        bars = self.per_hour or [None] * len(self.times)
        for at, total, added in zip(self.times, self.totals, bars, strict=True):
            day = int((at - 1) // _DAY)
            last, sum_ = days.get(day, (None, None))
            days[day] = (
                total if total is not None else last,
                sum_ if added is None else (sum_ or 0.0) + added,
            )
        marks: dict[int, list[str]] = {}
        for mark in self.markers:
            fired = mark["at"]
            assert isinstance(fired, float)  # a firing's time, as _markers writes it
            marks.setdefault(int((fired - 1) // _DAY), []).append(str(mark["label"]))
        return [
            ChartDay(
                date.fromordinal(_EPOCH_DAY + day).isoformat(),
                total,
                added,
                tuple(marks.get(day, ())),
            )
            for day, (total, added) in days.items()
        ]


_DAY = 86400.0
_EPOCH_DAY = date(1970, 1, 1).toordinal()


def _whole(value: float | None) -> float | int | None:
    return int(value) if value is not None and value.is_integer() else value


def metric_label(metric: str) -> str:
    """``favorites`` as ``likes``: the names rule authors use."""
    return _FRIENDLY.get(metric, metric).replace("_", " ")


def post_charts(
    history: Mapping[str, HourlyHistory],
    snapshots: Sequence[Snapshot],
    rules: Sequence[Rule],
    firings: Sequence[HistoryEntry],
    now: datetime,
    *,
    created: datetime,
) -> list[MetricChart]:
    """One chart per metric with stored history, the rules' metrics first. ``created``:
    when the post was written (``post_created_at``)."""
    wanted = [leaf.metric for rule in rules for leaf in condition_metrics(rule.when)]
    order = {m: i for i, m in enumerate(dict.fromkeys([*wanted, *API_METRICS]))}
    metrics = set(history) | {m for snap in snapshots for m in snap.values}
    charts = []
    for metric in sorted(metrics, key=lambda m: (order.get(m, len(order)), m)):
        times, totals, per_hour = _series(history.get(metric, HourlyHistory()), now, created)
        times, totals, per_hour = _with_snapshots(metric, snapshots, times, totals, per_hour)
        if not times or all(v is None for v in totals):
            continue
        charts.append(
            MetricChart(
                metric=metric,
                label=metric_label(metric),
                times=times,
                totals=totals,
                per_hour=per_hour,
                thresholds=_thresholds(metric, rules),
                markers=_markers(metric, firings),
            )
        )
    return charts


def _series(
    data: HourlyHistory, now: datetime, created: datetime
) -> tuple[list[float], list[float | None], list[float | None] | None]:
    polled = _hours(data.polled)
    counted = _hours(data.counted)
    born = hour_index(created)  # the first hour whose end (its point) is after it
    hours = sorted(h for h in polled | counted if h >= born)
    if not hours:
        return [], [], None
    totals = _totals(data, hours, polled)
    counts = {hour_index(at): value for at, value in data.counts}
    _rebuild_from_counts(hours, totals, counts, counted)
    per_hour = [counts.get(h, 0.0) if h in counted else None for h in hours] if counted else None
    end = now.timestamp()
    hour = HOUR.total_seconds()  # hours are numbered from the epoch (core.hours)
    times = [min((h + 1) * hour, end) for h in hours]
    return times, [totals.get(h) for h in hours], per_hour


def _with_snapshots(
    metric: str,
    snapshots: Sequence[Snapshot],
    times: list[float],
    totals: list[float | None],
    per_hour: list[float | None] | None,
) -> tuple[list[float], list[float | None], list[float | None] | None]:
    """The hourly points before the first snapshot, then one point per snapshot."""
    readings = [(s.at.timestamp(), s.values[metric]) for s in snapshots if metric in s.values]
    if not readings:
        return times, totals, per_hour
    first = readings[0][0]
    keep = [i for i, t in enumerate(times) if t < first]
    points: dict[float, tuple[float | None, float | None]] = {
        times[i]: (totals[i], per_hour[i] if per_hour else None) for i in keep
    }
    hourly = dict(zip(times, per_hour, strict=True)) if per_hour else {}
    for at, value in readings:
        points[at] = (value, hourly.get(at))
    ordered = sorted(points)
    bars = [points[t][1] for t in ordered] if per_hour else None
    return ordered, [points[t][0] for t in ordered], bars


def _hours(spans: Iterable[tuple[datetime, datetime]]) -> set[int]:
    return {h for lo, hi in spans for h in range(hour_index(lo), hour_index(hi))}


def _totals(data: HourlyHistory, hours: list[int], polled: set[int]) -> dict[int, float]:
    """Each polled hour's total: the last one stored at or before it."""
    changes = [(hour_index(at), value) for at, value in data.totals]
    out: dict[int, float] = {}
    i, current = 0, None
    for h in hours:
        while i < len(changes) and changes[i][0] <= h:
            current = changes[i][1]
            i += 1
        if h in polled and current is not None:
            out[h] = current
    return out


def _rebuild_from_counts(
    hours: list[int], totals: dict[int, float], counts: Mapping[int, float], counted: set[int]
) -> None:
    """Fill counted hours before the first polled total by taking each hour's count off the
    next hour's total (the total at an hour's end less what the next hour added). When the
    API has counted no hour from the first polled one on (the engine began polling in the
    hour under way, or in an hour since the last counts were fetched), that hour counts as
    adding nothing: the line then joins the first reading, higher by at most what the post
    gained in that hour before it, instead of missing altogether."""
    known = [h for h in hours if h in totals]
    if not known:
        return
    uncounted = not any(h >= known[0] for h in counted)
    for h in reversed([h for h in hours if h < known[0]]):
        after = totals.get(h + 1)
        if after is None or (h + 1 not in counted and not (uncounted and h + 1 == known[0])):
            break
        totals[h] = after - counts.get(h + 1, 0.0)


def _thresholds(metric: str, rules: Sequence[Rule]) -> list[dict[str, object]]:
    return [
        {"rule": rule.id, "label": f"{rule.id}: {leaf.describe()}", "value": leaf.threshold}
        for rule in rules
        for leaf in condition_metrics(rule.when)
        if leaf.metric == metric and not leaf.over
    ]


def _markers(metric: str, firings: Sequence[HistoryEntry]) -> list[dict[str, object]]:
    out: list[dict[str, object]] = []
    for entry in sorted(firings, key=lambda e: e.firing.at):
        f = entry.firing
        values = {_canonical(k): v for k, v in f.metrics.items()}
        if metric not in values and f.metrics:
            continue
        out.append(
            {
                "rule": f.rule_id,
                "kind": f.kind,
                "at": f.at.timestamp(),
                "value": values.get(metric),
                "label": f"{f.rule_id} {f.kind}",
            }
        )
    return out


def _canonical(name: str) -> str:
    return ALIASES.get(name, name)

"""Increases within a time window ("retweets over 1h"), and why one cannot be known.

A window reads from the best source the engine has for the post: the /28hr hourly series
for owned posts, otherwise the engine's own snapshots of earlier totals. Every function
takes ``now`` and a ``why`` list: the hot path passes None and gets only a value (None
when unknown); ``explain`` passes a list and gets the reason appended as a sentence.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

from automation.core.durations import format_duration
from automation.core.facts import HourlySeries, PostFacts
from automation.core.hours import HOUR
from automation.core.metric_names import USER_CONTEXT_METRICS
from automation.core.timetext import moment_text

__all__ = [
    "STALE_AFTER",
    "hourly_increase",
    "increase",
    "missing_total_reason",
    "rate_increase",
    "snapshot_increase",
    "young_post_totals",
]

# An hourly series read longer ago than this says too little about the last hour.
STALE_AFTER = timedelta(hours=1)


def missing_total_reason(facts: PostFacts, metric: str, name: str = "") -> str:
    """Why the current total of ``metric`` is not in this poll's facts."""
    name = name or metric
    if metric in USER_CONTEXT_METRICS and not facts.owned:
        return f"{name} are known only for owned posts"
    return f"no current value for {name}"


def increase(
    facts: PostFacts,
    metric: str,
    span: timedelta,
    now: datetime,
    why: list[str] | None = None,
) -> float | None:
    """How much ``metric`` grew within (now - span, now], or None when that is unknown.

    A post created inside the window, or at its start, started from zero, so its whole
    total counts.
    """
    lo = now - span
    if facts.created_at >= lo:
        return _since_creation(facts, metric, now, why)
    if facts.account is not None:
        series = facts.hourly.get(metric)
        if series is not None:
            return hourly_increase(series, lo, now, why)
    return snapshot_increase(facts, metric, lo, now, why)


def rate_increase(
    facts: PostFacts, span: timedelta, now: datetime, why: list[str] | None = None
) -> float | None:
    """engagement_rate within the window: new engagements per new impression."""
    engagements = increase(facts, "engagements", span, now, why)
    impressions = increase(facts, "impressions", span, now, why)
    if engagements is None or impressions is None:
        return None
    if impressions == 0:
        if why is not None:
            why.append(f"no new impressions in the {format_duration(span.total_seconds())} window")
        return None
    return engagements / impressions


def hourly_increase(
    series: HourlySeries, lo: datetime, now: datetime, why: list[str] | None = None
) -> float | None:
    """Sum the hourly buckets inside (lo, now]; the bucket holding ``lo`` counts by the
    fraction of it that lies inside, since the series cannot say when within the hour
    the engagements happened."""
    if series.read_at < now - STALE_AFTER:
        if why is not None:
            why.append(f"/28hr series is stale: read at {moment_text(series.read_at, now)}")
        return None
    total = 0.0
    for start, count in zip(reversed(series.starts), reversed(series.counts), strict=True):
        if start > now:
            continue
        if start > lo:
            total += count
            continue
        end = start + HOUR  # this bucket holds lo: count the part inside the window
        if end > lo:
            total += count * ((end - lo) / HOUR)
        return total
    if why is not None:
        first = series.starts[0] if series.starts else None
        detail = (
            f"the /28hr series starts at {moment_text(first, now)}"
            if first
            else "the /28hr series is empty"
        )
        why.append(f"{_no_data(lo, now)}: {detail}")
    return None


def snapshot_increase(
    facts: PostFacts, metric: str, lo: datetime, now: datetime, why: list[str] | None = None
) -> float | None:
    """Current total minus the last stored total at or before ``lo``.

    Snapshots are kept only when a value changes, so the latest one at or before ``lo``
    holds the value the post had at ``lo``.
    """
    current = facts.totals.get(metric)
    if current is None:
        if why is not None:
            why.append(missing_total_reason(facts, metric))
        return None
    for snap in reversed(facts.snapshots):
        if snap.at <= lo:
            base = snap.values.get(metric)
            if base is not None:
                return current - base
    if why is not None:
        held = [s.at for s in facts.snapshots if metric in s.values]
        started = f"watching started at {moment_text(held[0], now)}" if held else "no data yet"
        why.append(f"{_no_data(lo, now)}: {started}")
    return None


def _since_creation(
    facts: PostFacts, metric: str, now: datetime, why: list[str] | None
) -> float | None:
    """The whole total of a post younger than the window (its baseline is zero)."""
    value = facts.totals.get(metric)
    if value is not None:
        return value
    series = facts.hourly.get(metric) if facts.account is not None else None
    if series is not None and series.read_at >= now - STALE_AFTER:
        # Metrics such as url_clicks have no /totals value; the series covers the whole
        # life of a post younger than 28 hours.
        return float(
            sum(
                count
                for start, count in zip(series.starts, series.counts, strict=True)
                if start <= now
            )
        )
    if why is not None:
        why.append(missing_total_reason(facts, metric))
    return None


def _no_data(lo: datetime, now: datetime) -> str:
    window = format_duration((now - lo).total_seconds())
    return f"no data before {moment_text(lo, now)} for the {window} window"


def young_post_totals(
    totals: Mapping[str, float],
    hourly: Mapping[str, HourlySeries],
    created_at: datetime,
    now: datetime,
) -> Mapping[str, float]:
    """For posts younger than 28h the /28hr series holds their whole life, so metrics that
    /totals does not serve (url_clicks, ...) are known as the sum of their buckets."""
    if not hourly or now - created_at > timedelta(hours=27):
        return totals
    out = dict(totals)
    for metric, series in hourly.items():
        if metric not in out:
            out[metric] = float(sum(series.counts))
    return out

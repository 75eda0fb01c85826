"""Which metrics a ``metrics`` export shows, and which API metrics it must read for them.

Current totals come from ``/totals``, which knows only seven metrics; sums over a period
come from ``/historical``, which knows every metric but ``quote_tweets``. A column is
shown under the name the user wrote (``likes``) and read as the API's (``favorites``);
``engagement_rate`` is computed from ``engagements`` and ``impressions``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from automation.core.errors import UsageError
from automation.core.metric_names import (
    DERIVED,
    HOURLY_METRICS,
    TOTALS_METRICS,
    all_names,
    canonical,
    unknown_metric,
)

__all__ = ["CURRENT_DEFAULT", "PERIOD_DEFAULT", "Column", "api_metrics", "choose_columns"]

CURRENT_DEFAULT = (
    "impressions",
    "engagements",
    "engagement_rate",
    "favorites",
    "retweets",
    "quote_tweets",
    "replies",
    "video_views",
)
PERIOD_DEFAULT = (
    "impressions",
    "engagements",
    "engagement_rate",
    "favorites",
    "retweets",
    "replies",
    "video_views",
    "url_clicks",
)


@dataclass(frozen=True)
class Column:
    """``name`` as shown (what the user wrote), ``metric`` the API or derived name."""

    name: str
    metric: str


def choose_columns(text: str | None, *, by: str | None, period: bool) -> tuple[Column, ...]:
    """The columns for ``--metrics`` (comma-separated; the defaults when None), plus the
    ``--by`` metric when it is not among them. Raises UsageError naming what is wrong."""
    if text is None:
        names: Iterable[str] = PERIOD_DEFAULT if period else CURRENT_DEFAULT
    else:
        names = [n.strip() for n in text.split(",") if n.strip()]
        if not names:
            raise UsageError("--metrics needs metric names, e.g. --metrics likes,retweets")
    columns: dict[str, Column] = {}
    for name in names:
        column = _column(name, period)
        columns.setdefault(column.metric, column)
    if by is not None:
        column = _column(by, period)
        columns.setdefault(column.metric, column)
    return tuple(columns.values())


def api_metrics(columns: Iterable[Column]) -> frozenset[str]:
    """The API metrics to read for these columns (a derived metric needs its parts)."""
    out: set[str] = set()
    for column in columns:
        out.update(DERIVED.get(column.metric, (column.metric,)))
    return frozenset(out)


def _column(name: str, period: bool) -> Column:
    metric = canonical(name)
    if metric is None:
        known = (n for n in all_names() if _readable(canonical(n) or n, period))
        raise UsageError(unknown_metric(name, known))
    if _readable(metric, period):
        return Column(name, metric)
    if period:
        raise UsageError(
            f"{name} has no hourly history (/historical does not count it), so it cannot "
            "be summed over a period: leave out --since/--from for its current total"
        )
    raise UsageError(
        f"{name} has no current total (/totals gives only "
        f"{', '.join(sorted(TOTALS_METRICS))}): sum it over a period with --since or "
        "--from/--to"
    )


def _readable(metric: str, period: bool) -> bool:
    """Whether the API gives ``metric`` (or both its parts) hourly, or as a current total."""
    readable = HOURLY_METRICS if period else TOTALS_METRICS
    return all(m in readable for m in DERIVED.get(metric, (metric,)))

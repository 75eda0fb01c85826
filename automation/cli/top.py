"""``automation top``: the watched posts highest in a metric."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from automation.cli.args import positive
from automation.cli.context import command_store, required_config
from automation.cli.tables import table
from automation.core.errors import UsageError
from automation.core.facts import post_url
from automation.core.metric_names import DERIVED, all_names, canonical, unknown_metric

if TYPE_CHECKING:
    from automation.store.base import Store

__all__ = ["register", "top_values"]


def register(sub: Any) -> None:
    tp = sub.add_parser("top", help="watched posts highest in a metric")
    tp.add_argument(
        "--metric", required=True, help="the metric to rank by: likes, impressions, reposts, ..."
    )
    tp.add_argument("-n", type=positive, default=10, help="how many posts (default 10)")
    tp.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    metric = canonical(args.metric)
    if metric is None:
        raise UsageError(unknown_metric(args.metric, all_names()))
    with command_store(required_config(args), only_reads=True) as store:
        rows = top_values(store, metric, args.n)
        watched = bool(rows) or bool(store.posts())
    if not watched:  # a database metrics or backtest made, before the engine ran
        print(
            "no watched post yet: the engine records the posts its rules watch as it polls; "
            "run 'automation run --once' first ('automation metrics --ids FILE' reads any "
            "list of posts from the API now)"
        )
        return 0
    if not rows:
        print(f"no watched post has a recorded value for {args.metric}")
        return 0
    print(table(["post", args.metric, "url"], [[p, v, post_url(p)] for p, v in rows], [1]))
    return 0


def top_values(store: Store, metric: str, n: int) -> list[tuple[str, float]]:
    """The watched posts highest in ``metric``; a derived metric (engagement_rate) is not
    stored, so it is computed from the stored values it is made of."""
    if metric not in DERIVED:
        return list(store.top(metric, n))
    numerator, denominator = DERIVED[metric]
    ids = [p.post_id for p in store.posts()]
    rows = [
        (pid, values[numerator] / values[denominator])
        for pid, values in store.latest_totals(ids).items()
        if values.get(denominator) and numerator in values
    ]
    return sorted(rows, key=lambda row: (-row[1], row[0]))[:n]

"""The facts the evaluator sees for each polled post, assembled from one cycle's readings.

Pure: the engine passes what the API answered (totals, /28hr series, the posts it refused
as owned) and the snapshots the store holds; the result maps each post id to its
``PostFacts``.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime
from types import MappingProxyType

from automation.core.facts import HourlySeries, PostFacts, Snapshot, post_url
from automation.core.records import WatchedPostRecord
from automation.core.windows import young_post_totals

__all__ = ["assemble_facts"]

_NO_SERIES: Mapping[str, HourlySeries] = MappingProxyType({})


def assemble_facts(
    posts: Mapping[str, WatchedPostRecord],
    totals: Mapping[str, Mapping[str, float]],
    hourly: Mapping[str, Mapping[str, HourlySeries]],
    forbidden: Collection[str],
    snapshots: Mapping[str, tuple[Snapshot, ...]],
    now: datetime,
) -> dict[str, PostFacts]:
    """Facts for every post of ``posts`` the API reported totals for, in the order of
    ``totals``. A post listed in ``forbidden`` was fetched as public after all (its owner
    turned out not to be ours), so it is judged as public."""
    out: dict[str, PostFacts] = {}
    for pid, values in totals.items():
        rec = posts.get(pid)
        if rec is None:
            continue
        series = hourly.get(pid, _NO_SERIES)
        out[pid] = PostFacts(
            post_id=pid,
            account=None if pid in forbidden else rec.account,
            created_at=rec.created_at,
            totals=young_post_totals(values, series, rec.created_at, now),
            hourly=series,
            snapshots=tuple(snapshots.get(pid, ())),
            url=post_url(pid),
        )
    return out

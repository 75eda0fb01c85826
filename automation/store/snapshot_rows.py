"""What the SQLite and PostgreSQL stores decide alike when they record totals: which posts
changed since their latest values, and what to write for them.

Each store remembers every post's latest values (``Latest``) once it has read or written
them, so a cycle compares readings with memory instead of reading 100,000 posts' rows
back: the store is the only writer of ``snapshots`` (one engine per SQLite file; on
PostgreSQL, a store is opened per leadership term). The latest values are not stored apart:
they are each series and metric's newest snapshot row. Most posts, most cycles, read as
before and cost one comparison.
"""

from __future__ import annotations

import sys
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from automation.core.metric_values import MetricValues, read_only

__all__ = [
    "NO_COMPARISONS",
    "Compared",
    "HourRows",
    "Latest",
    "SnapshotPlan",
    "by_post",
    "changed_values",
    "moved_key",
    "plan_backdated",
    "plan_snapshots",
    "recalled_latest",
    "remember",
]

Latest = dict[str, tuple[int, Mapping[str, float]]]  # post -> (series id, latest values)
NONE: Mapping[str, float] = MappingProxyType({})
# post -> (its latest values, the reading, what changed) for the posts read with changes
# to latest values of the same names, both ``MetricValues`` (which do not change): the
# reading is remembered as the new latest values, and the hourly history takes both the
# comparison and that object for the same two objects (``plan_totals``)
Compared = Mapping[str, tuple[Mapping[str, float], Mapping[str, float], dict[str, float]]]
NO_COMPARISONS: Compared = MappingProxyType({})


HOUR = 3600.0


def moved_key(big: str) -> str:
    """The ``meta`` key holding the newest time (or hour) of the big table ``big``."""
    return f"{big}_moved"


@dataclass
class HourRows:
    """Where a reading's snapshot rows go. ``snapshots`` holds the rows up to ``moved_at``
    (its newest time), ``snapshots_hour`` those after it, from ``oldest`` to ``newest``
    (None: it is empty): a reading dated after ``moved_at`` goes to the small table, one
    dated before (the clock went back) to the big one, so no key is in both. The small
    table is moved into the big one in key order by the first reading of a later clock
    hour than its oldest row's, and before a prune: each post's leaf page of the big table
    is then written once an hour, not every cycle.

    The hourly totals are kept alike (``hourly_totals`` and ``hourly_totals_hour``, by hour
    index): ``big`` names the big table, the small one is named after it, and ``per`` is
    the length of a clock hour in the rows' time.

    ``moved_at`` is committed with each move in ``meta`` under ``moved_key(big)``, so that
    a starting process reads it there instead of scanning the big table for its newest
    row; the key is deleted where a prune may have cut that row."""

    moved_at: float
    oldest: float | None
    newest: float | None
    big: str = "snapshots"
    per: float = HOUR

    @property
    def newest_at(self) -> float:
        """The newest time a change is stored at, in either table."""
        return self.moved_at if self.newest is None else self.newest

    @property
    def small(self) -> str:
        return f"{self.big}_hour"

    @property
    def key(self) -> str:
        return moved_key(self.big)

    def table(self, when: float) -> str:
        return self.small if when > self.moved_at else self.big

    def due(self, when: float) -> bool:
        """Whether the small table is to be moved before a reading at ``when``."""
        return self.oldest is not None and when // self.per > self.oldest // self.per

    def written(self, when: float) -> None:
        if when > self.moved_at:
            self.oldest = when if self.oldest is None else min(self.oldest, when)
            self.newest = when if self.newest is None else max(self.newest, when)

    def moved(self) -> None:
        self.moved_at, self.oldest, self.newest = self.newest_at, None, None


@dataclass
class SnapshotPlan:
    """What a reading changes: posts without a series yet with their values, known posts'
    new latest values (post, series, values), per post the values that changed, and the
    comparisons made (``Compared``)."""

    fresh: list[tuple[str, Mapping[str, float]]] = field(default_factory=list)
    updates: list[tuple[str, int, Mapping[str, float]]] = field(default_factory=list)
    changes: list[tuple[str, Mapping[str, float]]] = field(default_factory=list)
    compared: dict[str, tuple[Mapping[str, float], Mapping[str, float], dict[str, float]]] = field(
        default_factory=dict
    )


def plan_snapshots(totals: Mapping[str, Mapping[str, float]], latest: Latest) -> SnapshotPlan:
    """The writes of ``totals`` given each post's ``latest`` values (a post absent from it
    has no series): a metric is written when its value differs from the latest one, and
    a metric the reading lacks keeps its latest value."""
    plan = SnapshotPlan()
    for post_id, values in totals.items():
        known = latest.get(post_id)
        if known is None:
            if values:
                # a read-only mapping (the engine's parsed answers) is remembered as it is:
                # the engine holds it through the cycle anyway, so no second copy
                fresh = values if read_only(values) else _floats(values)
                plan.fresh.append((post_id, fresh))
                plan.changes.append((post_id, fresh))
            continue
        series, before = known
        if values is before or values == before:  # the same object: the engine's, unchanged
            continue  # most posts, most cycles
        if type(values) is MetricValues and (changed := values.changed_since(before)) is not None:
            if changed:  # the same names as before: the reading is the new latest values
                plan.compared[post_id] = (before, values, changed)  # both do not change
                plan.updates.append((post_id, series, values))
                plan.changes.append((post_id, changed))
            continue  # most changed posts: compared once, for the hourly history too
        changed = changed_values(before, values)
        if changed:
            plan.updates.append((post_id, series, _merged(before, values, changed)))
            plan.changes.append((post_id, changed))
    return plan


def plan_backdated(
    totals: Mapping[str, Mapping[str, float]],
    latest: Latest,
    held: Mapping[str, Mapping[str, float]],
    later: Collection[tuple[str, str]],
) -> SnapshotPlan:
    """The writes of a reading dated before some stored changes (the clock went back):
    each value is compared with the one ``held`` at the reading's time (post -> metric ->
    value), and becomes the post's latest only for a metric without a change stored after
    it (``later`` names those with one, as (post, metric)): the latest values stay the
    latest dated reading's. Posts without a series yet are planned as ``plan_snapshots``
    plans them."""
    plan = plan_snapshots({p: v for p, v in totals.items() if p not in latest}, latest)
    for post_id, values in totals.items():
        if post_id not in latest:
            continue
        series, before = latest[post_id]
        changed = changed_values(held.get(post_id, NONE), values)
        if changed:
            newer = {m: v for m, v in changed.items() if (post_id, m) not in later}
            plan.updates.append((post_id, series, {**before, **newer}))
            plan.changes.append((post_id, changed))
    return plan


def by_post(
    rows: Iterable[tuple[int, int, float]], posts: Mapping[int, str], names: Mapping[int, str]
) -> dict[str, dict[str, float]]:
    """Rows of (post or series id, metric id, value) as post -> metric -> value."""
    out: dict[str, dict[str, float]] = {}
    for key, metric, value in rows:
        out.setdefault(posts[key], {})[names[metric]] = value
    return out


def changed_values(before: Mapping[str, float], values: Mapping[str, float]) -> dict[str, float]:
    """The ``values`` that differ from ``before``, as floats. Every store compares a count
    as the float it reads as: counts stay below 2**53, where an int and its float are one
    number, and beyond it ``2**53 + 1`` is ``2**53``, in a dict or a read-only view alike,
    remembered or read back. Only values unequal as given are converted to compare."""
    if type(values) is MetricValues and (changed := values.changed_since(before)) is not None:
        return changed  # the engine's values against its own kept ones: most posts
    if not before:  # a post's first reading
        return {m: float(v) for m, v in values.items()}
    return {
        m: float(v)
        for m, v in values.items()
        if (old := before.get(m)) != v and (old is None or float(old) != float(v))
    }


def recalled_latest(rows: Iterable[tuple[int, str, str, float]]) -> Latest:
    """Each post's newest snapshot row per metric, as (series id, post, metric, value), as
    remembered latest values: the snapshots hold every value a post's latest values hold
    (the prune keeps each series and metric's newest row), so they are not kept twice."""
    intern = sys.intern  # the one string of each post ID the process holds (store.rows)
    values: dict[str, dict[str, float]] = {}
    ids: dict[str, int] = {}
    for series, post_id, metric, value in rows:
        held = values.get(post_id)
        if held is None:
            held = values[intern(post_id)] = {}
            ids[post_id] = series
        held[metric] = value
    return {post_id: (ids[post_id], held) for post_id, held in values.items()}


def _merged(
    before: Mapping[str, float], values: Mapping[str, float], changed: Mapping[str, float]
) -> Mapping[str, float]:
    """The new latest values: ``before`` updated with what ``changed``. A read-only view
    (the engine's parsed answers) with the same metrics in the same order is that already,
    and the engine keeps it past the cycle: it is remembered as it is."""
    if (
        type(values) is MetricValues
        and type(before) is MetricValues
        and values.names is before.names  # the same names in the same order: one object
    ):
        return values
    if read_only(values) and list(values) == list(before):
        return values
    return {**before, **changed}


def _floats(values: Mapping[str, float]) -> dict[str, float]:
    return {m: float(v) for m, v in values.items()}


def remember(latest: Latest, plan: SnapshotPlan, series: Mapping[str, int]) -> None:
    """Once the plan is written: the new latest values, fresh posts under their new
    ``series`` ids."""
    for post_id, values in plan.fresh:
        latest[sys.intern(post_id)] = (series[post_id], values)
    for post_id, sid, values in plan.updates:
        latest[post_id] = (sid, values)

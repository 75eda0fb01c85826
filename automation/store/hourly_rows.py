"""What the stores' hourly history shares: ranges widened to whole hours, spans clipped
to a range, stored rows turned into the ``HourlyHistory`` records callers get, and what
the SQLite and PostgreSQL stores decide alike around their own SQL (which rows a reading
writes, how spans merge, which hours are missing)."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType

from automation.core.hours import (
    Span,
    hour_index,
    hour_start,
    reading_hour,
    spans_of,
    uncovered,
)
from automation.core.metric_values import MetricValues, read_only
from automation.core.records import HourlyHistory
from automation.store.snapshot_rows import NO_COMPARISONS, Compared, Latest, changed_values

__all__ = [
    "COUNTED",
    "POLLED",
    "Key",
    "LastRead",
    "MetricIds",
    "TotalsPlan",
    "clipped",
    "histories",
    "history_of",
    "hour_range",
    "kept_reads",
    "merged_spans",
    "missing",
    "plan_totals",
    "plan_went_back",
    "recalled",
    "span_reach",
    "span_times",
]


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


# -- what the SQLite and PostgreSQL stores decide alike, around their own SQL ------------

POLLED, COUNTED = 0, 1  # hourly_spans.kind
Key = tuple[int, int]  # (post, metric) ids
# post -> (hour, values): each metric's last value read, and the hour they were all last
# polled (None when they were not polled together)
LastRead = dict[str, tuple[int | None, Mapping[str, float]]]
NOTHING: Mapping[str, float] = MappingProxyType({})  # the last reading of a post never read


class MetricIds(dict[str, int]):
    """Every stored metric's id by name; a name not stored yet is added (by ``add``) when
    first asked for, so that a cycle need not list the metrics of 100,000 readings."""

    def __init__(self, known: Mapping[str, int], add: Callable[[str], int]) -> None:
        super().__init__(known)
        self._add = add

    def __missing__(self, name: str) -> int:
        mid = self[name] = self._add(name)
        return mid


@dataclass
class TotalsPlan:
    """What a reading changes: rows of ``hourly_totals`` (post, metric, hour, value),
    polled spans that grow by one hour (metric ids -> posts alike), and new spans."""

    rows: list[tuple[int, int, int, float]] = field(default_factory=list)
    longer: dict[tuple[int, ...], list[int]] = field(default_factory=dict)
    spans: dict[Key, Span] = field(default_factory=dict)


def plan_totals(
    hour: int,
    totals: Mapping[str, Mapping[str, float]],
    last_read: LastRead,
    ids: Mapping[str, int],
    mids: Mapping[str, int],
    latest: Latest,
    compared: Compared = NO_COMPARISONS,
) -> TotalsPlan:
    """Only what changed since each post's last values (``last_read``, updated here): a
    post read again within the hour with the same values costs nothing, and in the next
    hour only the length of its polled spans. A metric a reading lacks is neither written
    nor polled, and keeps its last value to compare with when it is read again. A reading
    equal to the post's ``latest`` values is remembered as that same object, not one more
    copy. ``compared`` holds the snapshots' comparisons of the same reading (``SnapshotPlan``):
    a post's last values are nearly always the object its latest values were, so what
    changed is taken from there, and the reading, remembered as the latest values, is kept
    as it is. No post was polled after ``hour`` (``plan_went_back`` plans a reading that
    was)."""
    plan = TotalsPlan()
    alike: dict[object, tuple[int, ...]] = {}  # metric names -> their ids, sorted
    own: Mapping[str, float] | None  # a post's values to remember, when known already
    for post_id, values in totals.items():
        polled, before = last_read[post_id]
        # changed None: the same values
        if before is values:  # most posts: the engine's unchanged object
            changed, own = None, before
        elif (hit := compared.get(post_id)) is not None and hit[0] is before and hit[1] is values:
            changed, own = hit[2], values  # the same names, remembered as the latest values
        else:
            changed = _changes(before, values)
            own = before if changed is None else None
        if changed is None and polled == hour:
            continue  # most posts, most cycles: nothing new within the hour
        pid = ids[post_id]
        if changed is not None:
            plan.rows.extend([(pid, mids[m], hour, v) for m, v in changed.items()])
        alike_names = own is not None or _same_names(before, values)
        if polled is not None and polled + 1 == hour and alike_names:
            names = _names_key(values)
            if (metrics := alike.get(names)) is None:
                metrics = alike[names] = tuple(sorted(mids[m] for m in values))
            plan.longer.setdefault(metrics, []).append(pid)
        elif polled != hour:
            plan.spans.update({(pid, mids[m]): (hour, hour + 1) for m in values})
        elif not alike_names:  # metrics not read before within the hour
            plan.spans.update({(pid, mids[m]): (hour, hour + 1) for m in values if m not in before})
        if own is not None:
            last_read[post_id] = (hour, own)
        elif alike_names or values.keys() >= before.keys():  # most: it holds every metric
            kept = latest.get(post_id)
            own = kept[1] if kept is not None and _equal(kept[1], values) else _own(values)
            last_read[post_id] = (hour, own)
        else:  # a metric the reading lacks keeps its value; was it polled this hour too?
            last_read[post_id] = (hour if polled == hour else None, {**before, **values})
    return plan


def _changes(before: Mapping[str, float], values: Mapping[str, float]) -> dict[str, float] | None:
    """What changed from ``before`` to ``values``, None when they are equal."""
    if not before:  # a first reading (every post, when seeding): equal only when empty too
        return changed_values(before, values) if values else None
    return None if before == values else changed_values(before, values)


def _same_names(before: Mapping[str, float], values: Mapping[str, float]) -> bool:
    if (
        type(values) is MetricValues
        and type(before) is MetricValues
        and values.names is before.names  # one object for the same names in the same order
    ):
        return True
    return before.keys() == values.keys()


def _equal(kept: Mapping[str, float], values: Mapping[str, float]) -> bool:
    return kept is values or kept == values  # most: the one object (``_merged``)


def _names_key(values: Mapping[str, float]) -> object:
    """What identifies ``values``' names in their order during one plan: a
    ``MetricValues``' shared positions by identity (alive as long as ``values``), else
    the names."""
    return id(values.names) if type(values) is MetricValues else tuple(values)


def plan_went_back(
    hour: int,
    totals: Mapping[str, Mapping[str, float]],
    ids: Mapping[str, int],
    mids: Mapping[str, int],
    held: Mapping[str, Mapping[str, float]],
) -> TotalsPlan:
    """What a reading in an hour before the newest one polled writes (the clock went
    back): each value compared with the one ``held`` then (post -> metric -> the last
    total stored at or before ``hour``), as every reading is; each metric it holds is
    polled that hour."""
    plan = TotalsPlan()
    for post_id, values in totals.items():
        pid = ids[post_id]
        changed = changed_values(held.get(post_id, NOTHING), values)
        plan.rows.extend([(pid, mids[m], hour, v) for m, v in changed.items()])
        plan.spans.update({(pid, mids[m]): (hour, hour + 1) for m in values})
    return plan


def _own(values: Mapping[str, float]) -> Mapping[str, float]:
    """``values`` to remember: a read-only view (the engine's parsed answers) as it is,
    anything else copied."""
    return values if read_only(values) else dict(values)


def kept_reads(last_read: LastRead, cut: int) -> LastRead:
    """What stays true of ``last_read`` once the hours before ``cut`` are pruned: the last
    readings of posts polled since (their spans and latest totals are kept)."""
    return {p: read for p, read in last_read.items() if read[0] is not None and read[0] >= cut}


def recalled(
    post_ids: Iterable[str],
    ids: Mapping[str, int],
    mids: Mapping[str, int],
    found: Sequence[tuple[int, int, int, float | None]],
) -> LastRead:
    """The last reading of posts as the database holds it, from rows of (post, metric,
    end of its last polled span, its last total): each metric's last total, and the hour
    they were all last polled (None when they were not polled together, so that their
    spans are merged one by one)."""
    # most, when seeding; under the one string of each post ID the process holds (store.rows)
    out: LastRead = dict.fromkeys(map(sys.intern, post_ids), (None, NOTHING))
    if not found:
        return out
    names = {mid: name for name, mid in mids.items()}
    posts = {ids[p]: p for p in out}
    hours: dict[str, set[int]] = {}
    values: dict[str, dict[str, float]] = {}
    for p, m, hi, value in found:
        post_id = posts[p]
        hours.setdefault(post_id, set()).add(hi - 1)
        if m in names and value is not None:
            values.setdefault(post_id, {})[names[m]] = value
    for post_id, polled in hours.items():
        out[post_id] = (polled.pop() if len(polled) == 1 else None, values.get(post_id, {}))
    return out


def merged_spans(
    existing: Mapping[Key, list[Span]], new: Mapping[Key, Span]
) -> tuple[list[tuple[int, int, int]], list[tuple[int, int, int, int]]]:
    """New spans merged into the known ones, as ``add_span`` merges them: the stored spans
    a new one absorbs, as (post, metric, lo) rows to delete, and the merged spans, as
    (post, metric, lo, hi) rows to insert in their place. Spans a new one does not meet
    stay as they are, so a write costs the same however many spans a post has; ``existing``
    need hold only the spans that may meet the new ones."""
    gone: list[tuple[int, int, int]] = []
    rows: list[tuple[int, int, int, int]] = []
    for (p, m), (lo, hi) in new.items():
        if hi <= lo:
            continue
        stored = existing.get((p, m))
        if not stored:  # nothing to meet: every span when seeding
            rows.append((p, m, lo, hi))
            continue
        met = [(a, b) for a, b in stored if not (b < lo or a > hi)]
        merged = (min([lo, *(a for a, _ in met)]), max([hi, *(b for _, b in met)]))
        if met != [merged]:  # not within a stored span already
            gone.extend((p, m, a) for a, _ in met)
            rows.append((p, m, *merged))
    return gone, rows


def span_reach(new: Iterable[Span]) -> Span:
    """(lo, hi) such that a stored span (a, b) may meet one of ``new`` only when
    ``b >= lo and a <= hi``: the spans ``merged_spans`` needs to read."""
    spans = list(new)
    return min(a for a, _ in spans), max(b for _, b in spans)


def histories(
    keys: Iterable[Key],
    spans: Mapping[tuple[int, int, int], list[Span]],
    totals: Mapping[Key, list[tuple[int, float]]],
    counts: Mapping[Key, list[tuple[int, float]]],
    posts: Mapping[int, str],
    names: Mapping[int, str],
) -> dict[str, dict[str, HourlyHistory]]:
    out: dict[str, dict[str, HourlyHistory]] = {}
    for p, m in keys:
        found = history_of(
            totals.get((p, m), []),
            spans.get((p, m, POLLED), []),
            counts.get((p, m), []),
            spans.get((p, m, COUNTED), []),
        )
        if found is not None:
            out.setdefault(posts[p], {})[names[m]] = found
    return out


def missing(
    wanted: Iterable[str],
    names: Iterable[str],
    ids: Mapping[str, int],
    mids: Mapping[str, int],
    spans: Mapping[tuple[int, int, int], list[Span]],
    lo: int,
    hi: int,
) -> dict[str, tuple[tuple[datetime, datetime], ...]]:
    """The hours of ``[lo, hi)`` some of ``names`` has no count for, per post."""
    out: dict[str, tuple[tuple[datetime, datetime], ...]] = {}
    metrics = list(names)
    for post_id in wanted:
        pid = ids.get(post_id)
        gaps: list[int] = []
        for name in metrics:
            mid = mids.get(name)
            known = spans.get((pid, mid, COUNTED), []) if pid and mid else []
            gaps.extend(h for a, b in uncovered(lo, hi, known) for h in range(a, b))
        if gaps:
            out[post_id] = span_times(spans_of(gaps))
    return out

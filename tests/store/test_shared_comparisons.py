"""The hourly history takes what changed from the snapshots' comparison of the same reading.

Cycles run as the engine runs them: each post's reading is the engine's ``MetricValues``,
the very object of the last cycle when it read the same, and a store plans its snapshots,
remembers them, then plans its hourly totals. Planned with the snapshots' comparisons or
comparing afresh, every row, span and remembered reading is the same.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from automation.core.metric_values import MetricValues
from automation.store.hourly_rows import LastRead, plan_totals, recalled
from automation.store.snapshot_rows import Latest, plan_snapshots, remember

POSTS = ("1", "2", "3", "4")
ORDERS = (("likes", "replies", "retweets"), ("likes", "replies"), ("retweets", "likes", "replies"))
IDS = {p: i for i, p in enumerate(POSTS, 1)}
MIDS = {"likes": 1, "replies": 2, "retweets": 3}

# per post: read as before (the same object), new numbers in some order of names, or a
# plain mapping (compared name by name); per cycle, the hour moves on by 0, 1 or 2
readings = st.one_of(
    st.just("same"),
    st.tuples(st.sampled_from(ORDERS), st.lists(st.integers(0, 2), min_size=3, max_size=3)),
    st.dictionaries(st.sampled_from(sorted(MIDS)), st.integers(0, 2).map(float), max_size=3),
)
cycles = st.lists(
    st.tuples(st.sampled_from([0, 0, 1, 2]), st.dictionaries(st.sampled_from(POSTS), readings)),
    max_size=10,
)


class Memory:
    """What a store remembers between cycles: latest values and last hourly readings."""

    def __init__(self) -> None:
        self.latest: Latest = {}
        self.last_read: LastRead = recalled(POSTS, IDS, MIDS, [])

    def cycle(self, hour: int, totals: dict[str, Any], *, shared: bool) -> Any:
        plan = plan_snapshots(totals, self.latest)
        remember(self.latest, plan, {p: IDS[p] for p, _ in plan.fresh})
        hourly = plan_totals(
            hour,
            totals,
            self.last_read,
            IDS,
            MIDS,
            self.latest,
            plan.compared if shared else MappingProxyType({}),
        )
        kept = {
            p: (h, dict(v), self.latest.get(p, (0, None))[1] is v)
            for p, (h, v) in self.last_read.items()
        }
        return plan.changes, hourly.rows, hourly.longer, hourly.spans, kept


def _reading(spec: Any, last: Any) -> Any:
    if spec == "same":
        return last
    if isinstance(spec, dict):
        return MappingProxyType(spec)
    names, numbers = spec
    return MetricValues(dict(zip(names, map(float, numbers), strict=False)))


@settings(max_examples=300, derandomize=True, database=None, deadline=None)
@given(cycles)
def test_the_snapshots_comparisons_plan_what_comparing_afresh_plans(
    steps: list[tuple[int, dict[str, Any]]],
) -> None:
    shared, fresh = Memory(), Memory()
    hour, last = 1000, dict.fromkeys(POSTS, MetricValues({"likes": 0.0, "replies": 0.0}))
    for moved, specs in steps:
        hour += moved
        totals = {p: _reading(spec, last[p]) for p, spec in specs.items()}
        last.update(totals)
        assert shared.cycle(hour, totals, shared=True) == fresh.cycle(hour, totals, shared=False)


def test_a_comparison_of_other_values_is_not_taken() -> None:
    before = MetricValues({"likes": 1.0, "replies": 1.0})
    values = MetricValues({"likes": 2.0, "replies": 1.0})
    other = MetricValues({"likes": 5.0, "replies": 1.0})
    last_read: LastRead = {"1": (1000, before)}
    wrong = {"1": (other, values, {"replies": 9.0}), "2": (before, other, {"likes": 9.0})}
    plan = plan_totals(1000, {"1": values}, last_read, IDS, MIDS, {}, wrong)
    assert plan.rows == [(1, MIDS["likes"], 1000, 2.0)]
    taken = plan_totals(
        1000,
        {"1": values},
        {"1": (1000, before)},
        IDS,
        MIDS,
        {},
        {"1": (before, values, {"replies": 9.0})},
    )
    assert taken.rows == [(1, MIDS["replies"], 1000, 9.0)]  # the very objects: taken as is

"""Conditions compiled into closures, with three-valued logic.

The hot path sees a condition as one function ``test(facts, totals, now)`` returning True,
False or None (unknown); each leaf closure binds its metric, threshold and comparison as
locals, and ``all``/``any`` stop at the first deciding item. ``explain`` instead evaluates
every leaf through a ``Getter`` that can say why a value is unknown, and combines the
resulting ``Truth`` values with the same rules.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from automation.core.durations import format_duration
from automation.core.facts import LeafTrace, PostFacts, Truth
from automation.core.rules import AllOf, Condition, Leaf, Not, condition_metrics
from automation.core.windows import increase, missing_total_reason, rate_increase

__all__ = [
    "COMPARE",
    "NO_FACTS",
    "TRUTH",
    "CompiledLeaf",
    "Getter",
    "Test",
    "compile_condition",
    "compile_leaf",
    "compiled_leaves",
    "describe",
    "engagement_rate",
    "format_number",
    "leaf_label",
    "leaf_traces",
    "total_value",
    "tree_truth",
    "value_getter",
]

Test = Callable[[PostFacts, Mapping[str, float], datetime], bool | None]
Getter = Callable[[PostFacts, datetime, list[str] | None], float | None]

COMPARE: dict[str, Callable[[float, float], bool]] = {
    "gte": operator.ge,
    "gt": operator.gt,
    "lte": operator.le,
    "lt": operator.lt,
    "eq": operator.eq,
}
TRUTH = {True: Truth.TRUE, False: Truth.FALSE, None: Truth.UNKNOWN}  # a test's answer as a Truth


@dataclass(frozen=True)
class CompiledLeaf:
    """A leaf with what explain needs: its getter and the label for its value."""

    leaf: Leaf
    getter: Getter
    label: str

    def trace(self, facts: PostFacts, now: datetime) -> LeafTrace:
        why: list[str] = []
        value = self.getter(facts, now, why)
        result = None if value is None else COMPARE[self.leaf.op](value, self.leaf.threshold)
        return LeafTrace(
            description=self.leaf.describe(),
            metric=self.leaf.written or self.leaf.metric,
            value=value,
            threshold=self.leaf.threshold,
            truth=TRUTH[result],
            reason="; ".join(why),
        )


def value_getter(metric: str, over: int | None = None, name: str = "") -> Getter:
    """The value a leaf compares: a current total, the rate, or an increase in a window."""
    name = name or metric
    if over:
        span = timedelta(seconds=over)
        if metric == "engagement_rate":
            return lambda facts, now, why: rate_increase(facts, span, now, why)
        return lambda facts, now, why: increase(facts, metric, span, now, why)
    if metric == "engagement_rate":
        return _rate_total

    def total(facts: PostFacts, now: datetime, why: list[str] | None) -> float | None:
        value = facts.totals.get(metric)
        if value is None and why is not None:
            why.append(missing_total_reason(facts, metric, name))
        return value

    return total


def _rate_total(facts: PostFacts, now: datetime, why: list[str] | None) -> float | None:
    totals = facts.totals
    rate = engagement_rate(totals)
    if rate is None and why is not None:
        missing = [m for m in ("engagements", "impressions") if totals.get(m) is None]
        why.extend(missing_total_reason(facts, m) for m in missing)
        if not missing:
            why.append("engagement_rate needs at least one impression")
    return rate


def engagement_rate(totals: Mapping[str, float]) -> float | None:
    """Engagements per impression; unknown without both, or without an impression."""
    engagements = totals.get("engagements")
    impressions = totals.get("impressions")
    if engagements is None or not impressions:
        return None
    return engagements / impressions


def total_value(totals: Mapping[str, float], metric: str) -> float | None:
    """A metric's current value from the totals alone (the rate too), as ``value_getter``
    without a window gives it."""
    return engagement_rate(totals) if metric == "engagement_rate" else totals.get(metric)


def compile_leaf(leaf: Leaf) -> Test:
    """A leaf's hot-path test; without a window it reads only the ``totals`` given."""
    if leaf.over:
        getter = value_getter(leaf.metric, leaf.over, leaf.written)
        compare, threshold = COMPARE[leaf.op], leaf.threshold

        def windowed(facts: PostFacts, totals: Mapping[str, float], now: datetime) -> bool | None:
            value = getter(facts, now, None)
            return None if value is None else compare(value, threshold)

        return windowed
    if leaf.metric == "engagement_rate":
        return _rate_test(COMPARE[leaf.op], leaf.threshold)
    return _total_test(leaf.metric, leaf.op, leaf.threshold)


def _rate_test(compare: Callable[[float, float], bool], threshold: float) -> Test:
    """The engagement rate's leaf, from the totals given (never the facts)."""

    def test(facts: PostFacts, totals: Mapping[str, float], now: datetime) -> bool | None:
        value = engagement_rate(totals)
        return None if value is None else compare(value, threshold)

    return test


def _total_test(metric: str, op: str, t: float) -> Test:
    """One closure per operator, so the comparison is an inline bytecode, not a call."""
    if op == "gte":

        def test(facts: PostFacts, totals: Mapping[str, float], now: datetime) -> bool | None:
            v = totals.get(metric)
            return None if v is None else v >= t
    elif op == "gt":

        def test(facts: PostFacts, totals: Mapping[str, float], now: datetime) -> bool | None:
            v = totals.get(metric)
            return None if v is None else v > t
    elif op == "lte":

        def test(facts: PostFacts, totals: Mapping[str, float], now: datetime) -> bool | None:
            v = totals.get(metric)
            return None if v is None else v <= t
    elif op == "lt":

        def test(facts: PostFacts, totals: Mapping[str, float], now: datetime) -> bool | None:
            v = totals.get(metric)
            return None if v is None else v < t
    else:

        def test(facts: PostFacts, totals: Mapping[str, float], now: datetime) -> bool | None:
            v = totals.get(metric)
            return None if v is None else v == t

    return test


# What a condition without a window is tested with beside a post's totals: its leaves read
# nothing else (``compile_leaf``), so it decides the same as on the post's own facts.
NO_FACTS = PostFacts(post_id="", account=None, created_at=datetime.min.replace(tzinfo=UTC))


def _always(facts: PostFacts, totals: Mapping[str, float], now: datetime) -> bool | None:
    return True


def compile_condition(cond: Condition | None) -> Test:
    """The hot-path test; a missing condition (``every`` rules) is always true."""
    if cond is None:
        return _always
    if isinstance(cond, Leaf):
        return compile_leaf(cond)
    if isinstance(cond, Not):
        return _not(compile_condition(cond.item))
    tests = tuple(compile_condition(item) for item in cond.items)
    if len(tests) == 1:
        return tests[0]
    # all of: a false item decides; any of: a true item decides
    return _combine(tests, decisive=not isinstance(cond, AllOf))


def _not(inner: Test) -> Test:
    def test(facts: PostFacts, totals: Mapping[str, float], now: datetime) -> bool | None:
        result = inner(facts, totals, now)
        return None if result is None else not result

    return test


def _combine(tests: tuple[Test, ...], *, decisive: bool) -> Test:
    """The decisive value of any item decides; otherwise any unknown makes the whole unknown.

    ``all`` and ``any`` differ only in that value, as in ``tree_truth``; reading it from the
    closure instead of a constant costs the hot path nothing measurable."""
    other = not decisive

    def test(facts: PostFacts, totals: Mapping[str, float], now: datetime) -> bool | None:
        unknown = False
        for item in tests:
            result = item(facts, totals, now)
            if result is decisive:
                return decisive
            if result is None:
                unknown = True
        return None if unknown else other

    return test


# --- explain --------------------------------------------------------------------------------


def leaf_traces(
    leaves: Sequence[CompiledLeaf], facts: PostFacts, now: datetime
) -> tuple[LeafTrace, ...]:
    return tuple(leaf.trace(facts, now) for leaf in leaves)


def tree_truth(cond: Condition | None, truths: Iterator[Truth]) -> Truth:
    """Combine leaf truths (in ``condition_metrics`` order) as the hot path does."""
    if cond is None:
        return Truth.TRUE
    if isinstance(cond, Leaf):
        return next(truths)
    if isinstance(cond, Not):
        inner = tree_truth(cond.item, truths)
        swap = {Truth.TRUE: Truth.FALSE, Truth.FALSE: Truth.TRUE}
        return swap.get(inner, Truth.UNKNOWN)
    items = [tree_truth(item, truths) for item in cond.items]  # consume every leaf
    decisive, other = (
        (Truth.FALSE, Truth.TRUE) if isinstance(cond, AllOf) else (Truth.TRUE, Truth.FALSE)
    )
    if decisive in items:
        return decisive
    return Truth.UNKNOWN if Truth.UNKNOWN in items else other


def describe(cond: Condition | None) -> str:
    if cond is None:
        return "no condition"
    if isinstance(cond, Leaf):
        return cond.describe()
    if isinstance(cond, Not):
        return f"not ({describe(cond.item)})"
    word = "all" if isinstance(cond, AllOf) else "any"
    return f"{word} of ({', '.join(describe(item) for item in cond.items)})"


def leaf_label(leaf: Leaf) -> str:
    name = leaf.written or leaf.metric
    return f"{name} over {format_duration(leaf.over)}" if leaf.over else name


def format_number(value: float) -> str:
    if float(value).is_integer():
        return str(int(value))
    return f"{value:.6g}"


def compiled_leaves(cond: Condition | None) -> tuple[CompiledLeaf, ...]:
    """Every leaf of ``cond`` in order, ready to be traced."""
    return tuple(
        CompiledLeaf(leaf, value_getter(leaf.metric, leaf.over, leaf.written), leaf_label(leaf))
        for leaf in condition_metrics(cond)
    )

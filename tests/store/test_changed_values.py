"""What a store writes of a reading: the values that changed since the ones it holds, the
same whether both are the engine's ``MetricValues`` (compared array to array) or plain
mappings (compared name by name), zero signs, NaN and metrics come or gone included."""

from __future__ import annotations

from types import MappingProxyType

from hypothesis import example, given, settings
from hypothesis import strategies as st

from automation.core.metric_values import MetricValues
from automation.store.snapshot_rows import changed_values

NAMES = ["impressions", "likes", "replies", "retweets", "url_clicks"]
NUMBERS = (
    st.integers(0, 10**6).map(float)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.sampled_from([0.0, -0.0, float(2**53), 2.5])
)
PAIRS = st.lists(st.tuples(NUMBERS, NUMBERS), max_size=len(NAMES))
VALUES = st.dictionaries(st.sampled_from(NAMES), NUMBERS, max_size=len(NAMES))


def _plain(before: dict[str, float], values: dict[str, float]) -> dict[str, float]:
    return changed_values(MappingProxyType(before), MappingProxyType(values))


@settings(max_examples=300, derandomize=True)
@given(PAIRS)
@example([(0.0, -0.0), (float("nan"), float("nan")), (1.0, 2.0)])
def test_the_same_names_compare_as_the_plain_mappings_do(pairs: list[tuple[float, float]]) -> None:
    before = dict(zip(NAMES, (x for x, _ in pairs), strict=False))
    values = dict(zip(NAMES, (y for _, y in pairs), strict=False))
    old, new = MetricValues(before), MetricValues(values)
    assert old.names is new.names
    changed = changed_values(old, new)
    expected = _plain(before, values)
    assert list(changed) == list(expected)  # the reading's order
    assert all(type(v) is float for v in changed.values())
    assert repr(changed) == repr(expected)  # NaN compares unequal to itself: by its text


@settings(max_examples=300, derandomize=True)
@given(VALUES, VALUES)
def test_other_names_compare_as_the_plain_mappings_do(
    before: dict[str, float], values: dict[str, float]
) -> None:
    expected = repr(_plain(before, values))
    assert repr(changed_values(MetricValues(before), MetricValues(values))) == expected
    assert repr(changed_values(before, MetricValues(values))) == expected
    assert repr(changed_values(MetricValues(before), values)) == expected


def test_changed_since_only_against_the_same_names() -> None:
    a = MetricValues({"likes": 1.0, "replies": 2.0})
    assert MetricValues({"likes": 1.0, "replies": 3.0}).changed_since(a) == {"replies": 3.0}
    assert MetricValues({"replies": 3.0, "likes": 1.0}).changed_since(a) is None
    assert MetricValues({"likes": 1.0, "replies": 3.0}).changed_since({"likes": 1.0}) is None

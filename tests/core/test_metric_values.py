"""``MetricValues`` answers every question the engine asks of a post's values exactly as
the parsed answer's dict it replaces does."""

from __future__ import annotations

import sys
from array import array
from collections.abc import Mapping
from types import MappingProxyType

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from automation.core.metric_values import MetricValues, PackedTotals, compact_totals, read_only

NAMES = ["impressions", "engagements", "favorites", "retweets", "replies", "quote_tweets"]
COUNTS = st.floats(min_value=0.0, max_value=1e12, allow_nan=False) | st.integers(0, 10**6).map(
    float
)
VALUES = st.dictionaries(st.sampled_from(NAMES), COUNTS, max_size=len(NAMES))


@settings(derandomize=True, deadline=None)
@given(VALUES)
def test_reads_like_the_dict_it_was_built_from(values: dict[str, float]) -> None:
    compact = MetricValues(values)
    assert list(compact) == list(values)
    assert len(compact) == len(values)
    assert compact.keys() == values.keys()
    assert list(compact.items()) == list(values.items())
    assert list(compact.values()) == list(values.values())
    assert dict(compact) == values and {**compact} == values
    for name in [*NAMES, "video_views"]:
        assert (name in compact) is (name in values)
        assert compact.get(name) == values.get(name)
        assert compact.get(name, -1.0) == values.get(name, -1.0)
        if name in values:
            assert compact[name] == values[name]
            assert type(compact[name]) is float


@settings(derandomize=True, deadline=None)
@given(VALUES, VALUES)
def test_values_share_their_names_exactly_when_they_have_the_same_in_the_same_order(
    a: dict[str, float], b: dict[str, float]
) -> None:
    ca, cb = MetricValues(a), MetricValues(b)
    assert list(ca.names) == list(a) and all(ca[n] == a[n] for n in ca.names)
    assert (ca.names is cb.names) is (list(a) == list(b))


@settings(derandomize=True, deadline=None)
@given(VALUES, VALUES)
def test_equal_exactly_when_the_dicts_are(a: dict[str, float], b: dict[str, float]) -> None:
    same = a == b
    ca, cb = MetricValues(a), MetricValues(b)
    assert (ca == cb) is same and (ca != cb) is not same
    assert (ca == b) is same and (b == ca) is same
    assert (MappingProxyType(a) == cb) is same and (cb == MappingProxyType(a)) is same
    assert (ca == MetricValues(dict(reversed(a.items())))) is True  # order does not matter


def test_zero_signs_and_other_objects() -> None:
    assert MetricValues({"likes": 0.0}) == MetricValues({"likes": -0.0})
    assert MetricValues({}) == {} and MetricValues({"likes": 1.0}) != {}
    assert MetricValues({"likes": 1.0}) != [("likes", 1.0)]
    assert repr(MetricValues({"likes": 1.0})) == "MetricValues({'likes': 1.0})"


def test_compact_totals_keeps_every_post_in_order_and_is_read_only() -> None:
    totals = {"2": {"likes": 3.0}, "1": {"likes": 1.0, "replies": 2.0}, "3": {}}
    compact = compact_totals(totals)
    assert list(compact) == ["2", "1", "3"] and dict(compact) == totals
    assert all(read_only(v) for v in compact.values())
    assert read_only(MappingProxyType({})) and not read_only({"likes": 1.0})


SIGNED = COUNTS | st.sampled_from([0.0, -0.0])


@settings(derandomize=True, deadline=None)
@given(st.lists(st.tuples(SIGNED, SIGNED), min_size=1, max_size=len(NAMES)))
def test_same_metrics_in_the_same_order_equal_exactly_when_every_value_is(
    pairs: list[tuple[float, float]],
) -> None:
    # one shared index, so the numbers are compared: their bytes, then the floats
    a = dict(zip(NAMES, (x for x, _ in pairs), strict=False))
    b = dict(zip(NAMES, (y for _, y in pairs), strict=False))
    same = all(x == y for x, y in pairs)
    assert (MetricValues(a) == MetricValues(b)) is same is (a == b)
    assert (MetricValues(a) != MetricValues(b)) is not same


POSTS = st.dictionaries(st.sampled_from(["1", "2", "3", "4"]), VALUES, max_size=4)


@settings(derandomize=True, deadline=None)
@given(POSTS, POSTS, st.booleans())
def test_compact_totals_with_the_last_values_reads_the_same_and_keeps_the_unchanged(
    totals: dict[str, dict[str, float]], last: dict[str, dict[str, float]], compact_last: bool
) -> None:
    # the last values as the engine holds them (MetricValues), or as a store read them back
    before: dict[str, Mapping[str, float]] = (
        {pid: MetricValues(values) for pid, values in last.items()} if compact_last else {**last}
    )
    kept = compact_totals(totals, before.get)
    assert list(kept.items()) == list(compact_totals(totals).items())
    for pid, values in kept.items():
        assert type(values) is MetricValues and list(values.items()) == list(totals[pid].items())
        old = before.get(pid)
        same = (
            type(old) is MetricValues
            and list(old) == list(values)
            and all(str(a) == str(b) for a, b in zip(old.values(), values.values(), strict=True))
        )
        assert (values is old) is same


def test_compact_totals_keeps_a_post_s_last_object_only_when_its_values_are_the_same() -> None:
    last = {
        "1": MetricValues({"likes": 1.0, "replies": 2.0}),
        "2": MetricValues({"likes": 1.0, "replies": 2.0}),
        "3": MetricValues({"likes": 0.0}),
        "4": {"likes": 5.0},  # read back from a store: not kept
    }
    totals = {
        "1": {"likes": 1.0, "replies": 2.0},
        "2": {"replies": 2.0, "likes": 1.0},  # other order
        "3": {"likes": -0.0},  # equal, not the same bytes
        "4": {"likes": 5.0},
        "5": {"likes": 1.0},
    }
    kept = compact_totals(totals, last.get)
    assert [kept[p] is last.get(p) for p in totals] == [True, False, False, False, False]
    assert kept == totals


_LAYOUTS = st.sampled_from([tuple(NAMES[:3]), (NAMES[2], NAMES[0], NAMES[1]), (NAMES[4],)])


@settings(derandomize=True, deadline=None)
@given(
    _LAYOUTS,
    st.lists(st.lists(SIGNED, min_size=3, max_size=3), max_size=4),
    st.lists(st.sampled_from(["kept", "moved", "dict", "other names", "none"]), min_size=4),
)
def test_packed_totals_read_and_compact_as_the_same_totals_as_dicts(
    names: tuple[str, ...], rows: list[list[float]], lasts: list[str]
) -> None:
    posts = [f"p{i}" for i in range(len(rows))]
    dicts = {p: dict(zip(names, row, strict=False)) for p, row in zip(posts, rows, strict=True)}
    raw = b"".join(array("d", values.values()).tobytes() for values in dicts.values())
    packed = PackedTotals(posts, names, raw)
    assert list(packed) == posts and len(packed) == len(posts)
    assert [list(packed[p].items()) for p in posts] == [list(v.items()) for v in dicts.values()]
    assert all(type(packed[p]) is MappingProxyType for p in posts)
    last: dict[str, Mapping[str, float] | None] = {}
    for p, how in zip(posts, lasts, strict=False):
        values = dicts[p]
        last[p] = {
            "kept": MetricValues(values),
            "moved": MetricValues({m: v + 1 for m, v in values.items()}),
            "dict": dict(values),
            "other names": MetricValues(dict(reversed(values.items()))),
            "none": None,
        }[how]
    one, other = compact_totals(packed, last.get), compact_totals(dicts, last.get)
    assert list(one) == list(other) == posts
    for p in posts:
        assert type(one[p]) is MetricValues and one[p].names is other[p].names
        assert one[p].numbers.tobytes() == other[p].numbers.tobytes()
        assert (one[p] is last[p]) is (other[p] is last[p])


def test_packed_totals_refuse_numbers_that_do_not_fit_their_posts() -> None:
    with pytest.raises(ValueError, match="2 posts of 1 numbers in 8 bytes"):
        PackedTotals(["1", "2"], ("likes",), array("d", [1.0]).tobytes())
    with pytest.raises(KeyError):
        PackedTotals(["1"], ("likes",), array("d", [1.0]).tobytes())["2"]


def test_kept_arrays_hold_no_room_beyond_their_numbers() -> None:
    """The engine keeps a post's values for each of 100,000 posts: an array made from
    bytes or an iterator reserves room for three numbers more (24 bytes a post)."""
    rows = [[1.0, 2.0, 3.0, 4.0], [5.0, 6.0, 7.0, 8.0], [9.0, 0.0, 1.0, 2.0]]
    names = ("impressions", "likes", "replies", "retweets")
    posts = [f"p{i}" for i in range(len(rows))]
    dicts = {p: dict(zip(names, row, strict=True)) for p, row in zip(posts, rows, strict=True)}
    packed = PackedTotals(posts, names, array("d", [n for row in rows for n in row]).tobytes())
    made = [
        MetricValues(dicts["p0"]),
        *compact_totals(packed).values(),
        *compact_totals(dicts).values(),
    ]
    for values in made:
        assert type(values) is MetricValues
        exact = array("d", list(values.numbers))
        assert sys.getsizeof(values.numbers) == sys.getsizeof(exact)
        assert sys.getsizeof(values.numbers) < sys.getsizeof(array("d", exact.tobytes()))

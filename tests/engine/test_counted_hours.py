"""The recorder's stored /28hr hours, by (post, metric): the same answers as a plain dict
of (post, metric) keys, held without a tuple per entry."""

from __future__ import annotations

import tracemalloc

from hypothesis import given, settings
from hypothesis import strategies as st

from automation.engine.counted_hours import CountedHours

posts = st.sampled_from([str(10**18 + n) for n in range(8)])
metrics = st.sampled_from(["impressions", "url_clicks", "likes"])
keys = st.tuples(posts, metrics)
steps = st.lists(
    st.one_of(
        st.tuples(st.just("update"), st.lists(st.tuples(keys, st.integers(0, 40)), max_size=6)),
        st.tuples(st.just("forget"), st.integers(0, 40)),
    ),
    max_size=25,
)


@settings(derandomize=True, deadline=None)
@given(steps, keys)
def test_it_answers_as_a_dict_of_post_and_metric_keys(
    script: list[tuple[str, object]], probe: tuple[str, str]
) -> None:
    counted, model = CountedHours(), dict[tuple[str, str], int]()
    for op, arg in script:
        if op == "update":
            assert isinstance(arg, list)
            counted.update(iter(arg))
            model.update(arg)
        else:
            assert isinstance(arg, int)
            counted.forget_to(arg)
            model = {key: hour for key, hour in model.items() if hour > arg}
        assert dict(counted) == model
        assert len(counted) == len(model)
        assert (probe in counted) == (probe in model)
        assert counted.get(probe) == model.get(probe)
        assert counted.get(probe, -1) == model.get(probe, -1)
    assert ("not", "a key", "at all") not in counted


def test_an_entry_costs_its_posts_map_entry_not_a_tuple() -> None:
    """Tens of thousands of (post, metric) entries in the day benchmark: 85 bytes each as a
    dict of tuples, 21 in a map of posts per metric (the post IDs and the hour are shared)."""
    n = 20_000
    ids = [str(10**18 + 7919 * i) for i in range(n)]
    hour = 490_000
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        counted = CountedHours()
        counted.update(((p, "impressions"), hour) for p in ids)
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert len(counted) == n
    assert held / n < 50

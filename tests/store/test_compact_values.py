"""A post's latest values as the stores write them: the same JSON text as the encoder's
(keys sorted, no spaces, whole numbers without a fraction), whatever the names and
numbers; an int is written as the float it reads as, as every store compares it."""

from __future__ import annotations

import json

from hypothesis import example, given, settings
from hypothesis import strategies as st

from automation.core.metric_values import MetricValues
from automation.store.rows import compact

ENCODER = json.JSONEncoder(separators=(",", ":"), sort_keys=True)
NAMES = st.sampled_from(["favorites", "impressions", "url_clicks", "a1", "_x"]) | st.text()
NUMBERS = st.floats() | st.integers(-(2**70), 2**70) | st.sampled_from([0.0, -0.0, 1e300, 2.5])


@settings(max_examples=500, derandomize=True)
@given(st.dictionaries(NAMES, NUMBERS, max_size=8))
@example({"impressions": 2**70 + 1, "likes": float(2**70)})
def test_compact_values_are_the_encoders_text(values):
    expected = ENCODER.encode(
        {k: int(float(v)) if float(v).is_integer() else v for k, v in values.items()}
    )
    assert compact(values) == expected
    decoded = json.loads(compact(values))
    assert decoded.keys() == values.keys()


@settings(max_examples=500, derandomize=True)
@given(st.dictionaries(NAMES, NUMBERS, max_size=8))
@example({"impressions": 2.0**70, "likes": -0.0, "url_clicks": 3.0})
@example({"b": 1.0})
@example({"impressions": 1.0, "not plain": 2.0})
def test_the_engine_s_values_are_written_as_the_same_mapping_s(values):
    # whole numbers through one format per set of names; the rest as any mapping
    engine = MetricValues(values)
    assert compact(engine) == compact(dict(engine.items()))
    assert compact(engine) == compact(engine)  # the format kept for these names

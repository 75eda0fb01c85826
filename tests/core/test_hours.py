"""Hours of the hourly history: numbering, readings on the hour, spans, whole /28hr hours."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from automation.core.facts import HourlySeries
from automation.core.hours import (
    HOUR,
    Span,
    add_span,
    complete_counts,
    hour_index,
    hour_start,
    reading_hour,
    spans_of,
    uncovered,
    whole_hours,
)

T0 = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
H = hour_index(T0)


def test_a_reading_closes_the_hour_it_ends() -> None:
    assert hour_start(H) == T0
    assert hour_index(T0 + timedelta(minutes=59)) == H
    assert reading_hour(T0 + timedelta(minutes=1)) == H
    assert reading_hour(T0 + timedelta(hours=1)) == H  # 13:00 closes 12:00-13:00
    assert reading_hour(T0) == H - 1
    with pytest.raises(ValueError, match="naive"):
        hour_index(datetime(2026, 1, 1))


def test_spans_merge_when_they_meet_and_subtract() -> None:
    spans = add_span([(0, 2), (5, 6)], (2, 3))
    assert spans == [(0, 3), (5, 6)]
    assert add_span(spans, (3, 5)) == [(0, 6)]
    assert add_span(spans, (8, 8)) == spans
    assert uncovered(-1, 8, spans) == [(-1, 0), (3, 5), (6, 8)]
    assert uncovered(1, 2, spans) == []
    assert spans_of([4, 1, 2, 2, 7]) == [(1, 3), (4, 5), (7, 8)]


def test_only_whole_hours_of_a_28hr_answer_count() -> None:
    read_at = T0 + timedelta(minutes=20)
    buckets = tuple((T0 - timedelta(hours=h), float(h)) for h in range(28, -1, -1))
    span, counts = complete_counts(HourlySeries.of(buckets, read_at))
    # 08:00 the day before began before the 28 hours read (08:20); 12:00 is still running
    assert span == (H - 27, H)
    pairs = list(counts)
    assert pairs[0] == (hour_start(H - 27), 27.0) and pairs[-1] == (hour_start(H - 1), 1.0)
    assert len(counts) == len(pairs) == 27
    span, counts = complete_counts(HourlySeries((), (), read_at))
    assert span == (H, H) and list(counts) == [] and not counts


def test_a_series_keeps_its_buckets_as_two_columns() -> None:
    buckets = ((T0, 2.0), (T0 + timedelta(hours=1), 0.0))
    series = HourlySeries.of(buckets, T0)
    assert series.starts == (T0, T0 + timedelta(hours=1)) and series.counts == (2.0, 0.0)
    assert series.buckets == buckets
    with pytest.raises(ValueError, match="2 hour starts for 1 counts"):
        HourlySeries(series.starts, (1.0,), T0)


def _whole_hours_as_lists(
    hourly: dict[str, dict[str, HourlySeries]], stored_to: dict[tuple[str, str], int]
) -> dict[Span, dict[str, dict[str, list[tuple[datetime, float]]]]]:
    """whole_hours as it was written before its buckets became views: plain filtering."""
    out: dict[Span, dict[str, dict[str, list[tuple[datetime, float]]]]] = {}
    for post_id, per_metric in hourly.items():
        for metric, series in per_metric.items():
            start = stored_to.get((post_id, metric))
            last = hour_index(series.read_at)
            lo_at = hour_start(reading_hour(series.read_at - 28 * HOUR) + 1)
            counts = [b for b in series.buckets if lo_at <= b[0] < hour_start(last)]
            lo = hour_index(counts[0][0]) if counts else last
            if start is not None and start > lo:
                lo = start
                counts = [b for b in counts if b[0] >= hour_start(start)]
            if counts:
                out.setdefault((lo, last), {}).setdefault(post_id, {})[metric] = counts
    return out


@settings(max_examples=200, deadline=None, derandomize=True)
@given(
    st.lists(
        st.tuples(
            st.integers(-40, 40),  # the first bucket's hour, from H
            st.integers(0, 35),  # how many hours
            st.integers(0, 3599),  # read so many seconds into hour H
            st.sampled_from([None, *range(H - 40, H + 2)]),  # hours already stored to
        ),
        max_size=6,
    )
)
def test_whole_hours_views_hold_what_filtering_the_buckets_held(
    posts: list[tuple[int, int, int, int | None]],
) -> None:
    hourly: dict[str, dict[str, HourlySeries]] = {}
    stored_to: dict[tuple[str, str], int] = {}
    for n, (first, size, seconds, stored) in enumerate(posts):
        starts = tuple(hour_start(H + first + i) for i in range(size))
        counts = tuple(float(i % 3) for i in range(size))
        read_at = T0 + timedelta(seconds=seconds)
        hourly[str(n)] = {"likes": HourlySeries(starts, counts, read_at)}
        if stored is not None:
            stored_to[str(n), "likes"] = stored
    got = {
        span: {p: {m: list(c) for m, c in per.items()} for p, per in posts_of.items()}
        for span, posts_of in whole_hours(hourly, stored_to).items()
    }
    assert got == _whole_hours_as_lists(hourly, stored_to)

"""Hours of the hourly history: numbering, readings on the hour, spans, whole /28hr hours."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from automation.core.facts import HourlySeries
from automation.core.hours import (
    add_span,
    complete_counts,
    hour_index,
    hour_start,
    reading_hour,
    spans_of,
    uncovered,
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
    span, counts = complete_counts(HourlySeries(buckets, read_at))
    # 08:00 the day before began before the 28 hours read (08:20); 12:00 is still running
    assert span == (H - 27, H)
    assert counts[0] == (hour_start(H - 27), 27.0) and counts[-1] == (hour_start(H - 1), 1.0)
    assert complete_counts(HourlySeries((), read_at)) == ((H, H), [])

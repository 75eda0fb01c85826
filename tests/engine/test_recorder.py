"""What the store recorder keeps of a cycle's readings: snapshots and the hourly history,
each pruned at its own pace."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import MappingProxyType

from automation.engine.recorder import StoreRecorder
from automation.store import MemoryStore
from automation.x.engagement_client import FetchResult

T0 = datetime(2026, 11, 26, 12, 30, tzinfo=UTC)


def reading(likes: float) -> FetchResult:
    return FetchResult(
        totals=MappingProxyType({"1": {"favorites": likes}}),
        hourly=MappingProxyType({}),
        unavailable=frozenset(),
        unsupported=MappingProxyType({}),
        forbidden=frozenset(),
        errors=(),
        failures=(),
    )


def test_hourly_history_is_kept_for_history_keep_and_pruned_by_the_day() -> None:
    store = MemoryStore()
    recorder = StoreRecorder(store, history_keep=timedelta(days=2))
    for day, likes in enumerate([1, 2, 3, 4, 5]):
        recorder.record_readings(T0 + timedelta(days=day), reading(likes))
    history = store.hourly(["1"], ["favorites"], T0 - timedelta(days=9), T0 + timedelta(days=9))
    likes = history["1"]["favorites"]
    # the day-4 prune forgot everything before day 2, but the value held then
    assert [v for _, v in likes.totals] == [2.0, 3.0, 4.0, 5.0]
    assert [a for a, _ in likes.polled] == [
        T0.replace(minute=0) + timedelta(days=d) for d in (2, 3, 4)
    ]

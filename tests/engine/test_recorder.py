"""What the store recorder keeps of a cycle's readings: snapshots and the hourly history,
each pruned at its own pace."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from types import MappingProxyType

from hypothesis import given, settings
from hypothesis import strategies as st

from automation.core.facts import HourlySeries
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


@settings(max_examples=40, derandomize=True, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 100), st.integers(0, 2)), min_size=1, max_size=80))
def test_pruned_snapshots_answer_every_window_as_the_whole_history_does(steps) -> None:
    """Windows reach back at most 28h: whenever the snapshots are pruned, every window
    reads what it would read from the whole history (readings 5 min to 8 h apart)."""
    pruned, whole = MemoryStore(), MemoryStore()
    recorder = StoreRecorder(pruned)
    now, likes = T0, 0.0
    for fives, more in steps:
        now += timedelta(minutes=5 * fives)
        likes += more
        recorder.record_readings(now, reading(likes))
        whole.record_totals(now, reading(likes).totals)
        for back in (timedelta(hours=28), timedelta(hours=1), timedelta(minutes=5)):
            assert pruned.snapshots(["1"], now - back) == whole.snapshots(["1"], now - back)


class CountingStore(MemoryStore):
    def __init__(self) -> None:
        super().__init__()
        self.counted: list[tuple[datetime, datetime, int]] = []

    def record_hourly_counts(self, start, end, counts) -> None:  # type: ignore[no-untyped-def]
        hours = sum(len(list(pairs)) for per in counts.values() for pairs in per.values())
        self.counted.append((start, end, hours))
        super().record_hourly_counts(start, end, counts)


def series_at(now: datetime) -> FetchResult:
    first = now.replace(minute=0) - timedelta(hours=27)
    buckets = tuple((first + timedelta(hours=h), float(h)) for h in range(28))
    return replace(
        reading(1),
        hourly=MappingProxyType({"1": {"impressions": HourlySeries.of(buckets, now)}}),
    )


def test_each_whole_hour_of_28hr_answers_is_written_once() -> None:
    store = CountingStore()
    recorder = StoreRecorder(store)
    for minutes in (0, 5, 10, 65, 70):
        recorder.record_readings(
            T0 + timedelta(minutes=minutes), series_at(T0 + timedelta(minutes=minutes))
        )
    hour = T0.replace(minute=0)
    assert store.counted == [
        (hour - timedelta(hours=27), hour, 27),  # the first answer's whole hours
        (hour, hour + timedelta(hours=1), 1),  # an hour later, only the new one
    ]
    history = store.hourly(
        ["1"], ["impressions"], hour - timedelta(days=2), hour + timedelta(hours=2)
    )
    assert history["1"]["impressions"].counted == (
        (hour - timedelta(hours=27), hour + timedelta(hours=1)),
    )


def test_a_restarted_engine_does_not_write_the_stored_hours_again() -> None:
    store = CountingStore()
    StoreRecorder(store).record_readings(T0, series_at(T0))
    restarted = StoreRecorder(store)
    restarted.record_readings(T0 + timedelta(minutes=5), series_at(T0 + timedelta(minutes=5)))
    later = T0 + timedelta(minutes=65)
    restarted.record_readings(later, series_at(later))
    hour = T0.replace(minute=0)
    assert [(start, hours) for start, _, hours in store.counted] == [
        (hour - timedelta(hours=27), 27),
        (hour, 1),
    ]


def series_of(now: datetime, metrics: tuple[str, ...]) -> FetchResult:
    first = now.replace(minute=0) - timedelta(hours=27)
    buckets = tuple((first + timedelta(hours=h), float(h + 1)) for h in range(28))
    return replace(
        reading(1),
        hourly=MappingProxyType({"1": {m: HourlySeries.of(buckets, now) for m in metrics}}),
    )


def test_a_metric_missing_from_one_28hr_answer_is_counted_from_the_next() -> None:
    """An answer may lack a metric for a post: its hours come with the next answer that
    holds it, whether the engine kept running or restarted meanwhile."""
    hour = T0.replace(minute=0)
    both = ("impressions", "url_clicks")
    for restart in (False, True):
        store = MemoryStore()
        recorder = StoreRecorder(store)
        recorder.record_readings(T0, series_of(T0, both))
        recorder.record_readings(
            T0 + timedelta(hours=1), series_of(T0 + timedelta(hours=1), both[:1])
        )
        if restart:
            recorder = StoreRecorder(store)
        later = T0 + timedelta(hours=2)
        recorder.record_readings(later, series_of(later, both))
        first = hour - timedelta(hours=27)
        assert store.missing_hours(["1"], both, first, hour + timedelta(hours=2)) == {}, restart


def test_the_stored_hours_no_answer_can_reach_any_more_are_forgotten() -> None:
    """What the recorder remembers of stored /28hr hours stays the size of the posts read
    in the last 28 hours: over months of posts coming and going it would otherwise grow
    without end. An answer 27 hours later starts after a post's last stored hour, so that
    hour no longer says anything; a post read again later has its hours written as a new
    post's are."""
    store = CountingStore()
    recorder = StoreRecorder(store)
    recorder.record_readings(T0, series_of(T0, ("impressions", "url_clicks")))
    assert set(recorder.counted_to) == {("1", "impressions"), ("1", "url_clicks")}
    for hours in range(1, 30):  # another post, read every hour
        now = T0 + timedelta(hours=hours)
        answer = series_of(now, ("impressions",))
        recorder.record_readings(now, replace(answer, hourly={"2": answer.hourly["1"]}))
        kept = {p for p, _ in recorder.counted_to}
        assert kept == ({"1", "2"} if hours < 27 else {"2"}), hours
    back = T0 + timedelta(hours=30)
    store.counted.clear()
    recorder.record_readings(back, series_of(back, ("impressions",)))
    assert [hours for _, _, hours in store.counted] == [27]  # all its whole hours, as new

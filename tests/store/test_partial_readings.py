"""Readings that lack some metrics, hold none, or mix ints and floats: every store answers
alike, whether it stayed open through the readings or was reopened before each one.

A public post reads only the public metrics, a post may come back with no values at all,
and a metric missing from a reading keeps its last known value: "not reported this time"
is neither "zero" nor a change. A metric never read stays unknown (absent), never 0.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import MappingProxyType

import pytest
from pg_cluster import emptied

from automation.core.records import WatchedPostRecord
from automation.store import MemoryStore, SqliteStore, Store
from automation.store.postgres import PostgresStore

T0 = datetime(2026, 11, 26, 12, 30, tzinfo=UTC)
HOUR = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)  # the hour the first readings close
POSTS = ["1", "2"]


class Stores:
    """One store of a kind, reopened before each step when ``reopening`` (the memory
    store cannot be: it stays open)."""

    def __init__(self, opener: Callable[[], Store], reopening: bool) -> None:
        self._open, self._reopening = opener, reopening
        self.store = opener()
        self.store.upsert_posts(WatchedPostRecord(p, "brand", T0, "timeline", T0) for p in POSTS)

    def step(self) -> Store:
        if self._reopening:
            self.store.close()
            self.store = self._open()
        return self.store


@pytest.fixture(
    params=[
        "memory",
        "sqlite kept",
        "sqlite reopened",
        pytest.param("postgres kept", marks=pytest.mark.postgres),
        pytest.param("postgres reopened", marks=pytest.mark.postgres),
    ]
)
def stores(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Stores]:
    kind = request.param
    opener: Callable[[], Store]
    if kind == "memory":
        memory = MemoryStore()
        opener = lambda: memory  # noqa: E731
    elif kind.startswith("sqlite"):
        opener = lambda: SqliteStore.open(tmp_path / "state.db")  # noqa: E731
    else:
        database = emptied(request.getfixturevalue("postgres_shared"))
        opener = lambda: PostgresStore.open(database)  # noqa: E731
    found = Stores(opener, kind.endswith("reopened"))
    yield found
    found.store.close()


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def record(
    stores: Stores, minutes: float, totals: Mapping[str, Mapping[str, float]]
) -> tuple[int, int]:
    store = stores.step()
    return store.record_totals(at(minutes), totals), store.record_hourly_totals(at(minutes), totals)


def snapshot_values(store: Store) -> dict[str, list[tuple[datetime, dict[str, float]]]]:
    return {
        p: [(s.at, dict(s.values)) for s in snaps]
        for p, snaps in store.snapshots(POSTS, at(-1)).items()
    }


def hourly_totals(store: Store) -> dict[str, dict[str, tuple[tuple[datetime, float], ...]]]:
    found = store.hourly(POSTS, None, at(-60), at(600))
    return {p: {m: h.totals for m, h in per.items()} for p, per in found.items()}


def polled(store: Store) -> dict[str, dict[str, tuple[tuple[datetime, datetime], ...]]]:
    found = store.hourly(POSTS, None, at(-60), at(600))
    return {p: {m: h.polled for m, h in per.items()} for p, per in found.items()}


def test_a_metric_missing_from_a_reading_keeps_its_value_and_is_not_written_again(
    stores: Stores,
) -> None:
    assert record(stores, 0, {"1": {"likes": 1, "impressions": 50}}) == (1, 2)
    assert record(stores, 5, {"1": {"likes": 2}}) == (1, 1)
    assert record(stores, 10, {"1": {"likes": 2, "impressions": 50}}) == (0, 0)
    store = stores.step()
    assert store.latest_totals(POSTS) == {"1": {"likes": 2.0, "impressions": 50.0}}
    assert snapshot_values(store) == {
        "1": [
            (at(0), {"likes": 1.0, "impressions": 50.0}),
            (at(5), {"likes": 2.0, "impressions": 50.0}),
        ],
        "2": [],
    }
    assert hourly_totals(store) == {"1": {"likes": ((HOUR, 2.0),), "impressions": ((HOUR, 50.0),)}}


def test_an_empty_reading_between_two_equal_ones_writes_nothing(stores: Stores) -> None:
    assert record(stores, 0, {"1": {"likes": 0}, "2": {}}) == (1, 1)
    assert record(stores, 5, {"1": {}, "2": MappingProxyType({})}) == (0, 0)
    assert record(stores, 10, {"1": {"likes": 0}, "2": {}}) == (0, 0)
    store = stores.step()
    assert store.latest_totals(POSTS) == {"1": {"likes": 0.0}}
    assert snapshot_values(store) == {"1": [(at(0), {"likes": 0.0})], "2": []}
    assert hourly_totals(store) == {"1": {"likes": ((HOUR, 0.0),)}}
    assert store.top("likes", 5) == [("1", 0.0)]


def test_a_metric_read_again_hours_later_with_its_old_value_is_not_written_again(
    stores: Stores,
) -> None:
    hour = 60
    assert record(stores, 0, {"1": {"likes": 1, "replies": 2}}) == (1, 2)
    assert record(stores, hour, {"1": MappingProxyType({"likes": 1.0})}) == (0, 0)
    assert record(stores, 2 * hour, {"1": {"likes": 1, "replies": 2}}) == (0, 0)
    assert record(stores, 3 * hour, {"1": {"likes": 1, "replies": 2}}) == (0, 0)
    store = stores.step()
    assert hourly_totals(store) == {"1": {"likes": ((HOUR, 1.0),), "replies": ((HOUR, 2.0),)}}
    assert polled(store) == {
        "1": {
            "likes": ((HOUR, HOUR + timedelta(hours=4)),),
            "replies": (
                (HOUR, HOUR + timedelta(hours=1)),
                (HOUR + timedelta(hours=2), HOUR + timedelta(hours=4)),
            ),
        }
    }


def test_ints_and_floats_mixed_in_one_reading_come_back_as_floats(stores: Stores) -> None:
    first = {
        "1": MappingProxyType({"likes": 1, "replies": 0}),  # ints in a read-only view
        "2": {"likes": 1.5, "replies": 2},
    }
    assert record(stores, 0, first) == (2, 4)
    assert record(stores, 5, {"1": MappingProxyType({"likes": 1.0, "replies": 3})}) == (1, 1)
    assert record(stores, 10, {"1": {"likes": 1, "replies": 3.0}, "2": {"likes": 1.5}}) == (0, 0)
    store = stores.step()
    latest = store.latest_totals(POSTS)
    assert latest == {"1": {"likes": 1.0, "replies": 3.0}, "2": {"likes": 1.5, "replies": 2.0}}
    assert {type(v) for values in latest.values() for v in values.values()} == {float}
    snaps = snapshot_values(store)
    assert snaps["1"] == [
        (at(0), {"likes": 1.0, "replies": 0.0}),
        (at(5), {"likes": 1.0, "replies": 3.0}),
    ]
    assert {type(v) for s in snaps.values() for _, values in s for v in values.values()} == {float}
    totals = hourly_totals(store)
    assert {type(v) for per in totals.values() for rows in per.values() for _, v in rows} == {float}
    assert store.top("replies", 5) == [("1", 3.0), ("2", 2.0)]


def test_a_metric_never_read_stays_unknown_and_zero_stays_zero(stores: Stores) -> None:
    record(stores, 0, {"1": {"likes": 3}, "2": {"likes": 0, "impressions": 0}})
    record(stores, 5, {"1": {"likes": 4}, "2": {"likes": 0}})
    store = stores.step()
    latest = store.latest_totals(POSTS)
    assert "impressions" not in latest["1"]
    assert latest["2"] == {"likes": 0.0, "impressions": 0.0}
    snaps = snapshot_values(store)
    assert all("impressions" not in values for _, values in snaps["1"])
    assert set(hourly_totals(store)["1"]) == {"likes"}
    assert store.top("impressions", 5) == [("2", 0.0)]


def test_a_reading_dated_before_the_last_one_takes_its_place_in_time(stores: Stores) -> None:
    """The clock may go back between two readings: every store keeps both, in time order,
    and the latest values stay the latest dated reading's. Within one hour the history
    holds the hour's last reading recorded (an hour is its unit)."""
    assert record(stores, 10, {"1": {"likes": 1, "replies": 0}}) == (1, 2)
    assert record(stores, 5, {"1": {"likes": 3, "replies": 0}}) == (1, 1)
    store = stores.step()
    assert snapshot_values(store)["1"] == [
        (at(5), {"likes": 3.0, "replies": 0.0}),
        (at(10), {"likes": 1.0, "replies": 0.0}),
    ]
    baseline = store.snapshots(["1"], at(10))["1"]
    assert [(s.at, dict(s.values)) for s in baseline] == [(at(10), {"likes": 1.0, "replies": 0.0})]
    assert store.latest_totals(["1"]) == {"1": {"likes": 1.0, "replies": 0.0}}
    assert hourly_totals(store)["1"] == {"likes": ((HOUR, 3.0),), "replies": ((HOUR, 0.0),)}


def test_a_reading_dated_in_an_earlier_hour_writes_only_what_differs_then(
    stores: Stores,
) -> None:
    """A reading dated before the post's last one (the clock went back) is compared with
    the values held at its own time, in the snapshots and in the hourly history alike,
    and changes the latest values only for a metric with nothing stored after it."""
    hour = timedelta(hours=1)
    assert record(stores, 0, {"1": {"likes": 1, "replies": 0}}) == (1, 2)
    assert record(stores, 120, {"1": {"likes": 5, "replies": 0}}) == (1, 1)
    assert record(stores, 60, {"1": {"likes": 1, "replies": 0, "quotes": 2}}) == (1, 1)
    assert record(stores, 125, {"1": {"likes": 5, "replies": 0, "quotes": 2}}) == (0, 0)
    assert record(stores, 65, {"1": {"likes": 4, "replies": 0}}) == (1, 1)
    store = stores.step()
    assert store.latest_totals(["1"]) == {"1": {"likes": 5.0, "replies": 0.0, "quotes": 2.0}}
    assert snapshot_values(store)["1"] == [
        (at(0), {"likes": 1.0, "replies": 0.0}),
        (at(60), {"likes": 1.0, "replies": 0.0, "quotes": 2.0}),
        (at(65), {"likes": 4.0, "replies": 0.0, "quotes": 2.0}),
        (at(120), {"likes": 5.0, "replies": 0.0, "quotes": 2.0}),
    ]
    assert hourly_totals(store)["1"] == {
        "likes": ((HOUR, 1.0), (HOUR + hour, 4.0), (HOUR + 2 * hour, 5.0)),
        "replies": ((HOUR, 0.0),),
        "quotes": ((HOUR + hour, 2.0),),
    }
    assert polled(store)["1"] == {
        "likes": ((HOUR, HOUR + 3 * hour),),
        "replies": ((HOUR, HOUR + 3 * hour),),
        "quotes": ((HOUR + hour, HOUR + 3 * hour),),
    }


BIG = 2**53  # counts stay below it (store.base says why); beyond, an int has no float of its own


def test_a_count_beyond_2_53_is_compared_as_its_float_in_every_store(stores: Stores) -> None:
    """Every store compares and keeps a count as the float it reads as: ``BIG + 1`` is
    ``BIG`` whether it comes as an int or a float, in a dict or a read-only view, and
    whether the store remembered the last reading or read it back."""
    first = {"1": MappingProxyType({"likes": BIG + 1, "replies": 1}), "2": {"likes": BIG + 1}}
    assert record(stores, 0, first) == (2, 3)
    assert record(stores, 5, {"1": {"likes": BIG + 1, "replies": 1}, "2": {"likes": BIG}}) == (0, 0)
    assert record(stores, 10, {"1": {"likes": float(BIG)}, "2": {"likes": BIG + 2}}) == (1, 1)
    assert record(stores, 15, {"1": MappingProxyType({"likes": BIG + 1})}) == (0, 0)
    store = stores.step()
    assert store.latest_totals(POSTS) == {
        "1": {"likes": float(BIG), "replies": 1.0},
        "2": {"likes": float(BIG + 2)},
    }
    assert snapshot_values(store)["2"] == [
        (at(0), {"likes": float(BIG)}),
        (at(10), {"likes": float(BIG + 2)}),
    ]
    assert hourly_totals(store)["2"] == {"likes": ((HOUR, float(BIG + 2)),)}

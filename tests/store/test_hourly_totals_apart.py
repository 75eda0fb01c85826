"""The hourly totals are kept apart from the snapshots, not derived from them: readings
given to both as the engine gives them (``record_totals``, then ``record_hourly_totals``)
leave an hour's total differing from that hour's last snapshot on three paths, on every
store. Filling the current hour's totals from ``snapshots_hour`` once an hour would change
each of these answers (docs/performance.md, "The current hour's hourly totals filled from
the snapshots: checked, and it does not hold")."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from automation.core.facts import Snapshot
from automation.core.records import HourlyHistory
from automation.store import Store

T0 = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def read(store: Store, minutes: float, post: str, likes: int) -> tuple[int, int]:
    """One reading as the engine records it: (snapshots written, hourly totals written)."""
    totals = {post: {"likes": likes}}
    return store.record_totals(at(minutes), totals), store.record_hourly_totals(at(minutes), totals)


def totals(store: Store, post: str, start: float, end: float) -> tuple[tuple[datetime, float], ...]:
    return store.hourly([post], ["likes"], at(start), at(end))[post]["likes"].totals


def test_a_reading_on_the_hour_is_a_snapshot_of_the_new_hour_and_closes_the_one_before(
    store: Store,
) -> None:
    assert read(store, 30, "p", 1) == (1, 1)
    assert read(store, 60, "p", 2) == (1, 1)  # 13:00:00: the snapshot is of the hour it opens
    assert read(store, 90, "p", 3) == (1, 1)
    assert totals(store, "p", 0, 120) == ((at(0), 2.0), (at(60), 3.0))
    # the 12:00 hour's last snapshot holds 1; the total of the hour the 13:00 reading closed, 2
    assert store.snapshots(["p"], at(0))["p"] == (
        Snapshot(at=at(30), values={"likes": 1.0}),
        Snapshot(at=at(60), values={"likes": 2.0}),
        Snapshot(at=at(90), values={"likes": 3.0}),
    )


def test_a_reading_dated_back_within_the_hour_is_its_total_before_a_later_snapshot(
    store: Store,
) -> None:
    assert read(store, 10, "p", 1) == (1, 1)
    assert read(store, 40, "p", 3) == (1, 1)
    assert read(store, 20, "p", 2) == (1, 1)  # the clock went back: the last one recorded
    assert read(store, 70, "p", 3) == (0, 1)  # the latest snapshot holds 3 already
    assert store.latest_totals(["p"]) == {"p": {"likes": 3.0}}
    assert store.hourly(["p"], ["likes"], at(0), at(120)) == {
        "p": {
            "likes": HourlyHistory(
                totals=((at(0), 2.0), (at(60), 3.0)),  # no snapshot of the 13:00 hour
                polled=((at(0), at(120)),),
            )
        }
    }


def test_a_post_the_hourly_prune_forgot_gets_a_total_again_and_no_snapshot(store: Store) -> None:
    read(store, 10, "gone", 5)
    read(store, 10, "live", 1)
    read(store, 30 * 60, "live", 2)
    store.prune_hourly(at(29 * 60))  # "gone" was not polled after the cut: its totals go
    assert read(store, 31 * 60 + 5, "gone", 5) == (0, 1)
    assert totals(store, "gone", 0, 32 * 60) == ((at(31 * 60), 5.0),)
    assert store.snapshots(["gone"], at(30 * 60))["gone"] == (
        Snapshot(at=at(10), values={"likes": 5.0}),
    )

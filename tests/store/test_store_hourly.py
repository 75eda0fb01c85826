"""The hourly history's contract, run against every store (fixture in conftest.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from automation.core.records import HourlyHistory
from automation.store import SqliteStore, Store, rows

T0 = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def span(a: float, b: float) -> tuple[datetime, datetime]:
    return (at(a), at(b))


def test_a_reading_is_its_hours_total_and_the_last_one_in_the_hour_wins(store: Store) -> None:
    assert store.record_hourly_totals(at(5 / 60), {"p": {"favorites": 5}}) == 1
    assert store.record_hourly_totals(at(40 / 60), {"p": {"favorites": 7}}) == 1
    # a reading on the hour closes the hour before it
    assert store.record_hourly_totals(at(1), {"p": {"favorites": 8}}) == 1
    assert store.record_hourly_totals(at(70 / 60), {"p": {"favorites": 8}}) == 0
    assert store.record_hourly_totals(at(2.5), {"p": {"favorites": 9}}) == 1
    history = store.hourly(["p"], None, at(0), at(3))
    assert history == {
        "p": {"favorites": HourlyHistory(totals=((at(0), 8.0), (at(2), 9.0)), polled=(span(0, 3),))}
    }


def test_a_metric_first_read_late_in_an_hour_marks_that_hour_polled(store: Store) -> None:
    store.record_hourly_totals(at(10 / 60), {"p": {"favorites": 5}})
    store.record_hourly_totals(at(20 / 60), {"p": {"favorites": 5, "retweets": 1}})
    store.record_hourly_totals(at(80 / 60), {"p": {"favorites": 5, "retweets": 1}})
    history = store.hourly(["p"], None, at(0), at(2))
    assert history["p"]["retweets"] == HourlyHistory(totals=((at(0), 1.0),), polled=(span(0, 2),))
    assert history["p"]["favorites"] == HourlyHistory(totals=((at(0), 5.0),), polled=(span(0, 2),))


def test_the_total_held_when_a_range_starts_comes_first(store: Store) -> None:
    for hour, likes in [(0.5, 3), (1.5, 3), (2.5, 4)]:
        store.record_hourly_totals(at(hour), {"p": {"favorites": likes, "retweets": 1}})
    found = store.hourly(["p", "unknown"], ["favorites"], at(1), at(3))
    assert found == {
        "p": {"favorites": HourlyHistory(totals=((at(0), 3.0), (at(2), 4.0)), polled=(span(1, 3),))}
    }


def test_hours_nobody_polled_are_not_polled_spans(store: Store) -> None:
    for hour in (0.5, 1.5, 4.5):
        store.record_hourly_totals(at(hour), {"p": {"favorites": 1}})
    history = store.hourly(["p"], ["favorites"], at(0), at(6))["p"]["favorites"]
    assert history.polled == (span(0, 2), span(4, 5))
    assert history.totals == ((at(0), 1.0),)


def test_counts_replace_the_hours_read_again_and_ignore_what_lies_outside(store: Store) -> None:
    store.record_hourly_counts(
        at(-2), at(1), {"p": {"impressions": [(at(-2), 5), (at(-1), 0), (at(0), 7), (at(1), 99)]}}
    )
    store.record_hourly_counts(at(0), at(2), {"p": {"impressions": [(at(0), 7), (at(1), 2)]}})
    history = store.hourly(["p"], None, at(-3), at(3))["p"]["impressions"]
    assert history.counts == ((at(-2), 5.0), (at(0), 7.0), (at(1), 2.0))
    assert history.counted == (span(-2, 2),)
    assert history.totals == () and history.polled == ()
    assert store.count_sums(["p"], ["impressions"], at(-3), at(3)) == {"p": {"impressions": 14.0}}


def test_ranges_widen_to_whole_hours(store: Store) -> None:
    store.record_hourly_counts(
        at(0.5), at(1.2), {"p": {"url_clicks": [(at(0), 1), (at(1), 2), (at(2), 4)]}}
    )
    assert store.hourly(["p"], None, at(0), at(3))["p"]["url_clicks"].counted == (span(0, 2),)
    assert store.count_sums(["p"], ["url_clicks"], at(0.9), at(1.1)) == {"p": {"url_clicks": 3.0}}


def test_missing_hours_per_post_over_every_metric_asked(store: Store) -> None:
    store.record_hourly_counts(at(2), at(6), {"p": {"impressions": [], "favorites": []}})
    store.record_hourly_counts(at(0), at(8), {"done": {"impressions": [(at(3), 1)]}})
    assert store.missing_hours(["p", "done", "new"], ["impressions"], at(0), at(8)) == {
        "p": (span(0, 2), span(6, 8)),
        "new": (span(0, 8),),
    }
    missing = store.missing_hours(["p", "done"], ["impressions", "retweets"], at(0), at(8))
    assert missing == {"p": (span(0, 8),), "done": (span(0, 8),)}
    assert store.missing_hours(["p"], ["impressions"], at(3), at(5)) == {}


def test_count_sums_tell_none_from_not_known(store: Store) -> None:
    store.record_hourly_counts(at(0), at(4), {"quiet": {"favorites": []}})
    store.record_hourly_counts(at(0), at(4), {"busy": {"favorites": [(at(1), 3), (at(3), 4)]}})
    sums = store.count_sums(["quiet", "busy", "unknown"], ["favorites", "retweets"], at(0), at(3))
    assert sums == {"quiet": {"favorites": 0.0}, "busy": {"favorites": 3.0}}
    # hours counted up to the range's first hour are not in it: nothing is known there
    assert store.count_sums(["quiet", "busy"], ["favorites"], at(4), at(6)) == {}


def test_pruning_keeps_the_total_held_at_the_cut_for_posts_still_polled(store: Store) -> None:
    for hour, likes in [(0.5, 1), (1.5, 2), (2.5, 3), (5.5, 4)]:
        store.record_hourly_totals(at(hour), {"live": {"favorites": likes}})
    store.record_hourly_totals(at(0.5), {"gone": {"favorites": 1}})
    store.record_hourly_totals(at(1.5), {"gone": {"favorites": 2}})
    store.record_hourly_counts(at(0), at(6), {"live": {"impressions": [(at(1), 5), (at(4), 6)]}})
    deleted = store.prune_hourly(at(4))
    assert deleted == 5  # live's totals of hours 0 and 1, gone's two, live's count of hour 1
    history = store.hourly(["live", "gone"], None, at(0), at(8))
    assert set(history) == {"live"}
    assert history["live"]["favorites"].totals == ((at(2), 3.0), (at(5), 4.0))
    assert history["live"]["favorites"].polled == (span(5, 6),)
    assert history["live"]["impressions"].counts == ((at(4), 6.0),)
    assert history["live"]["impressions"].counted == (span(4, 6),)
    assert store.missing_hours(["live"], ["impressions"], at(0), at(6)) == {"live": (span(0, 4),)}


def test_naive_times_are_refused_by_the_history(store: Store) -> None:
    with pytest.raises(ValueError, match="naive"):
        store.record_hourly_totals(datetime(2026, 1, 1), {"p": {"favorites": 1}})


def test_a_reopened_database_goes_on_storing_only_changes(tmp_path) -> None:
    path = tmp_path / "state.db"
    with SqliteStore.open(path) as store:
        store.record_hourly_totals(at(0.5), {"p": {"favorites": 1, "retweets": 2}})
    with SqliteStore.open(path) as store:
        assert store.record_hourly_totals(at(1.5), {"p": {"favorites": 1, "retweets": 3}}) == 1
        history = store.hourly(["p"], None, at(0), at(2))["p"]
    assert history["favorites"] == HourlyHistory(totals=((at(0), 1.0),), polled=(span(0, 2),))
    assert history["retweets"].totals == ((at(0), 2.0), (at(1), 3.0))


def test_a_reading_of_more_posts_than_a_write_takes_at_once_is_kept_whole(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(rows, "PART", 2)  # the stores write 2 posts at a time
    posts = [f"p{i}" for i in range(5)]
    first = {p: {"favorites": float(i), "retweets": 1.0} for i, p in enumerate(posts)}
    assert store.record_totals(at(0.5), first) == 5
    assert store.record_hourly_totals(at(0.5), first) == 10
    second = {p: {"favorites": float(i + i % 2), "retweets": 1.0} for i, p in enumerate(posts)}
    assert store.record_totals(at(1.5), second) == 2  # p1 and p3 changed
    assert store.record_hourly_totals(at(1.5), second) == 2
    assert store.latest_totals(posts) == second
    history = store.hourly(posts, ["favorites"], at(0), at(2))
    assert {p: h["favorites"].polled for p, h in history.items()} == dict.fromkeys(
        posts, (span(0, 2),)
    )
    assert history["p3"]["favorites"].totals == ((at(0), 3.0), (at(1), 4.0))
    assert history["p4"]["favorites"].totals == ((at(0), 4.0),)


def test_counts_of_more_posts_than_a_write_takes_at_once_are_kept_whole(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(rows, "PART", 2)  # the stores write 2 posts at a time
    posts = [f"p{i}" for i in range(5)]
    store.record_hourly_counts(
        at(0), at(3), {p: {"impressions": [(at(0), i), (at(2), 1)]} for i, p in enumerate(posts)}
    )
    # read again: the hours of [1, 3) are replaced, for every post alike
    store.record_hourly_counts(
        at(1), at(3), {p: {"impressions": [(at(1), i), (at(2), 0)]} for i, p in enumerate(posts)}
    )
    history = store.hourly(posts, ["impressions"], at(0), at(3))
    assert {p: h["impressions"].counted for p, h in history.items()} == dict.fromkeys(
        posts, (span(0, 3),)
    )
    assert history["p0"]["impressions"].counts == ()
    assert history["p3"]["impressions"].counts == ((at(0), 3.0), (at(1), 3.0))
    sums = store.count_sums(posts, ["impressions"], at(0), at(3))
    assert sums == {p: {"impressions": 2.0 * i} for i, p in enumerate(posts)}
    assert store.missing_hours(posts, ["impressions"], at(0), at(3)) == {}

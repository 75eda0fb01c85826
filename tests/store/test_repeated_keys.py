"""One write that names the same key twice: every store keeps one row for it, as the
memory store does when it applies the write in order, and loses none of the others.

PostgreSQL writes a batch in one statement, and one ``INSERT ... ON CONFLICT`` may not
touch a row twice; SQLite and the memory store write row by row. A batch listing a key
twice must neither fail there (losing the whole write) nor keep two rows.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from automation.core.facts import RuleState
from automation.store import ActionRecord, CycleWrite, FiringRecord, Store, WatchedPostRecord

T0 = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def minutes(n: float) -> datetime:
    return T0 + timedelta(minutes=n)


def firing(fid: str, *, post_id: str = "p1", key: str = "once") -> FiringRecord:
    return FiringRecord(
        id=fid,
        rule_id="r1",
        post_id=post_id,
        key=key,
        kind="fired",
        at=T0,
        metrics={"likes": 100.0},
        actions=(ActionRecord(0, "log", "{}"), ActionRecord(1, "log", "{}")),
    )


def test_a_rule_state_given_twice_keeps_the_last(store: Store) -> None:
    first, last = RuleState(fingerprint="f", fires=1), RuleState(fingerprint="f", fires=2)
    store.commit_cycle(
        CycleWrite(
            at=T0,
            states=(("r1", "p1", first), ("r1", "p2", first), ("r1", "p1", last)),
        )
    )
    assert store.rule_states("r1") == {"p1": last, "p2": first}


def test_a_rule_version_given_twice_keeps_the_last(store: Store) -> None:
    store.commit_cycle(
        CycleWrite(at=T0, rule_versions=(("r1", "aaa"), ("r2", "ccc"), ("r1", "bbb")))
    )
    versions = store.rule_versions()
    assert {r: (v.fingerprint, v.since) for r, v in versions.items()} == {
        "r1": ("bbb", T0),
        "r2": ("ccc", T0),
    }


def test_a_firing_given_twice_is_recorded_and_queued_once(store: Store) -> None:
    result = store.commit_cycle(
        CycleWrite(at=T0, firings=(firing("f1"), firing("f2", post_id="p2"), firing("f1")))
    )
    assert (result.new, result.duplicate) == (("f1", "f2"), ("f1",))
    assert result.queued == ("f1.0", "f1.1", "f2.0", "f2.1")
    assert sorted(e.firing.id for e in store.history()) == ["f1", "f2"]
    assert sorted(a.id for a in store.actions()) == ["f1.0", "f1.1", "f2.0", "f2.1"]


def test_one_hour_counted_twice_in_one_write_keeps_its_last_count(store: Store) -> None:
    hour = T0 - timedelta(hours=2)
    pairs = [(hour, 3.0), (hour + timedelta(hours=1), 4.0), (hour, 5.0)]
    store.record_hourly_counts(hour, T0, {"p1": {"likes": pairs}, "p2": {"likes": pairs[:1]}})
    found = store.hourly(["p1", "p2"], ["likes"], hour, T0)
    assert found["p1"]["likes"].counts == ((hour, 5.0), (hour + timedelta(hours=1), 4.0))
    assert found["p2"]["likes"].counts == ((hour, 3.0),)


def test_a_post_marked_gone_twice_in_one_write_is_gone_once(store: Store) -> None:
    store.upsert_posts(
        WatchedPostRecord(p, "brand", minutes(-60), "timeline", T0) for p in ("p1", "p2")
    )
    store.mark_unavailable(["p1", "p2", "p1"], minutes(5))
    assert store.posts() == []
    assert [p.post_id for p in store.posts(include_unavailable=True)] == ["p1", "p2"]
    assert {p.unavailable_at for p in store.posts(include_unavailable=True)} == {minutes(5)}


def test_a_firing_id_given_twice_is_recorded_for_the_key_that_is_free(store: Store) -> None:
    store.commit_cycle(CycleWrite(at=T0, firings=(firing("f0"),)))  # p1's key is taken
    result = store.commit_cycle(
        CycleWrite(at=minutes(5), firings=(firing("f1"), firing("f1", post_id="p2")))
    )
    assert (result.new, result.duplicate, result.queued) == (("f1",), ("f1",), ("f1.0", "f1.1"))
    assert [(e.firing.id, e.firing.post_id) for e in store.history()] == [
        ("f1", "p2"),
        ("f0", "p1"),
    ]

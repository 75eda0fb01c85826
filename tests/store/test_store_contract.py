"""The Store contract, run against every implementation: what one store does, all do."""

from __future__ import annotations

import dataclasses
import inspect
from datetime import UTC, datetime, timedelta, timezone
from types import MappingProxyType

import pytest

from automation.core.errors import StoreError
from automation.core.facts import RuleState, Snapshot
from automation.core.pauses import ALL_RULES, PauseRecord
from automation.store import (
    ActionRecord,
    ChangeRecord,
    CycleWrite,
    FiringRecord,
    MemoryStore,
    SqliteStore,
    Store,
    WatchedPostRecord,
)
from automation.store.base import STATES_CHANGED
from automation.store.postgres import PostgresStore

T0 = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def minutes(n: float) -> datetime:
    return T0 + timedelta(minutes=n)


def post(post_id: str, *, account: str | None = "brand", source: str = "timeline", **kw):
    fields = {"created_at": minutes(-60), "first_seen": T0, **kw}
    return WatchedPostRecord(post_id=post_id, account=account, source=source, **fields)


def firing(
    fid: str,
    *,
    rule: str = "r1",
    post_id: str = "p1",
    key: str = "once",
    kind: str = "fired",
    at: datetime = T0,
    n_actions: int = 2,
    milestone: int | None = None,
) -> FiringRecord:
    actions = tuple(
        ActionRecord(i, "webhook", f'{{"url":"https://hooks.example/{i}"}}')
        for i in range(n_actions)
    )
    return FiringRecord(
        id=fid,
        rule_id=rule,
        post_id=post_id,
        key=key,
        kind=kind,
        at=at,
        milestone=milestone,
        metrics={"likes": 100.0},
        actions=actions,
    )


# -- watched posts ---------------------------------------------------------------------------


def test_posts_upsert_keeps_first_seen_and_lists_oldest_first(store: Store) -> None:
    store.upsert_posts([post("2", created_at=minutes(-10)), post("1", created_at=minutes(-20))])
    store.upsert_posts(
        [post("2", created_at=minutes(-10), source="explicit", first_seen=minutes(5))]
    )
    posts = store.posts()
    assert [p.post_id for p in posts] == ["1", "2"]
    assert posts[1].source == "explicit"
    assert posts[1].first_seen == T0
    assert posts[0].created_at == minutes(-20)


def test_unavailable_posts_are_hidden_unless_asked(store: Store) -> None:
    store.upsert_posts([post("1"), post("2", account=None, source="explicit")])
    store.mark_unavailable(["2", "unknown"], minutes(1))
    store.mark_unavailable(["2"], minutes(9))
    assert [p.post_id for p in store.posts()] == ["1"]
    hidden = {p.post_id: p for p in store.posts(include_unavailable=True)}
    assert hidden["2"].unavailable_at == minutes(1)
    assert hidden["2"].account is None


def test_one_post_counts_and_the_posts_gone_most_recently(store: Store) -> None:
    store.upsert_posts([post(str(n)) for n in range(1, 6)])
    store.mark_unavailable(["2"], minutes(1))
    store.mark_unavailable(["4"], minutes(3))
    store.mark_unavailable(["3"], minutes(2))
    assert store.post_counts() == {"available": 2, "unavailable": 3}
    assert [p.post_id for p in store.unavailable_posts()] == ["4", "3", "2"]
    assert [p.post_id for p in store.unavailable_posts(limit=1)] == ["4"]
    # every one of them (``automation status``), past the default 20 as well
    store.upsert_posts([post(str(n)) for n in range(10, 35)])
    store.mark_unavailable([str(n) for n in range(10, 35)], minutes(4))
    every = store.unavailable_posts(None)
    assert [p.post_id for p in every] == [*map(str, range(34, 9, -1)), "4", "3", "2"]
    gone = [p for p in store.posts(include_unavailable=True) if p.unavailable_at]
    assert sorted(every, key=str) == sorted(gone, key=str)
    gone = store.post("3")
    assert gone is not None and gone.unavailable_at == minutes(2) and gone.account == "brand"
    assert store.post("1") == store.posts()[0]
    assert store.post("9") is None


def test_times_come_back_in_utc(store: Store) -> None:
    plus2 = timezone(timedelta(hours=2))
    store.upsert_posts([post("1", created_at=datetime(2026, 11, 26, 14, 0, tzinfo=plus2))])
    created = store.posts()[0].created_at
    assert created == T0
    assert created.utcoffset() == timedelta(0)


def test_naive_times_are_refused(store: Store) -> None:
    with pytest.raises(ValueError, match="naive"):
        store.record_totals(datetime(2026, 1, 1), {"1": {"likes": 1}})


def test_since_id_per_account(store: Store) -> None:
    assert store.since_id("brand") is None
    store.set_since_id("brand", "100")
    store.set_since_id("brand", "200")
    store.set_since_id("support", "150")
    assert store.since_id("brand") == "200"
    assert store.since_id("support") == "150"


# -- snapshots ----------------------------------------------------------------------------------


def test_totals_are_written_only_when_changed(store: Store) -> None:
    assert (
        store.record_totals(minutes(0), {"1": {"likes": 1, "replies": 0}, "2": {"likes": 5}}) == 2
    )
    assert (
        store.record_totals(minutes(5), {"1": {"likes": 1, "replies": 0}, "2": {"likes": 6}}) == 1
    )
    assert store.record_totals(minutes(10), {"1": {"likes": 1.0}, "2": {"likes": 6}}) == 0
    assert store.latest_totals(["1", "2", "3"]) == {
        "1": {"likes": 1.0, "replies": 0.0},
        "2": {"likes": 6.0},
    }
    snaps = store.snapshots(["1", "2"], since=minutes(-1))
    assert [s.at for s in snaps["1"]] == [minutes(0)]
    assert [s.at for s in snaps["2"]] == [minutes(0), minutes(5)]


def test_readings_given_as_read_only_views_are_kept_and_compared_as_dicts(store: Store) -> None:
    """The engine's parsed answers are read-only views, which a store may remember as
    they are instead of copying them."""
    first = {"1": MappingProxyType({"likes": 1.0, "replies": 0.0}), "2": MappingProxyType({})}
    assert store.record_totals(minutes(0), first) == 1  # nothing to keep of an empty reading
    assert store.record_hourly_totals(minutes(0), first) == 2
    assert store.record_totals(minutes(5), {"1": {"likes": 1, "replies": 0}}) == 0
    again = {"1": MappingProxyType({"likes": 2.0, "replies": 0.0})}
    assert store.record_totals(minutes(10), again) == 1
    assert store.record_hourly_totals(minutes(10), again) == 1
    assert store.latest_totals(["1", "2"]) == {"1": {"likes": 2.0, "replies": 0.0}}
    snaps = store.snapshots(["1"], since=minutes(-1))["1"]
    assert [(s.at, s.values) for s in snaps] == [
        (minutes(0), {"likes": 1.0, "replies": 0.0}),
        (minutes(10), {"likes": 2.0, "replies": 0.0}),
    ]


def test_a_missing_metric_keeps_its_last_value(store: Store) -> None:
    store.record_totals(minutes(0), {"1": {"likes": 1, "impressions": 50}})
    assert store.record_totals(minutes(5), {"1": {"likes": 2}}) == 1
    assert store.latest_totals(["1"]) == {"1": {"likes": 2.0, "impressions": 50.0}}


def test_snapshots_start_with_the_baseline_at_or_before_since(store: Store) -> None:
    store.record_totals(minutes(0), {"1": {"likes": 1, "replies": 7}})
    store.record_totals(minutes(5), {"1": {"likes": 2, "replies": 7}})
    store.record_totals(minutes(10), {"1": {"likes": 2, "replies": 8}})
    store.record_totals(minutes(15), {"1": {"likes": 4, "replies": 8}})
    snaps = store.snapshots(["1", "absent"], since=minutes(7))
    assert snaps["absent"] == ()
    assert snaps["1"] == (
        Snapshot(minutes(5), {"likes": 2.0, "replies": 7.0}),
        Snapshot(minutes(10), {"likes": 2.0, "replies": 8.0}),
        Snapshot(minutes(15), {"likes": 4.0, "replies": 8.0}),
    )
    exact = store.snapshots(["1"], since=minutes(10))["1"]
    assert [s.at for s in exact] == [minutes(10), minutes(15)]
    before_all = store.snapshots(["1"], since=minutes(-5))["1"]
    assert before_all[0] == Snapshot(minutes(0), {"likes": 1.0, "replies": 7.0})
    assert len(before_all) == 4


def test_pruning_keeps_the_values_as_of_the_cutoff_and_the_latest(store: Store) -> None:
    store.record_totals(minutes(0), {"1": {"likes": 1}, "2": {"likes": 9}})
    store.record_totals(minutes(5), {"1": {"likes": 2}})
    store.record_totals(minutes(10), {"1": {"likes": 3}})
    store.record_totals(minutes(20), {"1": {"likes": 4}})
    deleted = store.prune_snapshots(before=minutes(12))
    assert deleted == 2  # likes at 0 and 5 for post 1; post 2's only value stays
    snaps = store.snapshots(["1", "2"], since=minutes(12))
    assert snaps["1"] == (
        Snapshot(minutes(10), {"likes": 3.0}),
        Snapshot(minutes(20), {"likes": 4.0}),
    )
    assert snaps["2"] == (Snapshot(minutes(0), {"likes": 9.0}),)
    assert store.prune_snapshots(before=minutes(12)) == 0
    assert store.prune_snapshots(before=minutes(100)) == 1
    assert store.latest_totals(["1", "2"]) == {"1": {"likes": 4.0}, "2": {"likes": 9.0}}
    assert store.snapshots(["1"], since=minutes(100))["1"] == (
        Snapshot(minutes(20), {"likes": 4.0}),
    )


def test_a_prune_takes_a_row_whose_newer_one_is_exactly_at_the_cut(store: Store) -> None:
    store.upsert_posts([post("1")])
    store.record_totals(minutes(0), {"1": {"likes": 1}})
    store.record_totals(minutes(100), {"1": {"likes": 2}})
    assert store.prune_snapshots(before=minutes(100)) == 1
    assert store.prune_snapshots(before=minutes(100)) == 0


def test_the_latest_values_outlive_every_prune(store: Store) -> None:
    # the latest values are the newest snapshot rows: a prune past every reading keeps them,
    # for a metric later readings lack and for a post gone unavailable alike
    store.upsert_posts([post("1"), post("2")])
    store.record_totals(minutes(0), {"1": {"likes": 1, "replies": 5}, "2": {"likes": 7}})
    store.record_totals(minutes(5), {"1": {"likes": 2}})
    store.mark_unavailable(["2"], minutes(6))
    assert store.record_totals(minutes(10), {"1": {"likes": 2, "replies": 5}}) == 0
    assert store.prune_snapshots(before=minutes(10_000)) == 1  # likes at 0 for post 1
    assert store.latest_totals(["1", "2", "3"]) == {
        "1": {"likes": 2.0, "replies": 5.0},
        "2": {"likes": 7.0},
    }
    assert store.top("replies", 5) == [("1", 5.0)]
    assert store.top("likes", 5) == [("1", 2.0)]
    assert store.record_totals(minutes(15), {"1": {"likes": 2}, "2": {"likes": 7}}) == 0


def test_top_ranks_available_watched_posts_by_latest_value(store: Store) -> None:
    store.upsert_posts([post("1"), post("2"), post("3"), post("4")])
    store.record_totals(
        minutes(0),
        {
            "1": {"likes": 10},
            "2": {"likes": 30},
            "3": {"likes": 20, "replies": 1},
            "4": {"likes": 99},
            "5": {"likes": 500},  # not watched
        },
    )
    store.record_totals(minutes(5), {"1": {"likes": 40}})
    store.mark_unavailable(["4"], minutes(6))
    assert store.top("likes", 2) == [("1", 40.0), ("2", 30.0)]
    assert store.top("replies", 5) == [("3", 1.0)]
    assert store.top("quote_tweets", 5) == []


# -- rule versions and state ------------------------------------------------------------------


def test_rule_version_since_moves_only_when_the_fingerprint_changes(store: Store) -> None:
    store.commit_cycle(CycleWrite(at=minutes(0), rule_versions=(("r1", "aaa"),)))
    store.commit_cycle(CycleWrite(at=minutes(5), rule_versions=(("r1", "aaa"),)))
    assert store.rule_versions()["r1"].since == minutes(0)
    store.commit_cycle(CycleWrite(at=minutes(10), rule_versions=(("r1", "bbb"),)))
    version = store.rule_versions()["r1"]
    assert (version.fingerprint, version.since) == ("bbb", minutes(10))


def test_rule_states_round_trip(store: Store) -> None:
    full = RuleState(
        fingerprint="f",
        holding_since=minutes(1),
        last_truth=False,
        last_fired_at=minutes(2),
        milestone=3,
        done=True,
        fires=4,
    )
    store.commit_cycle(
        CycleWrite(
            at=T0, states=(("r1", "p1", full), ("r1", "p2", RuleState()), ("r2", "p1", full))
        )
    )
    assert store.rule_states("r1") == {"p1": full, "p2": RuleState()}
    assert store.rule_state("r2", "p1") == full
    assert store.rule_state("r2", "p2") is None
    assert store.rule_states("nope") == {}


# -- ledger and outbox ------------------------------------------------------------------------


def test_commit_cycle_records_firings_and_queues_their_actions(store: Store) -> None:
    result = store.commit_cycle(
        CycleWrite(
            at=T0,
            firings=(firing("f1"), firing("f2", post_id="p2", kind="seeded")),
            rule_versions=(("r1", "fp1"),),
        )
    )
    assert result.new == ("f1", "f2")
    assert result.duplicate == ()
    assert result.queued == ("f1.0", "f1.1")
    assert store.rule_versions()["r1"].fingerprint == "fp1"
    assert [a.id for a in store.claim_actions(T0, 10)] == ["f1.0", "f1.1"]
    assert store.action_counts() == {"pending": 2, "sent": 0, "dead": 0}


def test_the_same_key_fires_once_and_queues_once(store: Store) -> None:
    first = store.commit_cycle(CycleWrite(at=T0, firings=(firing("f1"),)))
    again = store.commit_cycle(CycleWrite(at=minutes(5), firings=(firing("f2"),)))
    twice = store.commit_cycle(
        CycleWrite(at=minutes(6), firings=(firing("f3", key="k"), firing("f4", key="k")))
    )
    assert first.new == ("f1",)
    assert (again.new, again.duplicate, again.queued) == ((), ("f2",), ())
    assert (twice.new, twice.duplicate) == (("f3",), ("f4",))
    assert [e.firing.id for e in store.history()] == ["f3", "f1"]
    assert len(store.actions()) == 4
    assert store.action("f2.0") is None


def test_a_seeded_firing_blocks_its_key_and_queues_nothing(store: Store) -> None:
    result = store.commit_cycle(CycleWrite(at=T0, firings=(firing("s1", kind="seeded"),)))
    assert (result.new, result.queued) == (("s1",), ())
    assert store.actions() == []
    later = store.commit_cycle(CycleWrite(at=minutes(5), firings=(firing("f1"),)))
    assert later.duplicate == ("f1",)
    [entry] = store.history()
    assert entry.firing.kind == "seeded"
    assert entry.actions == ()
    assert entry.firing.actions == ()


def test_commit_cycle_is_all_or_nothing(store: Store) -> None:
    store.commit_cycle(CycleWrite(at=T0, firings=(firing("f1"),)))
    clash = FiringRecord(
        id="f9",
        rule_id="r1",
        post_id="p9",
        key="once",
        kind="fired",
        at=minutes(5),
        actions=(ActionRecord(0, "log", "{}"), ActionRecord(0, "log", "{}")),
    )
    bad = CycleWrite(
        at=minutes(5),
        states=(("r1", "p9", RuleState(fingerprint="x", done=True)),),
        firings=(firing("f8", post_id="p8"), clash),
        rule_versions=(("r1", "changed"),),
    )
    with pytest.raises(StoreError):
        store.commit_cycle(bad)
    assert store.rule_state("r1", "p9") is None
    assert "r1" not in store.rule_versions()
    assert [e.firing.id for e in store.history()] == ["f1"]
    assert store.action_counts()["pending"] == 2
    # The store is still usable, and the failed firings can be recorded later.
    ok = store.commit_cycle(CycleWrite(at=minutes(6), firings=(firing("f8", post_id="p8"),)))
    assert ok.new == ("f8",)


def test_a_reused_firing_id_is_refused(store: Store) -> None:
    store.commit_cycle(CycleWrite(at=T0, firings=(firing("f1"),)))
    with pytest.raises(StoreError):
        store.commit_cycle(CycleWrite(at=minutes(1), firings=(firing("f1", key="other"),)))
    assert len(store.history()) == 1


def test_one_write_giving_a_firing_id_twice_is_refused_whole(store: Store) -> None:
    twice = (firing("f1", key="a", n_actions=0), firing("f1", key="b", n_actions=0))
    with pytest.raises(StoreError):
        store.commit_cycle(CycleWrite(at=T0, firings=twice))
    assert store.history() == [] and store.actions() == []


def ids(items: list) -> list[str]:
    return [a.id for a in items]


def test_claims_hand_out_due_actions_oldest_first_and_each_once(store: Store) -> None:
    store.commit_cycle(CycleWrite(at=T0, firings=(firing("a", n_actions=1),)))
    store.commit_cycle(CycleWrite(at=minutes(5), firings=(firing("b", key="k2", n_actions=1),)))
    store.commit_cycle(CycleWrite(at=minutes(5), firings=(firing("c", key="k3", n_actions=1),)))
    assert ids(store.claim_actions(minutes(1), 10)) == ["a.0"]
    assert ids(store.claim_actions(minutes(5), 1)) == ["b.0"]  # a.0 is held already
    assert ids(store.claim_actions(minutes(5), 10)) == ["c.0"]
    assert store.claim_actions(minutes(9), 10) == []
    # A recorded attempt ends the claim: a retry is handed out again once it is due.
    store.record_attempt(
        "a.0", at=minutes(6), outcome="retry", error="503", next_attempt_at=minutes(20)
    )
    store.record_attempt("b.0", at=minutes(6), outcome="sent", error=None, next_attempt_at=None)
    assert store.claim_actions(minutes(10), 10) == []
    assert ids(store.claim_actions(minutes(20), 10)) == ["a.0"]


def test_claims_leave_the_actions_of_paused_rules_where_they_are(store: Store) -> None:
    store.commit_cycle(CycleWrite(at=T0, firings=(firing("a", rule="held"),)))
    store.commit_cycle(CycleWrite(at=minutes(1), firings=(firing("b", n_actions=1),)))
    assert ids(store.claim_actions(minutes(2), 1, skip_rules={"held"})) == ["b.0"]
    assert store.claim_actions(minutes(2), 10, skip_rules=["held", "r1"]) == []
    assert ids(store.claim_actions(minutes(2), 10)) == ["a.0", "a.1"]


def test_released_actions_are_handed_out_again_without_an_attempt(store: Store) -> None:
    store.commit_cycle(CycleWrite(at=T0, firings=(firing("a"),)))
    assert ids(store.claim_actions(T0, 10)) == ["a.0", "a.1"]
    store.release_actions(["a.0"])
    store.release_actions(["a.1"], due_at=minutes(15))  # e.g. waiting for a write limit
    store.release_actions(["nope", "a.0"])  # unknown or already free: nothing happens
    assert ids(store.claim_actions(minutes(1), 10)) == ["a.0"]
    assert store.action("a.1").next_attempt_at == minutes(15)
    assert store.action("a.1").attempts == 0 and store.attempts("a.1") == []
    assert ids(store.claim_actions(minutes(15), 10)) == ["a.1"]
    store.record_attempt("a.1", at=minutes(16), outcome="sent", error=None, next_attempt_at=None)
    store.release_actions(["a.1"], due_at=minutes(30))  # no longer pending: left alone
    assert store.action("a.1").status == "sent" and store.action("a.1").next_attempt_at is None


def test_outbox_state_machine_with_attempts_and_manual_retry(store: Store) -> None:
    store.commit_cycle(CycleWrite(at=T0, firings=(firing("f1"),)))
    store.record_attempt(
        "f1.0", at=minutes(1), outcome="retry", error="timeout", next_attempt_at=minutes(2)
    )
    store.record_attempt(
        "f1.0", at=minutes(2), outcome="dead", error="410 Gone", next_attempt_at=None
    )
    store.record_attempt("f1.1", at=minutes(1), outcome="sent", error=None, next_attempt_at=None)
    dead = store.action("f1.0")
    assert dead is not None
    assert (dead.status, dead.attempts, dead.last_error) == ("dead", 2, "410 Gone")
    sibling = store.action("f1.1")
    assert sibling is not None and (sibling.status, sibling.attempts) == ("sent", 1)
    assert store.action_counts() == {"pending": 0, "sent": 1, "dead": 1}
    assert [a.id for a in store.actions("dead")] == ["f1.0"]
    attempts = store.attempts("f1.0")
    assert [(a.number, a.outcome, a.error) for a in attempts] == [
        (1, "retry", "timeout"),
        (2, "dead", "410 Gone"),
    ]
    assert attempts[0].next_attempt_at == minutes(2)
    assert attempts[1].at == minutes(2)

    assert store.retry_actions(minutes(3), action_id="f1.1") == []  # sent stays sent
    assert store.retry_actions(minutes(3), action_id="nope") == []
    assert store.retry_actions(minutes(3), action_id="f1.0") == ["f1.0"]
    again = store.action("f1.0")
    assert again is not None and (again.status, again.attempts) == ("pending", 2)
    assert [a.id for a in store.claim_actions(minutes(3), 10)] == ["f1.0"]
    store.record_attempt("f1.0", at=minutes(4), outcome="sent", error=None, next_attempt_at=None)
    assert [a.number for a in store.attempts("f1.0")] == [1, 2, 3]
    assert store.action_counts() == {"pending": 0, "sent": 2, "dead": 0}


def test_record_attempt_refuses_impossible_transitions(store: Store) -> None:
    store.commit_cycle(CycleWrite(at=T0, firings=(firing("f1", n_actions=1),)))
    with pytest.raises(StoreError, match="no action"):
        store.record_attempt("zz.0", at=T0, outcome="sent", error=None, next_attempt_at=None)
    with pytest.raises(StoreError, match="next_attempt_at"):
        store.record_attempt("f1.0", at=T0, outcome="retry", error="x", next_attempt_at=None)
    store.record_attempt("f1.0", at=T0, outcome="sent", error=None, next_attempt_at=None)
    with pytest.raises(StoreError, match="not pending"):
        store.record_attempt("f1.0", at=T0, outcome="dead", error="x", next_attempt_at=None)
    assert [a.outcome for a in store.attempts("f1.0")] == ["sent"]


def test_actions_lists_newest_first_and_filters(store: Store) -> None:
    store.commit_cycle(CycleWrite(at=T0, firings=(firing("a", n_actions=1),)))
    store.commit_cycle(CycleWrite(at=minutes(5), firings=(firing("b", key="2", n_actions=2),)))
    assert [a.id for a in store.actions()] == ["b.1", "b.0", "a.0"]
    assert [a.id for a in store.actions(limit=1)] == ["b.1"]
    assert store.actions("sent") == []
    item = store.action("b.0")
    assert item is not None
    assert (item.firing_id, item.rule_id, item.post_id, item.index) == ("b", "r1", "p1", 0)
    assert item.payload == '{"url":"https://hooks.example/0"}'
    assert item.created_at == minutes(5)


def test_actions_filter_by_rule_post_status_and_time(store: Store) -> None:
    store.commit_cycle(CycleWrite(at=T0, firings=(firing("a", n_actions=1),)))
    store.commit_cycle(
        CycleWrite(at=minutes(5), firings=(firing("b", rule="r2", post_id="p2", n_actions=1),))
    )
    store.record_attempt("a.0", at=minutes(6), outcome="dead", error="400", next_attempt_at=None)
    assert [a.id for a in store.actions(rule_id="r2")] == ["b.0"]
    assert [a.id for a in store.actions(post_id="p1")] == ["a.0"]
    assert [a.id for a in store.actions("dead", rule_id="r1")] == ["a.0"]
    assert store.actions("dead", rule_id="r2") == []
    assert [a.id for a in store.actions(since=minutes(5))] == ["b.0"]
    assert [a.id for a in store.actions(until=minutes(5))] == ["a.0"]


# -- history and rearm -------------------------------------------------------------------------


def test_history_filters_by_kind_and_time_and_counts_firings_per_rule(store: Store) -> None:
    store.commit_cycle(
        CycleWrite(
            at=T0,
            firings=(firing("a"), firing("s", post_id="p2", kind="seeded", n_actions=0)),
        )
    )
    store.commit_cycle(CycleWrite(at=minutes(60), firings=(firing("b", at=minutes(60), key="2"),)))
    store.commit_cycle(
        CycleWrite(at=minutes(90), firings=(firing("c", rule="r2", at=minutes(90)),))
    )
    assert [e.firing.id for e in store.history(kind="seeded")] == ["s"]
    assert [e.firing.id for e in store.history(kind="fired", since=minutes(30))] == ["c", "b"]
    assert [e.firing.id for e in store.history(until=minutes(60))] == ["s", "a"]
    assert [e.firing.id for e in store.history(rule_id="r1", since=T0, until=minutes(61))] == [
        "b",
        "s",
        "a",
    ]
    assert store.firing_counts(T0) == {"r1": 2, "r2": 1}
    assert store.firing_counts(minutes(30)) == {"r1": 1, "r2": 1}
    assert store.firing_counts(T0, kind="seeded") == {"r1": 1}
    assert store.firing_counts(minutes(91)) == {}


def test_changes_made_by_hand_are_kept_newest_first(store: Store) -> None:
    assert store.changes() == []
    store.record_change(ChangeRecord(T0, "alice", "pause", "r1", "launch day"))
    store.record_change(ChangeRecord(minutes(5), "dashboard", "retry", "f1.0"))
    store.record_change(ChangeRecord(minutes(5), "bob", "resume", "r1"))
    changes = store.changes()
    assert [(c.by, c.what, c.target) for c in changes] == [
        ("bob", "resume", "r1"),
        ("dashboard", "retry", "f1.0"),
        ("alice", "pause", "r1"),
    ]
    assert changes[-1].detail == "launch day" and changes[-1].at == T0
    assert len(store.changes(limit=1)) == 1


def test_history_is_newest_first_with_action_statuses(store: Store) -> None:
    store.commit_cycle(CycleWrite(at=T0, firings=(firing("a", milestone=100),)))
    store.commit_cycle(
        CycleWrite(
            at=minutes(5),
            firings=(
                firing("b", post_id="p2", at=minutes(5)),
                firing("c", rule="r2", at=minutes(5), n_actions=0),
            ),
        )
    )
    store.record_attempt("a.1", at=minutes(6), outcome="dead", error="400", next_attempt_at=None)
    entries = store.history()
    assert [e.firing.id for e in entries] == ["c", "b", "a"]
    oldest = entries[-1]
    assert oldest.firing.milestone == 100
    assert oldest.firing.metrics == {"likes": 100.0}
    assert oldest.firing.windows == {}
    assert oldest.firing.at == T0
    assert [(i.id, i.status) for i in oldest.actions] == [("a.0", "pending"), ("a.1", "dead")]
    assert [a.index for a in oldest.firing.actions] == [0, 1]
    assert [e.firing.id for e in store.history(rule_id="r1")] == ["b", "a"]
    assert [e.firing.id for e in store.history(post_id="p1")] == ["c", "a"]
    assert [e.firing.id for e in store.history(rule_id="r1", post_id="p2")] == ["b"]
    assert [e.firing.id for e in store.history(limit=1)] == ["c"]


def test_a_firing_s_windows_read_back_beside_its_totals(store: Store) -> None:
    """What decided a window rule (``likes over 1h``) is kept with the totals; a firing
    without windows, as every one recorded before them, reads back with none."""
    windows = {"likes over 1h": 52.0, "engagement_rate over 30m": 0.125}
    windowed = dataclasses.replace(firing("w", milestone=None), windows=windows)
    store.commit_cycle(CycleWrite(at=T0, firings=(windowed, firing("t", post_id="p2"))))
    got = {e.firing.id: e.firing for e in store.history()}
    assert (got["w"].metrics, got["w"].windows) == ({"likes": 100.0}, windows)
    assert (got["t"].metrics, got["t"].windows) == ({"likes": 100.0}, {})
    assert [f.windows for f in store.rearm("r1", "p1", minutes(1))] == [windows]


def test_rearm_lets_the_same_key_fire_again(store: Store) -> None:
    state = RuleState(fingerprint="f", done=True, fires=1)
    store.commit_cycle(
        CycleWrite(
            at=T0,
            states=(("r1", "p1", state), ("r1", "p2", state), ("r2", "p1", state)),
            firings=(firing("a"), firing("b", post_id="p2"), firing("c", rule="r2")),
        )
    )
    assert [f.id for f in store.rearm("r1", "p1", minutes(1))] == ["a"]
    assert store.rearm("r1", "p1", minutes(2)) == []
    assert store.rule_state("r1", "p1") is None
    assert store.rule_state("r1", "p2") == state
    again = store.commit_cycle(
        CycleWrite(at=minutes(3), firings=(firing("a2"), firing("b2", post_id="p2")))
    )
    assert (again.new, again.duplicate) == (("a2",), ("b2",))
    history = {e.firing.id: e for e in store.history(limit=10)}
    assert history["a"].rearmed_at == minutes(1)
    assert history["a2"].rearmed_at is None
    assert [f.id for f in store.rearm("r1", None, minutes(4))] == ["b", "a2"]  # oldest first
    assert store.rule_states("r1") == {}
    assert store.rule_state("r2", "p1") == state


def test_a_commit_decided_before_a_rearm_does_not_write_back_what_it_forgot(
    store: Store,
) -> None:
    """A cycle reads the count of changes by hand with the states, a rearm commits, then the
    cycle commits: the states the rearm forgot stay forgotten, unless the cycle fired for
    that post; the others, and every state of a write not decided before a rearm, are
    written."""
    state = RuleState(fingerprint="f", done=True, fires=1)
    pairs = [("r1", "p1"), ("r1", "p2"), ("r1", "p3"), ("r2", "p1")]
    store.commit_cycle(CycleWrite(at=T0, states=tuple((r, p, state) for r, p in pairs[:3])))
    store.commit_cycle(CycleWrite(at=T0, firings=(firing("a"), firing("b", post_id="p2"))))
    mark = store.meta(STATES_CHANGED)
    store.rearm("r1", None, minutes(1))  # forgets p1's and p2's states, keeps p3's
    later = RuleState(fingerprint="f", last_truth=False, done=True, fires=1)
    result = store.commit_cycle(
        CycleWrite(
            at=minutes(2),
            states=tuple((r, p, later) for r, p in pairs),
            firings=(firing("c", post_id="p2"),),
            states_mark=(mark,),
        )
    )
    assert result.new == ("c",)
    assert store.rule_state("r1", "p1") is None  # the rearm's forgetting stands
    assert store.rule_state("r1", "p2") == later  # fired again: its state goes with it
    assert store.rule_state("r1", "p3") == later
    assert store.rule_state("r2", "p1") is None  # first decided here: decided again next
    store.commit_cycle(
        CycleWrite(
            at=minutes(3),
            states=tuple((r, p, later) for r, p in pairs),
            states_mark=(store.meta(STATES_CHANGED),),
        )
    )
    assert all(store.rule_state(r, p) == later for r, p in pairs)


def test_rearm_keeps_seeds_unless_asked_and_a_dry_run_changes_nothing(store: Store) -> None:
    state = RuleState(fingerprint="f", done=True, fires=1)
    store.commit_cycle(
        CycleWrite(
            at=T0,
            states=(("r1", "p1", state), ("r1", "p2", state)),
            firings=(firing("s", kind="seeded", n_actions=0), firing("f", post_id="p2")),
        )
    )
    would = store.rearm("r1", None, minutes(1), dry_run=True)
    assert [(f.id, f.post_id, f.kind) for f in would] == [("f", "p2", "fired")]
    assert store.rule_state("r1", "p2") == state  # the dry run changed nothing
    assert all(e.rearmed_at is None for e in store.history(limit=10))

    assert [f.id for f in store.rearm("r1", None, minutes(2))] == ["f"]
    assert store.rule_state("r1", "p2") is None
    assert store.rule_state("r1", "p1") == state  # the seeded post keeps its state
    history = {e.firing.id: e.rearmed_at for e in store.history(limit=10)}
    assert history == {"s": None, "f": minutes(2)}
    again = store.commit_cycle(CycleWrite(at=minutes(3), firings=(firing("s2"),)))
    assert again.duplicate == ("s2",)  # the seed still blocks its key

    assert [f.id for f in store.rearm("r1", "p1", minutes(4), include_seeded=True)] == ["s"]
    assert store.rule_state("r1", "p1") is None


def test_the_oldest_pending_action_is_known(store: Store) -> None:
    assert store.oldest_pending_at() is None
    store.commit_cycle(CycleWrite(at=minutes(1), firings=(firing("f1", n_actions=1),)))
    store.commit_cycle(CycleWrite(at=minutes(5), firings=(firing("f2", post_id="p2"),)))
    assert store.oldest_pending_at() == minutes(1)
    store.record_attempt("f1.0", at=minutes(6), outcome="dead", error="gone", next_attempt_at=None)
    assert store.oldest_pending_at() == minutes(5)


# -- pauses ------------------------------------------------------------------------------------


def test_pauses_are_kept_replaced_and_listed_by_rule(store: Store) -> None:
    assert store.pauses() == []
    held = PauseRecord("r2", minutes(1), "alice", until=minutes(121), reason="launch day")
    store.set_pause(held)
    store.set_pause(PauseRecord(ALL_RULES, minutes(2), "dashboard"))
    assert store.pauses() == [PauseRecord(ALL_RULES, minutes(2), "dashboard"), held]
    resumed = dataclasses.replace(held, resumed_at=minutes(3), resumed_by="bob", catch_up=True)
    store.set_pause(resumed)
    assert store.pauses()[1] == resumed
    assert store.pauses()[1].until is not None and store.pauses()[1].until.tzinfo == UTC


def test_clearing_a_pause_spares_one_set_again_meanwhile(store: Store) -> None:
    store.set_pause(PauseRecord("r1", minutes(1), "alice", resumed_at=minutes(2), resumed_by="a"))
    store.set_pause(PauseRecord("r1", minutes(3), "bob"))  # paused again before it settled
    assert store.clear_pause("r1", minutes(1)) is False
    assert [p.paused_by for p in store.pauses()] == ["bob"]
    assert store.clear_pause("r1", minutes(3)) is True
    assert store.pauses() == []
    assert store.clear_pause("r1", minutes(3)) is False


def test_pauses_survive_reopening(tmp_path) -> None:
    path = tmp_path / "state.db"
    with SqliteStore.open(path) as first:
        first.set_pause(PauseRecord("r1", minutes(1), "alice", reason="ünïcode"))
    with SqliteStore.open(path) as again:
        assert again.pauses() == [PauseRecord("r1", minutes(1), "alice", reason="ünïcode")]


def _settle(store: Store, action_id: str, outcome: str, at: datetime) -> None:
    retry_at = at + timedelta(minutes=1) if outcome == "retry" else None
    store.record_attempt(action_id, at=at, outcome=outcome, error=None, next_attempt_at=retry_at)  # type: ignore[arg-type]


def test_prune_ledger_forgets_old_firings_and_actions_but_never_a_pending_one(
    store: Store,
) -> None:
    old, recent = minutes(-3 * 24 * 60), minutes(-60)
    store.commit_cycle(
        CycleWrite(
            at=old,
            firings=(
                firing("sent", at=old, post_id="p1"),
                firing("dead", at=old, post_id="p2"),
                firing("pending", at=old, post_id="p3"),
                firing("seeded", at=old, post_id="p4", kind="seeded"),
            ),
        )
    )
    store.commit_cycle(CycleWrite(at=recent, firings=(firing("recent", at=recent, post_id="p5"),)))
    for action_id in ("sent.0", "sent.1", "recent.0", "recent.1", "pending.0"):
        _settle(store, action_id, "sent", recent)
    _settle(store, "dead.0", "retry", recent)
    _settle(store, "dead.0", "dead", recent)
    _settle(store, "dead.1", "dead", recent)
    _settle(store, "pending.1", "retry", recent)

    pruned = store.prune_ledger(minutes(-24 * 60))

    assert (pruned.firings, pruned.actions) == (3, 4)
    assert {e.firing.id for e in store.history(limit=10)} == {"pending", "recent"}
    assert {a.id for a in store.actions()} == {"pending.0", "pending.1", "recent.0", "recent.1"}
    assert store.attempts("dead.0") == [] and store.action("sent.0") is None
    assert [a.id for a in store.claim_actions(minutes(10), 10)] == ["pending.1"]
    assert store.action_counts() == {"pending": 1, "sent": 3, "dead": 0}
    assert store.prune_ledger(minutes(-24 * 60)) == pruned.__class__(0, 0)


def test_a_pruned_key_is_free_and_the_rest_of_the_ledger_still_blocks(store: Store) -> None:
    store.commit_cycle(CycleWrite(at=T0, firings=(firing("f1", n_actions=0),)))
    store.commit_cycle(
        CycleWrite(at=minutes(5), firings=(firing("f2", key="k2", at=minutes(5), n_actions=0),))
    )
    store.prune_ledger(minutes(1))
    again = store.commit_cycle(
        CycleWrite(at=minutes(6), firings=(firing("f3", n_actions=0), firing("f4", key="k2")))
    )
    assert again.new == ("f3",) and again.duplicate == ("f4",)


# -- budget and meta ---------------------------------------------------------------------------


def test_budget_ledger_loads_a_window_and_forgets_old_entries(store: Store) -> None:
    base = 1_800_000_000.0
    for t in (base, base + 10, base + 20):
        store.budget_record("totals", t)
    store.budget_record("28hr", base + 15)
    assert store.budget_load("totals", base + 10) == [base + 10, base + 20]
    assert store.budget_load("28hr", 0) == [base + 15]
    store.budget_record("totals", base + 3 * 86400)
    assert store.budget_load("totals", 0) == [base + 3 * 86400]


def test_a_budget_claim_records_only_below_the_allowance(store: Store) -> None:
    base = 1_800_000_000.0
    assert store.budget_claim("engagement", base, base - 60, 2)
    assert store.budget_claim("engagement", base + 1, base - 59, 2)
    assert not store.budget_claim("engagement", base + 2, base - 58, 2)
    assert store.budget_claim("engagement", base + 60, base, 2)  # the first just left
    assert not store.budget_claim("engagement", base + 60.5, base + 0.5, 2)
    assert store.budget_load("engagement", 0) == [base, base + 1, base + 60]
    later = base + 3 * 86400
    assert store.budget_claim("engagement", later, later - 60, 2)  # and old ones pruned
    assert store.budget_load("engagement", 0) == [later]


def test_a_block_claim_records_as_many_as_the_allowance_leaves(store: Store) -> None:
    base = 1_800_000_000.0
    store.budget_record("engagement", base - 30)
    assert store.budget_claim("engagement", base, base - 60, 5, 3) == 3
    assert store.budget_claim("engagement", base + 1, base - 59, 5, 3) == 1  # 4 of 5 used
    assert store.budget_claim("engagement", base + 2, base - 58, 5, 3) == 0
    assert store.budget_load("engagement", base - 60) == [base - 30, *[base] * 3, base + 1]


def test_meta_values(store: Store) -> None:
    assert store.meta("last_cycle") is None
    store.set_meta("last_cycle", '{"posts": 3}')
    store.set_meta("last_cycle", '{"posts": 4}')
    assert store.meta("last_cycle") == '{"posts": 4}'


def test_post_accounts_name_the_owner_of_watched_owned_posts_only(store: Store) -> None:
    store.upsert_posts([post("1"), post("2", account=None), post("3", account="support")])
    store.mark_unavailable(["3"], T0)
    assert store.post_accounts(["1", "2", "3", "4"]) == ["brand", None, "support", None]
    assert store.post_accounts([]) == []
    many = [str(n) for n in range(3, 5000)]  # a long list is read another way
    assert store.post_accounts(iter(many)) == ["support", *[None] * (len(many) - 1)]


@pytest.mark.parametrize("count", [3, 5000], ids=["short list", "long list"])
def test_post_accounts_are_a_column_beside_the_ids_given(store: Store, count: int) -> None:
    """In the order given, one an ID, repeated IDs too."""
    store.upsert_posts([post("11"), post("12", account="support")])
    listed = [*(str(n) for n in range(10, 10 + count)), "11"]
    found = store.post_accounts(listed)
    assert found == [None, "brand", "support", *[None] * (count - 3), "brand"]


def test_covered_posts_are_recent_timeline_posts_of_the_accounts_and_the_named_ones(
    store: Store,
) -> None:
    store.upsert_posts(
        [
            post("old", created_at=minutes(-120)),  # brand, before the cut-off
            post("edge", created_at=minutes(-60)),  # brand, exactly at it
            post("new", created_at=minutes(-10)),
            post("other", account="support", created_at=minutes(-10)),
            post("gone", created_at=minutes(-5)),
            post("named-old", account=None, source="explicit", created_at=minutes(-900)),
            post("named-gone", account=None, source="explicit", created_at=minutes(-900)),
            post("named-timeline", account="support", created_at=minutes(-900)),
            post("both", created_at=minutes(-10)),  # brand's and named: listed once
        ]
    )
    store.mark_unavailable(["gone", "named-gone"], T0)
    named = ["named-old", "named-gone", "named-timeline", "both", "unknown"]
    covered = store.covered_posts(("brand",), named, minutes(-60))
    ids = [p.post_id for p in covered]
    assert ids == ["named-old", "named-timeline", "edge", "both", "new"]
    old = post("named-old", account=None, source="explicit", created_at=minutes(-900))
    assert covered[0] == old
    assert [p.post_id for p in store.covered_posts((), (), minutes(-900))] == []
    assert [p.post_id for p in store.covered_posts(("support",), (), T0)] == []


# -- fetched parts of exports ---------------------------------------------------------------


def test_export_parts_are_kept_per_run_and_forgotten_by_run_or_age(store: Store) -> None:
    store.save_export_parts("run-a", [("p1", minutes(0), '{"v": 1}')])
    store.save_export_parts("run-a", [("p1", minutes(1), '{"v": 2}'), ("p2", minutes(5), "{}")])
    store.save_export_parts("run-b", [("p1", minutes(2), "[]")])
    store.save_export_parts("run-b", [])
    assert store.export_parts("run-a", minutes(0)) == {"p1": '{"v": 2}', "p2": "{}"}
    assert store.export_parts("run-a", minutes(2)) == {"p2": "{}"}  # p1 saved too long ago
    assert store.export_parts("run-c", minutes(0)) == {}
    assert store.forget_export_parts(before=minutes(3)) == 2  # a/p1 and b/p1
    assert store.export_parts("run-b", minutes(0)) == {}
    assert store.forget_export_parts(run="run-a") == 1
    assert store.export_parts("run-a", minutes(0)) == {}
    with pytest.raises(ValueError):
        store.forget_export_parts()


def test_a_batch_of_export_parts_naming_one_part_twice_keeps_the_last(store: Store) -> None:
    batch = [("p1", minutes(0), "old"), ("p2", minutes(0), "two"), ("p1", minutes(1), "new")]
    store.save_export_parts("run-a", batch)
    assert store.export_parts("run-a", minutes(0)) == {"p1": "new", "p2": "two"}
    assert store.export_parts("run-a", minutes(1)) == {"p1": "new"}


@pytest.mark.parametrize("cls", [MemoryStore, SqliteStore, PostgresStore])
def test_every_protocol_method_exists_with_the_same_signature(cls: type) -> None:
    methods = [n for n, v in vars(Store).items() if callable(v) and not n.startswith("_")]
    assert "commit_cycle" in methods
    for name in methods:
        expected = inspect.signature(getattr(Store, name))
        assert inspect.signature(getattr(cls, name)) == expected, name


def test_the_size_is_what_the_database_takes_on_disk(store: Store) -> None:
    size = store.size_bytes()
    if isinstance(store, MemoryStore):
        assert size is None
        return
    assert size is not None and size > 0
    if isinstance(store, SqliteStore):
        files = [store.path, store.path.with_name(f"{store.path.name}-wal")]
        assert size == sum(f.stat().st_size for f in files if f.exists())

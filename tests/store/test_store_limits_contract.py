"""The Store contract for caps, quiet hours and digests, run against every implementation:
capped firings, counting what a cap counts, actions not due before a time, and a digest's
actions handed out and retried together."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from automation.store import ActionRecord, CycleWrite, FiringRecord, SqliteStore, Store

T0 = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def minutes(n: float) -> datetime:
    return T0 + timedelta(minutes=n)


def firing(
    fid: str,
    *,
    rule: str = "r1",
    post_id: str = "p1",
    kind: str = "fired",
    at: datetime = T0,
    actions: tuple[ActionRecord, ...] | None = None,
) -> FiringRecord:
    if actions is None:
        actions = (ActionRecord(0, "log", '{"kind":"log","message":"m"}'),)
    return FiringRecord(
        id=fid,
        rule_id=rule,
        post_id=post_id,
        key="once",
        kind=kind,  # type: ignore[arg-type]
        at=at,
        metrics={"likes": 100.0},
        actions=actions if kind == "fired" else (),
    )


def digest_action(digest: str, due: datetime) -> tuple[ActionRecord, ...]:
    return (ActionRecord(0, "webhook", '{"kind":"webhook"}', due_at=due, digest=digest),)


def test_a_capped_firing_blocks_its_key_queues_nothing_and_shows_in_history(
    store: Store,
) -> None:
    result = store.commit_cycle(CycleWrite(at=T0, firings=(firing("c1", kind="capped"),)))
    assert (result.new, result.queued) == (("c1",), ())
    assert store.actions() == []
    again = store.commit_cycle(CycleWrite(at=minutes(5), firings=(firing("f1"),)))
    assert again.duplicate == ("f1",)
    [entry] = store.history()
    assert (entry.firing.kind, entry.actions) == ("capped", ())


def test_fired_count_counts_firings_that_acted_after_a_moment(store: Store) -> None:
    store.commit_cycle(
        CycleWrite(
            at=T0,
            firings=(
                firing("f1", post_id="p1", at=minutes(0)),
                firing("f2", post_id="p2", at=minutes(10)),
                firing("s1", post_id="p3", at=minutes(10), kind="seeded"),
                firing("c1", post_id="p4", at=minutes(10), kind="capped"),
                firing("o1", post_id="p5", at=minutes(10), rule="other"),
            ),
        )
    )
    assert store.fired_count("r1", minutes(-1)) == 2
    assert store.fired_count("r1", minutes(0)) == 1  # the window starts after the moment
    assert store.fired_count("r1", minutes(10)) == 0
    store.rearm("r1", "p1", minutes(20))
    assert store.fired_count("r1", minutes(-1)) == 2  # a rearmed firing still acted
    assert store.fired_count("nobody", minutes(-1)) == 0


def test_rearm_frees_a_capped_firing_too(store: Store) -> None:
    store.commit_cycle(CycleWrite(at=T0, firings=(firing("c1", kind="capped"),)))
    assert [f.id for f in store.rearm("r1", None, minutes(1))] == ["c1"]
    assert store.commit_cycle(CycleWrite(at=minutes(2), firings=(firing("f1"),))).new == ("f1",)


def test_an_action_due_later_waits_until_then(store: Store) -> None:
    late = (ActionRecord(0, "log", '{"kind":"log","message":"m"}', due_at=minutes(60)),)
    store.commit_cycle(
        CycleWrite(at=T0, firings=(firing("f1", actions=late), firing("f2", post_id="p2")))
    )
    assert [a.id for a in store.claim_actions(minutes(59), 10)] == ["f2.0"]
    waiting = store.action("f1.0")
    assert waiting is not None
    assert waiting.next_attempt_at == minutes(60) and waiting.created_at == T0
    assert [a.id for a in store.claim_actions(minutes(60), 10)] == ["f1.0"]


def test_a_digest_is_handed_out_whole_even_past_the_limit(store: Store) -> None:
    key = "digest.r1.0.20261126T120000Z"
    store.commit_cycle(
        CycleWrite(
            at=T0,
            firings=(
                firing("f1", post_id="p1", actions=digest_action(key, minutes(15))),
                firing("f2", post_id="p2", actions=digest_action(key, minutes(15))),
                firing("f3", post_id="p3", actions=digest_action(key, minutes(15))),
                firing("g1", post_id="p4", actions=digest_action("other", minutes(15))),
            ),
        )
    )
    assert store.claim_actions(minutes(14), 10) == []
    claimed = store.claim_actions(minutes(15), 1)
    assert [(a.id, a.digest) for a in claimed] == [
        ("f1.0", key),
        ("f2.0", key),
        ("f3.0", key),
    ]
    assert [a.id for a in store.claim_actions(minutes(15), 10)] == ["g1.0"]
    [entry] = store.history(post_id="p2")
    assert entry.actions[0].digest == key


def test_a_digest_hands_out_only_its_actions_still_pending(store: Store) -> None:
    store.commit_cycle(
        CycleWrite(
            at=T0,
            firings=(
                firing("f1", post_id="p1", actions=digest_action("d", minutes(15))),
                firing("f2", post_id="p2", actions=digest_action("d", minutes(15))),
                firing("f3", post_id="p3", actions=digest_action("d", minutes(15))),
            ),
        )
    )
    assert len(store.claim_actions(minutes(15), 10)) == 3
    store.record_attempt(
        "f1.0", at=minutes(15), outcome="retry", error="503", next_attempt_at=minutes(20)
    )
    store.record_attempt(
        "f2.0", at=minutes(15), outcome="dead", error="bad row", next_attempt_at=None
    )
    store.record_attempt("f3.0", at=minutes(15), outcome="sent", error=None, next_attempt_at=None)
    assert [a.id for a in store.claim_actions(minutes(20), 10)] == ["f1.0"]


def test_retrying_a_dead_action_of_a_digest_retries_the_whole_digest(store: Store) -> None:
    key = "digest.r1.0.20261126T120000Z"
    store.commit_cycle(
        CycleWrite(
            at=T0,
            firings=(
                firing("f1", post_id="p1", actions=digest_action(key, minutes(15))),
                firing("f2", post_id="p2", actions=digest_action(key, minutes(15))),
            ),
        )
    )
    for item in store.claim_actions(minutes(15), 10):
        store.record_attempt(
            item.id, at=minutes(15), outcome="dead", error="410", next_attempt_at=None
        )
    assert store.retry_actions(minutes(30), action_id="f2.0") == ["f1.0", "f2.0"]
    assert [a.id for a in store.claim_actions(minutes(30), 1)] == ["f1.0", "f2.0"]


def test_every_dead_action_or_every_one_of_a_rule_is_requeued_at_once(store: Store) -> None:
    # After a receiver's outage an operator re-queues dozens of dead actions in one go.
    store.commit_cycle(
        CycleWrite(
            at=T0,
            firings=(
                firing("a1", rule="r1", post_id="p1"),
                firing("a2", rule="r1", post_id="p2"),
                firing("b1", rule="r2", post_id="p1"),
                firing("b2", rule="r2", post_id="p2"),
                firing("c1", rule="r3", post_id="p1"),
                firing("d1", rule="r4", post_id="p1", actions=digest_action("d", minutes(15))),
                firing("d2", rule="r4", post_id="p2", actions=digest_action("d", minutes(15))),
            ),
        )
    )
    for item in store.claim_actions(minutes(15), 10):
        sent = item.id == "c1.0"
        store.record_attempt(
            item.id,
            at=minutes(15),
            outcome="sent" if sent else "dead",
            error=None if sent else "503",
            next_attempt_at=None,
        )
    # the dashboard offers "Retry its N dead" on a rule's page, counted per rule
    assert store.action_counts(rule_id="r1") == {"pending": 0, "sent": 0, "dead": 2}
    assert store.action_counts(rule_id="r3") == {"pending": 0, "sent": 1, "dead": 0}
    assert store.action_counts(rule_id="nope") == {"pending": 0, "sent": 0, "dead": 0}
    assert store.action_counts() == {"pending": 0, "sent": 1, "dead": 6}
    assert store.retry_actions(minutes(20), rule_id="nope") == []
    assert store.retry_actions(minutes(20), rule_id="r3") == []  # sent stays sent
    assert store.retry_actions(minutes(20), rule_id="r1") == ["a1.0", "a2.0"]
    assert store.action_counts() == {"pending": 2, "sent": 1, "dead": 4}
    assert store.retry_actions(minutes(30)) == ["b1.0", "b2.0", "d1.0", "d2.0"]
    assert store.retry_actions(minutes(30)) == []
    assert store.action_counts() == {"pending": 6, "sent": 1, "dead": 0}
    again = store.action("b1.0")
    assert again is not None and (again.attempts, again.next_attempt_at) == (1, minutes(30))


def test_digests_survive_reopening(tmp_path) -> None:
    path = tmp_path / "state.db"
    store = SqliteStore.open(path)
    store.commit_cycle(
        CycleWrite(at=T0, firings=(firing("f1", actions=digest_action("d", minutes(15))),))
    )
    store.close()
    store = SqliteStore.open(path)
    [item] = store.claim_actions(minutes(15), 10)
    assert (item.digest, item.next_attempt_at) == ("d", minutes(15))
    store.close()


def test_actions_are_handed_out_earliest_due_first_whenever_queued(store: Store) -> None:
    held = (ActionRecord(0, "log", '{"kind":"log","message":"m"}', due_at=minutes(30)),)
    store.commit_cycle(CycleWrite(at=T0, firings=(firing("f1", actions=held),)))
    store.commit_cycle(CycleWrite(at=minutes(10), firings=(firing("f2", post_id="p2"),)))
    store.commit_cycle(CycleWrite(at=minutes(20), firings=(firing("f3", post_id="p3"),)))
    assert [a.id for a in store.claim_actions(minutes(40), 10)] == ["f2.0", "f3.0", "f1.0"]

"""Pauses in the cycle, on a clock moved by hand: a pause for a while ends by itself and
then seeds; one engine says once what it holds back; a resume waits for a complete cycle."""

from __future__ import annotations

from datetime import timedelta

from cycle_world import NOW, CycleWorld

from automation.core.pauses import PauseRecord
from automation.core.rules import Leaf, Rule, Watch
from automation.engine.events import FiredEvent, PauseEvent
from automation.engine.pauses import pause, resume

HOUR = timedelta(hours=1)
LIKED = Leaf("favorites", "gte", 100, written="likes")


def post_id(n: int) -> str:
    """A post ID (its time is in it) of a post made an hour before the test starts."""
    ms = int((NOW - HOUR).timestamp() * 1000) - 1288834974657
    return str((ms << 22) + n)


A, B = post_id(1), post_id(2)


def world(*posts: str) -> CycleWorld:
    w = CycleWorld([Rule(id="r", watch=Watch(posts=posts, owner="brand"), when=LIKED)])
    w.metrics.values = {"favorites": 10.0}
    return w


def kinds(w: CycleWorld) -> list[tuple[str, str]]:
    out = []
    for e in w.events:
        if isinstance(e, FiredEvent | PauseEvent):
            out.append((e.event, getattr(e, "post", "")))
    w.events.clear()
    return out


def test_a_pause_for_a_while_ends_by_itself_and_seeds_what_crossed() -> None:
    w = world(A)
    engine = w.engine()
    engine.cycle()
    pause(w.store, "r", who="alice", now=w.now, until=w.now + 2 * HOUR, known_rules={"r"})
    w.metrics.values = {"favorites": 150.0}
    w.now += HOUR
    engine.cycle()
    assert kinds(w) == [("paused", ""), ("held", A)]
    engine.cycle()  # the same engine says it once
    assert kinds(w) == []
    w.now += HOUR  # the pause's end
    engine.cycle()
    assert kinds(w) == [("seeded", A), ("resumed", "")]
    assert w.store.pauses() == []
    w.now += HOUR
    engine.cycle()
    assert kinds(w) == []  # the seed blocks the key: nothing fires later either


def test_a_resume_is_settled_only_after_a_cycle_that_saw_every_post() -> None:
    w = world(A, B)
    engine = w.engine()
    engine.cycle()
    pause(w.store, "r", who="alice", now=w.now, known_rules={"r"})
    resume(w.store, "r", who="bob", now=w.now)
    w.metrics.values = {"favorites": 150.0}
    w.metrics.unavailable = set()
    w.metrics.forbidden = {B}  # not answered this time
    w.now += HOUR
    engine.cycle()
    assert ("seeded", A) in kinds(w)
    assert len(w.store.pauses()) == 1  # B was not evaluated: still resuming
    w.metrics.forbidden = set()
    w.now += HOUR
    engine.cycle()
    assert kinds(w) == [("seeded", B), ("resumed", "")]
    assert w.store.pauses() == []


def test_a_rule_paused_again_before_its_resume_settled_stays_paused() -> None:
    w = world(A)
    engine = w.engine()
    engine.cycle()
    pause(w.store, "r", who="alice", now=w.now, known_rules={"r"})
    resume(w.store, "r", who="bob", now=w.now)
    w.now += HOUR
    pause(w.store, "r", who="carol", now=w.now, known_rules={"r"})
    w.metrics.values = {"favorites": 150.0}
    engine.cycle()
    assert kinds(w) == [("paused", ""), ("held", A)]
    assert [p.paused_by for p in w.store.pauses()] == ["carol"]
    assert w.store.pauses()[0] == PauseRecord("r", w.now, "carol")


def test_a_pause_holds_across_a_restart_and_the_new_engine_says_so() -> None:
    w = world(A)
    w.engine().cycle()
    pause(w.store, "r", who="alice", now=w.now, known_rules={"r"})
    w.metrics.values = {"favorites": 150.0}
    w.now += HOUR
    w.engine().cycle()  # a restarted engine: the pause is in the store, not in memory
    assert kinds(w) == [("paused", ""), ("held", A)]
    w.now += HOUR
    restarted = w.engine()
    restarted.cycle()
    assert kinds(w) == [("paused", ""), ("held", A)]
    assert w.store.history() == []


def test_a_pause_that_ended_while_the_engine_was_stopped_seeds_at_its_first_cycle() -> None:
    w = world(A)
    engine = w.engine()
    engine.cycle()
    pause(w.store, "r", who="alice", now=w.now, until=w.now + 2 * HOUR, known_rules={"r"})
    w.metrics.values = {"favorites": 150.0}
    w.now += HOUR
    engine.cycle()
    assert kinds(w) == [("paused", ""), ("held", A)]
    w.now += 5 * HOUR  # stopped over the pause's end
    w.engine().cycle()
    assert kinds(w) == [("seeded", A), ("resumed", "")]
    assert w.store.pauses() == []
    w.now += HOUR
    w.engine().cycle()
    assert kinds(w) == []  # never fires for what crossed while paused


def test_a_resume_not_settled_before_a_restart_is_settled_by_the_next_engine() -> None:
    w = world(A, B)
    w.engine().cycle()
    pause(w.store, "r", who="alice", now=w.now, known_rules={"r"})
    resume(w.store, "r", who="bob", now=w.now)
    w.metrics.values = {"favorites": 150.0}
    w.metrics.forbidden = {B}
    w.now += HOUR
    w.engine().cycle()
    assert ("seeded", A) in kinds(w)
    w.metrics.forbidden = set()
    w.now += HOUR
    w.engine().cycle()  # restarted before B was seen
    assert kinds(w) == [("seeded", B), ("resumed", "")]
    assert w.store.pauses() == []
    assert [(e.firing.post_id, e.firing.kind) for e in w.store.history()] == [
        (B, "seeded"),
        (A, "seeded"),
    ]


def test_a_rule_paused_before_its_first_cycle_seeds_when_resumed_with_catch_up() -> None:
    w = world(A)
    w.metrics.values = {"favorites": 150.0}  # past the threshold before the rule arrived
    pause(w.store, "r", who="alice", now=w.now, known_rules={"r"})
    engine = w.engine()
    engine.cycle()
    assert kinds(w) == [("paused", "")]  # a new rule would seed A: nothing is held
    w.now += HOUR
    resume(w.store, "r", who="bob", now=w.now, catch_up=True)
    engine.cycle()
    # catching up fires what crossed during the pause, never what met a new rule at once
    assert kinds(w) == [("seeded", A), ("resumed", "")]


def test_a_rule_resumed_with_catch_up_but_lifted_from_pause_all_without_it_seeds() -> None:
    w = world(A)
    engine = w.engine()
    engine.cycle()
    pause(w.store, "r", who="alice", now=w.now, known_rules={"r"})
    pause(w.store, "*", who="carol", now=w.now, known_rules={"r"})
    w.metrics.values = {"favorites": 150.0}
    w.now += HOUR
    resume(w.store, "r", who="bob", now=w.now, catch_up=True)
    resume(w.store, "*", who="carol", now=w.now)
    engine.cycle()
    # every pause that held the rule must have asked to catch up
    assert kinds(w) == [("seeded", A), ("resumed", ""), ("resumed", "")]

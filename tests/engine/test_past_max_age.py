"""Posts past every rule's max_age leave the engine, never the store: not polled, not held,
not walked; the store keeps them and their rule states for the commands, and new rules
reaching them again (a reload lengthening max_age, a rule added) find them with their
states: a ``once`` rule that fired does not fire again."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from cycle_world import NOW, CycleWorld, Timelines

from automation.core.evaluate import compile_rules
from automation.core.fetch_plan import plan_fetch
from automation.core.records import WatchedPostRecord
from automation.core.rules import Leaf, Rule, Watch
from automation.engine.cycle import Engine
from automation.engine.events import FiredEvent
from automation.engine.known_posts import KnownPosts
from automation.engine.running_rules import LoadedRules
from automation.store.base import Store
from automation.store.memory import MemoryStore
from automation.store.sqlite import SqliteStore
from automation.x.v2_client import DiscoveredPost

DAY = timedelta(days=1)
LIKES = Rule(
    id="likes",
    watch=Watch(accounts=("brand",), max_age=86_400, max_age_set=True),
    when=Leaf("favorites", "gte", 5),
)
NAMED = Rule(id="named", watch=Watch(posts=("900",)), when=Leaf("favorites", "gte", 5))


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "memory":
        yield MemoryStore()
    else:
        with SqliteStore.open(tmp_path / "automation.db") as opened:
            yield opened


def _world(store: Store, rules: list[Rule]) -> CycleWorld:
    """Brand's posts 1001 (now) and 1002 (an hour later); 900 named, public."""
    posts = [DiscoveredPost("1002", NOW + timedelta(hours=1), ""), DiscoveredPost("1001", NOW, "")]
    world = CycleWorld(rules, store=store, timelines=Timelines({"brand": []}))
    world.metrics.values = {"favorites": 1.0}
    world.timelines.posts["brand"] = posts
    return world


def _cycle_at(world: CycleWorld, engine: Engine, at: timedelta) -> set[str]:
    """A cycle at NOW + ``at``: the posts it asked for."""
    world.now = NOW + at
    world.metrics.requests.clear()
    engine.cycle()
    return world.metrics.asked()


def _fired(world: CycleWorld) -> list[tuple[str, str]]:
    return [(e.rule, e.post) for e in world.events if isinstance(e, FiredEvent)]


def test_a_post_past_every_max_age_is_not_polled_held_or_walked_but_kept(store):
    world = _world(store, [LIKES, NAMED])
    engine = world.engine()
    assert _cycle_at(world, engine, timedelta(hours=2)) == {"1001", "1002", "900"}  # seeds none
    world.metrics.values = {"favorites": 9.0}
    _cycle_at(world, engine, timedelta(hours=3))
    assert _fired(world) == [("likes", "1001"), ("likes", "1002"), ("named", "900")]
    # 1001 is a day old at NOW + 1d: past the rule's max_age, and so past every one
    assert _cycle_at(world, engine, DAY + timedelta(minutes=30)) == {"1002", "900"}
    assert set(engine._known.by_id) == {"1002", "900"}
    assert all("1001" not in states for states in engine._kept.values())
    assert _cycle_at(world, engine, 30 * DAY) == {"900"}  # named posts never age out
    assert set(engine._known.by_id) == {"900"}
    assert all(set(states) <= {"900"} for states in engine._kept.values())
    # the store keeps every post, its state and its firing, for the commands that show them
    assert {p.post_id for p in store.posts(include_unavailable=True)} == {"1001", "1002", "900"}
    assert store.rule_state("likes", "1001").done
    assert [h.firing.post_id for h in store.history("likes")] == ["1002", "1001"]
    assert len(_fired(world)) == 3


@pytest.mark.parametrize("change", ["longer max_age", "a rule added"])
def test_new_rules_reaching_an_aged_post_find_its_once_state(store, change):
    """1001 fired under ``likes`` and aged out of it; new rules reach it again: it is
    polled again, ``likes`` does not fire for it twice, and the running engine decides
    what a new engine started with the new rules (reading everything from its store,
    after the same cycles) decides."""
    longer = replace(LIKES, watch=replace(LIKES.watch, max_age=7 * 86_400))
    rules = [longer] if change == "longer max_age" else [LIKES, replace(longer, id="likes-week")]
    worlds = [_world(store, [LIKES]), _world(MemoryStore(), [LIKES])]
    engines = [w.engine() for w in worlds]
    for world, engine in zip(worlds, engines, strict=True):
        _cycle_at(world, engine, timedelta(hours=2))
        world.metrics.values = {"favorites": 9.0}
        _cycle_at(world, engine, timedelta(hours=3))
        assert _cycle_at(world, engine, 2 * DAY) == set()
        assert engine._known.by_id == {}
        world.events.clear()
    running, restarted = worlds
    engines[0].rules = LoadedRules(rules=compile_rules(rules), files=())  # as a reload does
    restarted.rules = rules
    asked = _cycle_at(running, engines[0], 2 * DAY + timedelta(minutes=5))
    assert asked == {"1001", "1002"}
    assert _cycle_at(restarted, restarted.engine(), 2 * DAY + timedelta(minutes=5)) == asked
    assert running.events[:-1] == restarted.events[:-1]  # the last: the cycle's duration
    assert ("likes", "1001") not in _fired(running)
    assert engines[0]._known.by_id.keys() == {"1001", "1002"}


def _post(post_id: str, account: str | None, days: float, source: str) -> WatchedPostRecord:
    created = NOW - timedelta(days=days)
    return WatchedPostRecord(post_id, account, created, source, created)  # type: ignore[arg-type]


def test_the_kept_posts_are_those_in_reach_and_plan_as_every_post_does():
    """At each moment the posts held are those some rule may still watch (named, or young
    enough for a rule watching their account), in the store's order, and the plan over
    them is the plan over every stored post."""
    posts = [
        _post(str(2000 + i), account, days, source)
        for i, (account, days, source) in enumerate(
            (a, d, s)
            for a in ("brand", "support", "other", None)
            for d in (0.5, 1.5, 2.5, 4, 8, 30)
            for s in ("timeline", "explicit")
        )
    ]
    rules = compile_rules(
        [
            Rule(id="b", watch=Watch(accounts=("brand",), max_age=2 * 86_400), when=LIKES.when),
            Rule(id="s", watch=Watch(accounts=("support",), max_age=86_400), when=LIKES.when),
            Rule(id="n", watch=Watch(posts=("2001", "2046", "2003")), when=LIKES.when),
            Rule(
                id="m",
                watch=Watch(posts=("2045",), max_age=86_400, max_age_set=True),
                when=LIKES.when,
            ),
        ]
    )
    store = MemoryStore()
    store.upsert_posts(posts)
    store.mark_unavailable(["2000", "2013"], NOW)
    known = KnownPosts(store)
    assert known.read(rules, NOW) is None  # the first rules: read in full
    assert known.take_changed() is None
    for hours in range(0, 24 * 9, 6):
        now = NOW + timedelta(hours=hours)
        before = dict(known.by_id)
        gone = known.read(rules, now)
        every = store.posts(include_unavailable=True)
        reach = [
            p
            for p in every
            if p.post_id in {"2001", "2046", "2003", "2045"}
            or (p.source == "timeline" and p.account == "brand" and p.created_at >= now - 2 * DAY)
            or (p.source == "timeline" and p.account == "support" and p.created_at >= now - DAY)
        ]
        assert list(known.by_id.values()) == reach
        assert gone == before.keys() - known.by_id.keys()
        assert known.take_changed() >= gone
        whole, kept = plan_fetch(rules, every, now), plan_fetch(rules, known.by_id, now)
        assert list(kept.posts.items()) == list(whole.posts.items())
        assert kept.watched == whole.watched
    assert store.posts(include_unavailable=True) == every  # nothing written, nothing deleted

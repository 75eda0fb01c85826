"""The cycle's steps against scripted edges: discovery, watching and what is recorded."""

from __future__ import annotations

from datetime import timedelta

from cycle_world import NOW, CycleWorld

from automation.core.rules import Leaf, Rule, Watch
from automation.x.v2_client import DiscoveredPost

HOUR = timedelta(hours=1)
LIKED = Leaf("favorites", "gte", 1, written="likes")


def test_posts_found_before_another_timeline_fails_are_kept_with_their_since_id() -> None:
    world = CycleWorld([Rule(id="r", watch=Watch(accounts=("brand", "support")), when=LIKED)])
    world.timelines.posts["brand"] = [DiscoveredPost("2000", NOW - HOUR, "")]
    world.timelines.failing.add("support")
    result = world.engine().cycle()
    assert result.errors == ["discover: timeline of support: HTTP 503"]
    # the next read starts after 2000, so 2000 must be watched already
    assert world.store.since_id("brand") == "2000"
    assert [p.post_id for p in world.store.posts()] == ["2000"]
    assert result.posts == 1 and world.metrics.asked() == {"2000"}


def test_a_rule_fires_for_a_post_it_names_however_old() -> None:
    named = "1260294888811347969"  # written in May 2020
    world = CycleWorld([Rule(id="r", watch=Watch(posts=(named,)), when=LIKED)])
    world.metrics.values = {"favorites": 0.0}
    engine = world.engine()
    assert engine.cycle().posts == 1
    world.metrics.values = {"favorites": 3.0}
    world.now += timedelta(minutes=5)
    fired = engine.cycle()
    assert (fired.posts, fired.fired) == (1, 1)
    assert [(f.firing.rule_id, f.firing.post_id) for f in world.store.history()] == [("r", named)]

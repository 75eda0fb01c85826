"""A firing over its rule's limit is reported as a ``capped`` event (rule, post, key), not a
``fired`` one, in ``run --json`` and the logs, and counted in the cycle's event."""

from __future__ import annotations

import json
from datetime import timedelta

from cycle_world import NOW, CycleWorld

from automation.core.rules import Leaf, Limit, LogAction, Rule, Watch
from automation.core.templates import parse_template
from automation.engine.events import CycleEvent, FiredEvent, to_json
from automation.service.run import describe

POSTS = ("1860000000000000001", "1860000000000000002", "1860000000000000003")


def test_a_firing_over_the_limit_is_a_capped_event() -> None:
    rule = Rule(
        id="r",
        watch=Watch(posts=POSTS),
        when=Leaf("favorites", "gte", 1.0),
        limit=Limit(max=2, per=86400),
        actions=(LogAction(parse_template("x")),),
    )
    world = CycleWorld([rule])
    world.metrics.values = {"favorites": 0.0}
    engine = world.engine()
    engine.cycle()
    world.metrics.values = {"favorites": 5.0}
    world.now = NOW + timedelta(minutes=5)
    result = engine.cycle()
    assert (result.fired, result.capped) == (2, 1)
    firings = [e for e in world.events if isinstance(e, FiredEvent)]
    assert [e.event for e in firings] == ["fired", "fired", "capped"]
    capped = firings[-1]
    assert json.loads(to_json(capped))["event"] == "capped"
    assert describe(capped).startswith(f"capped rule=r post={capped.post} key=once")
    cycle = [e for e in world.events if isinstance(e, CycleEvent)][-1]
    assert cycle.capped == 1 and "capped=1" in describe(cycle)
    assert len(world.store.actions()) == 2  # the capped firing queued nothing

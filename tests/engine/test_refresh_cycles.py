"""Cycles whose request budget cannot read every watched post: what they read, and when."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import timedelta
from types import MappingProxyType

from cycle_world import NOW, CycleWorld, Timelines

from automation.core.rules import Leaf, Rule, Watch
from automation.engine.events import CycleEvent, FiredEvent
from automation.x.engagement_client import FetchResult
from automation.x.engagement_plan import EngagementRequest
from automation.x.v2_client import DiscoveredPost

INTERVAL = timedelta(minutes=5)
RISING = "900000"  # gains 3 likes a minute from 40 at NOW; every other post stays at 5


@dataclass
class Likes:
    """Answers /totals with each post's likes at the world's moment."""

    world: CycleWorld | None = None
    requests: list[list[EngagementRequest]] = field(default_factory=list)

    def fetch(self, requests: Iterable[EngagementRequest]) -> FetchResult:
        assert self.world is not None
        planned = list(requests)
        self.requests.append(planned)
        minutes = (self.world.now - NOW).total_seconds() / 60
        asked = [pid for r in planned if r.endpoint == "totals" for pid in r.tweet_ids]
        return FetchResult(
            totals=MappingProxyType(
                {pid: {"favorites": 40 + 3 * minutes if pid == RISING else 5.0} for pid in asked}
            ),
            hourly=MappingProxyType({}),
            unavailable=frozenset(),
            unsupported=MappingProxyType({}),
            forbidden=frozenset(),
            errors=(),
            failures=(),
            requests_sent=len(planned),
        )


def world(posts: int) -> tuple[CycleWorld, Likes]:
    ids = [RISING, *(str(100000 + i) for i in range(posts - 1))]
    timelines = Timelines(
        {"brand": [DiscoveredPost(pid, NOW - timedelta(hours=30), "") for pid in ids]}
    )
    rule = Rule(id="likes", watch=Watch(accounts=("brand",)), when=Leaf("favorites", "gte", 100))
    likes = Likes()
    w = CycleWorld([rule], timelines=timelines)
    w.metrics = likes  # type: ignore[assignment]
    likes.world = w
    return w, likes


def run(w: CycleWorld, per_minute: int, cycles: int):
    engine = w.engine()
    config = engine.config
    engine.config = replace(
        config, engagement_api=replace(config.engagement_api, requests_per_minute=per_minute)
    )
    for n in range(cycles):
        w.now = NOW + n * INTERVAL
        engine.cycle()
    return [e for e in w.events if isinstance(e, CycleEvent)]


def test_a_short_budget_reads_the_post_about_to_cross_every_cycle_and_catches_it_at_once():
    w, likes = world(3000)  # 12 requests read every post; 5 are allowed

    cycles = run(w, per_minute=1, cycles=8)

    # the first cycle seeds the new rule: it must read every post once
    assert len(likes.requests[0]) == 12 and cycles[0].refreshed == 3000
    assert all(len(sent) <= 5 for sent in likes.requests[1:])
    assert all(c.posts == 3000 and c.refreshed <= 1250 for c in cycles[1:])
    # read again in turn at 12:15 (85 likes: 3 a minute since 12:00), so at 12:20 it is
    # projected to have crossed: read in the cycle's last request, and fired at once
    assert RISING in likes.requests[4][-1].tweet_ids
    fired = [e for e in w.events if isinstance(e, FiredEvent) and e.event == "fired"]
    assert [(e.post, e.at) for e in fired] == [(RISING, "2026-11-20T12:20:00Z")]  # 100 at 12:20


def test_every_post_is_read_within_max_staleness_and_the_ages_are_reported():
    w, _ = world(3000)

    cycles = run(w, per_minute=1, cycles=26)  # two hours

    assert all(c.refresh_age_oldest is not None for c in cycles)
    oldest = max(c.refresh_age_oldest or 0 for c in cycles)
    assert 0 < oldest <= 3600  # max_staleness, the default
    assert all((c.refresh_age_median or 0) <= (c.refresh_age_oldest or 0) for c in cycles)
    last = json.loads(w.store.meta("last_cycle") or "{}")
    assert last["refreshed"] == cycles[-1].refreshed < last["posts"] == 3000
    assert last["refresh_age"] == {
        "median": cycles[-1].refresh_age_median,
        "oldest": cycles[-1].refresh_age_oldest,
    }


def test_a_budget_that_covers_every_post_reads_them_all_every_cycle():
    w, likes = world(3000)  # 15 requests allowed, 12 needed

    cycles = run(w, per_minute=3, cycles=3)

    assert [len(sent) for sent in likes.requests] == [12, 12, 12]
    assert all(c.refreshed == c.posts == 3000 and c.refresh_age_oldest == 0 for c in cycles)

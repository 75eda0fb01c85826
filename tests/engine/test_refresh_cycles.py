"""Cycles whose request budget cannot read every watched post: what they read, and when."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import timedelta
from types import MappingProxyType

from cycle_world import NOW, CycleWorld, Timelines

from automation.core.errors import ServerFailed
from automation.core.facts import RuleState
from automation.core.records import CycleWrite
from automation.core.refresh_schedule import refresh_ages
from automation.core.rules import Leaf, Rearm, Rule, Watch
from automation.engine.events import CycleEvent, FiredEvent
from automation.engine.refresh import StatesSeen
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
    failing: bool = False  # one request fails for good
    quiet_left_out: bool = False  # the answers carry no values for the posts at 5 likes

    def fetch(self, requests: Iterable[EngagementRequest], compact: object = None) -> FetchResult:
        assert self.world is not None
        planned = list(requests)
        self.requests.append(planned)
        minutes = (self.world.now - NOW).total_seconds() / 60
        asked = [pid for r in planned if r.endpoint == "totals" for pid in r.tweet_ids]
        values = {pid: {"favorites": 40 + 3 * minutes if pid == RISING else 5.0} for pid in asked}
        if self.quiet_left_out:
            values = {RISING: values[RISING]} if RISING in values else {}
        return FetchResult(
            totals=MappingProxyType(values),
            hourly=MappingProxyType({}),
            unavailable=frozenset(),
            unsupported=MappingProxyType({}),
            forbidden=frozenset(),
            errors=(),
            failures=(ServerFailed("HTTP 503", status=503),) if self.failing else (),
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


def run(w: CycleWorld, per_minute: int, cycles: int, start=NOW):
    engine = w.engine()
    config = engine.config
    engine.config = replace(
        config, engagement_api=replace(config.engagement_api, requests_per_minute=per_minute)
    )
    for n in range(cycles):
        w.now = start + n * INTERVAL
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


def test_a_post_left_out_of_a_full_answer_was_read_but_not_when_a_request_failed():
    w, likes = world(3000)
    likes.quiet_left_out = True

    read = run(w, per_minute=3, cycles=2)[-1]
    likes.failing = True
    w.events.clear()
    # an hour later a new engine, which has read nothing yet, sees a request fail
    unsure = run(w, per_minute=3, cycles=1, start=NOW + 12 * INTERVAL)[-1]

    assert read.refresh_age_oldest == 0  # the quiet posts too, though no value came back
    assert unsure.refresh_age_oldest == unsure.refresh_age_median == 3600  # found at NOW


def test_a_post_only_a_windowed_rule_watches_gets_its_series_once_it_moves():
    w, likes = world(3000)
    w.rules = [
        Rule(
            id="surge",
            watch=Watch(accounts=("brand",)),
            when=Leaf("favorites", "gte", 30, over=1800),
            fire=Rearm(),
        )
    ]

    run(w, per_minute=4, cycles=8)  # 12 /totals and 120 /28hr would read everything

    series = [
        {pid for r in sent if r.endpoint == "28hr" for pid in r.tweet_ids}
        for sent in likes.requests
    ]
    assert len(series[0]) == 3000  # the new rule seeds every post, with its series
    assert all(len(s) < 25 for s in series[1:])  # then only where the window could change
    assert any(RISING in s for s in series[2:])  # 3 likes a minute: 90 in the window


def test_the_states_after_a_cycle_are_its_decisions_over_what_it_read():
    done, held = RuleState(done=True), RuleState(holding_since=NOW)
    stored = {"likes": {"1": done, "2": done}, "other": {"3": done}}
    reads: list[str] = []

    def read(rule_id: str) -> dict[str, RuleState]:
        reads.append(rule_id)
        return stored[rule_id]

    states = StatesSeen(read)
    states("likes")  # the decisions read this rule's states
    states.decided(CycleWrite(at=NOW, states=(("likes", "2", held), ("new", "4", held))))

    assert states.states_after("likes") == {"1": done, "2": held}
    assert states.states_after("other") == {"3": done}  # not read by the decisions: read now
    assert reads == ["likes", "other"]
    assert stored["likes"]["2"] is done  # what was read is not changed


def test_the_states_kept_and_projected_are_one_mapping_per_rule():
    done, held = RuleState(done=True), RuleState(holding_since=NOW)
    states = StatesSeen(lambda rule_id: {"1": done, "2": done})
    states("likes")
    states.decided(CycleWrite(at=NOW, states=(("likes", "2", held),)))

    kept = states.kept()
    assert kept["likes"] == {"1": done, "2": held}
    assert states.states_after("likes") is kept["likes"]  # not merged again
    states.decided(CycleWrite(at=NOW, states=(("likes", "1", held),)))
    assert states.states_after("likes") == {"1": held, "2": done}  # a new cycle's decisions


def test_the_ages_from_the_choice_are_those_of_a_walk_over_every_post():
    w, likes = world(3000)
    engine = w.engine()
    keeper = engine._refresh
    ages = keeper.ages
    seen: list[tuple[bool, object, object]] = []

    def both(posts, now):
        shortcut = keeper._chose is not None and keeper._read_at is not None
        seen.append((shortcut, ages(posts, now), refresh_ages(posts, keeper._recent, now)))
        return seen[-1][1]

    keeper.ages = both  # type: ignore[method-assign]
    engine.config = replace(
        engine.config, engagement_api=replace(engine.config.engagement_api, requests_per_minute=1)
    )
    for n in range(14):
        likes.quiet_left_out = n in (4, 5)  # the quiet posts read, though no value came back
        likes.failing = n in (7, 8)  # a request fails: the posts chosen not all read
        w.now = NOW + n * INTERVAL + timedelta(seconds=n % 3)
        engine.cycle()

    assert all(got == walked for _, got, walked in seen)
    assert [shortcut for shortcut, _, _ in seen] == [n not in (0, 7, 8) for n in range(14)]

"""The cycle's steps against scripted edges: discovery, watching and what is recorded."""

from __future__ import annotations

import json
import logging
import weakref
from collections.abc import Iterable
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from config_helpers import make_config
from cycle_world import NOW, CycleWorld

from automation.core.records import CommitResult, CycleWrite
from automation.core.rules import Leaf, Rule, Watch
from automation.engine.events import CycleEvent, FiredEvent
from automation.engine.running_rules import load_compiled
from automation.x.engagement_client import FetchResult
from automation.x.engagement_plan import EngagementRequest
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


def test_the_cycle_event_says_how_long_the_fetch_waited_for_the_budget() -> None:
    world = CycleWorld([Rule(id="r", watch=Watch(accounts=("brand",)), when=LIKED)])
    world.timelines.posts["brand"] = [DiscoveredPost("2000", NOW - HOUR, "")]
    world.metrics.budget_wait = 42.5
    result = world.engine().cycle()
    assert result.budget_wait == 42.5
    [event] = [e for e in world.events if isinstance(e, CycleEvent)]
    assert event.budget_wait == 42.5


GOOD_RULES = """\
version: 1
rules:
  - id: liked
    watch: {accounts: [brand]}
    when: likes >= 1
    actions: [{log: {message: liked}}]
"""


def test_a_failed_reload_from_before_a_restart_is_cleared_by_the_good_load() -> None:
    world = CycleWorld([Rule(id="r", watch=Watch(accounts=("brand",)), when=LIKED)])
    failed = {"at": "2026-11-20T11:00:00Z", "errors": "rules.yaml:3:5: error: bad"}
    world.store.set_meta("reload_error", json.dumps(failed))
    world.engine().cycle()  # a new engine: its rules loaded cleanly
    assert not world.store.meta("reload_error")


def test_a_failed_reload_is_cleared_when_the_files_are_back_to_the_running_rules(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "rules"
    folder.mkdir()
    (folder / "good.yaml").write_text(GOOD_RULES)
    world = CycleWorld([])
    engine = world.engine()
    engine.config = replace(make_config(), rules=(folder,))
    engine.rules = load_compiled(engine.config)
    engine.cycle()
    broken = folder / "broken.yaml"
    broken.write_text("version: 1\nrules: [{id: x}]\n")
    engine.cycle()
    assert "broken.yaml" in json.loads(world.store.meta("reload_error") or "{}")["errors"]
    broken.unlink()  # back to exactly the files that run: nothing to reload
    engine.cycle()
    assert not world.store.meta("reload_error")
    assert [r.rule.id for r in engine.rules.rules] == ["liked"]


def test_a_post_the_api_reports_unavailable_is_logged_once_and_no_longer_polled(
    caplog: pytest.LogCaptureFixture,
) -> None:
    world = CycleWorld([Rule(id="r", watch=Watch(accounts=("brand",)), when=LIKED)])
    world.timelines.posts["brand"] = [
        DiscoveredPost("3000", NOW - HOUR, ""),
        DiscoveredPost("2000", NOW - 2 * HOUR, ""),
    ]
    world.metrics.unavailable = {"2000"}
    engine = world.engine()
    with caplog.at_level(logging.WARNING, logger="automation.engine"):
        engine.cycle()
        world.now += timedelta(minutes=5)
        world.metrics.requests.clear()
        second = engine.cycle()
    said = [r.getMessage() for r in caplog.records if "unavailable" in r.getMessage()]
    assert said == [
        "the API reports 1 post unavailable (deleted, protected or not readable with our"
        " tokens), no longer polled: 2000"
    ]
    assert second.posts == 1 and world.metrics.asked() == {"3000"}
    [gone] = [p for p in world.store.posts(include_unavailable=True) if p.unavailable_at]
    assert (gone.post_id, gone.unavailable_at) == ("2000", NOW)


class _Answers(dict):  # type: ignore[type-arg]
    """A fetch's /28hr answers that a weak reference can watch."""


def test_the_fetched_answers_are_let_go_before_the_decisions_are_committed() -> None:
    """A first cycle's answers (66,000 /28hr series at 100,000 posts) and the facts made of
    them are not needed by the commit: gone before it, its rows reuse their memory."""
    world = CycleWorld(
        [Rule(id="likes", watch=Watch(posts=("1", "2")), when=Leaf("favorites", "gte", 1))]
    )
    fetch, answers = world.metrics.fetch, []

    def fetching(requests: Iterable[EngagementRequest], compact: object = None) -> FetchResult:
        hourly = _Answers()
        answers.append(weakref.ref(hourly))
        return replace(fetch(requests, compact), hourly=hourly)

    alive_at_commit = []
    commit = world.store.commit_cycle

    def committing(write: CycleWrite) -> CommitResult:
        alive_at_commit.append(answers[-1]() is not None)
        return commit(write)

    world.metrics.fetch = fetching  # type: ignore[method-assign]
    world.store.commit_cycle = committing  # type: ignore[method-assign]
    world.engine().cycle()
    assert len(answers) == 1
    assert alive_at_commit == [False]
    assert [e.post for e in world.events if isinstance(e, FiredEvent)] == ["1", "2"]

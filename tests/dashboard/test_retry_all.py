"""Retrying every dead action from the dashboard at once, or every one of a rule: after a
receiver's outage the actions page re-queues them in one go (``automation actions retry
--all [--rule RULE_ID]``), where it could only retry one dead action at a time."""

from __future__ import annotations

import json
from datetime import timedelta

from dashboard_scene import World, browsing, post_form, serving

from automation.core.pauses import ALL_RULES
from automation.core.records import ActionRecord, CycleWrite, FiringRecord
from automation.store import SqliteStore

RULE = "at-100-likes"  # the world's webhook of it went dead
OTHER = "like-milestones"


def _kill(world: World, rule_id: str, count: int) -> None:
    """``count`` more firings of ``rule_id`` whose one action went dead."""
    at = world.end - timedelta(hours=1)
    firings = tuple(
        FiringRecord(
            id=f"extra{n}", rule_id=rule_id, post_id=world.crossing, key=f"extra{n}",
            kind="fired", at=at,
            actions=(ActionRecord(0, "log", json.dumps({"kind": "log", "message": "hi"})),),
        )
        for n in range(count)
    )  # fmt: skip
    with SqliteStore.open(world.folder / "automation.db") as store:
        assert store.action_counts()["pending"] == 0
        store.commit_cycle(CycleWrite(at=at, firings=firings))
        for item in store.claim_actions(at, 100):
            store.record_attempt(item.id, at=at, outcome="dead", error="503", next_attempt_at=None)


def _dead(world: World) -> dict[str, int]:
    with SqliteStore.open(world.folder / "automation.db") as store:
        return {r: store.action_counts(r)["dead"] for r in (RULE, OTHER)}


def test_every_dead_action_is_requeued_at_once_and_recorded_with_who(own_world: World) -> None:
    _kill(own_world, OTHER, 2)
    with serving(own_world) as running, browsing(running) as c:
        page = c.get("/actions").text
        assert "Retry all 3 dead" in page and 'action="/actions/retry"' in page
        done = post_form(c, "/actions/retry", name="Alice")
        assert done.status_code == 303
        page = c.get("/actions").text
        assert "re-queued 3 dead actions: the engine tries them next cycle" in page
        assert 'action="/actions/retry"' not in page  # nothing left to retry: no control
        again = post_form(c, "/actions/retry")
        assert again.status_code == 303
        assert "no dead actions; nothing to retry" in c.get("/actions").text
    assert _dead(own_world) == {RULE: 0, OTHER: 0}
    with SqliteStore.open(own_world.folder / "automation.db") as store:
        [change] = store.changes()
        assert (change.by, change.what, change.target, change.detail, change.at) == (
            "Alice (dashboard)",
            "retry",
            ALL_RULES,
            "3 dead actions",
            own_world.end,
        )


def test_a_rules_page_retries_only_its_own_dead_actions(own_world: World) -> None:
    _kill(own_world, OTHER, 2)
    with serving(own_world) as running, browsing(running) as c:
        page = c.get(f"/rules/{RULE}").text
        assert "Retry its 1 dead" in page and 'name="rule" value="at-100-likes"' in page
        assert f'href="/actions?rule={RULE}"' in page  # its actions
        assert "Retry its 2 dead" in c.get(f"/rules/{OTHER}").text
        assert "/actions/retry" not in c.get("/rules/big-reach").text  # none dead: no control
        c.get(f"/rules/{RULE}")
        done = post_form(c, "/actions/retry", rule=RULE)
        assert done.status_code == 303
        page = c.get(f"/rules/{RULE}").text  # back on the rule's page, with the notice
        assert f"re-queued 1 dead action of {RULE}: the engine tries it next cycle" in page
        assert "Retry its" not in page
        post_form(c, "/actions/retry", rule=RULE)
        assert f"no dead actions of {RULE}; nothing to retry" in c.get("/actions").text
    assert _dead(own_world) == {RULE: 0, OTHER: 2}
    with SqliteStore.open(own_world.folder / "automation.db") as store:
        [change] = store.changes()
        assert (change.by, change.target, change.detail) == ("dashboard", RULE, "1 dead action")


def test_the_actions_page_of_one_rule_retries_that_rules_dead_only(own_world: World) -> None:
    _kill(own_world, OTHER, 2)
    with serving(own_world) as running, browsing(running) as c:
        assert "Retry all 3 dead" in c.get("/actions").text
        page = c.get(f"/actions?rule={OTHER}").text
        assert f"Retry all 2 dead of {OTHER}" in page
        assert f'name="rule" value="{OTHER}"' in page
        assert c.post("/actions/retry", data={"rule": OTHER}).status_code == 403  # no token
        assert post_form(c, "/actions/retry", rule=OTHER).status_code == 303
    assert _dead(own_world) == {RULE: 1, OTHER: 0}

"""Alerts from a real running engine: a dead action and a failed reload reach the
operator's receiver, signed, and so does each recovery (spec §13)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from e2e_helpers import HIGH, Scene, likes_rule, quiet_post, rule_file, scene, wait_for

from automation.config.secret import Secret
from automation.sandbox.credentials import WEBHOOK_SECRETS
from automation.sandbox.webhook_receiver import Receiver


@pytest.fixture
def world(tmp_path: Path) -> Iterator[Scene]:
    yield from scene(tmp_path)


def alerts(receiver: Receiver) -> list[tuple[str, str]]:
    return [
        (json.loads(d.body)["alert"], json.loads(d.body)["event"]) for d in receiver.deliveries()
    ]


def test_a_dead_action_and_a_failed_reload_are_alerted_and_recover(world: Scene) -> None:
    secret = Secret(WEBHOOK_SECRETS["team-chat"], "team-chat")
    with Receiver(secret) as ops, Receiver(None, fail_first=1, fail_status=410) as gone:
        post = quiet_post(world.sandbox)
        world.write_config(alerts={"webhook": f"{ops.url}/ops", "secret": "team-chat"})
        hook = {"webhook": {"url": f"{gone.url}/hook"}}
        world.write_rules(rule_file([likes_rule(actions=[hook])]))
        engine = world.engine()
        engine.wait_cycles(1)
        world.sandbox.world.set_metric(post, "favorites", HIGH)
        wait_for(lambda: ("action_dead", "alert.firing") in alerts(ops), what="a dead alert")

        world.write_rules("version: 1\nrules: [{id: broken}]\n")
        wait_for(lambda: ("reload_failed", "alert.firing") in alerts(ops), what="reload alert")
        world.write_rules(rule_file([likes_rule()]))
        wait_for(lambda: ("reload_failed", "alert.resolved") in alerts(ops), what="recovery")

        assert all(d.verified for d in ops.deliveries())
        assert alerts(ops).count(("action_dead", "alert.firing")) == 1
        dead = next(json.loads(d.body) for d in ops.deliveries() if b"action_dead" in d.body)
        assert "answered 410" in dead["detail"]
        assert "/hook" not in dead["detail"]  # a hook URL's path may be its credential

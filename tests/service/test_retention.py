"""Firings and their actions older than ``retention.firings`` are pruned by the running
engine, except an action still pending; a pruned firing does not fire again."""

from __future__ import annotations

import socket
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from fixed_time import SANDBOX_START

from automation.config.loader import load_config
from automation.engine.events import Event, FiredEvent
from automation.sandbox import Options, Sandbox, write_config
from automation.sandbox.credentials import ACCOUNTS
from automation.service.runtime import Runtime, open_runtime

BRAND = next(a.user_id for a in ACCOUNTS if a.name == "brand")
QUIET = {"impressions": 0, "engagements": 0, "favorites": 0, "retweets": 0}
DAY = 86400.0


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    sb = Sandbox(
        seed=11, start=SANDBOX_START, speed=0.0, options=Options(per_minute_limit=6000)
    ).start()
    yield sb
    sb.stop()


def _runtime(tmp: Path, sandbox: Sandbox, post: str, events: list[Event]) -> Runtime:
    (tmp / "rules").mkdir()
    (tmp / "rules" / "rules.yaml").write_text(
        textwrap.dedent(f"""\
            version: 1
            rules:
              - id: logged
                watch: {{posts: ["{post}"], owner: brand}}
                when: likes >= 100
                actions: [{{log: {{message: "{{post.id}}"}}}}]
              - id: unreachable
                watch: {{posts: ["{post}"], owner: brand}}
                when: likes >= 100
                actions: [{{webhook: {{url: "http://127.0.0.1:{_closed_port()}/hook"}}}}]
        """)
    )
    config_file = tmp / "automation.yaml"
    write_config(
        config_file,
        sandbox.base_url,
        requests_per_minute=6000,
        database=str(tmp / "automation.db"),
        rules=[str(tmp / "rules")],
    )
    with config_file.open("a") as f:
        f.write("retention: {firings: 1d}\n")
    config = load_config(config_file, env={})
    return open_runtime(config, emit=events.append, clock=sandbox.clock.now)


def test_old_firings_are_pruned_but_a_pending_action_and_the_rule_state_stay(
    tmp_path: Path, sandbox: Sandbox
) -> None:
    post = sandbox.world.add_post(BRAND, text="p", finals=QUIET).id
    events: list[Event] = []
    runtime = _runtime(tmp_path, sandbox, post, events)
    try:
        runtime.engine.cycle()  # the rules' first cycle
        sandbox.world.set_metric(post, "favorites", 150)
        runtime.engine.cycle()
        fired = {e.rule for e in events if isinstance(e, FiredEvent) and e.event == "fired"}
        assert fired == {"logged", "unreachable"}
        assert {e.firing.rule_id for e in runtime.store.history()} == fired

        for _ in range(3):  # two days on, across several hourly prunes
            sandbox.clock.advance(DAY * 2 / 3)
            runtime.engine.cycle()

        kept = runtime.store.history()
        assert [e.firing.rule_id for e in kept] == ["unreachable"]
        assert [a.status for a in kept[0].actions] == ["pending"]
        assert runtime.store.action_counts()["sent"] == 0
        again = [e for e in events if isinstance(e, FiredEvent) and e.event == "fired"]
        assert len(again) == 2, "a pruned firing must not fire again"
    finally:
        runtime.close()

"""A burst of firings drains at once: the engine as a real process, a sandbox and local
webhook receivers on loopback.

Each scenario lets a first ``run --once`` learn the rule (nothing is past its threshold,
so nothing is seeded), then pushes many posts over it at once.
"""

from __future__ import annotations

import re
import signal
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from e2e_helpers import HIGH, Scene, likes_rule, open_scene, quiet_post, rule_file, wait_for

from automation.config.secret import Secret
from automation.core.records import OutboxItem
from automation.engine.dispatch import DispatchLimits
from automation.sandbox.credentials import WEBHOOK_SECRETS
from automation.sandbox.webhook_receiver import Receiver
from automation.store.sqlite import SqliteStore

SECRET = Secret(WEBHOOK_SECRETS["team-chat"], "team-chat")


@pytest.fixture
def world(tmp_path: Path) -> Iterator[Scene]:
    s = open_scene(tmp_path, receiver_delay=0.0)
    try:
        yield s
    finally:
        s.close()


def _hook(receiver: Receiver, **extra: Any) -> dict[str, Any]:
    return {"webhook": {"url": f"{receiver.url}/hooks/burst", "secret": "team-chat", **extra}}


def _burst(s: Scene, count: int, actions: list[dict[str, Any]]) -> list[str]:
    """``count`` quiet posts and a rule that knows them; returns the posts to push."""
    posts = [quiet_post(s.sandbox) for _ in range(count)]
    s.write_config()
    s.write_rules(rule_file([likes_rule(actions=actions)]))
    first = s.cli("run", "--once", timeout=60)
    assert first.code == 0, first.stderr
    return posts


def _push(s: Scene, posts: list[str]) -> None:
    for post in posts:
        s.sandbox.world.set_metric(post, "favorites", HIGH + 1)


def test_run_once_delivers_500_webhooks_before_it_exits(world: Scene) -> None:
    assert world.receiver is not None
    posts = _burst(world, 500, [_hook(world.receiver)])
    _push(world, posts)

    run = world.cli("run", "--once", timeout=120)

    assert run.code == 0, run.stderr[-3000:]
    deliveries = world.receiver.deliveries()
    keys = Counter(d.idempotency_key for d in deliveries)
    assert len(keys) == 500 and set(keys.values()) == {1}
    assert all(d.verified and d.status == 200 for d in deliveries)
    assert "outbox: every due action performed (500 sent)" in run.stderr
    assert "Traceback" not in run.stderr


def _outbox(s: Scene, receiver: Receiver) -> list[OutboxItem]:
    """The engine's record of every action addressed to ``receiver``, read in one go."""
    with SqliteStore.open(s.database) as store:
        return [
            action
            for entry in store.history(limit=100)
            for action in entry.actions
            if receiver.url in action.payload
        ]


def test_a_receiver_that_never_answers_holds_up_no_other_receiver_and_no_cycle(
    world: Scene,
) -> None:
    fast = world.receiver
    assert fast is not None
    hung = Receiver(SECRET, delay=120.0).start()  # answers long after the delivery's timeout
    lane = DispatchLimits().per_receiver
    n = lane + 10  # more than its lane holds
    try:
        posts = _burst(world, n, [_hook(hung, timeout="60s"), _hook(fast)])
        _push(world, posts)  # before the engine starts: its first cycle fires them all
        engine = world.engine()

        def hung_ones_once_the_others_are_sent() -> list[OutboxItem] | None:
            fast_ones, hung_ones = _outbox(world, fast), _outbox(world, hung)
            done = len(fast_ones) == n and all(a.status == "sent" for a in fast_ones)
            return hung_ones if done else None

        hung_ones = wait_for(hung_ones_once_the_others_are_sent, timeout=30, what="the others")
        cycles = engine.cycles()

        # Each firing queued its hung delivery first, yet all the others were sent while
        # not one hung delivery had come back: none of them waited for the hung receiver.
        assert [(a.status, a.attempts) for a in hung_ones] == [("pending", 0)] * n
        assert len(hung.deliveries()) == lane  # its lane, no more
        # The next cycles fetch and evaluate on time while those deliveries hang.
        engine.wait_cycles(3, timeout=20)
        assert engine.cycles() >= cycles + 3
        assert [a.attempts for a in _outbox(world, hung)] == [0] * n  # still hanging

        stopping = time.monotonic()
        engine.signal(signal.SIGTERM)
        assert engine.wait(timeout=15) == 0, engine.stderr
        assert time.monotonic() - stopping < 10, "a hung delivery delayed the stop"
    finally:
        hung.stop()
    statuses = Counter(a["status"] for a in world.cli_json("actions"))
    assert statuses == {"sent": n, "pending": n}, statuses  # the hung ones go out later


def test_sigterm_during_a_2000_action_drain_exits_in_time_and_a_restart_sends_the_rest(
    tmp_path: Path,
) -> None:
    s = open_scene(tmp_path, receiver_delay=0.05)
    try:
        assert s.receiver is not None
        receiver = s.receiver
        posts = _burst(s, 200, [_hook(receiver)] * 10)
        _push(s, posts)
        engine = s.engine("--once")
        wait_for(lambda: len(receiver.deliveries()) >= 200, timeout=60, what="the drain")

        stopping = time.monotonic()
        engine.signal(signal.SIGTERM)
        assert engine.wait(timeout=15) == 0, engine.stderr
        assert time.monotonic() - stopping < 10
        before = len(receiver.deliveries())
        assert before < 2000, "the drain ended before the stop: nothing was tested"
        left = re.search(r"outbox: stopped with (\d+) actions left", engine.stderr)
        assert left is not None, engine.stderr[-3000:]
        with SqliteStore.open(s.database) as store:
            pending = store.action_counts()["pending"]
        # It says how many are left, and they are all there, nothing claimed or lost.
        assert int(left.group(1)) == pending == 2000 - before

        again = s.cli("run", "--once", timeout=120)
        assert again.code == 0, again.stderr[-3000:]
    finally:
        s.close()
    keys = Counter(d.idempotency_key for d in receiver.deliveries())
    assert len(keys) == 2000, len(keys)
    assert set(keys.values()) == {1}  # what was in flight at the stop was recorded as sent
    assert "outbox: every due action performed" in again.stderr

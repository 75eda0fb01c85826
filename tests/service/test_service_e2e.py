"""The service as a real process: ``python -m automation run`` against the sandbox on loopback.

Each test starts the sandbox (and, where actions are webhooks, a signature-checking
receiver) in this process and the engine in a subprocess with a one-second poll interval.
The first cycle of a new rule only seeds, so every scenario lets the engine complete a
cycle first and then pushes a chosen post over the threshold.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import tomllib
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from cli_helpers import assert_no_traceback
from e2e_helpers import (
    BRAND,
    HIGH,
    SUPPORT,
    NotifySocket,
    Scene,
    likes_rule,
    open_scene,
    quiet_post,
    rule_file,
    run_cli,
    scene,
    wait_for,
)

from automation.sandbox.credentials import WEBHOOK_SECRETS
from automation.sandbox.faults import FaultInjector
from automation.store.sqlite import SqliteStore


@pytest.fixture
def world(tmp_path: Path) -> Iterator[Scene]:
    yield from scene(tmp_path)


@pytest.fixture
def slow_world(tmp_path: Path) -> Iterator[Scene]:
    yield from scene(tmp_path, receiver_delay=1.0)


@pytest.fixture
def slower_world(tmp_path: Path) -> Iterator[Scene]:
    yield from scene(tmp_path, receiver_delay=3.0)


def _ready(s: Scene, rules: list[dict] | None = None) -> str:
    """A quiet brand post, a config and a rule file; returns the post to push later."""
    post = quiet_post(s.sandbox)
    s.write_config()
    s.write_rules(rule_file(rules or [likes_rule()]))
    return post


# --- 1. one engine per database -----------------------------------------------------------


def test_a_second_instance_on_the_same_database_is_refused(world: Scene) -> None:
    _ready(world)
    first = world.engine()
    first.wait_cycles(1)

    second = world.cli("run", "--once")

    assert second.code == 2, second.stderr
    assert f"pid {first.pid}" in second.stderr
    assert str(world.database) in second.stderr
    assert_no_traceback(second.stderr)
    first.wait_cycles(1)  # the first one did not notice and goes on
    assert first.running()

    first.signal(signal.SIGTERM)
    assert first.wait() == 0
    assert world.cli("run", "--once").code == 0  # the lock went with its holder


# --- 2. stopping ----------------------------------------------------------------------------


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["TERM", "INT"])
def test_a_stop_signal_ends_the_loop_with_exit_0_within_10s(
    world: Scene, signum: signal.Signals
) -> None:
    _ready(world)
    engine = world.engine()
    engine.wait_cycles(2)

    sent = time.monotonic()
    engine.signal(signum)
    code = engine.wait(timeout=15)
    took = time.monotonic() - sent

    assert code == 0, engine.stderr
    assert took < 10, f"took {took:.1f}s to stop"
    log = engine.stderr
    assert f"received {signum.name}" in log
    assert log.rstrip().endswith("engine stopped"), log[-500:]
    assert_no_traceback(log)


def test_a_stop_during_a_slow_delivery_finishes_it_then_exits(slower_world: Scene) -> None:
    s = slower_world
    assert s.receiver is not None
    post = _ready(s, [likes_rule(actions=[_webhook(s), _webhook(s)])])
    engine = s.engine()
    engine.wait_cycles(1)
    s.sandbox.world.set_metric(post, "favorites", HIGH + 1)
    wait_for(lambda: len(s.receiver.deliveries()) == 2, what="both webhooks to arrive")

    sent = time.monotonic()
    engine.signal(signal.SIGTERM)
    code = engine.wait(timeout=15)
    took = time.monotonic() - sent

    assert code == 0, engine.stderr
    assert took < 10, f"took {took:.1f}s to stop"
    actions = s.cli_json("actions")
    # Both went out at once; the deliveries in flight were finished and recorded.
    assert sorted(a["status"] for a in actions) == ["sent", "sent"], actions
    assert len(s.receiver.deliveries()) == 2


def test_a_stop_during_a_slow_api_request_sends_no_further_request(world: Scene) -> None:
    # A cycle reads several timelines and then the Engagement API; when each answer is
    # slow, a stop must not wait for the requests the cycle has not sent yet.
    _ready(world)
    engine = world.engine()
    engine.wait_cycles(1)
    slow = FaultInjector(1.0, kinds=("slow",), slow_seconds=3.0)
    world.sandbox.app.faults = slow
    wait_for(lambda: slow.injected["slow"] >= 1, what="a slow request in flight")

    engine.signal(signal.SIGTERM)
    assert engine.wait(timeout=30) == 0, engine.stderr

    assert slow.injected["slow"] == 1  # the one in flight was finished, none followed
    assert_no_traceback(engine.stderr)


def test_a_stop_while_the_engine_starts_exits_0_too(world: Scene) -> None:
    # The engine reads a secret from a pipe, which answers only when the test writes to
    # it: the SIGTERM comes while the engine loads its config, before any cycle.
    _ready(world)
    credentials = world.tmp / "credentials"
    credentials.mkdir()
    secret = credentials / "TEAM_CHAT_WEBHOOK_SECRET"
    os.mkfifo(secret)
    world.write_config(webhook_secrets={"team-chat": "${TEAM_CHAT_WEBHOOK_SECRET}"})
    engine = world.engine(env={"CREDENTIALS_DIRECTORY": str(credentials)})
    with secret.open("w", encoding="utf-8") as pipe:  # open once the engine reads it
        engine.signal(signal.SIGTERM)
        try:
            pipe.write(WEBHOOK_SECRETS["team-chat"])
            pipe.flush()
        except BrokenPipeError:
            pass  # the engine is gone already: the assertion below says how

    assert engine.wait(timeout=30) == 0, engine.stderr
    assert "received SIGTERM" in engine.stderr
    assert_no_traceback(engine.stderr)


# The program as an install makes it (the script pyproject.toml declares), except that it
# holds the import of the commands' modules until the test has sent its signal: the moment
# the engine is furthest from running.
_SCRIPT = tomllib.loads((Path(__file__).parents[2] / "pyproject.toml").read_text("utf-8"))[
    "project"
]["scripts"]["automation"]
_HELD_START = """
import importlib
import sys


class Hold:
    def find_spec(self, name, path=None, target=None):
        if name == "automation.cli.main":
            sys.stderr.write("loading the commands\\n")
            sys.stderr.flush()
            sys.stdin.read()  # until the test closes it
        return None


sys.meta_path.insert(0, Hold())
module, _, function = sys.argv.pop(1).partition(":")
sys.exit(getattr(importlib.import_module(module), function)())
"""


@pytest.mark.parametrize(
    ("command", "signum", "code"),
    [
        (("run",), signal.SIGTERM, 0),
        (("run",), signal.SIGINT, 0),
        (("status",), signal.SIGTERM, -signal.SIGTERM),
    ],
    ids=["run-TERM", "run-INT", "status-TERM"],
)
def test_a_stop_while_the_program_loads_stops_the_engine_and_ends_any_other_command(
    world: Scene, command: tuple[str, ...], signum: signal.Signals, code: int
) -> None:
    """Spec section 8: a stop at any moment exits 0, so the signals are caught before the
    commands load (about 0.2 s); a command that is not the engine ends on them as ever."""
    _ready(world)
    with subprocess.Popen(
        [sys.executable, "-c", _HELD_START, _SCRIPT, "--config", str(world.config), *command],
        cwd=world.tmp,
        stdin=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
    ) as child:
        assert child.stdin is not None and child.stderr is not None
        assert child.stderr.readline() == "loading the commands\n"
        child.send_signal(signum)
        child.stdin.close()
        said = child.stderr.read()
        assert child.wait(timeout=30) == code, said
    assert_no_traceback(said)


# --- 3. reloading ---------------------------------------------------------------------------

BROKEN = {
    "yaml": "version: 1\nrules:\n  - id: big-likes\n    when: [likes >= 1\n",
    "rule": rule_file([likes_rule(when="lieks >= 10")]),
}


@pytest.mark.parametrize("broken", sorted(BROKEN))
def test_sighup_with_a_broken_rule_file_keeps_the_running_rules(world: Scene, broken: str) -> None:
    post = _ready(world)
    engine = world.engine()
    engine.wait_cycles(1)

    world.write_rules(BROKEN[broken])
    engine.signal(signal.SIGHUP)
    engine.wait_log("reload failed, keeping the running rules")
    assert "rules.yaml:" in engine.stderr  # the problem is located in the file
    # one log line per problem, each with its time and level; never a literal "\n"
    assert "\\n" not in engine.stderr
    assert re.search(r"^\S+Z ERROR +\S*rules\.yaml:\d+", engine.stderr, re.M), engine.stderr

    world.sandbox.world.set_metric(post, "favorites", HIGH + 1)
    engine.wait_log(f"fired rule=big-likes post={post}")  # the old rule still works
    assert engine.running()
    status = world.cli_json("status")
    assert status["reload_error"], status
    assert "rules.yaml:" in json.dumps(status["reload_error"])
    text = world.cli("status")
    assert "failed reload" in text.stdout
    assert_no_traceback(engine.stderr)


def test_a_valid_rule_file_edit_is_picked_up_at_the_next_cycle_without_a_signal(
    world: Scene,
) -> None:
    post = _ready(world)
    engine = world.engine()
    engine.wait_cycles(1)

    world.write_rules(rule_file([likes_rule(), likes_rule("added-later")]))
    engine.wait_log("loaded 2 rules")
    engine.wait_cycles(1)  # the new rule's first (seeding) cycle is behind us
    world.sandbox.world.set_metric(post, "favorites", HIGH + 1)

    engine.wait_log(f"fired rule=added-later post={post}")
    engine.wait_log(f"fired rule=big-likes post={post}")
    assert "reload failed" not in engine.stderr
    assert world.cli_json("status")["reload_error"] is None


# --- 4. sd_notify ---------------------------------------------------------------------------


def test_sd_notify_reports_ready_status_watchdog_reload_and_stopping(world: Scene) -> None:
    _ready(world)
    notify = NotifySocket()
    try:
        engine = world.engine(env={"NOTIFY_SOCKET": notify.name, "WATCHDOG_USEC": "2000000"})
        ready = notify.wait("READY=1")
        status = notify.wait("STATUS=", after=ready)
        assert "posts" in notify.messages[status], notify.messages[status]
        notify.wait("WATCHDOG=1", after=status)

        engine.signal(signal.SIGHUP)
        reloading = notify.wait("RELOADING=1", after=status)
        assert "\nMONOTONIC_USEC=" in notify.messages[reloading]
        notify.wait("READY=1", after=reloading)

        engine.signal(signal.SIGTERM)
        assert engine.wait() == 0
        stopping = notify.wait("STOPPING=1", after=reloading)
        assert stopping == len(notify.drain()) - 1, notify.messages  # the last word
        assert notify.messages[0] == "READY=1"
    finally:
        notify.close()


# --- 5. a crash in the middle of dispatching ------------------------------------------------


def _webhook(s: Scene) -> dict:
    assert s.receiver is not None
    return {"webhook": {"url": f"{s.receiver.url}/hooks/e2e", "secret": "team-chat"}}


def test_sigkill_while_dispatching_loses_no_action_and_reposts_once(slow_world: Scene) -> None:
    s = slow_world
    assert s.receiver is not None
    posts = [quiet_post(s.sandbox) for _ in range(3)]
    _ready(s, [likes_rule(actions=[{"repost": {"as": "support"}}, _webhook(s)])])
    engine = s.engine()
    engine.wait_cycles(1)
    for post in posts:
        s.sandbox.world.set_metric(post, "favorites", HIGH + 1)

    first = wait_for(s.receiver.deliveries, what="the first webhook to arrive")[0]
    engine.proc.kill()  # mid-delivery: the receiver has it, the engine has not recorded it
    engine.wait()
    with SqliteStore.open(s.database) as store:
        before = {a.id: a.status for a in store.actions()}
    assert before[first.idempotency_key] == "pending"

    for _ in range(3):
        run = s.cli("run", "--once")
        assert_no_traceback(run.stderr)
        after = s.cli_json("actions")
        statuses = {a["id"]: a["status"] for a in after}
        if set(statuses.values()) == {"sent"}:
            break
    assert set(statuses.values()) == {"sent"}, statuses
    assert statuses.keys() == before.keys() and len(before) == 2 * len(posts)

    fired = [e for e in s.cli_json("history") if e["kind"] == "fired"]
    assert sorted(e["post"] for e in fired) == sorted(posts)  # no firing twice
    reposts = Counter(a.post_id for a in s.sandbox.world.actions_by(SUPPORT, "repost"))
    assert reposts == Counter(posts)
    hooks = [a["id"] for a in after if a["kind"] == "webhook"]
    deliveries = s.receiver.deliveries()
    keys = Counter(d.idempotency_key for d in deliveries)
    assert set(keys) == set(hooks)
    assert keys[first.idempotency_key] >= 2  # re-sent with the same key
    assert all(d.verified for d in deliveries)


# --- 6. run --once --json -------------------------------------------------------------------


def _events(stdout: str) -> list[dict]:
    events = [json.loads(line) for line in stdout.splitlines()]
    assert all(isinstance(e, dict) and "event" in e for e in events), stdout
    return events


def test_run_once_json_prints_only_events_and_survives_a_dead_api(world: Scene) -> None:
    post = _ready(world)
    assert world.cli("run", "--once").code == 0  # seeds; the rule is now known
    world.sandbox.world.set_metric(post, "favorites", HIGH + 1)

    run = world.cli("run", "--once", "--json")

    assert run.code == 0, run.stderr
    events = _events(run.stdout)
    kinds = [e["event"] for e in events]
    assert kinds[-1] == "cycle"
    assert [e["post"] for e in events if e["event"] == "fired"] == [post]
    assert [e["status"] for e in events if e["event"] == "action"] == ["sent"]
    assert "engine started" in run.stderr and "engine started" not in run.stdout
    assert not any(line.startswith("{") for line in run.stderr.splitlines())

    world.sandbox.stop()
    down = world.cli("run", "--once", "--json")

    assert down.code == 1, down.stderr
    assert_no_traceback(down.stderr)
    errors = [e for e in _events(down.stdout) if e["event"] == "error"]
    assert errors and all(e["error"] for e in errors), down.stdout
    assert "127.0.0.1" in errors[0]["error"] or "connect" in errors[0]["error"].lower()
    history = world.cli_json("history")
    assert [(e["post"], e["kind"]) for e in history if e["rule"] == "big-likes"] == [
        (post, "fired")
    ]


# --- 7. unusable config ---------------------------------------------------------------------


def test_a_bad_config_exits_2_with_file_line_and_key(world: Scene) -> None:
    _ready(world)
    world.write_config(poll_interval="soon")
    lines = world.config.read_text().splitlines()
    line = next(i for i, text in enumerate(lines, 1) if text.startswith("poll_interval:"))

    run = world.cli("run")

    assert run.code == 2, run.stderr
    assert re.search(rf"automation\.yaml:{line}:(\d+:)? poll_interval: ", run.stderr), run.stderr
    assert_no_traceback(run.stderr)
    assert not world.database.exists()


def test_a_missing_config_exits_2_naming_it(tmp_path: Path) -> None:
    explicit = run_cli(["--config", "nowhere.yaml", "run", "--once"], cwd=tmp_path)
    default = run_cli(["run", "--once"], cwd=tmp_path)

    assert explicit.code == 2 and "nowhere.yaml" in explicit.stderr, explicit.stderr
    assert default.code == 2 and "automation.yaml" in default.stderr, default.stderr
    assert_no_traceback(explicit.stderr + default.stderr)


# --- a rule that starts with nothing to watch -----------------------------------------------


def test_a_rule_that_first_sees_no_posts_fires_for_a_post_discovered_later(tmp_path: Path) -> None:
    """Seeding is for posts that already met a new rule when it was added; a rule whose first
    cycle watched nothing has nothing to seed, so the first post it discovers fires."""
    for seed in range(20, 40):  # a world where brand has not posted in the last 10 minutes
        s = open_scene(tmp_path, seed=seed)
        newest = s.sandbox.world.timeline(BRAND)[0]
        if s.sandbox.world.now() - newest.created_at > timedelta(minutes=15):
            break
        s.close()
    try:
        s.write_config()
        s.write_rules(rule_file([likes_rule(watch={"accounts": ["brand"], "max_age": "10m"})]))
        first = s.cli("run", "--once", "--json")
        assert first.code == 0, first.stderr
        assert _events(first.stdout)[-1]["posts"] == 0

        post = quiet_post(s.sandbox)
        s.sandbox.world.set_metric(post, "favorites", HIGH + 1)
        second = s.cli("run", "--once", "--json")

        assert second.code == 0, second.stderr
        assert [(e["event"], e["post"]) for e in _events(second.stdout) if "key" in e] == [
            ("fired", post)
        ]
    finally:
        s.close()

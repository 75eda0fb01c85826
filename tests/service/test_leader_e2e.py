"""Several engines on one PostgreSQL database, as real processes against the sandbox: one
acts, the others stand by, and whatever happens to the leader every threshold crossing is
acted on once.

The leader is found the way an operator finds it, by the names the engines give their
sessions (``leader_view``), and killed at moments drawn from a seeded generator; every
wait is for a condition, with a generous deadline.
"""

from __future__ import annotations

import random
import re
import signal
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import yaml
from e2e_helpers import (
    HIGH,
    SUPPORT,
    Engine,
    NotifySocket,
    Scene,
    likes_rule,
    open_scene,
    quiet_post,
    rule_file,
    wait_for,
)
from pg_cluster import Cluster

from automation.config.database import PostgresDatabase
from automation.store.postgres import PostgresStore
from automation.store.postgres_leadership import leader_view

KILLS = 20
TAKEOVER = 60.0  # seconds: generous deadlines, never asserted as timings


@pytest.fixture
def world(tmp_path: Path, postgres_cluster: Cluster) -> Iterator[tuple[Scene, PostgresDatabase]]:
    s = open_scene(tmp_path, receiver_delay=0.3)
    database = postgres_cluster.create_database("ha")
    try:
        yield s, database
    finally:
        s.close()


def _setup(
    s: Scene,
    database: PostgresDatabase,
    posts: int,
    *,
    timeout: int = 10,
    hook_timeout: int | None = None,
    **config: object,
) -> list[str]:
    """Quiet posts (seeded by the first cycle), a rule that reposts and calls a webhook
    for each, a config on ``database``, migrated. ``timeout`` (seconds) bounds an X write
    and ``hook_timeout`` (``timeout`` unless given) each of a webhook's requests: the
    longer of an X write and a webhook's requests (one per redirect followed) is how long
    a new leader waits for an action its predecessor may still be sending."""
    assert s.receiver is not None
    made = [quiet_post(s.sandbox) for _ in range(posts)]
    hook = {
        "webhook": {
            "url": f"{s.receiver.url}/hooks/ha",
            "secret": "team-chat",
            "timeout": f"{timeout if hook_timeout is None else hook_timeout}s",
        }
    }
    s.write_config(database=database.url, **config)
    doc = yaml.safe_load(s.config.read_text(encoding="utf-8"))
    doc["x_api"]["timeout"] = timeout
    s.config.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    s.write_rules(rule_file([likes_rule(actions=[{"repost": {"as": "support"}}, hook])]))
    migrated = s.cli("migrate")
    assert migrated.code == 0, migrated.stderr
    return made


def _pid(name: str) -> int:
    return int(name.rsplit(":", 1)[1])


def _leader(database: PostgresDatabase, engines: dict[int, Engine], but: int = 0) -> Engine:
    """The engine leading now (not ``but``), once there is one."""

    def found() -> Engine | None:
        view = leader_view(database)
        pids = [_pid(n) for n in view.connected]
        return engines.get(pids[0]) if pids and pids[0] != but else None

    return wait_for(found, timeout=TAKEOVER, what="an engine to lead")


def _standing_by(database: PostgresDatabase, engine: Engine) -> bool:
    return any(_pid(n) == engine.pid for n in leader_view(database).standby)


def _seeded(database: PostgresDatabase) -> bool:
    with PostgresStore.open(database) as store:
        return store.meta("last_cycle") is not None


def _all_sent(database: PostgresDatabase, expected: int) -> dict[str, str] | None:
    with PostgresStore.open(database) as store:
        statuses = {a.id: a.status for a in store.actions(limit=10_000)}
    done = len(statuses) == expected and set(statuses.values()) == {"sent"}
    return statuses if done else None


def _assert_each_crossing_acted_on_once(
    s: Scene, database: PostgresDatabase, posts: list[str]
) -> None:
    assert s.receiver is not None
    statuses = wait_for(
        lambda: _all_sent(database, 2 * len(posts)), timeout=120, what="every action sent"
    )
    with PostgresStore.open(database) as store:
        fired = [e.firing for e in store.history(limit=10_000) if e.firing.kind == "fired"]
    assert sorted(f.post_id for f in fired) == sorted(posts)  # one firing per crossing
    reposts = Counter(a.post_id for a in s.sandbox.world.actions_by(SUPPORT, "repost"))
    assert reposts == Counter(posts)  # one repost per post
    hooks = {a for a in statuses if a.endswith(".1")}  # each firing's second action
    assert len(hooks) == len(posts)
    deliveries = s.receiver.deliveries()
    assert {d.idempotency_key for d in deliveries} == hooks  # one key per firing's webhook
    assert all(d.verified for d in deliveries)


def test_killing_the_leader_20_times_acts_on_every_crossing_once(world) -> None:
    s, database = world
    posts = _setup(s, database, KILLS)
    rng = random.Random(13)
    # Two standbys: one is ready to take over while the engine started after a kill loads.
    engines = {e.pid: e for e in (s.engine(name=n) for n in "abc")}
    leader = _leader(database, engines)
    wait_for(lambda: _seeded(database), timeout=TAKEOVER, what="the first cycle")

    for n, post in enumerate(posts):
        others = [e for e in engines.values() if e is not leader and e.running()]
        wait_for(lambda o=others: any(_standing_by(database, e) for e in o), what="a standby")
        s.sandbox.world.set_metric(post, "favorites", HIGH + 1)
        wait_for(lambda e=leader: e.cycles() > 0, timeout=TAKEOVER, what="a cycle of the leader")
        time.sleep(rng.uniform(0.0, 1.5))  # the kill lands anywhere in a cycle or a delivery
        leader.proc.kill()
        leader.wait()
        fresh = s.engine(name=f"k{n}")
        engines[fresh.pid] = fresh
        leader = _leader(database, engines, but=leader.pid)

    _assert_each_crossing_acted_on_once(s, database, posts)


def _metrics_url(engine: Engine) -> str:
    def found() -> str | None:
        match = re.search(r"serving /metrics and /healthz on (\S+)", engine.stderr)
        return match.group(1) if match else None

    return wait_for(found, timeout=TAKEOVER, what="the metrics server")


def _get(url: str) -> tuple[int, str]:
    with urllib.request.urlopen(url, timeout=10) as response:  # 200 only; else it raises
        return response.status, response.read().decode()


def test_a_leader_cut_off_by_the_server_stands_by_and_the_standby_takes_over(world) -> None:
    s, database = world
    posts = _setup(s, database, 2, metrics={"listen": "127.0.0.1:0"})
    engines = {e.pid: e for e in (s.engine(name="a"), s.engine(name="b"))}
    leader = _leader(database, engines)
    [standby] = [e for e in engines.values() if e is not leader]
    wait_for(lambda: _standing_by(database, standby), timeout=TAKEOVER, what="a standby")
    wait_for(lambda: _seeded(database), timeout=TAKEOVER, what="the first cycle")

    # The standby is healthy and says it stands by, on every channel.
    assert _get(_metrics_url(standby) + "/healthz") == (
        200,
        "standby: another engine is acting on this database\n",
    )
    assert "automation_leader 0.0" in _get(_metrics_url(standby) + "/metrics")[1]
    leader.wait_cycles(2, timeout=TAKEOVER)
    assert standby.cycles() == 0  # spec section 13: "A standby prints no `cycle` events."
    assert "automation_leader 1.0" in _get(_metrics_url(leader) + "/metrics")[1]
    status = s.cli_json("status")["engines"]
    assert status["state"] == "leading"
    assert [_pid(n) for n in status["standby"]] == [standby.pid]
    assert _pid(status["leader"]) == leader.pid

    s.sandbox.world.set_metric(posts[0], "favorites", HIGH + 1)
    leader.wait_log("action ", timeout=TAKEOVER)  # mid-work: its first action is out
    epoch = s.cli_json("status")["engines"]["epoch"]
    with psycopg.connect(database.url, autocommit=True) as admin:
        terminated = admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE application_name IN (%s, %s)",
            [f"automation leader {status['leader']}", f"automation engine {epoch}"],
        ).fetchall()
    assert terminated and all(ok for (ok,) in terminated)

    assert _leader(database, engines, but=leader.pid) is standby
    leader.wait_log("lost the lead", timeout=TAKEOVER)
    assert leader.running()  # it stands by now
    wait_for(lambda: _standing_by(database, leader), timeout=TAKEOVER, what="the old leader")
    cycles_after_loss = leader.stderr.split("lost the lead", 1)[1].count(" cycle posts=")

    s.sandbox.world.set_metric(posts[1], "favorites", HIGH + 1)
    _assert_each_crossing_acted_on_once(s, database, posts)
    assert leader.stderr.split("lost the lead", 1)[1].count(" cycle posts=") == cycles_after_loss
    assert _get(_metrics_url(leader) + "/healthz")[1].startswith("standby")


def test_a_frozen_leader_is_replaced_and_stands_by_when_it_wakes(world) -> None:
    """SIGSTOP: a leader that goes silent without closing anything, as a machine cut off
    from the network; the server ends its session after the lease."""
    s, database = world
    # The new leader waits out what the frozen one may have under way: trust (half the
    # lease) and the longest action, the webhook's 1 s for each of its 4 requests at most.
    posts = _setup(s, database, 2, timeout=2, hook_timeout=1)
    engines = {e.pid: e for e in (s.engine(name="a"), s.engine(name="b"))}
    leader = _leader(database, engines)
    [standby] = [e for e in engines.values() if e is not leader]
    wait_for(lambda: _standing_by(database, standby), timeout=TAKEOVER, what="a standby")
    wait_for(lambda: _seeded(database), timeout=TAKEOVER, what="the first cycle")

    s.sandbox.world.set_metric(posts[0], "favorites", HIGH + 1)
    leader.wait_log("action ", timeout=TAKEOVER)  # its webhook may be on its way
    leader.signal(signal.SIGSTOP)
    try:
        assert _leader(database, engines, but=leader.pid) is standby
        s.sandbox.world.set_metric(posts[1], "favorites", HIGH + 1)
        wait_for(lambda: _all_sent(database, 4), timeout=TAKEOVER, what="the new leader's work")
    finally:
        leader.signal(signal.SIGCONT)
    leader.wait_log("lost the lead", timeout=TAKEOVER)
    wait_for(lambda: _standing_by(database, leader), timeout=TAKEOVER, what="the old leader")
    assert leader.stderr.split("lost the lead", 1)[1].count(" cycle posts=") == 0
    _assert_each_crossing_acted_on_once(s, database, posts)


def test_run_once_refuses_while_another_engine_leads(world) -> None:
    s, database = world
    _setup(s, database, 1)
    leader = s.engine(name="a")
    _leader(database, {leader.pid: leader})
    once = s.cli("run", "--once")
    assert once.code != 0
    assert f":{leader.pid}) leads the database" in once.stderr  # names the leader
    assert "Traceback" not in once.stderr
    leader.signal(signal.SIGTERM)
    assert leader.wait() == 0


def test_a_standby_tells_systemd_so_and_says_ready_again_when_it_takes_over(world) -> None:
    s, database = world
    _setup(s, database, 1)
    first = s.engine(name="a")
    _leader(database, {first.pid: first})
    notify = NotifySocket()
    try:
        second = s.engine(name="b", env={"NOTIFY_SOCKET": notify.name})
        ready = notify.wait("READY=1")  # started: systemd's start-up is over
        assert notify.messages[ready] == "READY=1\nSTATUS=standby: another engine leads"
        notify.wait("WATCHDOG=1", after=ready)  # alive while it waits

        first.signal(signal.SIGTERM)
        assert first.wait() == 0
        assert _leader(database, {second.pid: second}) is second
        status = notify.wait("STATUS=", after=notify.wait("READY=1", after=ready))
        assert "posts" in notify.messages[status]  # the status after its first cycle
        assert not any(m.startswith("STOPPING=1") for m in notify.drain())
    finally:
        notify.close()

"""Spec section 13: "An engine that loses its database connection keeps running,
reconnects, and then leads or stands by; it logs one line for it, with no traceback."

The engine runs against a PostgreSQL server of its own, which the test shuts down while
the engine leads, keeps down until the engine has tried to reach it again, and starts
again; every wait is for a condition, with a generous deadline.
"""

from __future__ import annotations

import re
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_helpers import assert_no_traceback
from e2e_helpers import (
    NotifySocket,
    Scene,
    likes_rule,
    open_scene,
    quiet_post,
    rule_file,
    wait_for,
)
from pg_cluster import Cluster

from automation.sandbox.app import Encoded
from automation.sandbox.messages import Request
from automation.store.postgres_leadership import leader_view

BACK = 60.0  # seconds: a generous deadline, never asserted as a timing


@pytest.fixture
def world(tmp_path: Path) -> Iterator[Scene]:
    s = open_scene(tmp_path)
    try:
        yield s
    finally:
        s.close()


def test_an_engine_that_loses_its_database_logs_one_line_and_leads_again(
    postgres_own_server: Cluster, world: Scene
) -> None:
    server = postgres_own_server
    database = server.create_database("lost")
    quiet_post(world.sandbox)
    world.write_config(database=database.url)
    world.write_rules(rule_file([likes_rule()]))
    assert world.cli("migrate").code == 0
    notify = NotifySocket()
    try:
        engine = world.engine(env={"NOTIFY_SOCKET": notify.name})
        engine.wait_log("leading the database", timeout=BACK)
        engine.wait_cycles(2, timeout=BACK)
        before = len(engine.stderr.splitlines())
        seen = len(notify.drain())

        server.pause()
        try:  # down until the engine, standing by, has found it out of reach
            wait_for(
                lambda: notify.index("STATUS=standby: cannot", after=seen) is not None,
                timeout=BACK,
                what="the engine to find the database out of reach",
            )
        finally:
            server.resume()

        def leads_again() -> bool:
            return engine.stderr.count("leading the database") >= 2 or not engine.running()

        wait_for(leads_again, timeout=BACK, what="the engine to lead again")
        assert engine.running(), engine.stderr
        engine.wait_cycles(1, timeout=BACK)
    finally:
        notify.close()
    assert [_pid(n) for n in leader_view(database).connected] == [engine.pid]
    assert_no_traceback(engine.stderr)
    lines = engine.stderr.splitlines()[before:]
    back = next(i for i, line in enumerate(lines) if "leading the database" in line)
    assert len(lines[:back]) == 1, "\n".join(lines)
    assert "WARNING lost the lead on" in lines[0]


def _pid(name: str) -> int:
    return int(name.rsplit(":", 1)[1])


def test_a_leader_that_loses_its_database_in_a_cycle_logs_one_line(
    postgres_own_server: Cluster, world: Scene
) -> None:
    server = postgres_own_server
    database = server.create_database("lost_in_cycle")
    quiet_post(world.sandbox)
    world.write_config(database=database.url)
    world.write_rules(rule_file([likes_rule()]))
    assert world.cli("migrate").code == 0
    engine = world.engine()
    engine.wait_log("leading the database", timeout=BACK)
    engine.wait_cycles(2, timeout=BACK)
    app = world.sandbox.app
    answer = app.handle
    asked = threading.Event()

    def slow(request: Request) -> Encoded:
        asked.set()
        time.sleep(3)
        return answer(request)

    app.handle = slow  # type: ignore[method-assign]
    before = len(engine.stderr.splitlines())
    assert asked.wait(BACK)  # the engine is in a cycle, waiting for the API
    server.pause()
    try:
        wait_for(
            lambda: "lost the lead" in engine.stderr or not engine.running(),
            timeout=BACK,
            what="the engine to find the database out of reach",
        )
    finally:
        app.handle = answer  # type: ignore[method-assign]
        server.resume()
    wait_for(
        lambda: engine.stderr.count("leading the database") >= 2 or not engine.running(),
        timeout=BACK,
        what="the engine to lead again",
    )
    assert engine.running(), engine.stderr
    assert_no_traceback(engine.stderr)
    lines = engine.stderr.splitlines()[before:]
    back = next(i for i, line in enumerate(lines) if "leading the database" in line)
    assert len(lines[:back]) == 1, "\n".join(lines)


def _healthz(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:  # 503 is an answer too
        return exc.code, exc.read().decode()


def test_a_leader_whose_heartbeat_meets_the_outage_answers_503_until_it_leads_again(
    postgres_own_server: Cluster, world: Scene
) -> None:
    """Its lease can no longer be renewed, so it cannot act: /healthz says the database
    cannot be reached from the loss on (not "ok", not that another engine acts), and
    answers 200 again once the engine leads again."""
    server = postgres_own_server
    database = server.create_database("health")
    quiet_post(world.sandbox)
    world.write_config(database=database.url, metrics={"listen": "127.0.0.1:0"})
    world.write_rules(rule_file([likes_rule()]))
    assert world.cli("migrate").code == 0
    engine = world.engine()
    engine.wait_cycles(2, timeout=BACK)
    served = re.search(r"serving /metrics and /healthz on (\S+)", engine.stderr)
    assert served is not None, engine.stderr
    url = served.group(1) + "/healthz"
    assert _healthz(url)[0] == 200

    server.pause()
    try:
        engine.wait_log("lost the lead", timeout=BACK)
        down = [_healthz(url)]
        wait_for(
            lambda: down.append(_healthz(url)) or "cannot connect to the database" in down[-1][1],
            timeout=BACK,
            what="/healthz to say the database cannot be reached",
        )
        down.append(_healthz(url))
    finally:
        server.resume()
    assert [code for code, _ in down] == [503] * len(down), down
    assert down[-1][1].startswith("standby: cannot connect to the database"), down

    engine.wait_log("leading the database", count=2, timeout=BACK)
    wait_for(lambda: _healthz(url)[0] == 200, timeout=BACK, what="/healthz 200 again")
    assert _healthz(url)[1].startswith(("starting: ", "ok: "))
    assert_no_traceback(engine.stderr)

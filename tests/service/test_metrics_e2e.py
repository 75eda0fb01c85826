"""``/metrics`` and ``/healthz`` scraped from a real running engine (spec §13)."""

from __future__ import annotations

import re
import socket
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from e2e_helpers import HIGH, Scene, likes_rule, quiet_post, rule_file, scene, wait_for
from prometheus_client.parser import text_string_to_metric_families
from promtool import promtool_check
from tiny_disk import fill, mounted_tmpfs


@pytest.fixture
def world(tmp_path: Path) -> Iterator[Scene]:
    yield from scene(tmp_path)


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def value(text: str, name: str, **labels: str) -> float:
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
                return s.value
    return 0.0


def test_a_running_engine_serves_metrics_and_health(world: Scene) -> None:
    post = quiet_post(world.sandbox)
    world.write_config(metrics={"listen": "127.0.0.1:0"})
    world.write_rules(rule_file([likes_rule()]))
    engine = world.engine()
    engine.wait_log("serving /metrics and /healthz on ")
    base = re.search(r"serving /metrics and /healthz on (http://\S+)", engine.stderr)
    assert base is not None
    url = base.group(1)
    engine.wait_cycles(1)
    world.sandbox.world.set_metric(post, "favorites", HIGH)

    def fired() -> str | None:
        status, text = get(url + "/metrics")
        assert status == 200
        has_fired = value(text, "automation_firings_total", rule="big-likes") >= 1
        # the cycle that fired is counted when it ends, a moment after its firings
        return text if has_fired and value(text, "automation_cycles_total") >= 2 else None

    text = wait_for(fired, timeout=15, what="the firing and its cycle in /metrics")
    assert value(text, "automation_api_requests_total", endpoint="engagement/totals", outcome="ok")
    assert value(text, "automation_rules_loaded") == 1
    assert value(text, "automation_last_successful_cycle_timestamp_seconds") > 0
    promtool_check(text.encode())
    status, reason = get(url + "/healthz")
    assert (status, reason.startswith("ok: the last cycle finished at ")) == (200, True)


def test_a_dry_run_beside_the_engine_leaves_its_metrics_address_alone(world: Scene) -> None:
    # The running engine holds metrics.listen; a dry run of the same config serves nothing,
    # so it neither fails on the address nor answers Prometheus for the engine.
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        port = held.getsockname()[1]
        world.write_config(metrics={"listen": f"127.0.0.1:{port}"})
        world.write_rules(rule_file([likes_rule()]))
        result = world.cli("run", "--once", "--dry-run")
    assert (result.code, result.stderr.count("/metrics")) == (0, 0), result.stderr
    assert "dry run, per rule" in result.stdout


def test_an_engine_waiting_for_the_request_budget_is_stale_and_says_until_when(
    world: Scene,
) -> None:
    # One request a minute and a poll a second: the second cycle waits most of a minute
    # for the budget, far past three poll intervals: stale (spec §13), and the reason says
    # the engine backs off as it must (§7), until when.
    quiet_post(world.sandbox)
    config = world.write_config(metrics={"listen": "127.0.0.1:0"})
    doc = yaml.safe_load(config.read_text(encoding="utf-8"))
    doc["engagement_api"]["requests_per_minute"] = 1
    config.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    world.write_rules(rule_file([likes_rule()]))
    engine = world.engine()
    engine.wait_log("serving /metrics and /healthz on ")
    base = re.search(r"serving /metrics and /healthz on (http://\S+)", engine.stderr)
    assert base is not None
    url = base.group(1)
    # the first cycle, counted from the start: it may have ended before this line, and the
    # second waits most of a minute for the budget
    engine.wait_log(" cycle posts=", count=1)

    def past_ok() -> tuple[int, str] | None:
        status, reason = get(url + "/healthz")
        return None if reason.startswith(("ok: ", "starting: ")) else (status, reason)

    status, reason = wait_for(past_ok, timeout=15, what="/healthz past three poll intervals")
    assert status == 503, reason
    assert re.fullmatch(
        r"stale: no cycle finished within 3s \(3 poll intervals\); the engine is waiting for"
        r" the request budget until \d\d:\d\d:\d\d UTC \(engagement_api: requests_per_minute\);"
        r" the last one finished at \S+Z\n",
        reason,
    ), reason
    _, text = get(url + "/metrics")
    assert value(text, "automation_api_wait_until_timestamp_seconds") > 0


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    yield from mounted_tmpfs(tmp_path)


def test_an_engine_whose_database_refuses_writes_is_unhealthy_until_it_records_again(
    world: Scene, tiny_disk: Path
) -> None:
    # Its SQLite database on a 4 MB tmpfs that a filler file fills: the cycles go on
    # finishing, but record nothing, so the engine cannot do its job (spec §13): 503,
    # saying why; once space is freed and a cycle records again, 200.
    quiet_post(world.sandbox)
    world.write_config(database=str(tiny_disk / "automation.db"), metrics={"listen": "127.0.0.1:0"})
    world.write_rules(rule_file([likes_rule()]))
    engine = world.engine()
    engine.wait_log("serving /metrics and /healthz on ")
    base = re.search(r"serving /metrics and /healthz on (http://\S+)", engine.stderr)
    assert base is not None
    url = base.group(1) + "/healthz"
    engine.wait_cycles(1)
    assert get(url)[0] == 200
    filler = fill(tiny_disk)

    def refused() -> tuple[int, str] | None:
        status, reason = get(url)
        return (status, reason) if "could not record" in reason else None

    engine.wait_log("could not record last_cycle: ")
    engine.wait_cycles(1)  # a whole cycle on the full disk, well inside 3 poll intervals
    status, reason = wait_for(refused, timeout=10, what="/healthz to say nothing is recorded")
    assert status == 503, reason
    assert re.fullmatch(
        r"unrecorded: the cycle at \S+Z could not record: state database \S+: database or"
        rf" disk is full; free space on the disk that holds {re.escape(str(tiny_disk))} .*\n",
        reason,
    ), reason
    filler.unlink()
    status, reason = wait_for(
        lambda: (r := get(url))[0] == 200 and r, timeout=10, what="/healthz 200 again"
    )
    assert reason.startswith("ok: the last cycle finished at "), reason

"""A burst of firings drained: how long until the last action, and what sets the pace.

Two bursts, each fired by one cycle of the real engine against the sandbox:

1. **Webhooks**: N posts cross a rule with one webhook each, all to one local receiver that
   answers every delivery after 200 ms. The engine runs as ``automation run --once`` in a
   child process (the sandbox and the receiver in this one, on 127.0.0.1, real time), as an
   operator would run it. Reported from the engine's own records: seconds from the start of
   ``run --once`` to the last delivery and to its exit, and each action's time from its
   firing to its delivery (median, p95, max). The floor is the receiver's lane: at most
   ``DispatchLimits.per_receiver`` deliveries in flight to one receiver, 200 ms each.

2. **Reposts**: 100 posts cross a rule that reposts each as five owned accounts, 500
   reposts. X allows 50 reposts per user per 15 minutes, which the sandbox enforces on its
   simulated clock (``simulated_limits``). The engine (``open_runtime``, SQLite, the worker
   pool, the write limits) runs in this process over an in-process transport; the outbox is
   drained as ``run --once`` drains it, and when only writes waiting for their limit are
   left the simulated clock moves to when the first is due, as the time a running engine
   would wait. Each wave shows the simulated moment, the reposts sent and the engine's wall
   time and CPU for it (the sandbox's CPU taken out): the limit sets the pace, the engine
   takes a moment per wave.

    python benchmarks/bench_drain.py                  # both bursts
    python benchmarks/bench_drain.py --webhooks 500   # a quicker first burst
    python benchmarks/bench_drain.py --skip-reposts
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from automation.config.loader import load_config
from automation.config.secret import Secret
from automation.engine.dispatch import DispatchLimits
from automation.sandbox import Encoded, Options, Request, Sandbox, SandboxTransport, write_config
from automation.sandbox.credentials import ACCOUNTS, WEBHOOK_SECRETS
from automation.sandbox.webhook_receiver import Delivery, Receiver
from automation.service.runtime import Chance, open_runtime
from automation.store.sqlite import SqliteStore
from automation.x.http import HttpClient

START = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)  # the reposts' simulated start
HIGH = 5_000_000  # far above any generated post: only pushed posts cross it
BRAND = next(a.user_id for a in ACCOUNTS if a.name == "brand")
QUIET = {"impressions": 500, "favorites": 5, "engagements": 20}
REPOSTS_PER_15_MIN = 50  # X's per-user repost limit, as the sandbox enforces it
WEBHOOK_TARGET_S = 30.0


def _rule(actions: list[dict[str, Any]]) -> str:
    rule = {
        "id": "burst",
        "watch": {"accounts": ["brand"], "max_age": "2d"},
        "when": f"likes >= {HIGH}",
        "actions": actions,
    }
    return yaml.safe_dump({"version": 1, "rules": [rule]}, sort_keys=False)


def _config(tmp: Path, base_url: str, rules: str, poll: str) -> Path:
    (tmp / "rules").mkdir()
    (tmp / "rules" / "burst.yaml").write_text(rules, encoding="utf-8")
    return write_config(
        tmp / "automation.yaml",
        base_url,
        requests_per_minute=600,
        poll_interval=poll,
        database=str(tmp / "automation.db"),
        rules=[str(tmp / "rules")],
    )


def _quantiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, math.ceil(0.95 * len(ordered)) - 1)]
    return {"median": statistics.median(ordered), "p95": p95, "max": ordered[-1]}


def _delivered(database: Path) -> list[tuple[datetime, datetime]]:
    """(firing, first successful attempt) of every action sent, from the engine's store."""
    with SqliteStore.open(database) as store:
        return [
            (entry.firing.at, store.attempts(action.id)[-1].at)
            for entry in store.history(limit=1_000_000, kind="fired")
            for action in entry.actions
            if action.status == "sent"
        ]


# --- 1. webhooks ----------------------------------------------------------------------------


def _run_once(
    config: Path, timeout: float
) -> tuple[float, float, subprocess.CompletedProcess[str]]:
    """``automation run --once``: (start epoch, seconds to exit, the finished process)."""
    started, clock = time.time(), time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "automation", "--config", str(config), "run", "--once"],
        cwd=config.parent,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    return started, time.perf_counter() - clock, done


def webhook_burst(count: int, delay: float, tmp: Path) -> dict[str, Any]:
    sandbox = Sandbox(seed=7, speed=1.0, options=Options(per_minute_limit=600)).start()
    keys: Counter[str] = Counter()
    lock = threading.Lock()

    def heard(delivery: Delivery) -> None:
        with lock:
            keys[delivery.idempotency_key] += 1

    secret = Secret(WEBHOOK_SECRETS["team-chat"], "team-chat")
    receiver = Receiver(secret, delay=delay, on_delivery=heard).start()
    try:
        posts = [
            sandbox.world.add_post(BRAND, finals=QUIET, tau_hours=1.0).id for _ in range(count)
        ]
        hook = {"webhook": {"url": f"{receiver.url}/hooks/burst", "secret": "team-chat"}}
        config = _config(tmp, sandbox.base_url, _rule([hook]), "1m")
        *_, learn = _run_once(config, timeout=600)  # learns the rule: nothing crosses yet
        if learn.returncode != 0:
            raise SystemExit(f"the first run failed:\n{learn.stderr[-3000:]}")
        for post in posts:
            sandbox.world.set_metric(post, "favorites", HIGH + 1)
        started, exited, run = _run_once(config, timeout=600)
    finally:
        receiver.stop()
        sandbox.stop()
    if run.returncode != 0:
        raise SystemExit(f"run --once failed:\n{run.stderr[-3000:]}")
    pairs = _delivered(tmp / "automation.db")
    began = datetime.fromtimestamp(started, UTC)
    lanes = DispatchLimits().per_receiver
    return {
        "firings": count,
        "delay_ms": delay * 1000,
        "delivered": len(pairs),
        "keys_heard": len(keys),
        "keys_twice": sum(1 for n in keys.values() if n > 1),
        "fired_s": (min(f for f, _ in pairs) - began).total_seconds(),
        "first_s": (min(d for _, d in pairs) - began).total_seconds(),
        "last_s": (max(d for _, d in pairs) - began).total_seconds(),
        "exit_s": exited,
        "floor_s": math.ceil(count / lanes) * delay,
        "lanes": lanes,
        "latency": _quantiles([(d - f).total_seconds() for f, d in pairs]),
        "summary": next(
            (
                line.split("outbox: ", 1)[1]
                for line in run.stderr.splitlines()
                if "outbox: " in line
            ),
            "",
        ),
    }


# --- 2. reposts -----------------------------------------------------------------------------


@dataclass
class Writes:
    """What the sandbox saw: each repost's simulated moment and answer, and its own CPU."""

    clock: Any
    sandbox_cpu: float = 0.0
    reposts: list[tuple[str, datetime, int]] = field(default_factory=list)  # (user, at, status)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, request: Request, answer: Encoded, cpu: float) -> None:
        with self.lock:
            self.sandbox_cpu += cpu
            if request.method == "POST" and request.path.endswith("/retweets"):
                user = request.path.split("/")[3]
                self.reposts.append((user, self.clock.now(), answer.status))


@dataclass(frozen=True)
class Wave:
    at: datetime
    sent: int
    wall: float
    cpu: float
    waiting_until: datetime | None


def repost_burst(posts: int, accounts: list[str], tmp: Path) -> dict[str, Any]:
    sandbox = Sandbox(
        seed=7,
        start=START,
        speed=0,
        options=Options(per_minute_limit=1_000_000),
        simulated_limits=True,
    )
    clock = sandbox.clock
    pushed = [sandbox.world.add_post(BRAND, finals=QUIET, tau_hours=1.0).id for _ in range(posts)]
    actions = [{"repost": {"as": name}} for name in accounts]
    config = load_config(_config(tmp, "http://127.0.0.1:1", _rule(actions), "5m"))
    writes = Writes(clock)
    http = HttpClient(transport=SandboxTransport(sandbox.app, observe=writes))
    runtime = open_runtime(
        config,
        emit=lambda event: None,
        clock=clock.now,
        sleep=clock.advance,
        http=http,
        chance=Chance(rng=random.Random(7)),
    )
    try:
        runtime.engine.cycle()  # learns the rule: nothing crosses yet
        for post in pushed:
            sandbox.world.set_metric(post, "favorites", HIGH + 1)
        clock.advance(300)
        fired_at = clock.now()
        waves = _drain_in_waves(runtime, writes)
    finally:
        runtime.close()
    return _repost_figures(posts, accounts, fired_at, waves, writes, tmp / "automation.db")


def _drain_in_waves(runtime: Any, writes: Writes) -> list[Wave]:
    """The cycle that fires and a drain, then more drains; before each, the clock moves to
    when the first write waiting for its limit is due."""
    clock, dispatcher, waves = writes.clock, runtime.outbox.dispatcher, []
    first = True
    while True:
        at, before, sandbox_cpu = clock.now(), len(writes.reposts), writes.sandbox_cpu
        wall, cpu = time.perf_counter(), time.process_time()
        if first:
            runtime.engine.cycle()
            first = False
        report = dispatcher.drain()
        cpu_spent = time.process_time() - cpu - (writes.sandbox_cpu - sandbox_cpu)
        sent = len(writes.reposts) - before
        waves.append(Wave(at, sent, time.perf_counter() - wall, cpu_spent, report.waiting_until))
        if report.pending == 0 or report.waiting_until is None:
            return waves
        clock.advance(max(0.0, (report.waiting_until - clock.now()).total_seconds()))


def _repost_figures(
    posts: int,
    accounts: list[str],
    fired_at: datetime,
    waves: list[Wave],
    writes: Writes,
    database: Path,
) -> dict[str, Any]:
    statuses = Counter(status for _, _, status in writes.reposts)
    per_account = Counter(user for user, _, status in writes.reposts if status == 200)
    most = max(per_account.values(), default=0)
    pairs = _delivered(database)
    return {
        "reposts": posts * len(accounts),
        "accounts": len(accounts),
        "sent": len(pairs),
        "statuses": dict(sorted(statuses.items())),
        "per_account": most,
        "last_min": (max(d for _, d in pairs) - fired_at).total_seconds() / 60,
        "floor_min": (math.ceil(most / REPOSTS_PER_15_MIN) - 1) * 15,
        "latency_min": {
            k: v / 60 for k, v in _quantiles([(d - f).total_seconds() for f, d in pairs]).items()
        },
        "waves": [
            {
                "at_min": (w.at - fired_at).total_seconds() / 60,
                "sent": w.sent,
                "wall_s": w.wall,
                "cpu_s": w.cpu,
                "next_min": None
                if w.waiting_until is None
                else (w.waiting_until - fired_at).total_seconds() / 60,
            }
            for w in waves
        ],
        "engine_wall_s": sum(w.wall for w in waves),
    }


# --- report ---------------------------------------------------------------------------------


def print_webhooks(r: dict[str, Any]) -> None:
    lat = r["latency"]
    print(
        f"\n1. {r['firings']:,} firings, one webhook each, one receiver answering in "
        f"{r['delay_ms']:.0f} ms; one `run --once`\n"
    )
    rows = [
        ("delivered / each key heard once", f"{r['delivered']:,} / {r['keys_twice'] == 0}"),
        ("cycle began (the firings' moment)", f"{r['fired_s']:.1f} s after start"),
        ("first delivery", f"{r['first_s']:.1f} s after start"),
        (
            "last delivery",
            f"{r['last_s']:.1f} s after start, {r['last_s'] - r['fired_s']:.1f} s after "
            f"firing (target < {WEBHOOK_TARGET_S:.0f} s)",
        ),
        ("run --once exited", f"{r['exit_s']:.1f} s after start"),
        (
            "firing -> delivery",
            f"median {lat['median']:.1f} s, p95 {lat['p95']:.1f} s, max {lat['max']:.1f} s",
        ),
        (
            "receiver lane floor",
            f"{r['floor_s']:.1f} s ({r['lanes']} in flight x {r['delay_ms']:.0f} ms)",
        ),
        ("run --once says", r["summary"]),
    ]
    for label, value in rows:
        print(f"  {label:<33} {value}")


def print_reposts(r: dict[str, Any]) -> None:
    lat = r["latency_min"]
    print(
        f"\n2. {r['reposts']:,} reposts over {r['accounts']} acting accounts "
        f"({r['per_account']} each), X's limit {REPOSTS_PER_15_MIN} per user per 15 min, "
        "simulated clock\n"
    )
    print(
        f"  {'wave at (sim.)':>15} {'reposts sent':>13} {'engine wall':>12} {'engine CPU':>11}"
        f"  next due (sim.)"
    )
    for w in r["waves"]:
        due = "-" if w["next_min"] is None else f"{w['next_min']:.1f} min"
        print(
            f"  {w['at_min']:>11.1f} min {w['sent']:>13} {w['wall_s']:>10.2f} s "
            f"{w['cpu_s']:>9.2f} s  {due}"
        )
    statuses = ", ".join(f"{k}: {v}" for k, v in r["statuses"].items())
    print(f"\n  sent {r['sent']} of {r['reposts']}; sandbox answers {statuses}")
    print(
        f"  last repost {r['last_min']:.1f} min (sim.) after the firing; the limit allows no "
        f"sooner than {r['floor_min']} min; the engine's own time {r['engine_wall_s']:.1f} s"
    )
    print(
        f"  firing -> repost: median {lat['median']:.1f} min, p95 {lat['p95']:.1f} min, "
        f"max {lat['max']:.1f} min (sim.)"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--webhooks", type=int, default=2_000, help="firings, one webhook each")
    parser.add_argument("--delay", type=float, default=0.2, help="receiver's answer, seconds")
    parser.add_argument("--posts", type=int, default=100, help="posts reposted by each account")
    parser.add_argument("--accounts", type=int, default=5, help="acting accounts")
    parser.add_argument("--skip-webhooks", action="store_true")
    parser.add_argument("--skip-reposts", action="store_true")
    parser.add_argument("--save", type=Path, help="write the figures to this JSON file")
    args = parser.parse_args(argv)
    if args.accounts > len(ACCOUNTS):
        parser.error(f"the sandbox has {len(ACCOUNTS)} owned accounts; pass --accounts <= that")
    logging.basicConfig(level=logging.ERROR)
    logging.getLogger("automation").setLevel(logging.CRITICAL)
    figures: dict[str, Any] = {}
    if not args.skip_webhooks:
        with tempfile.TemporaryDirectory() as tmp:
            figures["webhooks"] = webhook_burst(args.webhooks, args.delay, Path(tmp))
        print_webhooks(figures["webhooks"])
    if not args.skip_reposts:
        accounts = [a.name for a in ACCOUNTS[: args.accounts]]
        with tempfile.TemporaryDirectory() as tmp:
            figures["reposts"] = repost_burst(args.posts, accounts, Path(tmp))
        print_reposts(figures["reposts"])
    if args.save:
        args.save.write_text(json.dumps(figures, indent=2, default=str) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())

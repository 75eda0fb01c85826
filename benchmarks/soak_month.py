"""A simulated month of running, sampled every simulated day: what grows, what is pruned.

The real service loop (``run_loop`` with the engine, its outbox and the observers that
``automation run`` wires) runs in this process against the sandbox on a simulated clock,
as ``bench_latency.py`` drives it: the sandbox answers the Engagement API and X API v2
in-process (``SandboxTransport``), counting its 60 requests a minute on the same clock;
the engine's budget waits, the loop's waits between cycles and the outbox's waits move
that clock, nothing else does. Webhooks go over HTTP to the sandbox's receiver on
127.0.0.1 (``webhooks.redirect_to``), and ``/metrics`` is served on 127.0.0.1 as in a
deployment.

The deployment is a modest one: two owned accounts (brand and support) posting every day
(``--per-day`` each) on top of two weeks of posts before the start, 1,000 public posts
named by ID that age out after ten days (``max_age``), the starter rules as shipped plus
windowed, ``for`` and rearming rules with webhooks, a poll every 5 minutes, the hourly
history kept ``--keep`` days and firings and actions ``--retention`` days. The owned posts
are spread over the whole run, so the same ``--seed`` and ``--days`` give the same rows.

Every simulated day (after that day's last cycle) it prints a row: the watched posts, the
database's size and its WAL, each table's rows, the process's RSS and open file
descriptors, the objects Python tracks, the log lines and bytes written that day, the
events of the day (fired, seeded, actions sent), the most Engagement API requests in any
60 s of the day, ``automation status``'s first lines, the dashboard's pages' server times
(``Server-Timing``, as ``bench_dashboard.py`` reads them) and the size of ``/metrics``.

    python benchmarks/soak_month.py                  # 30 days
    python benchmarks/soak_month.py --days 3         # a first look
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import io
import json
import logging
import os
import random
import socket
import sqlite3
import statistics
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from unittest import mock

import httpx
import yaml
from bench_dashboard import _server_ms
from bench_latency import most_in_a_minute
from latency_world import _add

from automation.cli.main import main as cli_main
from automation.config.loader import load_config
from automation.config.secret import Secret
from automation.dashboard.server import start as start_dashboard
from automation.engine.events import ActionEvent, Event, FiredEvent
from automation.engine.workers import InlineWorkers
from automation.sandbox import Options, Sandbox, SandboxTransport
from automation.sandbox import credentials as cred
from automation.sandbox.app import ENGAGEMENT_PATHS, Encoded
from automation.sandbox.config_writer import config_text
from automation.sandbox.messages import Request
from automation.sandbox.webhook_receiver import Receiver
from automation.service.logs import setup_logging
from automation.service.loop import Controls, run_loop
from automation.service.observers import Observers
from automation.service.run import log_sink
from automation.service.runtime import Chance, open_runtime
from automation.x.http import HttpClient

START = datetime(2026, 11, 1, 0, 0, tzinfo=UTC)
OWNED = ("brand", "support")
AUDIENCE = {"brand": 20_000.0, "support": 3_000.0}
BEFORE = timedelta(days=14)  # the accounts' posts before the engine starts
PUBLIC = 1_000
NASA = "11348282"
PAGES = (
    ("overview", "/"),
    ("rules", "/rules"),
    ("history", "/history"),
    ("actions", "/actions"),
)

EXTRA_RULES = """\
version: 1
rules:
  - id: brand-busy-hour
    watch: {{accounts: [brand, support], max_age: 2d}}
    when: likes over 1h >= 30
    fire: {{rearm: true, cooldown: 6h}}
    actions:
      - webhook:
          url: https://chat.example.com/hooks/busy
          secret: team-chat
          body: {{text: "{{post.url}} is busy"}}
  - id: support-replies-held
    watch: {{accounts: [support], max_age: 3d}}
    when: replies >= 20
    for: 30m
    actions:
      - webhook:
          url: https://chat.example.com/hooks/replies
          secret: team-chat
          body: {{text: "{{post.url}} has {{metrics.replies}} replies"}}
  - id: support-reach
    watch: {{accounts: [support], max_age: 7d}}
    when: impressions >= 2000
    for: 15m
    actions: [{{log: {{message: "{{post.url}} reached {{metrics.impressions}}"}}}}]
  - id: public-likes
    watch: {{posts: [{public}], max_age: 10d}}
    when: likes >= 50
    actions:
      - webhook:
          url: https://chat.example.com/hooks/public
          secret: team-chat
          body: {{text: "{{post.url}} reached {{metrics.likes}} likes"}}
"""


# --- what the harness hears ---------------------------------------------------------------


class Written(io.TextIOBase):
    """A log stream that counts the lines and bytes written to it, and keeps none."""

    def __init__(self) -> None:
        self.lines = 0
        self.bytes = 0

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        self.lines += text.count("\n")
        self.bytes += len(text.encode())
        return len(text)


@dataclass
class Heard:
    events: Counter[str] = field(default_factory=Counter)
    sent: list[float] = field(default_factory=list)  # Engagement API requests, sim epoch s

    def event(self, event: Event) -> None:
        if isinstance(event, FiredEvent):
            self.events[event.event] += 1
        elif isinstance(event, ActionEvent):
            self.events[f"action {event.status}"] += 1
        else:
            self.events[type(event).__name__] += 1


class Routed(httpx.BaseTransport):
    """The sandbox in-process; the webhook receiver over HTTP on 127.0.0.1."""

    def __init__(self, sandbox: httpx.BaseTransport, receiver_port: int) -> None:
        self._sandbox = sandbox
        self._port = receiver_port
        self._http = httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.port == self._port:
            return self._http.handle_request(request)
        return self._sandbox.handle_request(request)

    def close(self) -> None:
        self._http.close()


class SimLoopClock:
    """The loop's waits on the sandbox's clock: a wait moves it; at ``end`` the loop stops."""

    def __init__(self, sandbox: Sandbox, end: datetime) -> None:
        self._clock = sandbox.clock
        self._end = end

    def monotonic(self) -> float:
        return self._clock.now().timestamp()

    def wait(self, event: Any, seconds: float) -> bool:
        if self._clock.advance(max(0.0, seconds)) >= self._end:
            event.set()
        return bool(event.is_set())

    def sleep(self, seconds: float) -> None:
        self._clock.advance(max(0.0, seconds))


# --- the deployment ---------------------------------------------------------------------


def build(args: argparse.Namespace) -> tuple[Sandbox, list[str]]:
    """The sandbox with the owned accounts' posts of the whole month, and the public posts."""
    sandbox = Sandbox(
        seed=args.seed,
        start=START,
        speed=0,
        options=Options(per_minute_limit=60),
        simulated_limits=True,
    )
    world: Any = type("W", (), {"sandbox": sandbox})()
    rng = random.Random(args.seed)
    end = START + timedelta(days=args.days + 1)
    for account in (a for a in cred.ACCOUNTS if a.name in OWNED):
        days = (end - (START - BEFORE)).days
        _add(world, rng, account.user_id, AUDIENCE[account.name], START - BEFORE, end,
             args.per_day * days)  # fmt: skip
    return sandbox, _add(world, rng, NASA, 7_500.0, START - timedelta(days=3), START, PUBLIC)


def write_deployment(
    tmp: Path, args: argparse.Namespace, public: list[str], receiver: str, metrics_port: int
) -> Path:
    """The rules and ``automation.yaml``; returns the config's path."""
    rules = tmp / "rules"
    rules.mkdir()
    shipped = Path(__file__).resolve().parent.parent / "rules"
    for path in shipped.glob("*.yaml"):
        (rules / path.name).write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    listed = ", ".join(f'"{p}"' for p in public)
    (rules / "month.yaml").write_text(EXTRA_RULES.format(public=listed), encoding="utf-8")
    doc = yaml.safe_load(
        config_text(
            "http://127.0.0.1:1",
            poll_interval="5m",
            database=str(tmp / "automation.db"),
            rules=[str(rules)],
            webhooks_to=f"{receiver}/hooks",
        )
    )
    doc["accounts"] = {k: v for k, v in doc["accounts"].items() if k in OWNED}
    doc["history"] = {"keep": f"{args.keep}d"}
    doc["retention"] = {"firings": f"{args.retention}d"}
    doc["metrics"] = {"listen": f"127.0.0.1:{metrics_port}"}
    (tmp / "automation.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    return tmp / "automation.yaml"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --- one day's sample -------------------------------------------------------------------


def _proc(field_name: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field_name):
            return int(line.split()[1]) / 1024
    return 0.0


def _tables(db: Path) -> dict[str, int]:
    with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as conn:
        names = [
            n
            for (n,) in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"
            )
        ]
        return {n: conn.execute(f'SELECT count(*) FROM "{n}"').fetchone()[0] for n in names}


def _status(config: Path, now: datetime) -> dict[str, Any]:
    out = io.StringIO()
    with mock.patch("automation.cli.status.now", lambda: now), contextlib.redirect_stdout(out):
        cli_main(["--config", str(config), "status", "--json"])
    text = io.StringIO()
    with mock.patch("automation.cli.status.now", lambda: now), contextlib.redirect_stdout(text):
        cli_main(["--config", str(config), "status"])
    data: dict[str, Any] = json.loads(out.getvalue())
    data["text"] = text.getvalue()
    return data


@dataclass
class Soak:
    args: argparse.Namespace
    tmp: Path
    sandbox: Sandbox
    heard: Heard
    written: Written
    metrics_url: str
    dashboard: Any = None
    rows: list[dict[str, Any]] = field(default_factory=list)
    day_start_events: Counter[str] = field(default_factory=Counter)
    day_start_log: tuple[int, int] = (0, 0)
    runtime: Any = None

    def sample(self, day: int) -> None:
        now = self.sandbox.clock.now()
        db = self.tmp / "automation.db"
        wal = self.tmp / "automation.db-wal"
        status = _status(self.tmp / "automation.yaml", now)
        setup_logging(stream=self.written)  # the status command set up its own
        with httpx.Client(base_url=self.dashboard.url, timeout=60) as client:
            pages = {}
            for name, path in PAGES:
                _server_ms(client, path)
                pages[name] = statistics.median(_server_ms(client, path) for _ in range(5))
        metrics = httpx.get(self.metrics_url, timeout=10).text
        day_sent = [t for t in self.heard.sent if t >= (now - timedelta(days=1)).timestamp()]
        events = self.heard.events - self.day_start_events
        lines, size = self.written.lines, self.written.bytes
        recorder = self.runtime.engine.recorder
        row = {
            "day": day,
            "posts": status["posts_watched"],
            "db_mb": db.stat().st_size / 1e6,
            "wal_mb": wal.stat().st_size / 1e6 if wal.exists() else 0.0,
            "tables": _tables(db),
            "rss_mb": _proc("VmRSS:"),
            "fds": len(os.listdir("/proc/self/fd")),
            "objects": len(gc.get_objects()),
            "counted": len(recorder.counted_to),
            "log_lines": lines - self.day_start_log[0],
            "log_kb": (size - self.day_start_log[1]) / 1e3,
            "fired": events["fired"],
            "seeded": events["seeded"],
            "sent": events["action sent"],
            "not_sent": sum(v for k, v in events.items() if k.startswith("action "))
            - events["action sent"],
            "most_per_min": most_in_a_minute(day_sent),
            "pages_ms": pages,
            "metrics_kb": len(metrics) / 1e3,
            "status": status,
        }
        self.rows.append(row)
        self.day_start_events = Counter(self.heard.events)
        self.day_start_log = (lines, size)
        self.heard.sent = day_sent[-120:]  # enough for the next day's first minute
        _print_row(row, first=day == 1)


TABLES = (
    "posts",
    "snapshots",
    "snapshots_hour",
    "hourly_posts",
    "hourly_totals",
    "hourly_counts",
    "hourly_spans",
    "series",
    "rule_states",
    "firings",
    "outbox",
    "attempts",
    "budget",
    "meta",
)


def _print_row(row: dict[str, Any], *, first: bool) -> None:
    t = row["tables"]
    if first:
        print(
            "| day | watched | db MB | wal MB | "
            + " | ".join(TABLES)
            + " | RSS MB | fds | objects | log lines | log kB | fired | seeded | sent"
            " | not sent | pending | dead | stale | max req/min | "
            + " | ".join(f"{n} ms" for n, _ in PAGES)
            + " | /metrics kB |"
        )
        print("|" + "---:|" * (16 + len(TABLES) + len(PAGES)))
    cells = [
        row["day"],
        row["posts"],
        f"{row['db_mb']:.1f}",
        f"{row['wal_mb']:.1f}",
        *(t.get(n, "-") for n in TABLES),
        f"{row['rss_mb']:.0f}",
        row["fds"],
        row["objects"],
        row["log_lines"],
        f"{row['log_kb']:.0f}",
        row["fired"],
        row["seeded"],
        row["sent"],
        row["not_sent"],
        row["status"]["actions"]["pending"],
        row["status"]["actions"]["dead"],
        "yes" if row["status"]["recording"]["stale"] else "no",
        row["most_per_min"],
        *(f"{row['pages_ms'][n]:.1f}" for n, _ in PAGES),
        f"{row['metrics_kb']:.1f}",
    ]
    print("| " + " | ".join(str(c) for c in cells) + " |", flush=True)


# --- the month ----------------------------------------------------------------------------


def run_month(args: argparse.Namespace, tmp: Path) -> Soak:
    sandbox, public = build(args)
    clock = sandbox.clock
    receiver = Receiver(  # signatures are dated on the simulated clock
        Secret(cred.WEBHOOK_SECRETS["team-chat"], "team-chat"),
        clock=lambda: clock.now().timestamp(),
    ).start()
    metrics_port = _free_port()
    config = load_config(write_deployment(tmp, args, public, receiver.url, metrics_port), env={})
    end = START + timedelta(days=args.days)
    loop_clock = SimLoopClock(sandbox, end)
    controls = Controls(clock=loop_clock)
    observers = Observers(config, clock=clock.now)
    heard, written = Heard(), Written()
    setup_logging(stream=written)

    def emit(event: Event) -> None:
        heard.event(event)
        log_sink(event)

    def observe(request: Request, answer: Encoded, cpu: float) -> None:
        if request.path in ENGAGEMENT_PATHS:
            heard.sent.append(clock.now().timestamp())

    transport = Routed(
        SandboxTransport(sandbox.app, observe=observe), httpx.URL(receiver.url).port or 80
    )
    http = HttpClient(
        timeout=10.0,
        transport=transport,
        observe=observers.observe_request,
        before=controls.check,
    )
    runtime = open_runtime(
        config,
        emit=observers.sink(emit),
        clock=clock.now,
        sleep=controls.sleep,
        should_stop=controls.should_stop,
        http=http,
        chance=Chance(new_id=_ids(args.seed), rng=random.Random(args.seed)),
        workers=InlineWorkers(sleep=loop_clock.sleep),
        monotonic=loop_clock.monotonic,
        on_wait=observers.waiting,
        before_request=controls.check,
    )
    soak = Soak(args, tmp, sandbox, heard, written, f"http://127.0.0.1:{metrics_port}/metrics")
    soak.runtime = runtime
    soak.dashboard = start_dashboard(config, clock=clock.now)
    observers.start()
    day = [1]

    def after_cycle(result: Any) -> None:
        rules = [r.rule.id for r in runtime.engine.rules.rules]
        observers.after_cycle(runtime.store, rules=rules, config=config, errors=result.errors)
        if clock.now() >= end:
            controls.stop.set()
        # the day's last cycle: the next one starts on the next simulated day
        if clock.now() + timedelta(seconds=config.poll_interval) >= START + timedelta(days=day[0]):
            soak.sample(day[0])
            day[0] += 1

    try:
        run_loop(
            lambda: runtime.engine,
            controls=controls,
            poll_interval=lambda: config.poll_interval,
            reload=lambda: None,
            on_cycle=after_cycle,
            actions=runtime.outbox.dispatcher,
        )
    finally:
        soak.dashboard.stop()
        observers.close()
        runtime.close()
        receiver.stop()
    return soak


def _ids(seed: int) -> Any:
    rng = random.Random(seed)
    return lambda: f"{rng.getrandbits(64):016x}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--per-day", type=int, default=50, help="posts a day per owned account")
    parser.add_argument("--keep", type=int, default=3, help="history: keep, in days")
    parser.add_argument("--retention", type=int, default=5, help="retention: firings, in days")
    parser.add_argument("--save", type=Path, help="write the rows to this JSON file")
    args = parser.parse_args(argv)
    logging.captureWarnings(True)
    wall, cpu = time.perf_counter(), time.process_time()
    with tempfile.TemporaryDirectory() as tmp:
        soak = run_month(args, Path(tmp))
    print(
        f"\n{args.days} simulated days in {time.perf_counter() - wall:.0f} s wall,"
        f" {time.process_time() - cpu:.0f} s CPU; load average"
        f" {' '.join(f'{x:.2f}' for x in os.getloadavg())}",
        file=sys.stderr,
    )
    last = soak.rows[-1]["status"]["text"] if soak.rows else ""
    print("\nautomation status on the last day:\n" + last)
    if args.save:
        args.save.write_text(json.dumps(soak.rows, indent=1, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

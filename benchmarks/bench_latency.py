"""Detection latency when the API budget cannot refresh every watched post: a simulated day.

The real engine (``open_runtime``: SQLite store, HTTP client, OAuth, the per-minute budget
ledger, discovery, evaluation, the outbox) runs in this process against the sandbox, which
answers through an in-process transport on a simulated clock: the engine's budget waits
move the clock, nothing else does, so a day passes in minutes. The sandbox counts its
limit of 60 requests a minute on the same clock. See ``latency_world.py`` for the posts
and rules (100,000 watched posts over four owned accounts and public posts, 20 rules) and
``latency_truth.py`` for how true crossings are found in the sandbox's world.

The engine starts at the simulated moment START; crossings are measured over the day
that follows one hour of warm-up (the first cycle seeds every new rule), and the engine
runs on for max_staleness plus two poll intervals after it so that late detections count.

Reported: detection latency (median, p95, max) of young (< 6 h) and older posts beside
the period that refreshing every post in turn allows (N / (250 × requests per minute));
the Engagement API requests sent against the budget (the most in any 60 s, which must
never exceed the limit); the engine's CPU per simulated hour and per cycle, and on sampled
cycles beside a floor client that only sends the same requests, gunzips and parses the
answers; how stale posts grew; and the wall time of the run. The process's CPU is split:
the engine within its cycles, the sandbox answering it, the probe and floor client,
building the world, and finding the true crossings. Peak RSS is the whole process's: the
world is in it, so the world's share (RSS after building it, less RSS before) and the
engine's growth over that (peak less RSS before the engine) are shown beside it. The
cycles' wall time is split into the process's CPU, its waits for a CPU while the machine
is shared, and the rest (the database's disk flushes); the costliest cycles are listed
with what they did (``latency_waits.py``).

    python benchmarks/bench_latency.py                      # the full day
    python benchmarks/bench_latency.py --posts 10000 --hours 3   # a quick look
    python benchmarks/bench_latency.py --hours 1 --cycles 3      # a first look at the costs
    python benchmarks/bench_latency.py --state-dir /dev/shm      # commits wait for no disk
    python benchmarks/bench_latency.py --save today.json    # keep the figures as JSON
    python benchmarks/bench_latency.py --baseline today.json    # and print them beside
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import resource
import statistics
import sys
import tempfile
import time
from array import array
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from latency_report import report
from latency_truth import Detection, Firings, crossings, detect
from latency_waits import costliest, cpu_wait, wall_split
from latency_world import World, build_world, rules_files

from automation.config.loader import load_config
from automation.engine.events import CycleEvent, ErrorEvent, Event, FiredEvent
from automation.sandbox import SandboxTransport, write_config
from automation.sandbox.app import ENGAGEMENT_PATHS, Encoded
from automation.sandbox.messages import Request
from automation.service.runtime import Chance, open_runtime
from automation.x.http import HttpClient

START = datetime(2026, 11, 20, 6, 0, tzinfo=UTC)
INTERVAL = timedelta(minutes=5)
WARM_UP = timedelta(hours=1)
PER_MINUTE = 60
FLOOR_EVERY = 12  # compare a cycle with the floor client once a simulated hour
IDS_PER_TOTALS = 250


# --- what the sandbox saw -----------------------------------------------------------------


@dataclass
class Probe:
    """Hears every exchange with the sandbox: its CPU, each Engagement API request's
    simulated moment, when each post was last read, and (on sampled cycles) the requests
    and answers a floor client replays."""

    clock: Callable[[], datetime]
    sandbox_cpu: float = 0.0
    answered: int = 0  # every request the sandbox answered, X API v2 ones included
    overhead: float = 0.0  # this probe's own CPU, not the engine's
    sent: array[float] = field(default_factory=lambda: array("d"))  # each request's epoch s
    statuses: dict[int, int] = field(default_factory=dict)
    last_read: dict[str, float] = field(default_factory=dict)
    longest_gap: float = 0.0
    capture: list[tuple[str, dict[str, str], bytes, Encoded]] | None = None

    def __call__(self, request: Request, answer: Encoded, cpu: float) -> None:
        self.sandbox_cpu += cpu
        self.answered += 1
        if request.path not in ENGAGEMENT_PATHS:
            return
        started = time.process_time()
        at = self.clock().timestamp()
        self.sent.append(at)
        self.statuses[answer.status] = self.statuses.get(answer.status, 0) + 1
        if answer.status == 200 and request.path.endswith("/totals"):
            last = self.last_read
            # the engine's own string of each ID: the probe's copies of 100,000 of them
            # (7 MB) would count as the engine's growth
            for pid in map(sys.intern, json.loads(request.body)["tweet_ids"]):
                before = last.get(pid)
                if before is not None and at - before > self.longest_gap:
                    self.longest_gap = at - before
                last[pid] = at
        if self.capture is not None:
            self.capture.append((request.url, dict(request.headers), request.body, answer))
        self.overhead += time.process_time() - started


def most_in_a_minute(sent: Sequence[float]) -> int:
    """The most requests within any 60 seconds (a request exactly 60 s later is outside)."""
    most, first = 0, 0
    for last, at in enumerate(sent):
        while at - sent[first] >= 60:
            first += 1
        most = max(most, last - first + 1)
    return most


# --- the floor client -----------------------------------------------------------------------


def floor_cpu(captured: list[tuple[str, dict[str, str], bytes, Encoded]]) -> float:
    """CPU to send the same requests, gunzip and parse every count: nothing else."""
    answers = iter([answer for *_, answer in captured])

    def reply(request: httpx.Request) -> httpx.Response:
        answer = next(answers)
        return httpx.Response(answer.status, headers=dict(answer.headers), content=answer.body)

    with httpx.Client(transport=httpx.MockTransport(reply)) as client:
        started = time.process_time()
        for url, headers, body, _ in captured:
            _numbers(json.loads(client.post(url, content=body, headers=headers).content))
        return time.process_time() - started


def _numbers(node: Any) -> int:
    """Turn every count in an answer into a number, as any client must."""
    if isinstance(node, dict):
        return sum(_numbers(v) for v in node.values())
    if isinstance(node, str) and node.isdigit():
        return int(node)
    return 0


# --- one simulated day ----------------------------------------------------------------------


@dataclass
class Run:
    world: World
    probe: Probe
    fired: Firings = field(default_factory=Firings)
    errors: dict[str, int] = field(default_factory=dict)  # error events by step
    cycles: list[dict[str, Any]] = field(default_factory=list)
    floors: list[tuple[float, float]] = field(default_factory=list)  # (engine, floor) CPU
    wall: float = 0.0  # the cycles, from the first to the last
    split: dict[str, float | None] = field(default_factory=dict)  # their wall time's parts
    rss_before_mb: float = 0.0
    rss_cycles_mb: float = 0.0  # the peak once the cycles ended, before the figures
    rss_start_mb: float = 0.0
    world_cpu: float = 0.0  # building the world and writing the rules


def run_day(args: argparse.Namespace, tmp: Path) -> tuple[Run, Any]:
    run_for = WARM_UP + timedelta(hours=args.hours) + timedelta(hours=1) + 2 * INTERVAL
    rss_start = _rss_now_mb()
    started = time.process_time()
    world = build_world(args.posts, START, run_for + INTERVAL, args.seed)
    rules = tmp / "rules"
    rules.mkdir()
    for name, text in rules_files(world).items():
        (rules / name).write_text(text, encoding="utf-8")
    world_cpu = time.process_time() - started
    config = load_config(
        write_config(
            tmp / "automation.yaml",
            "http://127.0.0.1:1",
            requests_per_minute=PER_MINUTE,
            poll_interval="5m",
            database=str(tmp / "automation.db"),
            rules=[str(rules)],
        )
    )
    clock = world.sandbox.clock
    probe = Probe(clock.now)
    run = Run(
        world, probe, rss_before_mb=_rss_now_mb(), rss_start_mb=rss_start, world_cpu=world_cpu
    )

    def emit(event: Event) -> None:
        if isinstance(event, FiredEvent) and event.event == "fired":
            run.fired.add(event.rule, event.post, clock.now(), event.key)
        elif isinstance(event, CycleEvent):
            run.cycles.append({"event": event, "ended": clock.now()})
        elif isinstance(event, ErrorEvent):
            run.errors[event.step] = run.errors.get(event.step, 0) + 1

    http = HttpClient(transport=SandboxTransport(world.sandbox.app, observe=probe))
    runtime = open_runtime(
        config,
        emit=emit,
        clock=clock.now,
        sleep=clock.advance,
        http=http,
        chance=Chance(rng=random.Random(args.seed)),
    )
    try:
        run.wall = _cycles(runtime.engine, run, START + run_for, args.cycles, args.wall_limit)
        run.rss_cycles_mb = _rss_now_mb("VmHWM:")
        return run, runtime
    except BaseException:
        runtime.close()
        raise


def _cycles(
    engine: Any, run: Run, until: datetime, most: int | None, wall_limit: float | None
) -> float:
    clock, probe = run.world.sandbox.clock, run.probe
    wall, all_cpu, waited = time.perf_counter(), time.process_time(), cpu_wait()
    next_start = clock.now()
    number = 0
    while True:
        now = clock.now()
        if now < next_start:
            now = clock.advance((next_start - now).total_seconds())
        elapsed = time.perf_counter() - wall
        if now >= until or number == most or (wall_limit is not None and elapsed >= wall_limit):
            waits = cpu_wait()
            waits = None if waits is None or waited is None else waits - waited
            run.split = wall_split(elapsed, time.process_time() - all_cpu, waits)
            return elapsed
        number += 1
        probe.capture = [] if number % FLOOR_EVERY == 0 else None
        cpu, sandbox, overhead = time.process_time(), probe.sandbox_cpu, probe.overhead
        started = time.perf_counter()
        engine.cycle()
        run.cycles[-1]["wall"] = time.perf_counter() - started
        spent = time.process_time() - cpu - (probe.sandbox_cpu - sandbox)
        spent -= probe.overhead - overhead
        run.cycles[-1]["cpu"] = spent
        run.cycles[-1]["sandbox"] = probe.sandbox_cpu - sandbox
        if probe.capture:
            floor = floor_cpu(probe.capture)
            run.floors.append((spent, floor))
            probe.overhead += floor
        probe.capture = None
        next_start = now + INTERVAL


def _rss_now_mb(field: str = "VmRSS:") -> float:
    """The process's resident memory now (``VmHWM:``: its peak so far), in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field):
            return int(line.split()[1]) / 1024
    return 0.0


# --- figures ---------------------------------------------------------------------------------


def figures(args: argparse.Namespace, run: Run, runtime: Any) -> dict[str, Any]:
    day_start = START + WARM_UP
    # A run stopped early measures the crossings its last hour and intervals could still see.
    seen_until = run.world.sandbox.clock.now() - timedelta(hours=1) - 2 * INTERVAL
    day_end = max(day_start, min(day_start + timedelta(hours=args.hours), seen_until))
    watched = runtime.store.posts(include_unavailable=True)
    started = time.process_time()
    found = crossings(
        run.world.sandbox.world, runtime.engine.rules.rules, watched, day_start, day_end
    )
    detections = detect(found, run.fired)
    truth_cpu = time.process_time() - started
    probe = run.probe
    sim_hours = (run.world.sandbox.clock.now() - START).total_seconds() / 3600
    ages = [getattr(c["event"], "refresh_age_oldest", None) for c in run.cycles]
    return {
        "posts": args.posts,
        "watched_at_start": len([p for p in watched if p.first_seen <= START + INTERVAL]),
        "hours": (day_end - day_start).total_seconds() / 3600,
        "hours_asked": args.hours,
        "uniform_refresh_minutes": args.posts / (IDS_PER_TOTALS * PER_MINUTE),
        "latency": {
            "all": _stats(detections),
            "young": _stats([d for d in detections if d.crossing.young]),
            "older": _stats([d for d in detections if not d.crossing.young]),
        },
        "requests": len(probe.sent),
        "budget": round(PER_MINUTE * sim_hours * 60),
        "most_in_a_minute": most_in_a_minute(probe.sent),
        "statuses": {str(k): v for k, v in sorted(probe.statuses.items())},
        "cycles": len(run.cycles),
        "errors": run.errors,
        **_cpu_figures(run, truth_cpu, sim_hours),
        "rss_mb": {
            "peak": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "before_engine": run.rss_before_mb,  # the interpreter, the world and the rules
            "cycles": run.rss_cycles_mb,  # the peak when the cycles ended (no figures yet)
            "start": run.rss_start_mb,  # the interpreter and its imports, before the world
        },
        "longest_gap_between_reads_min": probe.longest_gap / 60,
        "engine_oldest_refresh_age_min": max((a / 60 for a in ages if a is not None), default=None),
        "sim_hours": sim_hours,
        "wall_seconds": run.wall,
        "wall_split": run.split,  # the cycles' wall time: CPU, waiting for a CPU, the rest
        "costliest_cycles": costliest(run.cycles),
    }


def _cpu_figures(run: Run, truth_cpu: float, sim_hours: float) -> dict[str, Any]:
    """Where the process's CPU went: the engine's per cycle beside the floor client's and
    the sandbox's, and the split between the parts."""
    probe = run.probe
    cpus = [c["cpu"] for c in run.cycles if "cpu" in c]
    answering = [c["sandbox"] for c in run.cycles if "sandbox" in c]
    ratios = [engine / floor for engine, floor in run.floors if floor > 0]
    return {
        "engine_cpu_per_sim_hour": sum(cpus) / sim_hours,
        "cpu_split": {
            "engine": sum(cpus),
            "sandbox": probe.sandbox_cpu,
            "harness": probe.overhead,  # the probe and the floor client
            "world": run.world_cpu,
            "truth": truth_cpu,
            "process": time.process_time(),  # everything, start-up and the figures included
        },
        "engine_cpu_per_cycle": {"median": statistics.median(cpus), "max": max(cpus)},
        "sandbox_cpu_per_cycle": {"median": statistics.median(answering), "max": max(answering)},
        "sandbox_ms_per_request": 1000 * probe.sandbox_cpu / max(1, probe.answered),
        "sandbox_requests": probe.answered,
        "floor_ratio": {
            "median": statistics.median(ratios) if ratios else None,
            "min": min(ratios, default=None),
            "max": max(ratios, default=None),
            "samples": len(ratios),
        },
    }


def _stats(detections: list[Detection]) -> dict[str, Any]:
    seen = sorted(d.latency / 60 for d in detections if d.latency is not None)
    missed = sum(1 for d in detections if d.latency is None)
    if not seen:
        return {"crossings": len(detections), "missed": missed}
    return {
        "crossings": len(detections),
        "missed": missed,
        "median": statistics.median(seen),
        "p95": seen[min(len(seen) - 1, int(0.95 * len(seen)))],
        "max": seen[-1],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=100_000, help="watched posts at the start")
    parser.add_argument("--hours", type=int, default=24, help="simulated hours measured")
    parser.add_argument("--seed", type=int, default=12)
    parser.add_argument(
        "--cycles",
        type=int,
        help="stop after this many cycles (a quick look at the costs;"
        " the latencies then cover only the crossings until then)",
    )
    parser.add_argument(
        "--wall-limit",
        type=float,
        help="stop the cycles after this many wall seconds; the latencies then cover the"
        " simulated hours that ran, less the last hour and two intervals",
    )
    parser.add_argument("--save", type=Path, help="write the figures to this JSON file")
    parser.add_argument("--baseline", type=Path, help="a saved run to print beside this one")
    parser.add_argument(
        "--state-dir",
        type=Path,
        help="where the engine's database goes (default: the system's temporary directory;"
        " on tmpfs, e.g. /dev/shm, its commits wait for no disk)",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)
    logging.getLogger("automation").setLevel(logging.CRITICAL)
    wall = time.perf_counter()
    with tempfile.TemporaryDirectory(dir=args.state_dir) as tmp:
        run, runtime = run_day(args, Path(tmp))
        try:
            result = figures(args, run, runtime)
        finally:
            runtime.close()
    result["wall_total_seconds"] = time.perf_counter() - wall
    result["state_dir"] = str(args.state_dir or tempfile.gettempdir())
    if args.save:
        args.save.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    before = json.loads(args.baseline.read_text()) if args.baseline else None
    report(result, before, PER_MINUTE)
    return 0


if __name__ == "__main__":
    sys.exit(main())

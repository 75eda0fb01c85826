"""The engine's "store the readings" step alone: ``StoreRecorder.record_readings`` over
100,000 watched posts, five-minute cycles, a SQLite file.

Posts: 6,000 owned (seven /totals metrics) and the rest public (five). Each cycle a random
10-30 % of posts move in one to three metrics (as in ``bench_store``; ``--moving`` sets
the share: in ``bench_cycle``'s simulated world about 2 % do); the others are read
unchanged. Owned posts younger than two days (a third of them) also bring a ``/28hr``
answer for two metrics, as a windowed rule asks. The first cycle seeds an empty database
at 12:00; the next, at 12:05, starts a new hour; eleven more stay in it; then a new hour
again, and a restart (a new store and recorder on the same file) for one more cycle.
Each cycle's CPU time (``time.process_time``) is the engine's: SQLite runs in process;
the garbage collector is paused during a cycle, as the engine pauses it.

    python benchmarks/bench_record.py                    # 100,000 posts
    python benchmarks/bench_record.py --profile 2        # cProfile of cycle 2 to stderr
    python benchmarks/bench_record.py --moving 0.02      # 2 % of posts move each cycle
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import random
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench_store import OWNED_METRICS, PUBLIC_METRICS, WEIGHTS

from automation.core.facts import HourlySeries
from automation.engine.gc_pause import collector_paused
from automation.engine.recorder import StoreRecorder
from automation.store import SqliteStore
from automation.store.base import Store
from automation.x.engagement_client import FetchResult

START = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
CYCLE = timedelta(minutes=5)
OWNED = 6_000
HOURLY_METRICS = ("impressions", "retweets")


class Readings:
    """What each cycle's fetch reads: totals of every post, ``/28hr`` of young owned ones."""

    def __init__(self, posts: int, seed: int, moving: float | None) -> None:
        self.rng = random.Random(seed)
        self.moving = moving
        self.posts = [str(1_860_000_000_000_000_000 + i * 4_194_304) for i in range(posts)]
        self.values = {
            p: {
                m: float(self.rng.randint(0, 50))
                for m in (OWNED_METRICS if i < OWNED else PUBLIC_METRICS)
            }
            for i, p in enumerate(self.posts)
        }
        self.young = self.posts[: OWNED // 3]

    def at(self, now: datetime) -> FetchResult:
        rng = self.rng
        share = self.moving if self.moving is not None else rng.uniform(0.10, 0.30)
        for p in rng.sample(self.posts, int(len(self.posts) * share)):
            self.values[p] = moved(rng, self.values[p])
        return fetched(dict(self.values), self.young, now)


def moved(rng: random.Random, values: dict[str, float]) -> dict[str, float]:
    """``values`` with one to three metrics grown (a new dict, as a fetch parses one); the
    metrics in a fixed order, so that a seed gives the same readings in every process."""
    metrics = list(values)
    weights = [WEIGHTS[m] for m in metrics]
    out = dict(values)
    for m in sorted(set(rng.choices(metrics, weights, k=rng.randint(1, 3)))):
        out[m] += rng.randint(1, 40 if m == "impressions" else 3)
    return out


def fetched(totals: dict[str, dict[str, float]], young: list[str], now: datetime) -> FetchResult:
    """A fetch's result: ``totals``, and ``/28hr`` answers of two metrics for ``young``."""
    first = now.replace(minute=0, second=0) - timedelta(hours=28)
    hourly = {
        p: {
            m: HourlySeries.of(((first + timedelta(hours=h), float(h % 5)) for h in range(29)), now)
            for m in HOURLY_METRICS
        }
        for p in young
    }
    return FetchResult(
        totals=totals,
        hourly=hourly,
        unavailable=frozenset(),
        unsupported={},
        forbidden=frozenset(),
        errors=(),
        failures=(),
    )


def _cycle(recorder: StoreRecorder, now: datetime, fetched: FetchResult, profile: bool) -> float:
    profiler = cProfile.Profile(time.process_time) if profile else None
    started = time.process_time()
    if profiler:
        profiler.enable()
    with collector_paused():  # as the engine runs a cycle
        recorder.record_readings(now, fetched)
    if profiler:
        profiler.disable()
        pstats.Stats(profiler, stream=sys.stderr).sort_stats("cumulative").print_stats(30)
        pstats.Stats(profiler, stream=sys.stderr).sort_stats("tottime").print_stats(20)
    return time.process_time() - started


def run(args: argparse.Namespace, open_store: Callable[[], Store]) -> list[tuple[str, float]]:
    readings = Readings(args.posts, args.seed, args.moving)
    out: list[tuple[str, float]] = []
    store = open_store()
    recorder = StoreRecorder(store)
    try:
        for number in range(1, 16):
            now = START + (number - 1) * CYCLE
            if number == 15:  # a restart: nothing remembered
                store.close()
                store = open_store()
                recorder = StoreRecorder(store)
            fetched = readings.at(now)
            cpu = _cycle(recorder, now, fetched, args.profile == number)
            kind = (
                "seeding"
                if number == 1
                else "restart"
                if number == 15
                else "new hour"
                if number in (2, 14)
                else "same hour"
            )
            out.append((kind, cpu))
            print(f"{number:>5} {kind:<9} {cpu:>7.3f}", flush=True)
    finally:
        store.close()
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--moving", type=float, help="share of posts that move each cycle (default 0.10-0.30)"
    )
    parser.add_argument("--profile", type=int, help="cProfile this cycle number (1 = seeding)")
    args = parser.parse_args(argv)
    print(f"{'cycle':>5} {'kind':<9} {'CPU s':>7}")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "record.db"
        rows = run(args, lambda: SqliteStore.open(path))
        size = path.stat().st_size / 1e6
    by_kind: dict[str, list[float]] = {}
    for kind, cpu in rows:
        by_kind.setdefault(kind, []).append(cpu)
    print()
    for kind, cpus in by_kind.items():
        print(f"{kind:<9} CPU s median {statistics.median(cpus):.3f} over {len(cpus)}")
    steady = [cpu for kind, cpu in rows if kind in ("new hour", "same hour")]
    print(f"an hour of steady cycles (12): {sum(steady[:12]):.3f} s CPU")
    print(f"database after {len(rows)} cycles: {size:.1f} MB")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"max RSS {rss:.0f} MB (the readings of the simulated fetches included)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

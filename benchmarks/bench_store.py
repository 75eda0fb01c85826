"""How big the state database gets and how long a cycle's writes take, over a simulated week.

Five-minute cycles over 10,000 watched posts: 8,000 owned (seven /totals metrics) and 2,000
public (five). Each cycle a random 10-30 % of posts move, each in one to three metrics
(impressions most often, then engagements, then likes and the rest); the others are read
unchanged, as most posts are once they are a few days old. Snapshots older than the
retention are pruned every hour. Every day, right after a prune, the table prints the size
on disk of the database and of its WAL, rows kept and timings.

    python benchmarks/bench_store.py                      # a full week: 2,016 cycles
    python benchmarks/bench_store.py --cycles 864         # three days; size plateaus after
                                                          # the retention, so a week matches
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from automation.store import SqliteStore

OWNED_METRICS = (
    "impressions",
    "engagements",
    "favorites",
    "retweets",
    "quote_tweets",
    "replies",
    "video_views",
)
PUBLIC_METRICS = ("favorites", "retweets", "quote_tweets", "replies", "video_views")
# How often each metric is among the ones that moved, by position above.
WEIGHTS = {
    "impressions": 10,
    "engagements": 5,
    "favorites": 3,
    "retweets": 1,
    "quote_tweets": 0.3,
    "replies": 1,
    "video_views": 2,
}
CYCLE = timedelta(minutes=5)
START = datetime(2026, 11, 1, tzinfo=UTC)


def simulate(args: argparse.Namespace, path: Path) -> None:
    rng = random.Random(args.seed)
    posts = [str(1_860_000_000_000_000_000 + i * 4_194_304) for i in range(args.posts)]
    owned = set(posts[: int(len(posts) * 0.8)])
    values = {
        p: {m: float(rng.randint(0, 50)) for m in (OWNED_METRICS if p in owned else PUBLIC_METRICS)}
        for p in posts
    }
    retention = timedelta(hours=args.retention_hours)
    write_ms: list[float] = []
    prune_ms: list[float] = []
    written_today = 0
    cycles_per_day = int(timedelta(days=1) / CYCLE)
    print(
        f"{'day':>4} {'cycles':>7} {'db MB':>6} {'wal MB':>6}"
        f" {'snapshot rows':>14} {'written/day':>12}"
        f" {'write ms (mean/p95)':>20} {'prune ms':>9} {'window read ms':>15}"
    )
    with SqliteStore.open(path) as store:
        for cycle in range(args.cycles):
            now = START + cycle * CYCLE
            moved = rng.sample(posts, int(len(posts) * rng.uniform(0.10, 0.30)))
            for p in moved:
                metrics = list(values[p])
                weights = [WEIGHTS[m] for m in metrics]
                for m in set(rng.choices(metrics, weights, k=rng.randint(1, 3))):
                    values[p][m] += rng.randint(1, 40 if m == "impressions" else 3)
                    written_today += 1
            started = time.perf_counter()
            store.record_totals(now, values)
            write_ms.append((time.perf_counter() - started) * 1000)
            if cycle % 12 == 11:
                started = time.perf_counter()
                store.prune_snapshots(now - retention)
                prune_ms.append((time.perf_counter() - started) * 1000)
            if (cycle + 1) % cycles_per_day == 0 or cycle + 1 == args.cycles:
                rows = store._conn.execute("SELECT count(*) FROM snapshots").fetchone()[0]
                per_day, written_today = written_today, 0
                read_ms = _window_read_ms(store, posts[-2000:], now)
                print(
                    f"{(cycle + 1) / cycles_per_day:>4.1f} {cycle + 1:>7}"
                    f" {_size_mb(path, ''):>6.1f} {_size_mb(path, '-wal'):>6.1f}"
                    f" {rows:>14,} {per_day:>12,}"
                    f" {statistics.mean(write_ms[-cycles_per_day:]):>11.1f}"
                    f" / {_p95(write_ms[-cycles_per_day:]):>6.1f}"
                    f" {statistics.mean(prune_ms) if prune_ms else 0:>9.1f} {read_ms:>15.1f}",
                    flush=True,
                )
        pages, free = (
            store._conn.execute(f"PRAGMA {name}").fetchone()[0]
            for name in ("page_count", "freelist_count")
        )
    print(
        f"\nafter close: {_size_mb(path, ''):.1f} MB on disk,"
        f" {pages:,} pages of which {free:,} free;"
        f" retention {args.retention_hours} h, {args.posts:,} posts, {args.cycles:,} cycles"
    )


def _window_read_ms(store: SqliteStore, post_ids: list[str], now: datetime) -> float:
    """A 28-hour window read for the public posts, as windowed rules on them need."""
    started = time.perf_counter()
    store.snapshots(post_ids, now - timedelta(hours=28))
    return (time.perf_counter() - started) * 1000


def _size_mb(path: Path, suffix: str) -> float:
    target = path.with_name(path.name + suffix)
    return target.stat().st_size / 1e6 if target.exists() else 0.0


def _p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20)[-1] if len(samples) >= 20 else max(samples)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=10_000)
    parser.add_argument(
        "--cycles", type=int, default=2_016, help="5-minute cycles (2,016 = 7 days)"
    )
    parser.add_argument("--retention-hours", type=float, default=48.0)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--db", type=Path, help="database file (default: a temporary one)")
    args = parser.parse_args(argv)
    if args.db:
        simulate(args, args.db)
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        simulate(args, Path(tmp) / "bench.db")
    return 0


if __name__ == "__main__":
    sys.exit(main())

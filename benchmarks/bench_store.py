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
    python benchmarks/bench_store.py --history-days 95    # the hourly history instead

With ``--history-days`` it measures the hourly history the engine keeps beside the
snapshots (``history: {keep: 90d}``): the same 10,000 posts moving the same way, the last
reading of each hour recorded for each of them, and the hourly counts of two metrics of
2,000 owned posts (the /28hr series windowed rules read), pruned to 90 days once a day.
Every ten days (and on the last) it prints the database's size, the rows kept, the time
of an hour's writes, of a day's prune, and of reading 28 days of 1,000 posts (what a
backtest reads).
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


def _hourly_chances(weights: dict[str, float]) -> dict[str, float]:
    """The chance that a metric moves within an hour under the per-cycle model above: a
    post moves in 20 % of cycles (on average), in 1-3 picks of its metrics by weight."""
    total = sum(weights.values())
    out = {}
    for metric, weight in weights.items():
        picked = 1 - sum((1 - weight / total) ** k for k in (1, 2, 3)) / 3
        out[metric] = 1 - (1 - 0.2 * picked) ** 12
    return out


def simulate_history(args: argparse.Namespace, path: Path) -> None:
    rng = random.Random(args.seed)
    posts = [str(1_860_000_000_000_000_000 + i * 4_194_304) for i in range(args.posts)]
    owned = posts[: int(len(posts) * 0.8)]
    windowed = set(owned[: len(owned) // 4])
    chances = {
        "owned": _hourly_chances(WEIGHTS),
        "public": _hourly_chances({m: WEIGHTS[m] for m in PUBLIC_METRICS}),
    }
    kind = {p: "owned" if i < len(owned) else "public" for i, p in enumerate(posts)}
    values = {p: {m: float(rng.randint(0, 50)) for m in chances[kind[p]]} for p in posts}
    keep = timedelta(days=90)
    write_ms: list[float] = []
    prune_ms: list[float] = []
    print(
        f"{'day':>4} {'db MB':>7} {'wal MB':>6} {'total rows':>12} {'count rows':>11}"
        f" {'hour write ms (mean/p95)':>25} {'prune ms':>9} {'28-day read of 1,000 posts ms':>30}"
    )
    with SqliteStore.open(path) as store:
        for hour in range(args.history_days * 24):
            at = START + timedelta(hours=hour, minutes=55)  # the hour's last cycle
            counts: dict[str, dict[str, list[tuple[datetime, float]]]] = {}
            for p in posts:
                mine = values[p]
                for metric, chance in chances[kind[p]].items():
                    if rng.random() < chance:
                        step = 1 + int(rng.random() * (40 if metric == "impressions" else 3))
                        mine[metric] += step
                        if p in windowed and metric in ("impressions", "retweets"):
                            counts.setdefault(p, {}).setdefault(metric, []).append(
                                (at.replace(minute=0), float(step))
                            )
            started = time.perf_counter()
            store.record_hourly_totals(at, values)
            first = at.replace(minute=0)
            store.record_hourly_counts(
                first,
                first + timedelta(hours=1),
                {p: counts.get(p, {"impressions": [], "retweets": []}) for p in windowed},
            )
            write_ms.append((time.perf_counter() - started) * 1000)
            if hour % 24 == 23:
                started = time.perf_counter()
                store.prune_hourly(at - keep)
                prune_ms.append((time.perf_counter() - started) * 1000)
                day = (hour + 1) // 24
                if day % 10 == 0 or day == args.history_days:
                    _history_line(store, path, day, at, owned, write_ms, prune_ms)
        # what a daily prune costs once the history is full: the oldest day goes
        started = time.perf_counter()
        gone = store.prune_hourly(at - timedelta(days=args.history_days - 1))
        print(
            f"\npruning the oldest day of {args.history_days}: {gone:,} values in"
            f" {(time.perf_counter() - started) * 1000:.0f} ms"
        )
    print(f"after close: {_size_mb(path, ''):.1f} MB on disk")


def _history_line(
    store: SqliteStore,
    path: Path,
    day: int,
    at: datetime,
    owned: list[str],
    write_ms: list[float],
    prune_ms: list[float],
) -> None:
    rows = {
        table: store._conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        for table in ("hourly_totals", "hourly_counts")
    }
    started = time.perf_counter()
    store.hourly(owned[:1000], None, at - timedelta(days=28), at)
    read_ms = (time.perf_counter() - started) * 1000
    recent = write_ms[-240:]
    print(
        f"{day:>4} {_size_mb(path, ''):>7.1f} {_size_mb(path, '-wal'):>6.1f}"
        f" {sum(rows.values()):>12,} {rows['hourly_counts']:>11,}"
        f" {statistics.mean(recent):>15.1f} / {_p95(recent):>6.1f}"
        f" {prune_ms[-1]:>9.1f} {read_ms:>30.1f}",
        flush=True,
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
    parser.add_argument(
        "--history-days", type=int, help="measure the hourly history over this many days"
    )
    args = parser.parse_args(argv)
    run = simulate_history if args.history_days else simulate
    if args.db:
        run(args, args.db)
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        run(args, Path(tmp) / "bench.db")
    return 0


if __name__ == "__main__":
    sys.exit(main())

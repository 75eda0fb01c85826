"""How big the state database gets and how long a cycle's writes take, over a simulated week.

Five-minute cycles over 10,000 watched posts: 8,000 owned (seven /totals metrics) and 2,000
public (five). Each cycle a random 10-30 % of posts move, each in one to three metrics
(impressions most often, then engagements, then likes and the rest); the others are read
unchanged, as most posts are once they are a few days old. Snapshots older than the
retention are pruned every hour. Every day, right after a prune, the table prints the size
on disk of the database and of its WAL, rows kept and timings (CPU time of this process,
SQLite's included: on a shared machine the wall clock says more about the neighbours).

    python benchmarks/bench_store.py                      # a full week: 2,016 cycles
    python benchmarks/bench_store.py --cycles 864         # three days; size plateaus after
                                                          # the retention, so a week matches
    python benchmarks/bench_store.py --history-days 95    # the hourly history instead
    python benchmarks/bench_store.py --outbox 70000       # the outbox's writes instead
    python benchmarks/bench_store.py --outbox 70000 --postgres
    python benchmarks/bench_store.py --outbox 70000 --counts [--postgres]  # kept counts

With ``--history-days`` it measures the hourly history the engine keeps beside the
snapshots (``history: {keep: 90d}``): 10,000 posts watched at every moment, each for the
7 days of the default ``max_age`` (so about 1,430 new posts a day, 80 % owned), growing as
the sandbox's posts do; the last reading of each hour of each watched post, and for owned
posts younger than two days (those a windowed rule reads) the hourly counts of two
metrics, pruned to 90 days once a day. Every ten days (and on the last) it prints the
database's size, the rows kept, the time of an hour's writes, of a day's prune, and of
reading 28 days of 1,000 posts (what a backtest reads).

With ``--outbox`` it measures instead what queueing, claiming and recording an action
costs over an outbox that already holds that many (``store_outbox``), on SQLite or, with
``--postgres``, a throwaway local PostgreSQL cluster.
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

import outbox_counts
import store_outbox

from automation.sandbox.curves import Profile, draw_profile
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
            started = time.process_time()
            store.record_totals(now, values)
            write_ms.append((time.process_time() - started) * 1000)
            if cycle % 12 == 11:
                started = time.process_time()
                store.prune_snapshots(now - retention)
                prune_ms.append((time.process_time() - started) * 1000)
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


class _Watched:
    """Posts written at a steady pace and watched for ``max_age``, each growing as the
    sandbox's posts do (``sandbox.curves``): most of it in the first hours, a few late."""

    def __init__(self, rng: random.Random, watched: int, max_age: timedelta) -> None:
        self.rng = rng
        self.every = max_age / watched  # one new post this often keeps ``watched`` watched
        self.max_age = max_age
        self.next_id = 0
        self.posts: list[tuple[str, datetime, bool, Profile]] = []

    def at(self, now: datetime) -> list[tuple[str, datetime, bool, Profile]]:
        """The posts watched at ``now``: those written within ``max_age`` before it."""
        first = self.posts[-1][1] + self.every if self.posts else now - self.max_age
        while first <= now:
            owned = self.rng.random() < 0.8
            profile = draw_profile(
                self.rng, audience=20_000.0 if owned else 50_000.0, has_video=False, has_media=True
            )
            post_id = str(1_860_000_000_000_000_000 + self.next_id * 4_194_304)
            self.posts.append((post_id, first, owned, profile))
            self.next_id += 1
            first += self.every
        self.posts = [p for p in self.posts if p[1] >= now - self.max_age]
        return self.posts


def simulate_history(args: argparse.Namespace, path: Path) -> None:
    watched = _Watched(random.Random(args.seed), args.posts, timedelta(days=7))
    keep = timedelta(days=90)
    write_ms: list[float] = []
    prune_ms: list[float] = []
    last: dict[str, dict[str, int]] = {}
    print(
        f"{'day':>4} {'db MB':>7} {'wal MB':>6} {'total rows':>12} {'count rows':>11}"
        f" {'hour write ms (mean/p95)':>25} {'prune ms':>9} {'28-day read of 1,000 posts ms':>30}"
    )
    with SqliteStore.open(path) as store:
        for hour in range(args.history_days * 24):
            at = START + timedelta(hours=hour, minutes=55)  # the hour's last cycle
            first = at.replace(minute=0)
            readings: dict[str, dict[str, float]] = {}
            counts: dict[str, dict[str, list[tuple[datetime, float]]]] = {}
            for post_id, written, owned, profile in watched.at(at):
                share = profile.fraction((at - written).total_seconds() / 3600)
                metrics = OWNED_METRICS if owned else PUBLIC_METRICS
                now = {m: int(profile.finals[m] * share) for m in metrics}
                readings[post_id] = {m: float(v) for m, v in now.items()}
                if owned and at - written <= timedelta(days=2):  # a windowed rule's /28hr
                    before = last.get(post_id, {})
                    counts[post_id] = {
                        m: [(first, float(now[m] - before.get(m, 0)))]
                        for m in ("impressions", "retweets")
                    }
                last[post_id] = now
            started = time.process_time()
            store.record_hourly_totals(at, readings)
            store.record_hourly_counts(first, first + timedelta(hours=1), counts)
            write_ms.append((time.process_time() - started) * 1000)
            last = {p: v for p, v in last.items() if p in readings}
            if hour % 24 == 23:
                started = time.process_time()
                store.prune_hourly(at - keep)
                prune_ms.append((time.process_time() - started) * 1000)
                day = (hour + 1) // 24
                if day % 10 == 0 or day == args.history_days:
                    _history_line(store, path, day, at, list(readings), write_ms, prune_ms)
        # what a daily prune costs once the history is full: the oldest day kept goes
        kept = min(args.history_days, keep.days)
        started = time.process_time()
        gone = store.prune_hourly(at - timedelta(days=kept - 1))
        print(
            f"\npruning the oldest day of {kept}: {gone:,} values in"
            f" {(time.process_time() - started) * 1000:.0f} ms;"
            f" {watched.next_id:,} posts written in all"
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
    started = time.process_time()
    store.hourly(owned[:1000], None, at - timedelta(days=28), at)
    read_ms = (time.process_time() - started) * 1000
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
    started = time.process_time()
    store.snapshots(post_ids, now - timedelta(hours=28))
    return (time.process_time() - started) * 1000


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
    parser.add_argument("--outbox", type=int, help="measure the outbox's writes over this many")
    parser.add_argument("--rounds", type=int, default=200, help="--outbox: bursts of 50 actions")
    parser.add_argument("--postgres", action="store_true", help="--outbox: on PostgreSQL")
    parser.add_argument(
        "--counts", action="store_true", help="--outbox: the kept counts' triggers off and on"
    )
    parser.add_argument("--pairs", type=int, default=3, help="--counts: pairs of phases")
    args = parser.parse_args(argv)
    if args.outbox is not None:
        (outbox_counts if args.counts else store_outbox).run(args)
        return 0
    run = simulate_history if args.history_days else simulate
    if args.db:
        run(args, args.db)
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        run(args, Path(tmp) / "bench.db")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Why the store step grows over the day: a SQLite store filled with N simulated hours of
five-minute cycles, and one cycle's writes measured at chosen hours.

Each cycle reads a subset of the posts, as the request budget does: the young owned ones
(a sixth) and a "hot" share every cycle, the rest about once in ``--cold-every`` cycles,
so a post's polled spans break where it went unread for an hour. A third to a half of the
posts read moved (one to three metrics). Owned posts younger than two days bring a
``/28hr`` answer for two metrics, as in ``bench_record``. The hourly prune runs as the
engine runs it (once an hour) but is measured apart.

For the measured cycles the table gives, per store method: CPU s (``process_time``), the
SQL statements run (a trace callback), and the bytes read and written through the OS
(``/proc/self/io`` ``rchar``/``wchar``: pages SQLite had to read from the file or WAL, and
the WAL frames it wrote). ``--explain`` prints the query plans of the write statements.
``--whole-hours`` sums all twelve cycles of each hour measured instead of its sixth: the
hour's first cycle is where the current hour's snapshot rows are moved (``HourRows``).

    python benchmarks/probe_store_growth.py --posts 100000 --hours 24 --at 1,6,12,24
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sqlite3
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench_record import Readings, fetched, moved

from automation.engine.gc_pause import collector_paused
from automation.engine.recorder import StoreRecorder
from automation.store import SqliteStore
from automation.x.engagement_client import FetchResult

START = datetime(2026, 11, 20, 0, 0, tzinfo=UTC)
CYCLE = timedelta(minutes=5)
MEASURED = (
    "mark_unavailable",
    "record_totals",
    "record_hourly_totals",
    "missing_hours",
    "record_hourly_counts",
    "prune_snapshots",
    "prune_ledger",
    "prune_hourly",
)


def _io() -> tuple[int, int]:
    fields = dict(line.split(": ") for line in Path("/proc/self/io").read_text().splitlines())
    return int(fields["rchar"]), int(fields["wchar"])


class World(Readings):
    """Posts, their values, and which are read each cycle."""

    def __init__(self, posts: int, seed: int, hot: float, cold_every: int) -> None:
        super().__init__(posts, seed, moving=None)
        self.hot = set(self.young) | set(self.rng.sample(self.posts, int(posts * hot)))
        self.cold_every = cold_every

    def at(self, now: datetime) -> FetchResult:
        rng = self.rng
        read = [p for p in self.posts if p in self.hot or rng.random() * self.cold_every < 1]
        for p in rng.sample(read, int(len(read) * rng.uniform(0.3, 0.5))):
            self.values[p] = moved(rng, self.values[p])
        return fetched({p: self.values[p] for p in read}, self.young, now)


class Meter:
    """Per store method: CPU s, statements, bytes read and written, for measured cycles."""

    def __init__(self, store: SqliteStore) -> None:
        self.on = False
        self.statements = 0
        self.rows: dict[str, list[float]] = {}
        self.kinds: Counter[str] = Counter()
        store._conn.set_trace_callback(self._traced)
        for name in MEASURED:
            setattr(store, name, self._wrapped(name, getattr(store, name)))

    def _traced(self, sql: str) -> None:
        self.statements += 1
        if self.on:
            self.kinds[" ".join(sql.split()[:4])] += 1

    def _wrapped(self, name: str, method: Callable[..., Any]) -> Callable[..., Any]:
        def measured(*args: Any, **kwargs: Any) -> Any:
            if not self.on:
                return method(*args, **kwargs)
            statements, (read, written), cpu = self.statements, _io(), time.process_time()
            try:
                return method(*args, **kwargs)
            finally:
                cpu = time.process_time() - cpu
                read2, written2 = _io()
                row = self.rows.setdefault(name, [0.0, 0, 0, 0])
                row[0] += cpu
                row[1] += self.statements - statements
                row[2] += read2 - read
                row[3] += written2 - written

        return measured

    @contextmanager
    def measuring(self, *, afresh: bool = True) -> Iterator[None]:
        """Count what runs inside; ``afresh=False`` adds to the counts so far."""
        if afresh:
            self.rows, self.kinds = {}, Counter()
        self.on = True
        try:
            yield
        finally:
            self.on = False


def _sizes(store: SqliteStore) -> str:
    rows = dict(
        store._conn.execute(
            "SELECT name, count(*) FROM dbstat WHERE aggregate = 0 GROUP BY name"
        ).fetchall()
    )
    return " ".join(
        f"{t}={rows.get(t, 0)}"
        for t in (
            "snapshots",
            "snapshots_hour",
            "hourly_totals",
            "hourly_totals_hour",
            "hourly_spans",
            "series",
        )
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=100_000)
    parser.add_argument("--hours", type=int, default=24)
    parser.add_argument("--at", default="1,6,12,24", help="hours whose 6th cycle is measured")
    parser.add_argument("--hot", type=float, default=0.25, help="share read every cycle")
    parser.add_argument("--cold-every", type=int, default=12)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--dir", help="put the database here (default: the temporary directory)")
    parser.add_argument("--statements", action="store_true", help="the commonest ones")
    parser.add_argument("--profile", action="store_true", help="cProfile the last one to stderr")
    parser.add_argument("--page-size", type=int, help="create the file with this page size")
    parser.add_argument("--cache-mb", type=int, help="PRAGMA cache_size for the connection")
    parser.add_argument(
        "--whole-hours", action="store_true", help="sum the 12 cycles of each hour measured"
    )
    args = parser.parse_args(argv)
    at = {int(h) for h in args.at.split(",")}
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        path = Path(tmp) / "probe.db"
        if args.page_size:
            with closing(sqlite3.connect(path)) as conn:
                conn.execute(f"PRAGMA page_size = {args.page_size}")
                conn.execute("VACUUM")
        store = SqliteStore.open(path)
        if args.cache_mb:
            store._conn.execute(f"PRAGMA cache_size = {-1024 * args.cache_mb}")
        recorder = StoreRecorder(store)
        meter = Meter(store)
        world = World(args.posts, args.seed, args.hot, args.cold_every)
        print(
            f"{'hour':>4} {'posts read':>10} {'method':<21} {'CPU s':>7} {'stmts':>6}"
            f" {'MB read':>8} {'MB written':>10}  pages"
        )
        for cycle in range(args.hours * 12):
            now = START + cycle * CYCLE
            fetched = world.at(now)
            hour = cycle // 12 + 1
            measured = hour in at and (args.whole_hours or cycle % 12 == 5)
            last = cycle % 12 == (11 if args.whole_hours else 5)
            profiler = cProfile.Profile(time.process_time)
            profile = args.profile and measured and last and hour == max(at)
            afresh = not args.whole_hours or cycle % 12 == 0
            with collector_paused(), meter.measuring(afresh=afresh) if measured else _nothing():
                if profile:
                    profiler.enable()
                recorder.record_readings(now, fetched)
                if profile:
                    profiler.disable()
                    pstats.Stats(profiler, stream=sys.stderr).sort_stats("tottime").print_stats(25)
            if measured and last:
                _report(hour, len(fetched.totals), meter.rows, _sizes(store))
                if args.statements:
                    for sql, n in meter.kinds.most_common(12):
                        print(f"{'':>16}{n:>7} {sql}")
        store.close()
    return 0


@contextmanager
def _nothing() -> Iterator[None]:
    yield


def _report(hour: int, read: int, rows: dict[str, list[float]], sizes: str) -> None:
    for name, (cpu, statements, rb, wb) in rows.items():
        print(
            f"{hour:>4} {read:>10,} {name:<21} {cpu:>7.3f} {statements:>6.0f}"
            f" {rb / 1e6:>8.1f} {wb / 1e6:>10.1f}"
        )
    print(f"{'':>4} {'':>10} {'pages':<21} {sizes}", flush=True)


if __name__ == "__main__":
    sys.exit(main())

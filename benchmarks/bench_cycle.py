"""The engine's own cost for one cycle: 10,000 watched posts, 20 typical rules, the sandbox.

The sandbox runs in a child process, so ``time.process_time()`` here counts only the
engine (discovery, planning, parsing, the store, evaluation, firing, the outbox), never
the simulated API answering it. Posts: 3,000 brand and 3,000 support posts found through
timeline discovery, plus 4,000 public posts named explicitly by four rules, all created
over the last seven days (plus the few the simulated world makes itself). Rules are the
shipped examples' kinds: thresholds, milestones, windows over snapshots and hourly series,
``for`` periods, rearming, log and repost actions.

Two passes over a fresh database and sandbox each: the first times every cycle, the second
runs under ``tracemalloc`` for each cycle's peak of Python memory. The first cycle seeds
(every rule is new, so conditions already true are recorded, not fired); later cycles are
the steady state, five simulated minutes apart. Targets: at most 1 s CPU per cycle, peak
memory under 150 MB.

    python benchmarks/bench_cycle.py                 # 1 seeding + 3 steady cycles
    python benchmarks/bench_cycle.py --steady 12     # an hour of steady cycles
    python benchmarks/bench_cycle.py --profile 2     # cProfile of cycle 2, top 25 entries
    python benchmarks/bench_cycle.py --posts 100000 --cpu-only   # 94,000 public posts
    python benchmarks/bench_cycle.py --top 15        # each step's memory, 15 largest holders
    python benchmarks/bench_cycle.py --posts 20000 --aged 80000   # 100,000 stored, 20,000 watched

``--aged N`` stores N more timeline posts of the owned accounts before the first cycle,
created 8 to 365 days before the start (past every rule's ``max_age``, the longest being
the default 7 days), each with the ``done`` state of three ``once`` rules: what months of
running leave in the store besides the posts still watched.

On PostgreSQL (``cycle_postgres``): ``--database URL`` runs the engine on that (empty)
database instead of a SQLite file; ``--compare`` runs SQLite and then a throwaway local
PostgreSQL cluster (Debian's ``postgresql`` package), and prints both side by side. The
server's CPU is counted apart from the engine's; both runs take the CPU pass only.

    python benchmarks/bench_cycle.py --compare --steady 6
"""

from __future__ import annotations

import argparse
import cProfile
import logging
import multiprocessing
import pstats
import resource
import sqlite3
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from cycle_memory import FRAMES, watch_steps

from automation.config.database import Database, is_postgres_url
from automation.config.loader import load_config
from automation.core.facts import RuleState
from automation.core.records import CycleWrite, WatchedPostRecord
from automation.sandbox import Options, Sandbox, write_config
from automation.sandbox import credentials as cred
from automation.service.runtime import open_runtime

START = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
CYCLE = timedelta(minutes=5)
PUBLIC_AUTHOR = "11348282"  # a public account of the simulated world
OWNED_PER_ACCOUNT = 3_000  # the timeline serves at most 3,200
AGED_ID_BASE = 10**18  # the aged posts' IDs, apart from the simulated world's
AGED_STATES = ("impressions-10k", "quoted", "popular")  # once rules watching every owned post
PUBLIC_POSTS = 4_000
EXPLICIT_RULES = 4
CPU_TARGET = 1.0
MEMORY_TARGET_MB = 150.0

OWNED_RULES = """\
  - id: repost-at-100-likes
    watch: {accounts: [brand], max_age: 7d}
    when: likes >= 100
    actions:
      - repost: {as: support}
      - log: {message: "{post.url} reached {metrics.likes} likes"}
  - id: like-milestones
    watch: {accounts: [brand, support]}
    fire: {every: 1000, metric: likes}
    actions: [{log: {message: "{post.url} passed {milestone} likes"}}]
  - id: viral-hour
    watch: {accounts: [brand], max_age: 2d}
    when:
      all:
        - retweets over 1h >= 50
        - {metric: engagement_rate, gte: 0.05}
        - not: {metric: impressions, lt: 1000}
    for: 15m
    fire: {rearm: true, cooldown: 6h}
    actions: [{log: {message: "{post.url} is taking off"}}]
  - id: impressions-10k
    watch: {accounts: [brand, support]}
    when: impressions >= 10000
    actions: [{log: {message: "{post.url}: {metrics.impressions} impressions"}}]
  - id: many-replies
    watch: {accounts: [support], max_age: 3d}
    when: replies >= 20
    actions: [{log: {message: "{post.url} has {metrics.replies} replies"}}]
  - id: quoted
    watch: {accounts: [brand, support]}
    when: quotes >= 5
    actions: [{log: {message: "{post.url} quoted {metrics.quotes} times"}}]
  - id: engaging
    watch: {accounts: [brand, support], max_age: 3d}
    when: {all: [engagement_rate >= 0.08, impressions >= 500]}
    actions: [{log: {message: "{post.url} engages"}}]
  - id: clicks-hour
    watch: {accounts: [brand], max_age: 1d}
    when: url_clicks over 1h >= 20
    fire: {rearm: true, cooldown: 3h}
    actions: [{log: {message: "{post.url} is clicked"}}]
  - id: impressions-hour
    watch: {accounts: [brand, support], max_age: 2d}
    when: impressions over 1h >= 2000
    fire: {rearm: true, cooldown: 2h}
    actions: [{log: {message: "{post.url} is seen"}}]
  - id: impression-milestones
    watch: {accounts: [brand]}
    fire: {every: 10000, metric: impressions}
    actions: [{log: {message: "{post.url} passed {milestone} impressions"}}]
  - id: video-1k
    watch: {accounts: [brand, support]}
    when: video_views >= 1000
    actions: [{log: {message: "{post.url} video seen {metrics.video_views} times"}}]
  - id: popular
    watch: {accounts: [brand, support]}
    when: {any: [likes >= 500, reposts >= 100]}
    actions: [{log: {message: "{post.url} is popular"}}]
  - id: reposted-steadily
    watch: {accounts: [brand], max_age: 2d}
    when: reposts >= 20
    for: 10m
    actions: [{log: {message: "{post.url} keeps being reposted"}}]
  - id: quiet-post
    watch: {accounts: [support], max_age: 1d}
    when: {all: [impressions >= 200, engagements < 2]}
    actions: [{log: {message: "{post.url} gets no engagement"}}]
  - id: engagements-hour
    watch: {accounts: [brand], max_age: 2d}
    when: engagements over 1h >= 100
    fire: {rearm: true, cooldown: 6h}
    actions: [{log: {message: "{post.url} engaged {metrics.engagements} times"}}]
  - id: likes-surge
    watch: {accounts: [brand, support], max_age: 2d}
    when: likes over 30m >= 30
    fire: {rearm: true, cooldown: 1h}
    actions: [{log: {message: "{post.url} likes surge"}}]
"""

EXPLICIT_RULES_TEXT = (
    "  - id: public-likes-{n}\n    watch: {{posts: [{ids}]}}\n    when: likes >= 50\n"
    '    actions: [{{log: {{message: "{{post.url}} liked"}}}}]\n',
    "  - id: public-reposts-hour-{n}\n    watch: {{posts: [{ids}]}}\n"
    "    when: reposts over 1h >= 10\n    fire: {{rearm: true, cooldown: 6h}}\n"
    '    actions: [{{log: {{message: "{{post.url}} reposted"}}}}]\n',
    "  - id: public-like-milestones-{n}\n    watch: {{posts: [{ids}]}}\n"
    "    fire: {{every: 100, metric: likes}}\n"
    '    actions: [{{log: {{message: "{{post.url}} {{milestone}} likes"}}}}]\n',
    "  - id: public-replies-{n}\n    watch: {{posts: [{ids}]}}\n    when: replies >= 10\n"
    '    actions: [{{log: {{message: "{{post.url}} replied"}}}}]\n',
)


# --- the sandbox, in its own process ---------------------------------------------------------


def _sandbox_process(conn: Connection, public_posts: int) -> None:
    """Serve the simulated APIs; answer ``advance`` and ``stop`` commands from the engine."""
    logging.disable(logging.CRITICAL)
    sandbox = Sandbox(seed=5, start=START, speed=0, options=Options(per_minute_limit=1_000_000))
    world = sandbox.world
    span = timedelta(days=7) - timedelta(minutes=10)
    public: list[str] = []
    for author, count, out in (
        (cred.ACCOUNTS[0].user_id, OWNED_PER_ACCOUNT, None),
        (cred.ACCOUNTS[1].user_id, OWNED_PER_ACCOUNT, None),
        (PUBLIC_AUTHOR, public_posts, public),
    ):
        for i in range(count):
            post = world.add_post(author, created_at=START - span * (i + 0.5) / count)
            if out is not None:
                out.append(post.id)
    sandbox.start()
    conn.send((sandbox.base_url, public))
    try:
        while True:
            command, arg = conn.recv()
            if command == "advance":
                conn.send(sandbox.clock.advance(arg))
            else:
                break
    finally:
        sandbox.stop()


@dataclass
class SandboxProcess:
    process: multiprocessing.process.BaseProcess
    conn: Connection
    base_url: str
    public: list[str]

    @classmethod
    def start(cls, public_posts: int) -> SandboxProcess:
        ctx = multiprocessing.get_context("spawn")
        parent, child = ctx.Pipe()
        process = ctx.Process(target=_sandbox_process, args=(child, public_posts), daemon=True)
        process.start()
        base_url, public = parent.recv()
        return cls(process, parent, base_url, public)

    def advance(self, seconds: float) -> None:
        self.conn.send(("advance", seconds))
        self.conn.recv()

    def stop(self) -> None:
        self.conn.send(("stop", None))
        self.process.join(timeout=10)


# --- one pass ------------------------------------------------------------------------------


@dataclass
class CycleRow:
    number: int
    kind: str
    cpu: float
    wall: float
    server_cpu: float | None  # PostgreSQL's processes, when measured
    peak_mb: float | None
    posts: int
    requests: int
    fired: int
    seeded: int
    actions: int
    errors: int


def write_rules(folder: Path, public: list[str]) -> None:
    """The owned-post rules in one file, each explicit rule in its own (a rule file may not
    pass 1 MB, and 100,000 posts name 23,500 IDs a rule)."""
    folder.mkdir(exist_ok=True)
    head = "version: 1\nrules:\n"
    (folder / "owned.yaml").write_text(head + OWNED_RULES, encoding="utf-8")
    chunk = len(public) // EXPLICIT_RULES
    for n, template in enumerate(EXPLICIT_RULES_TEXT):
        ids = ", ".join(f'"{i}"' for i in public[n * chunk : (n + 1) * chunk])
        text = head + template.format(n=n, ids=ids)
        (folder / f"public-{n}.yaml").write_text(text, encoding="utf-8")


def run_pass(
    args: argparse.Namespace,
    tmp: Path,
    *,
    memory: bool,
    database: str | None = None,
    server: Callable[[], float] | None = None,
) -> tuple[list[CycleRow], dict[str, object]]:
    """One pass on a new SQLite file in ``tmp``, or on the PostgreSQL ``database`` (empty);
    ``server`` measures the PostgreSQL server's CPU."""
    sandbox = SandboxProcess.start(args.posts - 2 * OWNED_PER_ACCOUNT)
    try:
        rules = tmp / "rules"
        write_rules(rules, sandbox.public)
        db = database or str(tmp / ("memory.db" if memory else "cpu.db"))
        config_file = write_config(
            tmp / "automation.yaml",
            sandbox.base_url,
            requests_per_minute=1_000_000,
            poll_interval="5m",
            database=db,
            rules=[str(rules)],
        )
        now = [START]
        if memory:
            tracemalloc.start(FRAMES if args.top is not None else 1)
        with ExitStack() as stack:
            extra: dict[str, int] = {}
            if is_postgres_url(db):
                from cycle_postgres import engine_on_postgres

                extra = stack.enter_context(engine_on_postgres(db))
            config = load_config(config_file)
            runtime = open_runtime(config, emit=lambda event: None, clock=lambda: now[0], **extra)
        store_aged(runtime.store, args.aged)
        rows: list[CycleRow] = []
        if memory and args.top is not None:
            watch_steps(runtime.engine, args.top)
        try:
            for number in range(1, args.steady + 2):
                if number > 1:
                    now[0] += CYCLE
                    sandbox.advance(CYCLE.total_seconds())
                rows.append(_timed_cycle(runtime.engine, number, memory, args.profile, server))
            info = _database_info(config.database) if not memory or args.top else {}
            info["rss_now_mb"] = _rss_now()  # the engine still open, its posts held
        finally:
            runtime.close()
            if memory:
                tracemalloc.stop()
        return rows, info
    finally:
        sandbox.stop()


def store_aged(store: Any, count: int) -> None:
    """``count`` posts of the owned accounts past every rule's max_age, each with the
    ``done`` state of the ``AGED_STATES`` rules, written before the first cycle."""
    span = timedelta(days=365 - 8)
    for first in range(0, count, 10_000):
        posts = [
            WatchedPostRecord(
                post_id=str(AGED_ID_BASE + i),
                account=("brand", "support")[i % 2],
                created_at=START - timedelta(days=8) - span * (i + 0.5) / count,
                source="timeline",
                first_seen=START - timedelta(days=365),
            )
            for i in range(first, min(first + 10_000, count))
        ]
        store.upsert_posts(posts)
        done = RuleState(done=True)
        states = tuple((rule, p.post_id, done) for p in posts for rule in AGED_STATES)
        store.commit_cycle(CycleWrite(at=START - timedelta(days=8), states=states))


def _timed_cycle(
    engine: object,
    number: int,
    memory: bool,
    profile: int | None,
    server: Callable[[], float] | None,
) -> CycleRow:
    if memory:
        tracemalloc.reset_peak()
        print(f"cycle {number}:", file=sys.stderr)
    profiler = cProfile.Profile(time.process_time) if profile == number and not memory else None
    server_before = server() if server else 0.0
    cpu, wall = time.process_time(), time.perf_counter()
    if profiler:
        profiler.enable()
    result = engine.cycle()  # type: ignore[attr-defined]
    if profiler:
        profiler.disable()
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    server_used = server() - server_before if server else None
    peak = tracemalloc.get_traced_memory()[1] / 1e6 if memory else None
    if profiler:
        pstats.Stats(profiler, stream=sys.stderr).sort_stats("cumulative").print_stats(25)
        pstats.Stats(profiler, stream=sys.stderr).sort_stats("tottime").print_stats(25)
    return CycleRow(
        number,
        "seeding" if number == 1 else "steady",
        cpu,
        wall,
        server_used,
        peak,
        result.posts,
        result.requests,
        result.fired,
        result.seeded,
        result.actions_sent,
        len(result.errors),
    )


def _database_info(db: Database) -> dict[str, object]:
    if not isinstance(db, Path):
        from cycle_postgres import postgres_info

        return postgres_info(db)
    conn = sqlite3.connect(db)
    try:
        tables = conn.execute(
            "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        ).fetchall()
        rows = {
            name: conn.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0] for (name,) in tables
        }
        sizes = dict(conn.execute("SELECT name, sum(pgsize) FROM dbstat GROUP BY name").fetchall())
    finally:
        conn.close()
    wal = db.with_name(db.name + "-wal")
    return {
        "db_mb": db.stat().st_size / 1e6,
        "wal_mb": wal.stat().st_size / 1e6 if wal.exists() else 0.0,
        "rows": rows,
        "sizes": sizes,
    }


# --- report --------------------------------------------------------------------------------


def print_report(
    cpu_rows: list[CycleRow], mem_rows: list[CycleRow], info: dict, rss: float | None
) -> None:
    print(
        f"{'cycle':>5} {'kind':<8} {'CPU s':>6} {'server s':>8} {'wall s':>7} {'peak MB':>8}"
        f" {'posts':>6} {'requests':>8} {'fired':>6} {'seeded':>6} {'actions':>7} {'errors':>6}"
    )
    for row, mem in zip(cpu_rows, mem_rows, strict=True):
        server = f"{row.server_cpu:>8.3f}" if row.server_cpu is not None else f"{'-':>8}"
        print(
            f"{row.number:>5} {row.kind:<8} {row.cpu:>6.3f} {server} {row.wall:>7.3f}"
            f" {mem.peak_mb or 0:>8.1f} {row.posts:>6,} {row.requests:>8}"
            f" {row.fired:>6} {row.seeded:>6} {row.actions:>7} {row.errors:>6}"
        )
    steady = [r.cpu for r in cpu_rows[1:]]
    peak = max(r.peak_mb or 0 for r in mem_rows)
    print(
        f"\nseeding cycle CPU {cpu_rows[0].cpu:.3f} s; steady median"
        f" {statistics.median(steady):.3f} s ({min(steady):.3f}-{max(steady):.3f})"
        f" (target <= {CPU_TARGET:.1f} s)"
    )
    traced = f"{peak:.1f} MB" if peak else "not measured"
    rss_text = f"{rss:.1f} MB (before the tracemalloc pass)" if rss else "not measured"
    print(
        f"peak traced memory {traced}; max RSS of the engine process {rss_text}"
        f" (target < {MEMORY_TARGET_MB:.0f} MB)"
    )
    wal = f" + WAL {info['wal_mb']:.1f} MB" if info["wal_mb"] is not None else ""
    if info.get("rss_now_mb") is not None:
        print(f"RSS after the last cycle {info['rss_now_mb']:.1f} MB")
    print(f"database after {len(cpu_rows)} cycles: {info['db_mb']:.1f} MB{wal}")
    for name, size in sorted(info["sizes"].items(), key=lambda kv: -kv[1])[:10]:
        print(f"  {name:<40} {size / 1e6:>7.2f} MB  {info['rows'].get(name, ''):>10}")


def print_comparison(runs: dict[str, list[CycleRow]]) -> None:
    """Seeding and steady cycles per store: the engine's CPU, the server's, and wall time
    (steady: medians)."""
    print(
        f"\n{'store':<11} {'cycle':<14} {'engine CPU s':>12} {'server CPU s':>12}"
        f" {'total CPU s':>11} {'wall s':>7}"
    )
    for store, rows in runs.items():
        for label, chosen in (("seeding", rows[:1]), (f"steady x{len(rows) - 1}", rows[1:])):
            cpu = statistics.median(r.cpu for r in chosen)
            server = statistics.median(r.server_cpu or 0.0 for r in chosen)
            wall = statistics.median(r.wall for r in chosen)
            shown = f"{server:>12.3f}" if chosen[0].server_cpu is not None else f"{'-':>12}"
            print(
                f"{store:<11} {label:<14} {cpu:>12.3f} {shown} {cpu + server:>11.3f} {wall:>7.3f}"
            )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steady", type=int, default=3, help="steady cycles after seeding")
    parser.add_argument("--profile", type=int, help="cProfile this cycle number (1 = seeding)")
    parser.add_argument(
        "--posts",
        type=int,
        default=2 * OWNED_PER_ACCOUNT + PUBLIC_POSTS,
        help="watched posts: 6,000 owned, the rest public (default 10,000)",
    )
    parser.add_argument(
        "--aged",
        type=int,
        default=0,
        help="stored posts past every rule's max_age, each with three rule states (default 0)",
    )
    parser.add_argument("--cpu-only", action="store_true", help="skip the second, tracemalloc pass")
    parser.add_argument(
        "--top",
        type=int,
        metavar="N",
        help="only the tracemalloc pass, printing each step's memory and its N largest holders",
    )
    parser.add_argument(
        "--database", metavar="URL", help="an empty PostgreSQL database instead of SQLite"
    )
    parser.add_argument(
        "--compare", action="store_true", help="SQLite, then a throwaway local PostgreSQL"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)
    if args.compare:
        return compare(args)
    if args.top is not None:
        with tempfile.TemporaryDirectory() as tmp:
            rows, info = run_pass(args, Path(tmp), memory=True)
        print_report(rows, rows, info, None)
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        cpu_rows, info = run_pass(args, Path(tmp), memory=False, database=args.database)
        rss = _rss()
        cpu_only = args.cpu_only or args.database  # a second pass needs an empty database
        mem_rows = cpu_rows if cpu_only else run_pass(args, Path(tmp), memory=True)[0]
    print_report(cpu_rows, mem_rows, info, rss)
    return 0


def _rss() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _rss_now() -> float | None:
    """The process's resident memory now, in MB (None where ``/proc`` is not)."""
    try:
        fields = Path("/proc/self/statm").read_text(encoding="ascii").split()
    except OSError:
        return None
    return int(fields[1]) * resource.getpagesize() / 1e6


def compare(args: argparse.Namespace) -> int:
    from cycle_postgres import server_cpu, throwaway_database

    runs: dict[str, list[CycleRow]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        runs["sqlite"], info = run_pass(args, Path(tmp), memory=False)
        print("SQLite:")
        print_report(runs["sqlite"], runs["sqlite"], info, _rss())  # SQLite runs first
    with tempfile.TemporaryDirectory() as tmp, throwaway_database() as (url, pid):
        runs["postgresql"], info = run_pass(
            args, Path(tmp), memory=False, database=url, server=server_cpu(pid)
        )
        print("\nPostgreSQL (local, durable defaults):")
        print_report(runs["postgresql"], runs["postgresql"], info, None)
    print_comparison(runs)
    return 0


if __name__ == "__main__":
    sys.exit(main())

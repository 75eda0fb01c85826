"""How long ``automation copy-store`` takes to move a week's state of 10,000 posts from
SQLite to a local PostgreSQL and back.

The SQLite database is filled directly, in the shape the engine leaves after a week of
5-minute cycles over 10,000 posts (``bench_store``: about 2 million snapshot rows once the
48-hour retention is reached), with a day of hourly history for 7 metrics, 20 rules'
states, and 20,000 firings, each with an action and an attempt. PostgreSQL is a throwaway
local cluster with its durable defaults (``cycle_postgres``). Each direction runs the real
command in this process; CPU is this process's, wall the whole copy's.

    python benchmarks/bench_copy_store.py
"""

from __future__ import annotations

import argparse
import contextlib
import io
import random
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

from cycle_postgres import server_cpu, throwaway_database

from automation.cli.main import main as automation
from automation.store.sqlite import SqliteStore

POSTS = 10_000
METRICS = 7
RULES = 20
FIRINGS = 20_000
HOURS = 24
START = 1_795_000_000.0  # epoch seconds


def fill(path: Path, snapshots: int, rng: random.Random) -> dict[str, int]:
    SqliteStore.open(path).close()  # the schema
    conn = sqlite3.connect(path)
    with conn:
        ids = [str(1_900_000_000_000_000_000 + n) for n in range(POSTS)]
        conn.executemany(
            "INSERT INTO posts VALUES (?, 'brand', ?, 'timeline', ?, NULL)",
            ((i, START - n, START) for n, i in enumerate(ids)),
        )
        conn.executemany(
            "INSERT INTO series (id, post_id) VALUES (?, ?)",
            ((n + 1, i) for n, i in enumerate(ids)),
        )
        conn.executemany(
            "INSERT INTO metric_names (id, name) VALUES (?, ?)",
            ((m + 1, f"metric{m}") for m in range(METRICS)),
        )
        per_series = snapshots // (POSTS * METRICS)
        conn.executemany(
            "INSERT INTO snapshots VALUES (?, ?, ?, ?)",
            (
                (s + 1, m + 1, START + 300 * k, float(rng.randrange(100_000)))
                for s in range(POSTS)
                for m in range(METRICS)
                for k in range(per_series)
            ),
        )
        conn.executemany(
            "INSERT INTO hourly_posts (id, post_id) VALUES (?, ?)",
            ((n + 1, i) for n, i in enumerate(ids)),
        )
        conn.executemany(
            "INSERT INTO hourly_totals VALUES (?, ?, ?, ?)",
            (
                (p + 1, m + 1, 500_000 + h, float(h))
                for p in range(POSTS)
                for m in range(METRICS)
                for h in range(HOURS)
            ),
        )
        _fill_ledger(conn, ids, rng)
    counts = {
        name: conn.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0]
        for (name,) in conn.execute("SELECT name FROM sqlite_schema WHERE type = 'table'")
    }
    conn.close()
    return counts


def _fill_ledger(conn: sqlite3.Connection, ids: list[str], rng: random.Random) -> None:
    conn.executemany(
        "INSERT INTO rule_states VALUES (?, ?, 'fp', NULL, 1, NULL, 0, 0, 0)",
        ((f"rule-{r}", i) for r in range(RULES) for i in ids),
    )
    firings = [(f"f{n:08x}", f"rule-{n % RULES}", rng.choice(ids)) for n in range(FIRINGS)]
    conn.executemany(
        "INSERT INTO firings (id, rule_id, post_id, key, kind, at, metrics)"
        " VALUES (?, ?, ?, ?, 'fired', ?, '{\"likes\": 100.0}')",
        ((f, r, p, f"k{f}", START) for f, r, p in firings),
    )
    conn.executemany(
        "INSERT INTO outbox (id, firing_id, rule_id, post_id, idx, kind, payload, status,"
        " attempts, created_at) VALUES (?, ?, ?, ?, 0, 'log', '{\"message\": \"m\"}', 'sent',"
        " 1, ?)",
        ((f"{f}-0", f, r, p, START) for f, r, p in firings),
    )
    conn.executemany(
        "INSERT INTO attempts VALUES (?, 1, ?, 'sent', NULL, NULL)",
        ((f"{f}-0", START) for f, _, _ in firings),
    )


def timed(args: list[str], server: object) -> tuple[float, float, float]:
    """CPU of this process, CPU of the server, wall seconds of one command."""
    measure = server if callable(server) else (lambda: 0.0)
    before = measure()
    cpu, wall = time.process_time(), time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        code = automation(args)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    if code != 0:
        raise SystemExit(f"automation {' '.join(args)} exited {code}")
    return cpu, measure() - before, wall


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--snapshots", type=int, default=2_000_000, help="snapshot rows")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp, throwaway_database() as (url, pid):
        source, back = Path(tmp) / "source.db", Path(tmp) / "back.db"
        counts = fill(source, args.snapshots, random.Random(5))
        rows = sum(n for name, n in counts.items() if not name.startswith("_"))
        size = source.stat().st_size / 1e6
        print(f"{rows:,} rows, {size:.1f} MB of SQLite ({counts['snapshots']:,} snapshots)\n")
        print(f"{'direction':<22} {'CPU s':>6} {'server CPU s':>12} {'wall s':>7} {'rows/s':>9}")
        server = server_cpu(pid)
        for label, command in (
            ("SQLite -> PostgreSQL", ["copy-store", str(source), url]),
            ("PostgreSQL -> SQLite", ["copy-store", url, str(back)]),
        ):
            cpu, used, wall = timed(command, server)
            print(f"{label:<22} {cpu:>6.2f} {used:>12.2f} {wall:>7.2f} {rows / wall:>9,.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

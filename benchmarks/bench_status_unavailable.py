"""What ``automation status`` spends on its ``posts unavailable`` row (``cli.status``'s
``_unavailable``: the unavailable posts a rule still watches) over a store of many posts,
few of them unavailable, on SQLite or PostgreSQL.

The store holds ``--posts`` timeline posts of one owned account, one every 30 seconds
back from now (100,000: about 35 days, most past the rule's ``max_age: 7d``), of which
``--unavailable`` are marked gone, half of them young enough to be watched. The row is
computed ``--repeat`` times; the table gives its CPU a call, this process's and, on
PostgreSQL, the server's (``cycle_postgres.server_cpu``, ticks of 10 ms), and what it
answered::

    python benchmarks/bench_status_unavailable.py
    python benchmarks/bench_status_unavailable.py --postgres
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from automation.cli.status import _unavailable
from automation.core.records import WatchedPostRecord
from automation.rulefiles.rule_parser import load_rules
from automation.store import SqliteStore
from automation.store.base import Store

NOW = datetime(2026, 11, 1, tzinfo=UTC)
RULES = """\
version: 1
rules:
  - id: brand-likes
    watch: {accounts: [brand], max_age: 7d}
    when: likes >= 100
    actions: [{log: {message: "liked"}}]
"""
Clock = Callable[[], float]


def _fill(store: Store, posts: int, unavailable: int) -> None:
    records = [
        WatchedPostRecord(
            post_id=str(1_900_000_000_000_000_000 + n),
            account="brand",
            created_at=NOW - timedelta(seconds=30 * n),
            source="timeline",
            first_seen=NOW - timedelta(seconds=30 * n),
        )
        for n in range(posts)
    ]
    store.upsert_posts(records)
    step = max(1, 7 * 24 * 120 * 2 // unavailable)  # half of them within the 7 days
    store.mark_unavailable([records[n * step].post_id for n in range(unavailable)], NOW)


@contextmanager
def _opened(postgres: bool) -> Iterator[tuple[Store, dict[str, Clock]]]:
    if not postgres:
        with tempfile.TemporaryDirectory() as tmp, SqliteStore.open(Path(tmp) / "s.db") as store:
            yield store, {"engine": time.process_time}
        return
    from cycle_postgres import engine_on_postgres, server_cpu, throwaway_database

    from automation.config.database import PostgresDatabase
    from automation.store.postgres import PostgresStore

    with (
        throwaway_database() as (url, pid),
        engine_on_postgres(url) as extra,
        PostgresStore.open(PostgresDatabase.parse(url), **extra) as store,
    ):
        yield store, {"engine": time.process_time, "server": server_cpu(pid)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--posts", type=int, default=100_000)
    parser.add_argument("--unavailable", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--postgres", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        rules = Path(tmp) / "rules.yaml"
        rules.write_text(RULES)
        ruleset = load_rules([rules])
        assert ruleset.rules and not ruleset.errors, ruleset.errors
        with _opened(args.postgres) as (store, clocks):
            _fill(store, args.posts, args.unavailable)
            before = {name: clock() for name, clock in clocks.items()}
            answers = {_unavailable(ruleset, store, NOW) for _ in range(args.repeat)}
            spent = {name: clock() - before[name] for name, clock in clocks.items()}
    print(f"{args.posts:,} posts, {args.unavailable} unavailable; the row says {answers}")
    print(
        " | ".join(f"{name} {s / args.repeat * 1e3:.2f} CPU ms a call" for name, s in spent.items())
    )


if __name__ == "__main__":
    main()

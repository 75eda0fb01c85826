"""``bench_store.py --outbox``: what the engine's writes into the outbox cost, SQLite or
PostgreSQL, over an outbox that already holds a busy team's actions.

The outbox is first filled through ``commit_cycle`` with ``--outbox`` actions (70,000:
``dashboard_large``'s) in cycles of 500 firings, each with one action, then all marked
sent in one statement (a preparation, not measured: the store's ``record_attempt`` one by
one would take minutes on a durable PostgreSQL). Then each of ``--rounds`` rounds does
what the engine does with a burst of firings: a cycle commits 50 firings that queue one
action each (``commit_cycle``), dispatch claims them (``claim_actions``) and records each
one sent (``record_attempt``). Each step is timed in CPU: this process's (SQLite runs in
it) and, on PostgreSQL, the server's processes' too (``cycle_postgres.server_cpu``, in
ticks of 10 ms, hence the totals over every round). The table gives each step's CPU time
an action, and the database's size at the end. Then the reads and the bulk delete: the
actions counted by status (``action_counts()``: ``status``, the dashboard, ``/metrics``)
asked ``COUNTS`` times, CPU a call, and the prune of the filled actions (``prune_ledger``),
CPU an action pruned.
"""

from __future__ import annotations

import argparse
import sqlite3
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from automation.core.records import ActionRecord, CycleWrite, FiringRecord
from automation.store import SqliteStore
from automation.store.base import Store

__all__ = ["run"]

START = datetime(2026, 11, 1, tzinfo=UTC)
BATCH = 50  # firings a round: a burst, each queueing one action
FILL_BATCH = 500
COUNTS = 200  # action_counts() calls timed
Clock = Callable[[], float]


def _firings(first: int, count: int, at: datetime) -> tuple[FiringRecord, ...]:
    return tuple(
        FiringRecord(
            id=f"{n:016x}",
            rule_id=f"rule-{n % 300:03d}",
            post_id=str(1_900_000_000_000_000_000 + (n % 1_000) * 4_194_304),
            key=f"k{n}",
            kind="fired",
            at=at,
            metrics={"impressions": float(n)},
            actions=(ActionRecord(0, "log", '{"message": "x"}'),),
        )
        for n in range(first, first + count)
    )


def _fill(store: Store, actions: int, mark_sent: Callable[[str], None]) -> None:
    for first in range(0, actions, FILL_BATCH):
        at = START + timedelta(seconds=first)
        store.commit_cycle(CycleWrite(at=at, firings=_firings(first, FILL_BATCH, at)))
    mark_sent("UPDATE outbox SET status = 'sent', attempts = 1, next_attempt_at = NULL")


def _round(store: Store, first: int, clocks: dict[str, Clock]) -> dict[str, dict[str, float]]:
    """One burst's steps, each step's CPU seconds by clock."""
    at = START + timedelta(seconds=first)
    spent: dict[str, dict[str, float]] = {}

    def timed(step: str, work: Callable[[], object]) -> object:
        before = {name: clock() for name, clock in clocks.items()}
        result = work()
        spent[step] = {name: clock() - before[name] for name, clock in clocks.items()}
        return result

    timed(
        "enqueue", lambda: store.commit_cycle(CycleWrite(at=at, firings=_firings(first, BATCH, at)))
    )
    claimed = timed("claim", lambda: store.claim_actions(at, BATCH))
    assert isinstance(claimed, list) and len(claimed) == BATCH

    def outcomes() -> None:
        for item in claimed:
            store.record_attempt(item.id, at=at, outcome="sent", error=None, next_attempt_at=None)

    timed("outcome", outcomes)
    return spent


def run(args: argparse.Namespace) -> None:
    with _opened(args) as (store, mark_sent, clocks, size):
        started = time.perf_counter()
        _fill(store, args.outbox, mark_sent)
        filled = time.perf_counter() - started
        rounds = [_round(store, args.outbox + n * BATCH, clocks) for n in range(args.rounds)]
        megabytes = size() / 1e6
        counted = _spent(clocks, lambda: [store.action_counts() for _ in range(COUNTS)])
        pruned: list[int] = []
        prune = _spent(
            clocks,
            lambda: pruned.append(
                store.prune_ledger(START + timedelta(seconds=args.outbox)).actions
            ),
        )
    print(f"outbox: {args.outbox:,} actions filled in {filled:.0f} s wall, then")
    print(f"{args.rounds} rounds of {BATCH} firings queued, claimed and sent\n")
    print(f"| {'step, per action':<16} | " + " | ".join(f"{c:>6} CPU µs" for c in clocks) + " |")
    print(f"|{'-' * 18}|" + "|".join("-" * 14 + ":" for _ in clocks) + "|")
    actions = len(rounds) * BATCH
    for step in ("enqueue", "claim", "outcome"):
        cells = [f"{sum(r[step][c] for r in rounds) / actions * 1e6:>13.1f}" for c in clocks]
        print(f"| {step:<16} | " + " | ".join(cells) + " |")
    print(f"\ndatabase at the end: {megabytes:.1f} MB\n")
    print("| read or prune | " + " | ".join(f"{c:>6} CPU µs" for c in clocks) + " |")
    print("|---|" + "|".join("-" * 14 + ":" for _ in clocks) + "|")
    print(
        "| action_counts(), a call | "
        + " | ".join(f"{counted[c] / COUNTS * 1e6:>13.1f}" for c in clocks)
        + " |"
    )
    print(
        f"| prune, an action ({pruned[0]:,}) | "
        + " | ".join(f"{prune[c] / pruned[0] * 1e6:>13.1f}" for c in clocks)
        + " |"
    )


def _spent(clocks: dict[str, Clock], work: Callable[[], object]) -> dict[str, float]:
    """CPU seconds ``work`` took, by clock."""
    before = {name: clock() for name, clock in clocks.items()}
    work()
    return {name: clock() - before[name] for name, clock in clocks.items()}


@contextmanager
def _opened(
    args: argparse.Namespace,
) -> Iterator[tuple[Store, Callable[[str], None], dict[str, Clock], Callable[[], float]]]:
    """The store, a way to run one statement beside it, the clocks, the database's size."""
    if not args.postgres:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "outbox.db"
            with SqliteStore.open(path) as store:

                def sqlite_statement(sql: str) -> None:
                    with closing(sqlite3.connect(path)) as conn, conn:
                        conn.execute(sql)

                yield store, sqlite_statement, {"engine": time.process_time}, store_size(store)
        return
    import psycopg
    from cycle_postgres import engine_on_postgres, server_cpu, throwaway_database

    from automation.config.database import PostgresDatabase
    from automation.store.postgres import PostgresStore

    with (
        throwaway_database() as (url, pid),
        engine_on_postgres(url) as extra,
        PostgresStore.open(PostgresDatabase.parse(url), **extra) as store,
    ):

        def postgres_statement(sql: str) -> None:
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute(sql.encode())
                conn.execute(b"VACUUM ANALYZE outbox")

        clocks = {"engine": time.process_time, "server": server_cpu(pid)}
        yield store, postgres_statement, clocks, store_size(store)


def store_size(store: Store) -> Callable[[], float]:
    return lambda: float(store.size_bytes() or 0)

"""``bench_store.py --outbox N --counts``: what keeping the actions' counts by status in
``outbox_counts`` (SQLite m011, PostgreSQL m006) costs the outbox's writes and saves its
reads, with and without the triggers in turn over one database.

An outbox of N actions (all sent, as ``store_outbox`` leaves them) is written by one
statement, then ``--pairs`` pairs of phases alternate: the triggers off (SQLite: dropped;
PostgreSQL: disabled), the actions counted as before (``SELECT status, count(*) FROM
outbox GROUP BY status``), then the triggers on, the counts read from ``outbox_counts``.
Each phase runs ``--rounds`` bursts of ``store_outbox``'s (50 firings queued, claimed,
recorded sent) and ``COUNTS`` reads. The counts are made right again before each "on"
phase (a full count, not measured). The same database and the same process for both, so
the machine's load moves both alike; CPU of this process and, on PostgreSQL, the
server's.
"""

from __future__ import annotations

import argparse
import statistics
from collections.abc import Callable

from store_outbox import BATCH, COUNTS, Clock, _opened, _round, _spent

from automation.store.base import Store

__all__ = ["run"]

FULL_COUNT = "SELECT status, count(*) FROM outbox GROUP BY status"
STEPS = ("enqueue", "claim", "outcome")


def _bulk_fill(statement: Callable[[str], None], actions: int, postgres: bool) -> None:
    numbers = (
        f"generate_series(1, {actions}) AS n"
        if postgres
        else f"(WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < {actions})"
        " SELECT n FROM s)"
    )
    statement(
        "INSERT INTO outbox (id, firing_id, rule_id, post_id, idx, kind, payload, status,"
        " attempts, created_at, next_attempt_at)"
        " SELECT 'fill' || n || '.0', 'fill' || n, 'rule-' || (n % 300), 'p' || (n % 1000), 0,"
        f" 'log', '{{}}', 'sent', 1, n, NULL FROM {numbers}"
    )


def _switch(store: Store, statement: Callable[[str], None], postgres: bool, on: bool) -> None:
    """The triggers on, and the counts made right, or off."""
    if postgres:
        statement(f"ALTER TABLE outbox {'ENABLE' if on else 'DISABLE'} TRIGGER USER")
    elif on:
        for sql in _TRIGGERS:
            statement(sql)
    else:
        _TRIGGERS[:] = [
            sql
            for (sql,) in store._rows(  # type: ignore[attr-defined]
                "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'outbox'"
            )
        ]
        for sql in _TRIGGERS:
            statement(f"DROP TRIGGER {sql.split()[2]}")
    if on:
        statement("DELETE FROM outbox_counts")
        statement(f"INSERT INTO outbox_counts {FULL_COUNT}")


_TRIGGERS: list[str] = []  # SQLite's, as made, while they are dropped


def run(args: argparse.Namespace) -> None:
    results: dict[bool, list[dict[str, dict[str, float]]]] = {False: [], True: []}
    with _opened(args) as (store, statement, clocks, _size):
        _bulk_fill(statement, args.outbox, args.postgres)
        first = args.outbox
        for _ in range(args.pairs):
            for on in (False, True):
                _switch(store, statement, args.postgres, on)
                results[on].append(_phase(store, first, args.rounds, clocks, on))
                first += args.rounds * BATCH
        assert store.action_counts() == _full(store, args.postgres)
    _report(results, clocks, args)


def _phase(
    store: Store, first: int, rounds: int, clocks: dict[str, Clock], on: bool
) -> dict[str, dict[str, float]]:
    spent: dict[str, dict[str, float]] = {s: dict.fromkeys(clocks, 0.0) for s in STEPS}
    for n in range(rounds):
        for step, by_clock in _round(store, first + n * BATCH, clocks).items():
            for clock, seconds in by_clock.items():
                spent[step][clock] += seconds
    count = (
        store.action_counts if on else lambda: store._rows(FULL_COUNT)  # type: ignore[attr-defined]
    )
    spent["count"] = _spent(clocks, lambda: [count() for _ in range(COUNTS)])
    return spent


def _full(store: Store, postgres: bool) -> dict[str, int]:
    counts = dict.fromkeys(("pending", "sent", "dead"), 0)
    counts.update(store._rows(FULL_COUNT))  # type: ignore[attr-defined]
    return counts


def _report(
    results: dict[bool, list[dict[str, dict[str, float]]]],
    clocks: dict[str, Clock],
    args: argparse.Namespace,
) -> None:
    actions = args.rounds * BATCH
    print(f"outbox: {args.outbox:,} actions; {args.pairs} pairs of {args.rounds} rounds")
    print("median (range) of the phases, CPU µs an action (a call for the count)\n")
    print("| step | clock | triggers off, counted | triggers on, kept |")
    print("|---|---|---:|---:|")
    for step in (*STEPS, "count"):
        per = COUNTS if step == "count" else actions
        for clock in clocks:
            cells = []
            for on in (False, True):
                values = sorted(r[step][clock] / per * 1e6 for r in results[on])
                cells.append(f"{statistics.median(values):.1f} ({values[0]:.1f}-{values[-1]:.1f})")
            print(f"| {step} | {clock} | {cells[0]} | {cells[1]} |")

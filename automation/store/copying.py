"""Copy every row of one state database into another (``automation copy-store``): SQLite to
PostgreSQL, back, or between two of a kind.

The two stores keep the same tables, column for column (``postgres_schema``), so a copy
moves rows unchanged, table by table, and nothing needs converting: the ledger, the
outbox with its attempts and idempotency keys, snapshots and hourly history, the request
budget, pauses, the record of changes made by hand and the status values. The source is
read in one read transaction, so the copy is the database as of one moment; the target
is written in one write transaction, so a copy that fails leaves it as it was. Before
committing, every table of the target is counted against what was read.

What is a database's own is not copied: its migration records (the target has its own)
and PostgreSQL's leadership; an outbox ``claim`` belongs to the engine that held it in
the source, so every action arrives unclaimed and is handed out again with its key. Nor
are the counts the target's triggers keep from the rows copied (``outbox_counts``). A
column or table that the source has and the target lacks would be lost, so the copy
refuses it (the two would be on different versions).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Protocol

from automation.core.errors import StoreError, UsageError

__all__ = ["KEPT", "Copied", "CopySource", "CopyTarget", "Tables", "copy_rows", "failures"]

# Tables each database keeps itself from its other rows, by triggers (see the module).
KEPT = ("outbox_counts",)

Tables = Mapping[str, tuple[str, ...]]  # table -> its columns, in the database's order
Row = Sequence[object]

# Columns left behind on purpose (see the module): what they say holds only where they are.
NOT_COPIED = frozenset({("outbox", "claim")})
# Columns one side keeps implicitly: SQLite numbers ``changes`` by rowid, PostgreSQL by a
# ``seq`` column; either way the rows are copied in that order, so it is kept.
IMPLICIT = frozenset({("changes", "seq")})


class CopySource(Protocol):
    def tables(self) -> Tables: ...

    def rows(self, table: str, columns: Sequence[str]) -> Iterator[Row]:
        """Every row of ``table``, in its key's order (its numbering, where it has one)."""
        ...


class CopyTarget(Protocol):
    def tables(self) -> Tables: ...

    def count(self, table: str) -> int: ...

    def clear(self, tables: Sequence[str]) -> None: ...

    def write(self, table: str, columns: Sequence[str], rows: Iterable[Row]) -> int:
        """Insert ``rows``; returns how many."""
        ...

    def finish(self) -> None:
        """After the last row: what the database needs to go on numbering rows."""
        ...


@dataclass(frozen=True)
class Copied:
    rows: tuple[tuple[str, int], ...]  # (table, rows copied), in copy order

    @property
    def total(self) -> int:
        return sum(n for _, n in self.rows)

    def of(self, table: str) -> int:
        return dict(self.rows).get(table, 0)


def copy_rows(source: CopySource, target: CopyTarget, *, target_name: str, replace: bool) -> Copied:
    """Copy every table of ``source`` into ``target``, which must be empty unless
    ``replace`` (then what it holds is deleted first, in the same transaction)."""
    plan = _plan(source.tables(), target.tables())
    held = [(table, n) for table in target.tables() if (n := target.count(table))]
    if held and not replace:
        raise UsageError(
            f"{target_name} is not empty ({_listing(held)}): copy into an empty database,"
            " or add --replace to delete what it holds first"
        )
    if held:
        target.clear(list(target.tables()))
    copied: list[tuple[str, int]] = []
    for table, columns in plan:
        written = target.write(table, columns, source.rows(table, columns))
        found = target.count(table)
        if found != written:
            raise StoreError(
                f"copying {table} into {target_name}: {written} rows read but {found} there;"
                " nothing was copied"
            )
        copied.append((table, written))
    target.finish()
    return Copied(tuple(copied))


@contextmanager
def failures(
    kind: type[Exception],
    doing: str,
    table: str | None = None,
    reason: Callable[[Exception], str] = str,
) -> Iterator[None]:
    """A database driver's errors (``kind``) as StoreError saying what failed: ``doing``
    (``copy into PATH``) and the table."""
    try:
        yield
    except kind as exc:
        where = f" (table {table})" if table else ""
        raise StoreError(f"cannot {doing}{where}: {reason(exc)}") from None


def _plan(source: Tables, target: Tables) -> list[tuple[str, tuple[str, ...]]]:
    """The tables to copy and the columns of each, or why rows would be lost."""
    missing = [table for table in source if table not in target]
    if missing:
        raise StoreError(
            f"the target has no table {', '.join(missing)}: both databases must have this"
            " version's schema (run 'automation migrate' with this version on each)"
        )
    plan = []
    for table, columns in source.items():
        lost = [
            c for c in columns if c not in target[table] and (table, c) not in NOT_COPIED | IMPLICIT
        ]
        if lost:
            raise StoreError(
                f"the target's table {table} has no column {', '.join(lost)}: both databases"
                " must have this version's schema (run 'automation migrate' on each)"
            )
        kept = tuple(c for c in columns if c in target[table] and (table, c) not in NOT_COPIED)
        plan.append((table, kept))
    return plan


def _listing(counts: Sequence[tuple[str, int]]) -> str:
    shown = ", ".join(f"{table} {n:,}" for table, n in counts[:4])
    return shown + (f" and {len(counts) - 4} more tables" if len(counts) > 4 else "")

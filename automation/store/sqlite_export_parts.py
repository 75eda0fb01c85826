"""Fetched parts of ``metrics`` exports in the SQLite store, kept so a run can resume."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime

from automation.core.records import to_epoch
from automation.store.sqlite_connection import SqliteConnection, guarded

__all__ = ["ExportPartQueries"]

_SECURE_DELETE = {0: "0", 1: "1", 2: "FAST"}  # as read back -> as set


class ExportPartQueries(SqliteConnection):
    @guarded
    def save_export_parts(self, run: str, parts: Iterable[tuple[str, datetime, str]]) -> None:
        rows = [(run, part, to_epoch(at), data) for part, at, data in parts]
        if not rows:
            return
        with self._immediate() as conn:
            conn.executemany(
                "INSERT OR REPLACE INTO export_parts (run, part, at, data) VALUES (?, ?, ?, ?)",
                rows,
            )

    @guarded
    def export_parts(self, run: str, since: datetime) -> dict[str, str]:
        rows = self._rows(
            "SELECT part, data FROM export_parts WHERE run = ? AND at >= ?",
            [run, to_epoch(since)],
        )
        return dict(rows)

    @guarded
    def forget_export_parts(self, *, run: str | None = None, before: datetime | None = None) -> int:
        if run is None and before is None:
            raise ValueError("forget_export_parts needs run or before")
        where: list[str] = []
        params: list[str | float] = []
        if run is not None:
            where.append("run = ?")
            params.append(run)
        if before is not None:
            where.append("at < ?")
            params.append(to_epoch(before))
        with self._fast_delete(), self._immediate() as conn:
            return conn.execute(
                f"DELETE FROM export_parts WHERE {' OR '.join(where)}", params
            ).rowcount

    @contextmanager
    def _fast_delete(self) -> Iterator[None]:
        """Delete without zeroing the freed overflow pages (``secure_delete = FAST``; the
        SQLite of Debian and others zeroes them all by default). A finished export forgets
        about 8 MB of parts, most of it in overflow pages: zeroing them took 0.02-0.03 s of
        CPU and as much written again. What stays in free pages until they are reused is
        the run's post IDs and counts, the kind of data the file keeps in its snapshots
        anyway; the connection's setting is put back after."""
        (was,) = self._conn.execute("PRAGMA secure_delete").fetchone()
        self._conn.execute("PRAGMA secure_delete = FAST")
        try:
            yield
        finally:
            self._conn.execute(f"PRAGMA secure_delete = {_SECURE_DELETE[was]}")

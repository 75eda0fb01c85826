"""Fetched parts of ``metrics`` exports in the SQLite store, kept so a run can resume."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from automation.core.records import to_epoch
from automation.store.sqlite_connection import SqliteConnection, guarded

__all__ = ["ExportPartQueries"]


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
        # Without zeroing the freed overflow pages: the SQLite of Debian and others is
        # built with secure_delete on, and a finished export forgets about 8 MB of parts,
        # nearly all in overflow pages; zeroing them took 0.02-0.03 s of CPU and as much
        # written again. FAST still clears b-tree pages; what stays in free pages until
        # they are reused is the run's post IDs and counts, the kind of data the file
        # keeps in its snapshots anyway.
        with self._pragma("secure_delete", "FAST"), self._immediate() as conn:
            return conn.execute(
                f"DELETE FROM export_parts WHERE {' OR '.join(where)}", params
            ).rowcount

"""Fetched parts of ``metrics`` exports in the PostgreSQL store, kept so a run can resume."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from automation.core.records import to_epoch
from automation.store.postgres_connection import PostgresConnection, columns, guarded

__all__ = ["ExportPartQueries"]


class ExportPartQueries(PostgresConnection):
    @guarded
    def save_export_parts(self, run: str, parts: Iterable[tuple[str, datetime, str]]) -> None:
        latest = {part: (to_epoch(at), data) for part, at, data in parts}  # one row a name
        rows = [(part, at, data) for part, (at, data) in latest.items()]
        if not rows:
            return
        with self._tx() as conn:
            conn.execute(
                b"INSERT INTO export_parts (run, part, at, data)"
                b" SELECT %s, * FROM unnest(%s::text[], %s::float8[], %s::text[])"
                b" ON CONFLICT (run, part) DO UPDATE SET at = excluded.at, data = excluded.data",
                [run, *columns(rows, 3)],
            )

    @guarded
    def export_parts(self, run: str, since: datetime) -> dict[str, str]:
        rows = self._rows(
            "SELECT part, data FROM export_parts WHERE run = %s AND at >= %s",
            [run, to_epoch(since)],
        )
        return dict(rows)

    @guarded
    def forget_export_parts(self, *, run: str | None = None, before: datetime | None = None) -> int:
        if run is None and before is None:
            raise ValueError("forget_export_parts needs run or before")
        with self._tx() as conn:
            return conn.execute(
                b"DELETE FROM export_parts WHERE run = %s OR at < %s",
                [run, None if before is None else to_epoch(before)],
            ).rowcount

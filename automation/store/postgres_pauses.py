"""Pause records in the PostgreSQL store: set and lifted by people, settled by the engine."""

from __future__ import annotations

from datetime import datetime

from automation.core.pauses import PauseRecord
from automation.core.records import to_epoch
from automation.store.postgres_connection import PostgresConnection, guarded
from automation.store.rows import PAUSE_COLUMNS, pause_from_row, pause_row

__all__ = ["PauseQueries"]

_UPDATES = ", ".join(f"{c} = excluded.{c}" for c in PAUSE_COLUMNS.split(", ")[1:])


class PauseQueries(PostgresConnection):
    @guarded
    def pauses(self) -> list[PauseRecord]:
        rows = self._rows(f"SELECT {PAUSE_COLUMNS} FROM pauses ORDER BY rule_id")
        return [pause_from_row(row) for row in rows]

    @guarded
    def set_pause(self, record: PauseRecord) -> None:
        with self._tx() as conn:
            conn.execute(
                f"INSERT INTO pauses ({PAUSE_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)"
                f" ON CONFLICT (rule_id) DO UPDATE SET {_UPDATES}".encode(),
                pause_row(record),
            )

    @guarded
    def clear_pause(self, rule_id: str, paused_at: datetime) -> bool:
        with self._tx() as conn:
            done = conn.execute(
                b"DELETE FROM pauses WHERE rule_id = %s AND paused_at = %s",
                [rule_id, to_epoch(paused_at)],
            )
        return done.rowcount > 0

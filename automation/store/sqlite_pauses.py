"""Pause records in the SQLite store: set and lifted by people, settled by the engine."""

from __future__ import annotations

from datetime import datetime

from automation.core.pauses import PauseRecord
from automation.core.records import to_epoch
from automation.store.rows import PAUSE_COLUMNS, pause_from_row, pause_row
from automation.store.sqlite_connection import SqliteConnection, guarded

__all__ = ["PauseQueries"]


class PauseQueries(SqliteConnection):
    @guarded
    def pauses(self) -> list[PauseRecord]:
        rows = self._rows(f"SELECT {PAUSE_COLUMNS} FROM pauses ORDER BY rule_id")
        return [pause_from_row(row) for row in rows]

    @guarded
    def set_pause(self, record: PauseRecord) -> None:
        with self._immediate() as conn:
            conn.execute(
                f"INSERT OR REPLACE INTO pauses ({PAUSE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                pause_row(record),
            )

    @guarded
    def clear_pause(self, rule_id: str, paused_at: datetime) -> bool:
        with self._immediate() as conn:
            done = conn.execute(
                "DELETE FROM pauses WHERE rule_id = ? AND paused_at = ?",
                (rule_id, to_epoch(paused_at)),
            )
        return done.rowcount > 0

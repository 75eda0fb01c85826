"""Changes made by hand (a retried action, a paused rule), with who made them and when."""

from __future__ import annotations

from automation.core.records import ChangeRecord, from_epoch, to_epoch
from automation.store.sqlite_connection import SqliteConnection, guarded

__all__ = ["ChangeQueries"]


class ChangeQueries(SqliteConnection):
    @guarded
    def record_change(self, change: ChangeRecord) -> None:
        with self._immediate() as conn:
            conn.execute(
                "INSERT INTO changes (at, by, what, target, detail) VALUES (?, ?, ?, ?, ?)",
                (to_epoch(change.at), change.by, change.what, change.target, change.detail),
            )

    @guarded
    def changes(self, limit: int = 20) -> list[ChangeRecord]:
        rows = self._rows(
            "SELECT at, by, what, target, detail FROM changes ORDER BY at DESC, rowid DESC LIMIT ?",
            [limit],
        )
        return [
            ChangeRecord(from_epoch(at), by, what, target, detail)
            for at, by, what, target, detail in rows
        ]

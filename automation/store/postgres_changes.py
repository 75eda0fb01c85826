"""Changes made by hand (a retried action, a paused rule) in the PostgreSQL store."""

from __future__ import annotations

from automation.core.records import ChangeRecord, from_epoch, to_epoch
from automation.store.postgres_connection import PostgresConnection, guarded

__all__ = ["ChangeQueries"]


class ChangeQueries(PostgresConnection):
    @guarded
    def record_change(self, change: ChangeRecord) -> None:
        with self._tx() as conn:
            conn.execute(
                b"INSERT INTO changes (at, by, what, target, detail) VALUES (%s, %s, %s, %s, %s)",
                [to_epoch(change.at), change.by, change.what, change.target, change.detail],
            )

    @guarded
    def changes(self, limit: int = 20) -> list[ChangeRecord]:
        rows = self._rows(
            "SELECT at, by, what, target, detail FROM changes ORDER BY at DESC, seq DESC LIMIT %s",
            [limit],
        )
        return [
            ChangeRecord(from_epoch(at), by, what, target, detail)
            for at, by, what, target, detail in rows
        ]

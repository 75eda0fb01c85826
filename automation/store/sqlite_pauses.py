"""Pause records in the SQLite store: set and lifted by people, settled by the engine."""

from __future__ import annotations

from datetime import datetime

from automation.core.pauses import PauseRecord
from automation.core.records import from_epoch, to_epoch
from automation.store.sqlite_connection import SqliteConnection, guarded
from automation.store.sqlite_rows import datetime_or_none, epoch_or_none

__all__ = ["PauseQueries"]

_COLUMNS = "rule_id, paused_at, paused_by, until, reason, resumed_at, resumed_by, catch_up"


class PauseQueries(SqliteConnection):
    @guarded
    def pauses(self) -> list[PauseRecord]:
        rows = self._rows(f"SELECT {_COLUMNS} FROM pauses ORDER BY rule_id")
        return [_record(*row) for row in rows]

    @guarded
    def set_pause(self, record: PauseRecord) -> None:
        with self._immediate() as conn:
            conn.execute(
                f"INSERT OR REPLACE INTO pauses ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    record.rule_id,
                    to_epoch(record.paused_at),
                    record.paused_by,
                    epoch_or_none(record.until),
                    record.reason,
                    epoch_or_none(record.resumed_at),
                    record.resumed_by,
                    int(record.catch_up),
                ),
            )

    @guarded
    def clear_pause(self, rule_id: str, paused_at: datetime) -> bool:
        with self._immediate() as conn:
            done = conn.execute(
                "DELETE FROM pauses WHERE rule_id = ? AND paused_at = ?",
                (rule_id, to_epoch(paused_at)),
            )
        return done.rowcount > 0


def _record(
    rule_id: str,
    paused_at: float,
    paused_by: str,
    until: float | None,
    reason: str,
    resumed_at: float | None,
    resumed_by: str | None,
    catch_up: int,
) -> PauseRecord:
    return PauseRecord(
        rule_id=rule_id,
        paused_at=from_epoch(paused_at),
        paused_by=paused_by,
        until=datetime_or_none(until),
        reason=reason,
        resumed_at=datetime_or_none(resumed_at),
        resumed_by=resumed_by,
        catch_up=bool(catch_up),
    )

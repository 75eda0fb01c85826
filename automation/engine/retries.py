"""Re-queueing a dead action by hand (``automation actions retry``, the dashboard): the
outbox tries it again from its next cycle, and who did it and when is kept among the
changes made by hand."""

from __future__ import annotations

from datetime import datetime

from automation.core.records import ChangeRecord
from automation.store.base import Store

__all__ = ["retry_dead"]


def retry_dead(store: Store, action_id: str, *, who: str, now: datetime) -> bool:
    """Re-queue the dead action ``action_id``; False (and nothing recorded) when there is
    no such dead action."""
    if not store.retry_action(action_id, now):
        return False
    store.record_change(ChangeRecord(now, who, "retry", action_id))
    return True

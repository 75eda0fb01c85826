"""Re-queueing a dead action by hand (``automation actions retry``, the dashboard): the
outbox tries it again from its next cycle, and who did it and when is kept among the
changes made by hand."""

from __future__ import annotations

from datetime import datetime

from automation.core.pauses import ALL_RULES
from automation.core.records import ChangeRecord
from automation.core.wording import counted
from automation.store.base import Store

__all__ = ["retry_all_dead", "retry_dead"]


def retry_dead(store: Store, action_id: str, *, who: str, now: datetime) -> bool:
    """Re-queue the dead action ``action_id``; False (and nothing recorded) when there is
    no such dead action."""
    if not store.retry_actions(now, action_id=action_id):
        return False
    store.record_change(ChangeRecord(now, who, "retry", action_id))
    return True


def retry_all_dead(store: Store, *, who: str, now: datetime, rule_id: str | None = None) -> int:
    """Re-queue every dead action (of ``rule_id`` only, when given) in one transaction, as
    one change made by hand; how many were re-queued."""
    ids = store.retry_actions(now, rule_id=rule_id)
    if ids:
        detail = counted(len(ids), "dead action")
        store.record_change(ChangeRecord(now, who, "retry", rule_id or ALL_RULES, detail))
    return len(ids)

"""The engine's state: watched posts, metric snapshots, rule state, the firing ledger, the
action outbox, the request budget and status values, behind the ``Store`` interface."""

from __future__ import annotations

from automation.core.records import (
    ACTION_STATUSES,
    BUDGET_KEEP_SECONDS,
    ActionRecord,
    AttemptRecord,
    ChangeRecord,
    CommitResult,
    CycleWrite,
    FiringRecord,
    HistoryEntry,
    OutboxItem,
    RuleVersion,
    WatchedPostRecord,
)
from automation.store.base import Store
from automation.store.memory import MemoryStore
from automation.store.sqlite import SqliteStore

__all__ = [
    "ACTION_STATUSES",
    "BUDGET_KEEP_SECONDS",
    "ActionRecord",
    "AttemptRecord",
    "ChangeRecord",
    "CommitResult",
    "CycleWrite",
    "FiringRecord",
    "HistoryEntry",
    "MemoryStore",
    "OutboxItem",
    "RuleVersion",
    "SqliteStore",
    "Store",
    "WatchedPostRecord",
]

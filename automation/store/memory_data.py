"""What ``MemoryStore`` keeps: plain dicts, in the SQLite store's shapes."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from automation.core.facts import RuleState
from automation.core.pauses import PauseRecord
from automation.core.records import (
    AttemptRecord,
    ChangeRecord,
    FiringRecord,
    OutboxItem,
    RuleVersion,
    WatchedPostRecord,
    utc,
)

__all__ = ["FiringEntry", "MemoryData", "within"]


@dataclass
class FiringEntry:
    record: FiringRecord
    seq: int
    rearmed_at: datetime | None = None


@dataclass
class MemoryData:
    posts: dict[str, WatchedPostRecord] = field(default_factory=dict)
    since_ids: dict[str, str] = field(default_factory=dict)
    latest: dict[str, dict[str, float]] = field(default_factory=dict)
    # post -> metric -> [(at, value)], oldest first: one entry per change.
    history: dict[str, dict[str, list[tuple[datetime, float]]]] = field(default_factory=dict)
    versions: dict[str, RuleVersion] = field(default_factory=dict)
    states: dict[tuple[str, str], RuleState] = field(default_factory=dict)
    firings: dict[str, FiringEntry] = field(default_factory=dict)
    active: dict[tuple[str, str, str], str] = field(default_factory=dict)  # key -> firing id
    outbox: dict[str, tuple[int, OutboxItem]] = field(default_factory=dict)
    attempts: dict[str, list[AttemptRecord]] = field(default_factory=dict)
    budget: dict[str, list[float]] = field(default_factory=dict)
    meta: dict[str, str] = field(default_factory=dict)
    export_parts: dict[tuple[str, str], tuple[datetime, str]] = field(default_factory=dict)
    pauses: dict[str, PauseRecord] = field(default_factory=dict)
    changes: list[ChangeRecord] = field(default_factory=list)


def within(moment: datetime, since: datetime | None, until: datetime | None) -> bool:
    return (since is None or moment >= utc(since)) and (until is None or moment < utc(until))

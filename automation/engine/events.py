"""What the engine reports as it works: one frozen event per thing that happened.

The engine emits events to a sink; the sink decides whether they become log lines, JSON
lines on stdout (``run --json``) or a live table (``demo``). Keeping the engine ignorant of
presentation is what lets one engine serve all three.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from automation.core.payloads import number
from automation.core.records import FiringRecord

__all__ = [
    "ActionEvent",
    "CycleEvent",
    "ErrorEvent",
    "Event",
    "FiredEvent",
    "PauseEvent",
    "Sink",
    "to_json",
]


@dataclass(frozen=True)
class CycleEvent:
    posts: int
    requests: int
    duration: float
    budget_wait: float = 0.0  # of the duration, seconds the API request budget held it up
    fired: int = 0
    seeded: int = 0
    capped: int = 0
    actions_sent: int = 0
    errors: int = 0
    at: str = ""
    event: str = "cycle"
    refreshed: int = 0  # posts read: fewer than ``posts`` when the request budget chose
    # seconds since the watched posts were read: the median and the oldest (None: no posts)
    refresh_age_median: float | None = None
    refresh_age_oldest: float | None = None


@dataclass(frozen=True)
class FiredEvent:
    """A firing (``fired``), a seed (``seeded``), a firing over its rule's ``limit``
    (``capped``: recorded, acting on nothing), or their dry-run twins (``would_*``)."""

    event: str  # fired | would_fire | seeded | would_seed | capped | would_cap
    rule: str
    post: str
    key: str
    metrics: Mapping[str, float] = field(default_factory=dict)
    # each windowed leaf's value when it fired or seeded, by its label (``retweets over
    # 1h``); None, and left out of the JSON, for a firing without windows
    windows: Mapping[str, float] | None = None
    id: str = ""
    reason: str = ""
    at: str = ""

    @classmethod
    def of(cls, firing: FiringRecord, event: str, reason: str, at: str) -> FiredEvent:
        """The event of a recorded firing, its values as payloads write numbers."""
        return cls(
            event=event,
            rule=firing.rule_id,
            post=firing.post_id,
            key=firing.key,
            metrics={k: number(v) for k, v in firing.metrics.items()},
            windows={k: number(v) for k, v in firing.windows.items()} or None,
            id=firing.id,
            reason=reason,
            at=at,
        )


@dataclass(frozen=True)
class ActionEvent:
    id: str
    kind: str
    status: str  # sent | retry | dead
    error: str | None = None
    rule: str = ""
    post: str = ""
    detail: str = ""
    attempt: int = 0
    at: str = ""
    event: str = "action"


@dataclass(frozen=True)
class ErrorEvent:
    step: str
    error: str
    retryable: bool = True
    at: str = ""
    event: str = "error"


@dataclass(frozen=True)
class PauseEvent:
    """A pause the engine began to honour (``paused``) or settled (``resumed``); ``rule``
    is ``*`` for every rule. A ``held`` event is a firing a paused rule did not make."""

    event: str  # paused | resumed | held
    rule: str
    by: str = ""
    reason: str = ""
    until: str = ""
    post: str = ""
    key: str = ""
    catch_up: bool | None = None
    at: str = ""


Event = CycleEvent | FiredEvent | ActionEvent | ErrorEvent | PauseEvent
Sink = Callable[[Event], None]


def to_json(event: Event) -> str:
    """One line of ``run --json`` output, ``event`` first."""
    data: dict[str, Any] = {"event": event.event}
    for name in event.__dataclass_fields__:
        value = getattr(event, name)
        if name == "event" or value in ("", None):
            continue
        data[name] = dict(value) if isinstance(value, Mapping) else value
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False, default=str)

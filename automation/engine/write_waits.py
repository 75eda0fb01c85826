"""Post actions held back for X's per-user write limits: until when each must wait, and
handing it back to the store, due then, without counting an attempt.

A limit that is used up is the only reason an action due now waits. Each (account, kind)
logs one line when its wait begins or moves, not one per action, and ``DrainReport`` says
how many actions wait and until when the first of them does.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from automation.core.errors import AutomationError
from automation.core.payloads import iso
from automation.core.wording import counted
from automation.engine.outbox_actions import POST_KINDS, OutboxAction
from automation.engine.repeated_failure import RepeatedFailure
from automation.store.base import Store

__all__ = ["WritePacing", "WriteWaits"]

log = logging.getLogger("automation.actions")


class WritePacing(Protocol):
    """X's per-user write limits, as the dispatcher consults them (``WriteLimits``)."""

    def wait_time(self, account: str, kind: str, now: float) -> float: ...

    def blocking_window(self, account: str, kind: str, now: float) -> str | None: ...


@dataclass
class _Deferred:
    """Actions given back to wait for one (account, kind)'s write limit: since it was
    used up, the first time one of them is due again, and the latest."""

    first: datetime
    latest: datetime
    ids: set[str] = field(default_factory=set)


class WriteWaits:
    """The actions waiting for a write limit, by (account, kind) while it stays used up."""

    def __init__(
        self, store: Store, pacing: WritePacing | None, clock: Callable[[], datetime]
    ) -> None:
        self._store = store
        self._pacing = pacing
        self._postponing = RepeatedFailure(log, "postponing actions", clock)
        self._waiting: dict[tuple[str, str], _Deferred] = {}

    @property
    def count(self) -> int:
        """How many actions were handed back to wait for a limit."""
        return sum(len(w.ids) for w in self._waiting.values())

    @property
    def first(self) -> datetime | None:
        """When the first of them is due again."""
        return min((w.first for w in self._waiting.values()), default=None)

    def until(self, action_id: str, action: OutboxAction, now: datetime) -> datetime | None:
        """When a post action must wait for its account's write limit: until when."""
        if self._pacing is None or action.kind not in POST_KINDS:
            return None
        account, kind = action.account, action.kind
        try:
            wait = self._pacing.wait_time(account, kind, now.timestamp())
        except ValueError:
            return None  # not a write the limits know: let the performer say so
        key = (account, kind)
        if wait <= 0:
            self._waiting.pop(key, None)
            return None
        until = now + timedelta(seconds=wait)
        waiting = self._waiting.get(key)
        if waiting is None or waiting.latest != until:
            why = self._pacing.blocking_window(account, kind, now.timestamp()) or "limit"
            log.info(
                "%s's %s writes wait for X's write limit (%s) until %s",
                account,
                kind,
                why,
                iso(until),
            )
            waiting = self._waiting.setdefault(key, _Deferred(until, until))
            waiting.latest = until
        waiting.ids.add(action_id)
        return until

    def give_back(self, ids: list[str], until: datetime) -> None:
        """Hand ``ids`` back to the store, due at ``until``. While the store cannot (a full
        disk), they are claimed and handed back again each time the store is asked (about
        once a second): said once, then at most once a minute, and once it takes writes."""
        try:
            self._store.release_actions(ids, due_at=until)
        except AutomationError as exc:
            self._postponing.failed(f"could not postpone {counted(len(ids), 'action')}: {exc}")
            return
        self._postponing.worked()

    def writes_work(self) -> None:
        """The store took a write: a postpone it refused before would work now too (the
        limit may have passed meanwhile, leaving nothing to postpone)."""
        self._postponing.worked()

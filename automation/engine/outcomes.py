"""What came of one attempt at an action, recorded: sent, a retry after a backoff, or dead.

Retries wait with exponential backoff and jitter, as the config's ``actions`` section says,
or as long as the receiver or X asked (``Retry-After``); an error retrying cannot fix, or
one attempt too many, makes the action dead with the reason. Each outcome is also reported
as an ``action`` event.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from datetime import datetime, timedelta

from automation.config.model import ActionSettings
from automation.core.errors import ActionFailed, ApiError, AutomationError
from automation.core.payloads import iso
from automation.core.records import AttemptOutcome, OutboxItem
from automation.engine.events import ActionEvent, Sink
from automation.store.base import Store
from automation.x.backoff import backoff_delay

__all__ = ["Outcomes", "as_failure"]

log = logging.getLogger("automation.actions")


class Outcomes:
    def __init__(
        self,
        *,
        store: Store,
        settings: ActionSettings,
        clock: Callable[[], datetime],
        emit: Sink,
        rng: random.Random,
    ) -> None:
        self.settings = settings
        self._store, self._clock, self._emit, self._rng = store, clock, emit, rng

    def sent(self, item: OutboxItem, detail: str, at: datetime | None = None) -> None:
        """Record a send that happened ``at`` (now when not given)."""
        now = at or self._clock()
        self._store.record_attempt(
            item.id, at=now, outcome="sent", error=None, next_attempt_at=None
        )
        self._emit(
            ActionEvent(
                id=item.id,
                kind=item.kind,
                status="sent",
                detail=detail,
                rule=item.rule_id,
                post=item.post_id,
                attempt=item.attempts + 1,
                at=iso(now),
            )
        )

    def failed(
        self, item: OutboxItem, exc: ActionFailed | ApiError, at: datetime | None = None
    ) -> None:
        """Record a failed attempt made ``at`` (now when not given): a retry after its
        backoff from then, or dead."""
        now = at or self._clock()
        attempt = item.attempts + 1
        retry_after = getattr(exc, "retry_after", None)
        dead = not exc.retryable or attempt >= self.settings.max_attempts
        next_at = None
        if not dead:
            delay = backoff_delay(
                attempt,
                first=self.settings.first_retry,
                cap=self.settings.max_retry_interval,
                rng=self._rng,
                retry_after=retry_after,
            )
            next_at = now + timedelta(seconds=delay)
        outcome: AttemptOutcome = "dead" if dead else "retry"
        error = str(exc)
        if dead and exc.retryable:
            error = f"{error} (gave up after {attempt} attempts)"
        self._store.record_attempt(
            item.id, at=now, outcome=outcome, error=error, next_attempt_at=next_at
        )
        self._emit(
            ActionEvent(
                id=item.id,
                kind=item.kind,
                status=outcome,
                error=error,
                rule=item.rule_id,
                post=item.post_id,
                attempt=attempt,
                at=iso(now),
            )
        )


def as_failure(item: OutboxItem, error: BaseException) -> ActionFailed | ApiError:
    """What a performer raised, as a failure the outbox knows how to record."""
    if isinstance(error, ActionFailed | ApiError):
        return error
    if isinstance(error, AutomationError):  # e.g. an unknown account after a config edit
        return ActionFailed(str(error), retryable=False)
    # A bug must not block the outbox: record it (retrying may help) and go on.
    log.error("action %s failed with an internal error", item.id, exc_info=error)
    return ActionFailed(f"internal error: {error.__class__.__name__}: {error}", retryable=True)

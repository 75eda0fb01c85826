"""Perform due actions from the outbox, one row at a time, each retried on its own.

A recorded firing's actions live in the outbox until they are sent or dead, so a crash,
a restart or a dead receiver only delays them. Each row is attempted independently: a
sibling's failure never re-sends a row that succeeded. Retries reuse the payload rendered
at firing time, hence the same body and idempotency key.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from automation.config.loader import ActionSettings, Config
from automation.core.errors import ActionFailed, ApiError, AutomationError
from automation.core.payloads import iso
from automation.core.records import OutboxItem
from automation.engine.events import ActionEvent, Sink
from automation.engine.outbox_actions import POST_KINDS, OutboxAction, decode_action
from automation.engine.pauses import held_rules
from automation.x.backoff import backoff_delay

__all__ = ["Dispatcher", "Performers"]

log = logging.getLogger("automation.actions")


@dataclass(frozen=True)
class Performers:
    """The side-effecting edges, replaceable in tests."""

    x_write: Callable[[str, str, str, str | None], str]  # (kind, account, post_id, text)
    webhook: Callable[[str, dict[str, Any]], str]  # (action_id, payload) -> detail
    log_message: Callable[[str], None]


class Dispatcher:
    def __init__(
        self,
        *,
        store: Any,
        performers: Performers,
        settings: ActionSettings,
        clock: Callable[[], datetime],
        emit: Sink,
        rng: random.Random | None = None,
    ) -> None:
        self._store = store
        self._performers = performers
        self._settings = settings
        self._clock = clock
        self._emit = emit
        self._rng = rng or random.Random()

    def run_due(self, *, limit: int = 100, should_stop: Callable[[], bool] = lambda: False) -> int:
        """Attempt every due action; returns how many were sent."""
        sent = 0
        paused = held_rules(self._store, self._clock())  # a paused rule performs nothing
        if paused is None:
            return 0
        claimed = self._store.claim_actions(self._clock(), limit, skip_rules=paused)
        for n, item in enumerate(claimed):
            if should_stop():
                self._store.release_actions(i.id for i in claimed[n:])
                break
            try:
                sent += self._attempt(item)
            except AutomationError as exc:  # the store could not record it: go on
                log.error("could not record the attempt at action %s: %s", item.id, exc)
                self._store.release_actions([item.id])
        return sent

    def _attempt(self, item: OutboxItem) -> bool:
        """Perform one action and record what happened, whatever happens: an action that
        cannot be read or performed is recorded as failed and the queue moves on."""
        attempt = item.attempts + 1
        try:
            detail = self._perform(item.id, decode_action(item))
        except (ActionFailed, ApiError) as exc:
            self._failed(item, attempt, exc)
            return False
        except AutomationError as exc:  # e.g. an unknown account after a config edit
            self._failed(item, attempt, ActionFailed(str(exc), retryable=False))
            return False
        except Exception as exc:  # a bug must not block the outbox: record it and go on
            log.exception("action %s failed with an internal error", item.id)
            reason = f"internal error: {exc.__class__.__name__}: {exc}"
            self._failed(item, attempt, ActionFailed(reason, retryable=True))
            return False
        now = self._clock()
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
                attempt=attempt,
                at=iso(now),
            )
        )
        return True

    def _perform(self, action_id: str, action: OutboxAction) -> str:
        if action.kind in POST_KINDS:
            return self._performers.x_write(
                action.kind, action.account, action.post_id, action.text
            )
        if action.kind == "webhook":
            return self._performers.webhook(action_id, dict(action.payload))
        message = str(action.payload["message"])
        self._performers.log_message(message)
        return f"logged: {message}"

    def _failed(self, item: OutboxItem, attempt: int, exc: ActionFailed | ApiError) -> None:
        now = self._clock()
        retry_after = getattr(exc, "retry_after", None)
        dead = not exc.retryable or attempt >= self._settings.max_attempts
        next_at = None
        if not dead:
            delay = backoff_delay(
                attempt,
                first=self._settings.first_retry,
                cap=self._settings.max_retry_interval,
                rng=self._rng,
                retry_after=retry_after,
            )
            next_at = now + timedelta(seconds=delay)
        outcome = "dead" if dead else "retry"
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


def make_performers(config: Config, x_client: Any, http: Any) -> Performers:
    """Wire the real X client and webhook sender to the dispatcher."""
    from automation.engine import webhook

    def x_write(kind: str, account: str, post_id: str, text: str | None) -> str:
        method = getattr(x_client, kind)
        result = method(account, post_id) if text is None else method(account, post_id, text)
        return "already done" if result.already else f"done ({result.detail})".strip()

    def send_webhook(action_id: str, payload: dict[str, Any]) -> str:
        secret = None
        if payload.get("secret"):
            secret = config.webhook_secret(payload["secret"])
            if secret is None:
                raise ActionFailed(
                    f"webhook secret {payload['secret']!r} is not in the config", retryable=False
                )
        url = config.webhooks.target(payload["url"])
        request = webhook.build_request(
            url=url,
            body=payload["body"].encode(),
            idempotency_key=action_id,
            headers=payload.get("headers") or {},
            secret=secret,
        )
        webhook.send(http, request, timeout=float(payload.get("timeout") or 10.0))
        if url != payload["url"]:
            meant = webhook.origin(payload["url"])
            return f"delivered to {url} (webhooks.redirect_to) instead of {meant}"
        return f"delivered to {url}"

    def log_message(message: str) -> None:
        logging.getLogger("automation.rules").info("%s", message)

    return Performers(x_write=x_write, webhook=send_webhook, log_message=log_message)

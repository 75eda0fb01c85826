"""Alerts about the engine itself: a signed webhook (spec §6) to ``alerts.webhook`` when an
action goes dead, cycles keep failing, the API budget stalls cycles or a reload fails, and
once when each recovers; at most one alert of a kind an hour (``core.alerting``).

The monitor watches the engine from outside, like the metrics: it hears the events (dead
actions, cycles) and after each cycle reads the store (dead actions left, a failed
reload), decides, sends, and keeps its state in the database, so a restart neither
repeats an alert nor forgets one. A delivery that fails is tried again after the next
cycle; it never holds the engine up for long, and its URL's path is never logged.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from automation import __version__
from automation.config.model import AlertSettings, Config
from automation.core import alerting, reload_failure
from automation.core.errors import AutomationError
from automation.core.payloads import iso
from automation.engine import webhook
from automation.engine.events import ActionEvent, CycleEvent, Event
from automation.store.base import Store
from automation.x.http import HttpClient

__all__ = ["STATE_KEY", "AlertMonitor"]

log = logging.getLogger("automation.service")

STATE_KEY = "alerts"
_TIMEOUT = 5.0


class AlertMonitor:
    def __init__(self, *, http: HttpClient, clock: Callable[[], datetime]) -> None:
        self._http = http
        self._clock = clock
        self._cycle: CycleEvent | None = None
        self._dead: list[str] = []

    def __call__(self, event: Event) -> None:
        """The event sink: remember this cycle's dead actions and its summary."""
        if isinstance(event, ActionEvent) and event.status == "dead":
            self._dead.append(
                f"action {event.id} ({event.kind} of rule {event.rule}, post {event.post}): "
                f"{event.error}"
            )
        elif isinstance(event, CycleEvent):
            self._cycle = event

    def after_cycle(self, store: Store, config: Config, errors: list[str]) -> None:
        """Decide on this cycle, send what is due, save the state (``config.alerts`` is
        read each time, so a reload can change or drop it)."""
        settings = config.alerts
        if settings is None:
            return
        now = self._clock()
        cycle, dead, self._cycle, self._dead = self._cycle, self._dead, None, []
        state = alerting.AlertState.from_json(store.meta(STATE_KEY))
        seen = alerting.Observation(
            failed=bool(errors),
            errors=tuple(errors),
            stalled=_stalled(cycle, config),
            duration=cycle.duration if cycle else 0.0,
            dead_new=tuple(dead),
            dead_total=store.action_counts().get("dead", 0),
            reload_error=_first_line(store.meta("reload_error")),
        )
        after = settings.after
        state = alerting.observe(state, seen, now, after=after, interval=config.poll_interval)
        for notice in alerting.due(state, now):
            if self._send(notice, settings, config, now):
                state = alerting.mark_told(state, notice, now)
        store.set_meta(STATE_KEY, state.to_json())

    def _send(
        self, notice: alerting.Notice, settings: AlertSettings, config: Config, now: datetime
    ) -> bool:
        body = {
            "event": f"alert.{notice.status}",
            "alert": notice.kind,
            "summary": notice.summary,
            "detail": notice.detail,
            "since": iso(notice.since) if notice.since else None,
            "count": notice.count,
            "at": iso(now),
            "engine": {"version": __version__},
        }
        secret = None
        if settings.secret is not None:
            secret = config.webhook_secret(settings.secret)
        where, url = webhook.origin(settings.webhook), config.webhooks.target(settings.webhook)
        try:
            request = webhook.build_request(
                url=url,
                body=body,
                idempotency_key=f"alert.{notice.kind}.{notice.status}.{int(now.timestamp())}",
                secret=secret,
                now=now.timestamp(),
            )
            webhook.send(self._http, request, timeout=_TIMEOUT)
        except AutomationError as exc:
            # the error names the URL that failed; a redirected alert says where it was meant
            moved = (
                ""
                if url == settings.webhook
                else f" (redirected by webhooks.redirect_to from {where})"
            )
            log.warning("could not send the %s alert: %s%s", notice.kind, exc, moved)
            return False
        log.info("alert sent to %s: %s %s", where, notice.kind, notice.status)
        return True


def _stalled(cycle: CycleEvent | None, config: Config) -> bool:
    """The API budget kept this cycle from finishing within its poll interval: it ran past
    the interval, and would not have without the time it spent waiting for the budget. A
    cycle slow for any other reason (a slow API, a big outbox) is not the budget's doing."""
    if cycle is None:
        return False
    interval = config.poll_interval
    return cycle.duration > interval and cycle.duration - cycle.budget_wait <= interval


def _first_line(raw: str | None) -> str:
    failure = reload_failure.decode(raw)
    return failure.first_line(300) if failure else ""

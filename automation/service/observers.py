"""What watches the running engine from outside: metrics, health and alerts.

They see the engine only through its events, its HTTP client's observer hook and its
store, read after each cycle; the engine itself knows none of them. ``run`` builds one
``Observers`` from the config and closes it on the way out.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime

from automation.config.model import Config
from automation.core.recording import Waiting
from automation.engine.events import Event, Sink
from automation.service.alerts import AlertMonitor
from automation.service.health import Health
from automation.service.metrics import EngineMetrics
from automation.service.metrics_server import MetricsServer
from automation.store.base import Store
from automation.x.http import HttpClient

__all__ = ["Observers"]

log = logging.getLogger("automation.service")


class Observers:
    def __init__(
        self, config: Config, *, clock: Callable[[], datetime], dry_run: bool = False
    ) -> None:
        self._clock = clock
        # a dry run changes nothing, so it has nothing to alert about and keeps no state; nor
        # does it serve /metrics and /healthz: they are the engine's, which may be running
        self._alert_http = HttpClient(timeout=5.0) if not dry_run else None
        self.alerts = (
            AlertMonitor(http=self._alert_http, clock=clock)
            if self._alert_http is not None
            else None
        )
        self.health = Health(poll_interval=config.poll_interval, clock=clock)
        self.metrics: EngineMetrics | None = None
        self.server: MetricsServer | None = None
        if config.metrics is not None and not dry_run:
            self.metrics = EngineMetrics(config)
            self.server = MetricsServer(
                config.metrics, registry=self.metrics.registry, health=self.health
            )

    def start(self) -> Observers:
        if self.server is not None:
            self.server.start()
        return self

    def sink(self, emit: Sink) -> Sink:
        """``emit`` and, beside it, every observer that counts events."""
        watchers: list[Sink] = [w for w in (self.metrics, self.alerts) if w is not None]
        if not watchers:
            return emit

        def all_of(event: Event) -> None:
            emit(event)
            for watch in watchers:
                watch(event)

        return all_of

    def set_leading(self, leading: bool, *, problem: str | None = None) -> None:
        """This engine acts (it leads, or it is alone), or stands by: for another, or
        because the database cannot be reached (``problem`` says why)."""
        self.health.set_standby(not leading, problem=problem)
        if self.metrics is not None:
            self.metrics.leader.set(1 if leading else 0)

    def waiting(self, wait: Waiting) -> None:
        """The engine began a long wait for the API: /healthz and /metrics say until when."""
        self.health.waiting(wait)
        if self.metrics is not None:
            self.metrics.waiting(wait)

    def observe_request(self, method: str, url: str, status: int | None) -> None:
        if self.metrics is not None:
            self.metrics.observe_request(method, url, status)

    def after_cycle(
        self,
        store: Store,
        *,
        rules: list[str],
        config: Config,
        errors: Sequence[str] = (),
        unrecorded: str | None = None,
    ) -> None:
        """Read what only the store knows; an observer's failure never stops the engine.
        ``unrecorded``: why the database refused what the cycle recorded, for /healthz."""
        now = self._clock()
        self.health.set_poll_interval(config.poll_interval)
        self.health.cycle_finished(now, unrecorded=unrecorded)
        if self.metrics is not None:
            try:
                self.metrics.refresh(store, rules=rules, config=config, now=now)
            except Exception:
                log.exception("could not refresh the metrics from the database")
        if self.alerts is not None:
            try:
                self.alerts.after_cycle(store, config, list(errors))
            except Exception:
                log.exception("could not decide on alerts about the engine")

    def close(self) -> None:
        if self.server is not None:
            self.server.stop()
        if self._alert_http is not None:
            self._alert_http.close()

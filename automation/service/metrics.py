"""The engine's Prometheus metrics: counted from its events, read from its store.

``EngineMetrics`` is an event sink (cycles, firings, actions), an observer of the HTTP
client (API requests by endpoint and outcome), and after each cycle it reads the store for
what only the store knows (the outbox, the budget, pauses). Nothing in the engine knows it
exists. Every name starts with ``automation_``. Scrapes are served from another thread;
prometheus-client's metrics are safe to update and read concurrently. The free space of a
SQLite database's disk is read at each scrape (a ``statvfs``, microseconds), not by the
engine.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from datetime import datetime

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    Info,
    ProcessCollector,
    disable_created_metrics,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from automation import __version__
from automation.config.database import Database, PostgresDatabase
from automation.config.disk_space import MeasureDisk, database_disk
from automation.config.model import Config
from automation.core import reload_failure
from automation.core.pauses import pause_state
from automation.core.recording import Waiting
from automation.engine.events import ActionEvent, CycleEvent, Event, FiredEvent
from automation.store.base import Store

__all__ = ["DatabaseDisk", "EngineMetrics", "api_endpoint", "outcome_of"]

_DURATION_BUCKETS = (0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800)
_ID = re.compile(r"^[0-9]+$")


class EngineMetrics:
    """One registry per engine, so tests (and several engines in one process) never mix."""

    def __init__(self, config: Config, *, disk: MeasureDisk = database_disk) -> None:
        # No <counter>_created samples: they double every labelled counter's series (600
        # more for 300 rules) to say when the engine started. prometheus_client offers the
        # switch for the whole process only (or PROMETHEUS_DISABLE_CREATED_SERIES).
        disable_created_metrics()  # type: ignore[no-untyped-call]  # the library leaves it untyped
        self.registry = r = CollectorRegistry()
        self._bases = (config.engagement_api.base_url, config.x_api.base_url)
        Info("automation_build", "The running engine's version.", registry=r).info(
            {"version": __version__}
        )
        ProcessCollector(namespace="automation", registry=r)
        self._cycle_metrics(r)
        self._api_metrics(r)
        self._rule_and_outbox_metrics(r)
        if not isinstance(config.database, PostgresDatabase):  # its disk is the server's
            r.register(DatabaseDisk(config.database, disk))
        self.poll_interval.set(config.poll_interval)
        self.budget_limit.set(config.engagement_api.requests_per_minute)

    def _cycle_metrics(self, r: CollectorRegistry) -> None:
        self.cycles = Counter("automation_cycles", "Engine cycles finished.", registry=r)
        self.cycles_failed = Counter(
            "automation_cycles_failed", "Engine cycles that finished with errors.", registry=r
        )
        self.cycle_duration = Histogram(
            "automation_cycle_duration_seconds",
            "How long each cycle took.",
            buckets=_DURATION_BUCKETS,
            registry=r,
        )
        self.last_cycle = Gauge(
            "automation_last_cycle_timestamp_seconds", "When the last cycle finished.", registry=r
        )
        self.last_success = Gauge(
            "automation_last_successful_cycle_timestamp_seconds",
            "When the last cycle without errors finished.",
            registry=r,
        )
        self.poll_interval = Gauge(
            "automation_poll_interval_seconds", "The configured poll interval.", registry=r
        )
        self.leader = Gauge(
            "automation_leader",
            "1 while this engine acts, 0 while it stands by for another on its database.",
            registry=r,
        )
        self.leader.set(1)

    def _api_metrics(self, r: CollectorRegistry) -> None:
        self.api_requests = Counter(
            "automation_api_requests",
            "Requests to the X APIs by endpoint and outcome.",
            ["endpoint", "outcome"],
            registry=r,
        )
        self.budget_remaining = Gauge(
            "automation_api_budget_remaining_requests",
            "Engagement API requests the per-minute budget still allows now.",
            registry=r,
        )
        self.budget_limit = Gauge(
            "automation_api_budget_limit_requests",
            "The configured Engagement API requests per minute.",
            registry=r,
        )
        self.budget_wait = Counter(
            "automation_api_budget_wait_seconds",
            "Seconds cycles spent waiting for the Engagement API request budget.",
            registry=r,
        )
        self.wait_until = Gauge(
            "automation_api_wait_until_timestamp_seconds",
            "When the engine's wait for the Engagement API's rate limit or request budget"
            " ends (a wait of 5 s or more, which /healthz names in its reason); 0 when none"
            " was begun since the last cycle.",
            registry=r,
        )
        self.posts_watched = Gauge(
            "automation_posts_watched", "Posts polled in the last cycle.", registry=r
        )
        self.posts_refreshed = Gauge(
            "automation_posts_refreshed",
            "Posts read in the last cycle: fewer than watched when the request budget chose.",
            registry=r,
        )
        self.refresh_age_median = Gauge(
            "automation_refresh_age_median_seconds",
            "Median of the seconds since each watched post was read, as the last cycle ended.",
            registry=r,
        )
        self.refresh_age_oldest = Gauge(
            "automation_refresh_age_oldest_seconds",
            "Seconds since the watched post read longest ago was read (max_staleness bounds it).",
            registry=r,
        )

    def _rule_and_outbox_metrics(self, r: CollectorRegistry) -> None:
        self.rules_loaded = Gauge("automation_rules_loaded", "Rules the engine runs.", registry=r)
        self.rules_paused = Gauge(
            "automation_rules_paused", "Rules held back by a pause.", registry=r
        )
        self.reload_failed = Gauge(
            "automation_reload_failed",
            "1 while the last reload of the config or rules failed (the previous ones run).",
            registry=r,
        )
        self.reload_errors = Gauge(
            "automation_reload_errors",
            "Errors the last reload reported in the rules or config (0 when it succeeded).",
            registry=r,
        )
        self.firings = Counter(
            "automation_firings",
            "Firings and seeds recorded, by rule (kind: fired, seeded, would_fire, would_seed).",
            ["rule", "kind"],
            registry=r,
        )
        self.actions = Counter(
            "automation_actions",
            "Attempts at actions by kind and outcome (sent, retry, dead).",
            ["kind", "outcome"],
            registry=r,
        )
        self.actions_pending = Gauge(
            "automation_actions_pending", "Actions waiting in the outbox.", registry=r
        )
        self.actions_dead = Gauge(
            "automation_actions_dead", "Actions that gave up (retry them by hand).", registry=r
        )
        self.oldest_pending = Gauge(
            "automation_outbox_oldest_pending_age_seconds",
            "How long the longest-waiting pending action has waited (0 when none).",
            registry=r,
        )

    # -- events --------------------------------------------------------------------------

    def __call__(self, event: Event) -> None:
        """The event sink."""
        if isinstance(event, CycleEvent):
            self.cycles.inc()
            self.cycle_duration.observe(event.duration)
            self.budget_wait.inc(event.budget_wait)
            self.wait_until.set(0)
            self.posts_watched.set(event.posts)
            self.posts_refreshed.set(event.refreshed)
            if event.refresh_age_median is not None and event.refresh_age_oldest is not None:
                self.refresh_age_median.set(event.refresh_age_median)
                self.refresh_age_oldest.set(event.refresh_age_oldest)
            at = _epoch(event.at)
            if at is not None:
                self.last_cycle.set(at)
            if event.errors:
                self.cycles_failed.inc()
            elif at is not None:
                self.last_success.set(at)
        elif isinstance(event, FiredEvent):
            self.firings.labels(rule=event.rule, kind=event.event).inc()
        elif isinstance(event, ActionEvent):
            self.actions.labels(kind=event.kind, outcome=event.status).inc()

    def waiting(self, wait: Waiting) -> None:
        """A long wait for the API began: shown until the cycle ends."""
        self.wait_until.set(wait.until.timestamp())

    # -- the HTTP client -----------------------------------------------------------------

    def observe_request(self, method: str, url: str, status: int | None) -> None:
        """``HttpClient``'s observer: counts X API requests; webhooks are not API requests."""
        endpoint = api_endpoint(url, self._bases)
        if endpoint is not None:
            self.api_requests.labels(endpoint=endpoint, outcome=outcome_of(status)).inc()

    # -- the store, after each cycle -----------------------------------------------------

    def refresh(self, store: Store, *, rules: Iterable[str], config: Config, now: datetime) -> None:
        """What only the store knows, read in the engine's thread after a cycle."""
        rule_ids = list(rules)
        self.rules_loaded.set(len(rule_ids))
        for rule in rule_ids:  # every rule's series exists from the start, at zero
            self.firings.labels(rule=rule, kind="fired")
            self.firings.labels(rule=rule, kind="seeded")
        self.rules_paused.set(len(pause_state(store.pauses(), rule_ids, now).paused))
        failure = reload_failure.decode(store.meta("reload_error"))
        self.reload_failed.set(1 if failure else 0)
        self.reload_errors.set(len(failure.errors.strip().splitlines()) if failure else 0)
        counts = store.action_counts()
        self.actions_pending.set(counts.get("pending", 0))
        self.actions_dead.set(counts.get("dead", 0))
        oldest = store.oldest_pending_at()
        self.oldest_pending.set(0 if oldest is None else max(0.0, (now - oldest).total_seconds()))
        limit = config.engagement_api.requests_per_minute
        self.poll_interval.set(config.poll_interval)
        self.budget_limit.set(limit)
        used = len(store.budget_load("engagement", now.timestamp() - 60))
        self.budget_remaining.set(max(0, limit - used))


class DatabaseDisk(Collector):
    """The size and free bytes of the file system that holds a SQLite database, as
    ``automation status`` measures them, read at each scrape; absent while it cannot be
    measured."""

    def __init__(self, database: Database, measure: MeasureDisk) -> None:
        self._database, self._measure = database, measure

    def collect(self) -> Iterator[GaugeMetricFamily]:
        disk = self._measure(self._database)
        if disk is None:
            return
        yield GaugeMetricFamily(
            "automation_database_disk_free_bytes",
            "Bytes the file system that holds the database still has for the engine.",
            value=disk.free,
        )
        yield GaugeMetricFamily(
            "automation_database_disk_size_bytes",
            "Size in bytes of the file system that holds the database.",
            value=disk.total,
        )


def api_endpoint(url: str, bases: Iterable[str]) -> str | None:
    """The endpoint of an X API URL with its ids folded (``users/:id/tweets``), so labels
    stay few; None for any other URL (a webhook)."""
    for base in bases:
        if url.startswith(base.rstrip("/") + "/"):
            path = url[len(base.rstrip("/")) + 1 :].split("?", 1)[0]
            parts = [p for p in path.split("/") if p]
            if parts[:1] == ["2"]:  # the v2 API's version prefix
                parts = parts[1:]
            parts = [":id" if _ID.match(p) else p for p in parts]
            if parts[:2] == ["insights", "engagement"]:
                parts = ["engagement", *parts[2:]]
            return "/".join(parts) or "/"
    return None


def outcome_of(status: int | None) -> str:
    if status is None:
        return "network_error"
    if 200 <= status < 300:
        return "ok"
    if status == 429:
        return "rate_limited"
    if status >= 500:
        return "server_error"
    return "client_error"


def _epoch(text: str) -> float | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None

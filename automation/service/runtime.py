"""Assemble a working engine from a config: store, HTTP, API clients, outbox, rules.

Commands that need the engine (``run``, ``demo``) call ``open_runtime``; everything that
touches the outside world is created here and closed by ``Runtime.close``, so the engine
itself only sees small interfaces.
"""

from __future__ import annotations

import logging
import os
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from automation.config.loader import Config
from automation.engine.cycle import Engine
from automation.engine.events import Sink
from automation.engine.ports import ActionRunner
from automation.engine.recorder import DryRun, NoActions, Recorder, StoreRecorder
from automation.engine.running_rules import LoadedRules, load_compiled
from automation.engine.workers import Workers
from automation.service.instance_lock import InstanceLock
from automation.service.outbox import ACTION_WORKERS, Outbox
from automation.store.base import Store
from automation.store.memory import MemoryStore
from automation.store.sqlite import SqliteStore
from automation.x.engagement_client import EngagementClient
from automation.x.http import HttpClient
from automation.x.rate_budget import RateBudget
from automation.x.v2_client import XClient
from automation.x.write_limits import WriteLimits

__all__ = ["Chance", "Runtime", "StoreLedger", "open_runtime", "random_id", "utc_now"]

log = logging.getLogger("automation")


def utc_now() -> datetime:
    return datetime.now(UTC)


def random_id() -> str:
    """A firing id: 64 random bits, as unique across processes as a uuid4 prefix at a
    quarter of the cost (a first cycle records thousands of seeds)."""
    return os.urandom(8).hex()


@dataclass(frozen=True)
class Chance:
    """The engine's only sources of chance: firing ids and retry jitter. Tests pass
    seeded ones, so a run replays."""

    new_id: Callable[[], str] = random_id
    rng: random.Random = field(default_factory=random.Random)


class StoreLedger:
    """Lets the API budget keep its request times in the store, across restarts."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def load(self, api: str, since: float) -> list[float]:
        return self._store.budget_load(api, since)

    def record(self, api: str, at: float) -> None:
        self._store.budget_record(api, at)

    def claim(self, api: str, at: float, since: float, allowance: int) -> bool:
        return self._store.budget_claim(api, at, since, allowance)


class _NullLedger:
    """A dry run records nothing, not even its requests."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def load(self, api: str, since: float) -> list[float]:
        return self._store.budget_load(api, since)

    def record(self, api: str, at: float) -> None:
        return None

    def claim(self, api: str, at: float, since: float, allowance: int) -> bool:
        return sum(1 for t in self._store.budget_load(api, since) if t > since) < allowance


@dataclass
class Runtime:
    config: Config
    engine: Engine
    store: Any
    http: HttpClient
    lock: InstanceLock | None
    chance: Chance = field(default_factory=Chance)
    outbox: Outbox | None = None  # None in a dry run, which performs nothing

    def close(self) -> None:
        if self.outbox is not None:
            self.outbox.close()  # first: what finishes in time is still recorded
        self.http.close()
        if self.outbox is not None and self.outbox.http is not self.http:
            self.outbox.http.close()
        self.store.close()
        if self.lock is not None:
            self.lock.release()


def open_runtime(
    config: Config,
    *,
    emit: Sink,
    dry_run: bool = False,
    clock: Callable[[], datetime] = utc_now,
    sleep: Callable[[float], None] = time.sleep,
    should_stop: Callable[[], bool] = lambda: False,
    rules: LoadedRules | None = None,
    http: HttpClient | None = None,
    chance: Chance | None = None,
    observe_http: Callable[[str, str, int | None], None] | None = None,
    workers: Workers | None = None,
) -> Runtime:
    """Open the store (taking the instance lock unless dry-running) and build the engine.

    Actions get an HTTP client of their own, with a connection for every worker, so a
    burst of deliveries never queues the cycle's fetching behind it. A given ``http``
    (tests, the demo) serves both."""
    rules = rules or load_compiled(config)
    lock = None
    if not dry_run:
        lock = InstanceLock(config.database)
        lock.acquire()
    try:
        # A dry run records nothing, so without a database it must not create one either.
        fresh = dry_run and not config.database.exists()
        store = MemoryStore() if fresh else SqliteStore.open(config.database)
    except BaseException:
        if lock is not None:
            lock.release()
        raise
    action_http = http or HttpClient(
        timeout=10.0, max_connections=ACTION_WORKERS, observe=observe_http
    )
    http = http or HttpClient(
        timeout=min(config.engagement_api.timeout, 10.0), observe=observe_http
    )
    chance = chance or Chance()
    outbox = None
    if not dry_run:
        outbox = Outbox(
            config,
            store=store,
            http=action_http,
            clock=clock,
            emit=emit,
            rng=chance.rng,
            workers=workers,
        )
    engine = build_engine(
        config,
        rules=rules,
        store=store,
        http=http,
        emit=emit,
        dry_run=dry_run,
        clock=clock,
        sleep=sleep,
        should_stop=should_stop,
        chance=chance,
        outbox=outbox,
    )
    return Runtime(
        config=config,
        engine=engine,
        store=store,
        http=http,
        lock=lock,
        chance=chance,
        outbox=outbox,
    )


def build_engine(
    config: Config,
    *,
    rules: LoadedRules,
    store: Any,
    http: HttpClient,
    emit: Sink,
    dry_run: bool,
    clock: Callable[[], datetime],
    sleep: Callable[[float], None],
    should_stop: Callable[[], bool],
    chance: Chance,
    outbox: Outbox | None,
) -> Engine:
    """The engine for ``config``; the outbox (None in a dry run) is re-wired to it."""
    x_client = XClient(  # discovery only: writes are the outbox's
        http,
        settings=config.x_api,
        app=config.app,
        accounts={a.name: a for a in config.accounts},
        limits=outbox.limits if outbox is not None else WriteLimits(),
        clock=lambda: clock().timestamp(),
    )
    recorder: Recorder = DryRun()
    runner: ActionRunner = NoActions()
    if not dry_run:
        recorder = StoreRecorder(
            store,
            timedelta(seconds=config.history.keep),
            ledger_retention=timedelta(seconds=config.retention.firings),
        )
    if outbox is not None:
        outbox.configure(config)
        runner = outbox.dispatcher
    return Engine(
        config=config,
        rules=rules,
        store=store,
        recorder=recorder,
        engagement=_engagement_client(config, store, http, dry_run, clock, sleep, chance),
        x_client=x_client,
        dispatcher=runner,
        clock=clock,
        new_id=chance.new_id,
        emit=emit,
        should_stop=should_stop,
    )


def _engagement_client(
    config: Config,
    store: Any,
    http: HttpClient,
    dry_run: bool,
    clock: Callable[[], datetime],
    sleep: Callable[[float], None],
    chance: Chance,
) -> EngagementClient:
    """The engine's Engagement API client; a dry run keeps within the shared request
    budget but records none of its own requests."""
    budget = RateBudget(
        config.engagement_api.requests_per_minute,
        clock=lambda: clock().timestamp(),
        ledger=_NullLedger(store) if dry_run else StoreLedger(store),
    )
    return EngagementClient(
        http,
        settings=config.engagement_api,
        app=config.app,
        accounts={a.name: a for a in config.accounts},
        budget=budget,
        sleep=sleep,
        rng=chance.rng,
    )

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

from automation.config.database import PostgresDatabase
from automation.config.model import Config
from automation.core.errors import StoreError, UsageError
from automation.core.recording import WAITING_KEY, Waiting
from automation.engine.cycle import Engine
from automation.engine.events import Sink
from automation.engine.ports import ActionRunner
from automation.engine.recorder import DryRun, NoActions, Recorder, StoreRecorder
from automation.engine.running_rules import LoadedRules, load_compiled
from automation.engine.workers import Workers
from automation.service.heap import keep_large_blocks_mapped
from automation.service.instance_lock import InstanceLock
from automation.service.outbox import ACTION_WORKERS, Outbox
from automation.service.store_ledger import DryRunLedger, StoreLedger
from automation.store.base import Store
from automation.store.memory import MemoryStore
from automation.store.opening import open_store
from automation.store.sqlite import SqliteStore
from automation.store.sqlite_connection import may_write
from automation.x.engagement_client import EngagementClient
from automation.x.http import HttpClient
from automation.x.rate_budget import RateBudget
from automation.x.v2_client import XClient

__all__ = [
    "Chance",
    "Runtime",
    "Wiring",
    "build_engine",
    "open_runtime",
    "random_id",
    "utc_now",
]

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


@dataclass(frozen=True)
class Wiring:
    """What an engine is built from besides its config and rules: the store, the API's
    HTTP client, the event sink, the clock and the sources of chance, the outbox (None in
    a dry run, which performs nothing), and who else hears of a long wait for the API
    (``/healthz`` and ``/metrics``). It outlives reloads: each engine the process builds
    gets the same."""

    store: Any
    http: HttpClient
    emit: Sink
    clock: Callable[[], datetime]
    sleep: Callable[[float], None]
    should_stop: Callable[[], bool]
    chance: Chance
    outbox: Outbox | None
    on_wait: Callable[[Waiting], None] = lambda wait: None

    @property
    def dry_run(self) -> bool:
        return self.outbox is None


@dataclass
class Runtime:
    """The running engine and what it was built from; ``reconfigure`` swaps the engine for
    a fresh config (a SIGHUP), ``close`` lets go of everything."""

    config: Config
    engine: Engine
    wiring: Wiring
    lock: InstanceLock | None

    @property
    def store(self) -> Any:
        return self.wiring.store

    @property
    def http(self) -> HttpClient:
        return self.wiring.http

    @property
    def outbox(self) -> Outbox | None:
        return self.wiring.outbox

    @property
    def chance(self) -> Chance:
        return self.wiring.chance

    def reconfigure(self, config: Config) -> None:
        """Run ``config`` from the next cycle on, with the rules the running engine has
        loaded; the outbox performs the actions started from now on with its accounts.
        A dry run's tally spans its reloads."""
        before = self.engine.recorder
        self.engine = build_engine(config, self.engine.rules, self.wiring)
        after = self.engine.recorder
        if isinstance(before, DryRun) and isinstance(after, DryRun):
            after.tally = before.tally
        self.config = config

    def close(self, grace: float = 5.0) -> None:
        """Let go of everything; actions in flight get ``grace`` seconds to finish."""
        outbox = self.wiring.outbox
        if outbox is not None:
            outbox.close(grace)  # first: what finishes in time is still recorded
        self.http.close()
        if outbox is not None and outbox.http is not self.http:
            outbox.http.close()
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
    monotonic: Callable[[], float] = time.monotonic,
    epoch: int | None = None,
    on_wait: Callable[[Waiting], None] = lambda wait: None,
    before_request: Callable[[], None] | None = None,
) -> Runtime:
    """Open the store (taking the instance lock unless dry-running) and build the engine.
    On PostgreSQL the engine must lead (``service.leading``): ``epoch`` is its lead's,
    which fences every write it makes.

    Actions get an HTTP client of their own, with a connection for every worker, so a
    burst of deliveries never queues the cycle's fetching behind it. A given ``http``
    (tests, the demo) serves both. The outbox performs them on ``workers`` and times its
    waits on ``monotonic``: a pool of threads on the real clock unless given. ``on_wait``
    hears of each long wait for the API as it begins (the engine also records it), and
    ``before_request`` of each of the cycle's requests (a stop sends no more)."""
    keep_large_blocks_mapped()  # a cycle's large tables go back to the system when freed
    rules = rules or load_compiled(config)
    chance = chance or Chance()
    lock, store = _open_store(config, dry_run, epoch)
    try:
        outbox = None
        if not dry_run:
            action_http = http or HttpClient(
                timeout=10.0, max_connections=ACTION_WORKERS, observe=observe_http
            )
            outbox = Outbox(
                config,
                store=store,
                http=action_http,
                clock=clock,
                emit=emit,
                rng=chance.rng,
                workers=workers,
                monotonic=monotonic,
            )
        timeout = min(config.engagement_api.timeout, 10.0)
        http = http or HttpClient(timeout=timeout, observe=observe_http, before=before_request)
        wiring = Wiring(store, http, emit, clock, sleep, should_stop, chance, outbox, on_wait)
        return Runtime(config, build_engine(config, rules, wiring), wiring, lock)
    except BaseException:
        store.close()
        if lock is not None:
            lock.release()
        raise


def _open_store(
    config: Config, dry_run: bool, epoch: int | None
) -> tuple[InstanceLock | None, Store]:
    """The database, and the instance lock that makes its engine the only one on a SQLite
    file (a dry run takes none: it writes nothing). A dry run without a database must not
    create one either: it reads an empty store in memory. On PostgreSQL the lead is the
    lock, taken before: the store writes under its epoch."""
    database = config.database
    if isinstance(database, PostgresDatabase):
        if dry_run:
            return None, open_store(database, migrate=config.migrate)
        if epoch is None:
            raise UsageError(f"an engine on {database} writes only while it leads")
        return None, open_store(database, migrate=config.migrate, epoch=epoch)
    if dry_run:
        if not database.exists():
            return None, MemoryStore()
        return None, SqliteStore.open(database, migrate=config.migrate)
    lock = InstanceLock(database)
    lock.acquire()
    try:
        if database.exists() and not may_write(database):
            raise StoreError(
                f"this user may not write the state database {database} or its directory"
                " (SQLite keeps its -wal and -shm files beside it), and the engine records"
                " every cycle there: make both writable by the user the engine runs as"
                f" (chown, or chmod u+w {database})"
            )
        return lock, SqliteStore.open(database, migrate=config.migrate)
    except BaseException:
        lock.release()
        raise


def build_engine(config: Config, rules: LoadedRules, wiring: Wiring) -> Engine:
    """The engine for ``config`` and ``rules``; the outbox (none in a dry run) is re-wired
    to the config's accounts."""
    outbox = wiring.outbox
    x_client = XClient.configured(  # discovery only: writes are the outbox's
        config,
        wiring.http,
        clock=wiring.clock,
        limits=outbox.limits if outbox is not None else None,
    )
    recorder: Recorder = DryRun()
    runner: ActionRunner = NoActions()
    if outbox is not None:
        recorder = StoreRecorder(
            wiring.store,
            timedelta(seconds=config.history.keep),
            ledger_retention=timedelta(seconds=config.retention.firings),
        )
        outbox.configure(config)
        runner = outbox.dispatcher
    return Engine(
        config=config,
        rules=rules,
        store=wiring.store,
        recorder=recorder,
        engagement=_engagement_client(config, wiring),
        x_client=x_client,
        dispatcher=runner,
        clock=wiring.clock,
        new_id=wiring.chance.new_id,
        emit=wiring.emit,
        should_stop=wiring.should_stop,
    )


def _engagement_client(config: Config, wiring: Wiring) -> EngagementClient:
    """The engine's Engagement API client; a dry run keeps within the shared request
    budget but records none of its own requests."""
    store = wiring.store
    budget = RateBudget(
        config.engagement_api.requests_per_minute,
        clock=lambda: wiring.clock().timestamp(),
        ledger=DryRunLedger(store) if wiring.dry_run else StoreLedger(store),
    )
    return EngagementClient(
        wiring.http,
        settings=config.engagement_api,
        app=config.app,
        accounts={a.name: a for a in config.accounts},
        budget=budget,
        sleep=wiring.sleep,
        rng=wiring.chance.rng,
        on_wait=None if wiring.dry_run else _recording_waits(wiring),
    )


def _recording_waits(wiring: Wiring) -> Callable[[float, str], None]:
    """Record each long rate-limit wait as it begins, beside the last cycle, so that
    ``status`` and the dashboard say the engine waits instead of asking if it runs, and
    tell ``on_wait`` (``/healthz`` and ``/metrics``), whether the store takes it or not."""

    def record(seconds: float, why: str) -> None:
        now = wiring.clock()
        wait = Waiting(now, now + timedelta(seconds=seconds), why)
        wiring.on_wait(wait)
        try:
            wiring.store.set_meta(WAITING_KEY, wait.to_json())
        except StoreError as exc:  # a full disk: the wait goes on all the same
            log.warning("could not record the wait for the API: %s", exc)

    return record

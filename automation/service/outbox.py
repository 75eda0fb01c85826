"""The running engine's outbox: one dispatcher for the life of the process, its worker
pool, its HTTP client, and X's write limits saved so a restart still respects them.

It outlives reloads: a SIGHUP re-wires the performers to the fresh config while the
actions in flight finish as they began, and the write-limit counts carry on.
"""

from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import Callable
from datetime import datetime

from automation.config.model import Config
from automation.engine.dispatch import Dispatcher
from automation.engine.events import Sink
from automation.engine.performers import Performers, make_performers
from automation.engine.workers import ThreadWorkers, Workers
from automation.store.base import Store
from automation.x.http import HttpClient
from automation.x.v2_client import XClient
from automation.x.write_limits import WriteLimits

__all__ = ["ACTION_WORKERS", "Outbox", "load_limits"]

log = logging.getLogger("automation")

ACTION_WORKERS = 48  # actions performed at once; each webhook receiver gets at most half
_LIMITS_KEY = "write_limits"


def load_limits(store: Store) -> WriteLimits:
    """X's per-user write limits span processes too (``run --once`` back to back)."""
    raw = store.meta(_LIMITS_KEY)
    if not raw:
        return WriteLimits()
    try:
        events, blocks = json.loads(raw)
        return WriteLimits.restore((tuple(map(tuple, events)), tuple(map(tuple, blocks))))
    except (ValueError, TypeError):
        log.warning("ignoring an unreadable saved write-limit state")
        return WriteLimits()


class Outbox:
    def __init__(
        self,
        config: Config,
        *,
        store: Store,
        http: HttpClient,
        clock: Callable[[], datetime],
        emit: Sink,
        rng: random.Random,
        workers: Workers | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limits = load_limits(store)
        self.http = http
        self._store, self._clock = store, clock
        self.dispatcher = Dispatcher(
            store=store,
            performers=self._performers(config),
            settings=config.actions,
            clock=clock,
            emit=emit,
            rng=rng,
            workers=workers or ThreadWorkers(ACTION_WORKERS),
            pacing=self.limits,
            after_writes=self._save_limits,
            monotonic=monotonic,
        )

    def configure(self, config: Config) -> None:
        """Perform the actions started from now on with ``config``'s accounts and secrets."""
        self.dispatcher.configure(performers=self._performers(config), settings=config.actions)

    def close(self, grace: float = 5.0) -> None:
        """Start nothing more; what runs gets ``grace`` seconds to finish."""
        self.dispatcher.close(grace)

    def _performers(self, config: Config) -> Performers:
        writer = XClient.configured(config, self.http, clock=self._clock, limits=self.limits)
        return make_performers(config, writer, self.http)

    def _save_limits(self) -> None:
        state = self.limits.snapshot(self._clock().timestamp())
        self._store.set_meta(_LIMITS_KEY, json.dumps(state))

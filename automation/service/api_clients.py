"""The X clients a command builds from a config, its request budget kept in the store.

Keeping the Engagement API's sends in the database (``StoreLedger``) makes a running
engine and a command that reads the API at the same time (``backtest``, ``explain
--live``) share the contract's per-minute budget instead of each spending all of it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime

from automation.config.model import Config
from automation.service.store_ledger import StoreLedger
from automation.store.base import Store
from automation.x.engagement_client import EngagementClient
from automation.x.http import HttpClient
from automation.x.rate_budget import RateBudget
from automation.x.v2_client import XClient

__all__ = ["engagement_client", "timeline_client"]


def engagement_client(
    config: Config,
    store: Store,
    http: HttpClient,
    *,
    clock: Callable[[], datetime],
    sleep: Callable[[float], None] = time.sleep,
) -> EngagementClient:
    budget = RateBudget(
        config.engagement_api.requests_per_minute,
        clock=lambda: clock().timestamp(),
        ledger=StoreLedger(store),
    )
    return EngagementClient(
        http,
        settings=config.engagement_api,
        app=config.app,
        accounts={a.name: a for a in config.accounts},
        budget=budget,
        sleep=sleep,
    )


def timeline_client(config: Config, http: HttpClient, *, clock: Callable[[], datetime]) -> XClient:
    """An X API client for reading timelines (it writes nothing)."""
    return XClient.configured(config, http, clock=clock)

"""The small interfaces the engine needs from the outside world.

The engine only calls these methods, so the real clients, the rule-test runner's fakes
and the tests' fakes are interchangeable. The store's interface is ``store.base.Store``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Protocol

from automation.x.engagement_client import Compact, FetchResult
from automation.x.engagement_plan import EngagementRequest
from automation.x.v2_client import Discovery

__all__ = ["ActionRunner", "MetricsSource", "PostSource"]


class MetricsSource(Protocol):
    """Reads metrics for planned requests; failures are reported inside the result."""

    def fetch(
        self, requests: Sequence[EngagementRequest], compact: Compact | None = None
    ) -> FetchResult: ...


class PostSource(Protocol):
    """Finds an owned account's original posts newer than ``since_id``."""

    def discover(
        self, account: str, *, since_id: str | None, start_time: datetime | None = None
    ) -> Discovery: ...


class ActionRunner(Protocol):
    """Performs the outbox's due actions; returns how many were sent."""

    def run_due(self, *, should_stop: Callable[[], bool] = ...) -> int: ...

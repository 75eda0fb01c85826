"""A cycle with fake edges, for engine tests that need exact control of the API's answers.

The engine, the rules and the store (in memory) are the real ones; the timeline and the
Engagement API are scripted per test, and the clock is moved by hand.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import MappingProxyType

from config_helpers import make_config

from automation.core.errors import ApiError
from automation.core.evaluate import compile_rules
from automation.core.rules import Rule
from automation.engine.cycle import Engine
from automation.engine.events import Event
from automation.engine.recorder import NoActions
from automation.engine.running_rules import LoadedRules
from automation.store.memory import MemoryStore
from automation.x.engagement_client import FetchResult
from automation.x.engagement_plan import EngagementRequest
from automation.x.v2_client import DiscoveredPost, Discovery

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


@dataclass
class Timelines:
    """Each account's posts (id, created_at), newest first; an account in ``failing``
    raises as X would when it cannot answer."""

    posts: dict[str, list[DiscoveredPost]] = field(default_factory=dict)
    failing: set[str] = field(default_factory=set)

    def discover(
        self, account: str, *, since_id: str | None, start_time: datetime | None = None
    ) -> Discovery:
        if account in self.failing:
            raise ApiError(f"timeline of {account}: HTTP 503")
        found = tuple(
            p
            for p in self.posts.get(account, [])
            if (since_id is None or int(p.post_id) > int(since_id))
            and (start_time is None or p.created_at >= start_time)
        )
        return Discovery(found, max((p.post_id for p in found), key=int, default=None))


@dataclass
class Metrics:
    """Answers every planned /totals request with ``values``; ids in ``unavailable`` are
    reported gone and ids in ``forbidden`` refused, as the API lists them."""

    values: dict[str, float] = field(default_factory=lambda: {"favorites": 1.0})
    unavailable: set[str] = field(default_factory=set)
    forbidden: set[str] = field(default_factory=set)
    requests: list[EngagementRequest] = field(default_factory=list)
    budget_wait: float = 0.0  # what each fetch says it waited for the request budget

    def fetch(self, requests: Iterable[EngagementRequest], compact: object = None) -> FetchResult:
        planned = list(requests)
        self.requests += planned
        asked = {pid for r in planned if r.endpoint == "totals" for pid in r.tweet_ids}
        answered = asked - self.unavailable - self.forbidden
        return FetchResult(
            totals=MappingProxyType({pid: dict(self.values) for pid in sorted(answered)}),
            hourly=MappingProxyType({}),
            unavailable=frozenset(asked & self.unavailable),
            unsupported=MappingProxyType({}),
            forbidden=frozenset(asked & self.forbidden),
            errors=(),
            failures=(),
            requests_sent=len(planned),
            budget_wait=self.budget_wait,
        )

    def asked(self) -> set[str]:
        return {pid for r in self.requests for pid in r.tweet_ids}


@dataclass
class CycleWorld:
    rules: list[Rule]
    store: MemoryStore = field(default_factory=MemoryStore)
    timelines: Timelines = field(default_factory=Timelines)
    metrics: Metrics = field(default_factory=Metrics)
    now: datetime = NOW
    events: list[Event] = field(default_factory=list)
    # firing IDs go on from one engine to the next, as the random ones of a restart do
    numbers: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def engine(self) -> Engine:
        numbers = self.numbers
        return Engine(
            config=make_config(),
            rules=LoadedRules(rules=compile_rules(self.rules), files=()),
            store=self.store,
            engagement=self.metrics,
            x_client=self.timelines,
            dispatcher=NoActions(),
            clock=lambda: self.now,
            new_id=lambda: f"{next(numbers):016x}",
            emit=self.events.append,
        )

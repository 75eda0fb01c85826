"""The world a rule test plays in: scripted posts, a hand-moved clock, and fake API edges.

The engine under test is the real one; only its edges are replaced. The engagement client
answers each planned request with the scripted values of the current poll, the X client
lists the scripted posts on their accounts' timelines and records writes, and the
performers record every action instead of sending it. Nothing touches the network.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Any

from automation.core.facts import HourlySeries
from automation.core.hours import HOUR, floor_hour
from automation.engine.performers import Performers
from automation.rule_tests.model import ScriptedPost
from automation.x.engagement_client import FetchResult
from automation.x.engagement_plan import EngagementRequest
from automation.x.v2_client import DiscoveredPost, Discovery, WriteResult

__all__ = ["FakeEngagement", "FakeX", "ManualClock", "Performed", "World", "recording_performers"]

_SERIES_HOURS = 28


class ManualClock:
    """The engine's clock; the runner moves it to each poll's time."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


class World:
    """The scripted posts as they stand at the current poll (1-based)."""

    def __init__(self, posts: Iterable[ScriptedPost], times: tuple[datetime, ...]) -> None:
        self.posts = {p.post_id: p for p in posts}
        self.times = times
        self.poll = 1

    @property
    def now(self) -> datetime:
        return self.times[self.poll - 1]

    def live(self, post_id: str) -> ScriptedPost | None:
        post = self.posts.get(post_id)
        return post if post is not None and post.created_at <= self.now else None

    def value(self, post: ScriptedPost, metric: str) -> int | None:
        return post.value(metric, self.poll)

    def hourly(self, post: ScriptedPost, metric: str) -> HourlySeries | None:
        """The /28hr series for ``metric``, as if it grew steadily between polls (and from
        zero when the post was written): hour buckets, oldest first, zeros included."""
        points = [(post.created_at, 0.0)]
        for poll in range(1, self.poll + 1):
            value, at = post.value(metric, poll), self.times[poll - 1]
            if value is not None and at >= post.created_at:
                points.append((at, float(value)))
        if len(points) == 1:
            return None
        now = self.now
        first = floor_hour(now - (_SERIES_HOURS - 1) * HOUR)
        buckets = []
        for hour in range(_SERIES_HOURS):
            start = first + hour * HOUR
            end = min(start + HOUR, now)
            count = _at(points, end) - _at(points, start) if end > start else 0.0
            buckets.append((start, round(count, 6)))
        return HourlySeries.of(buckets, read_at=now)


def _at(points: list[tuple[datetime, float]], moment: datetime) -> float:
    """The value at ``moment`` on the line through ``points`` (flat outside them)."""
    if moment <= points[0][0]:
        return 0.0
    for (t0, v0), (t1, v1) in itertools.pairwise(points):
        if moment <= t1:
            if t1 == t0:
                return v1
            return v0 + (v1 - v0) * ((moment - t0) / (t1 - t0))
    return points[-1][1]


class FakeEngagement:
    """Answers the engine's planned requests from the world, like the Engagement API."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.requests: list[EngagementRequest] = []

    def fetch(self, requests: Iterable[EngagementRequest], compact: object = None) -> FetchResult:
        planned = list(requests)
        self.requests.extend(planned)
        totals: dict[str, dict[str, float]] = {}
        hourly: dict[str, dict[str, HourlySeries]] = {}
        for request in planned:
            for post_id in request.tweet_ids:
                post = self.world.live(post_id)
                if post is None:
                    continue
                for metric in request.engagement_types:
                    if request.endpoint == "totals":
                        value = self.world.value(post, metric)
                        if value is not None:
                            totals.setdefault(post_id, {})[metric] = float(value)
                    else:
                        series = self.world.hourly(post, metric)
                        if series is not None:
                            hourly.setdefault(post_id, {})[metric] = series
        return FetchResult(
            totals=MappingProxyType({k: MappingProxyType(v) for k, v in totals.items()}),
            hourly=MappingProxyType({k: MappingProxyType(v) for k, v in hourly.items()}),
            unavailable=frozenset(),
            unsupported=MappingProxyType({}),
            forbidden=frozenset(),
            errors=(),
            failures=(),
            requests_sent=len(planned),
        )


@dataclass(frozen=True)
class Performed:
    """One action as the fakes received it."""

    kind: str
    post_id: str
    detail: Mapping[str, Any] = field(default_factory=dict)


class FakeX:
    """Lists each owned account's scripted posts once, newest first, and records writes."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.listed: set[str] = set()
        self.performed: list[Performed] = []

    def discover(
        self, account: str, *, since_id: str | None = None, start_time: datetime | None = None
    ) -> Discovery:
        found = [
            p
            for p in self.world.posts.values()
            if p.account == account
            and p.post_id not in self.listed
            and p.created_at <= self.world.now
            and (start_time is None or p.created_at >= start_time)
        ]
        found.sort(key=lambda p: (p.created_at, p.post_id), reverse=True)
        self.listed.update(p.post_id for p in found)
        posts = tuple(DiscoveredPost(p.post_id, p.created_at, "") for p in found)
        return Discovery(posts, found[0].post_id if found else None)

    def _write(self, kind: str, account: str, post_id: str, text: str | None) -> WriteResult:
        detail = {"as": account} if text is None else {"as": account, "text": text}
        self.performed.append(Performed(kind, post_id, detail))
        return WriteResult(done=True, already=False, detail="recorded", post_id=None)

    def repost(self, account: str, post_id: str) -> WriteResult:
        return self._write("repost", account, post_id, None)

    def like(self, account: str, post_id: str) -> WriteResult:
        return self._write("like", account, post_id, None)

    def reply(self, account: str, post_id: str, text: str) -> WriteResult:
        return self._write("reply", account, post_id, text)

    def quote(self, account: str, post_id: str, text: str) -> WriteResult:
        return self._write("quote", account, post_id, text)


def recording_performers(x: FakeX) -> Performers:
    """Performers that hand X writes to the fake X client and record webhooks and logs."""

    def x_write(kind: str, account: str, post_id: str, text: str | None) -> str:
        getattr(x, kind)(account, post_id, *([] if text is None else [text]))
        return "recorded"

    def webhook(action_id: str, payload: dict[str, Any]) -> str:
        detail = {"url": payload["url"], "body": json.loads(payload["body"]), "key": action_id}
        x.performed.append(Performed("webhook", payload["post_id"], detail))
        return "recorded"

    def log_message(message: str) -> None:
        x.performed.append(Performed("log", "", {"message": message}))

    return Performers(x_write=x_write, webhook=webhook, log_message=log_message)

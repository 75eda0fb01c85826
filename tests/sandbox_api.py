"""The sandbox as a stand-in server for client contract tests, over loopback.

Contract tests written against a fake (served through respx) run again against the real
sandbox on 127.0.0.1, so the client and the sandbox are checked against each other: a
mismatch between them shows up as a failing contract test, not as a surprise in a demo.

``SandboxTarget`` starts a sandbox on a manual clock (metrics stand still unless a test
moves time), adds the posts the tests name, and records every request the sandbox sees,
stamped with the test's own clock, as ``Seen``-like tuples the contract tests can read.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from automation.sandbox import Options, Sandbox
from automation.sandbox.app import Encoded
from automation.sandbox.messages import Request
from automation.sandbox.world import Post

__all__ = ["START", "Received", "SandboxTarget", "public_user_id"]

START = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
_PUBLIC_AUTHOR = "11348282"  # nasa: a public, unprotected account of the simulated world


def public_user_id() -> str:
    return _PUBLIC_AUTHOR


@dataclass(frozen=True)
class Received:
    """One request as the sandbox received it (header names lower-case)."""

    at: float
    method: str
    path: str
    query: tuple[tuple[str, str], ...]
    scheme: str  # "OAuth" or "Bearer" (or whatever else was sent)
    headers: dict[str, str]
    body: Any


class SandboxTarget:
    """A started sandbox plus the log of requests it answered."""

    def __init__(
        self,
        clock: Callable[[], float],
        *,
        options: Options | None = None,
        start: datetime = START,
    ) -> None:
        self.clock = clock
        self.sandbox = Sandbox(
            seed=3, start=start, speed=0, options=options or Options(per_minute_limit=10_000)
        )
        self.received: list[Received] = []
        app = self.sandbox.app
        answer = app.handle

        def recording(request: Request) -> Encoded:
            self.received.append(_received(self.clock(), request))
            return answer(request)

        # The server's handler calls ``app.handle``; an instance attribute shadows the method.
        app.handle = recording  # type: ignore[method-assign]

    @property
    def base_url(self) -> str:
        return self.sandbox.base_url

    @property
    def world(self) -> Any:
        return self.sandbox.world

    def start(self) -> SandboxTarget:
        self.sandbox.start()
        return self

    def stop(self) -> None:
        self.sandbox.stop()

    def add_posts(self, author_id: str, count: int, *, age: timedelta) -> list[str]:
        """``count`` posts by ``author_id``, created ``age`` ago, one second apart."""
        now = self.sandbox.clock.now()
        posts: list[Post] = [
            self.world.add_post(author_id, created_at=now - age + timedelta(seconds=i))
            for i in range(count)
        ]
        return [p.id for p in posts]

    def value(self, post_id: str, metric: str) -> float:
        """What the sandbox reports for ``metric`` of ``post_id`` right now."""
        post = self.world.find(post_id)
        assert post is not None, post_id
        return float(self.world.value(post, metric, self.sandbox.clock.now()))


def _received(at: float, request: Request) -> Received:
    raw = request.body
    if request.headers.get("content-encoding", "").lower() == "gzip":
        raw = gzip.decompress(raw)
    try:
        body = json.loads(raw) if raw else None
    except ValueError:
        body = raw
    scheme = request.headers.get("authorization", "").split(" ")[0]
    return Received(
        at,
        request.method,
        request.path,
        tuple(request.query()),
        scheme,
        dict(request.headers),
        body,
    )

"""The engine in-process against the sandbox on a hand-driven simulated clock, with real
SQLite and a local webhook receiver: what the in-process end-to-end tests drive."""

from __future__ import annotations

import textwrap
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from fixed_time import SANDBOX_START

from automation.config.loader import load_config
from automation.config.secret import Secret
from automation.engine.events import ActionEvent, Event, FiredEvent
from automation.engine.workers import InlineWorkers
from automation.sandbox import Options, Sandbox, write_config
from automation.sandbox.credentials import ACCOUNTS, WEBHOOK_SECRETS
from automation.sandbox.webhook_receiver import Receiver
from automation.service.runtime import Runtime, open_runtime

__all__ = ["BRAND", "QUIET", "SUPPORT", "Env", "Ticker", "engine_env", "threshold_rule"]

BRAND = next(a.user_id for a in ACCOUNTS if a.name == "brand")
SUPPORT = next(a.user_id for a in ACCOUNTS if a.name == "support")
QUIET = {"impressions": 0, "engagements": 0, "favorites": 0, "retweets": 0}


@dataclass
class Ticker:
    """A monotonic clock that moves only when waited on: the outbox's patience measured
    in waits, not in real seconds."""

    now: float = 0.0

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class Env:
    tmp: Path
    sandbox: Sandbox
    receiver: Receiver
    events: list[Event] = field(default_factory=list)
    runtime: Runtime | None = None

    def write_rules(self, text: str) -> None:
        (self.tmp / "rules" / "rules.yaml").write_text(textwrap.dedent(text))

    def open(self, *, dry_run: bool = False, outbox: Ticker | None = None) -> Runtime:
        """The engine; its outbox on a pool of threads and the real clock, or with
        ``outbox`` on the caller's thread, its waits on that ticker."""
        config = load_config(self.tmp / "automation.yaml", env={})
        self.runtime = open_runtime(
            config,
            emit=self.events.append,
            dry_run=dry_run,
            clock=self.sandbox.clock.now,
            workers=None if outbox is None else InlineWorkers(sleep=outbox.sleep),
            monotonic=time.monotonic if outbox is None else outbox.monotonic,
        )
        return self.runtime

    def close(self) -> None:
        if self.runtime is not None:
            self.runtime.close()
            self.runtime = None

    def cycle(self, *, advance: float = 300.0) -> None:
        assert self.runtime is not None
        self.runtime.engine.cycle()
        self.sandbox.clock.advance(advance)

    def fired(self, kind: str = "fired") -> list[FiredEvent]:
        return [e for e in self.events if isinstance(e, FiredEvent) and e.event == kind]

    def actions(self, status: str | None = None) -> list[ActionEvent]:
        return [
            e
            for e in self.events
            if isinstance(e, ActionEvent) and (status is None or e.status == status)
        ]

    def post(self, likes: int) -> str:
        """A brand post whose like count stays where we put it."""
        post = self.sandbox.world.add_post(BRAND, text=f"post {likes}", finals=QUIET)
        if likes:
            self.sandbox.world.set_metric(post.id, "favorites", likes)
        return post.id


def engine_env(
    tmp_path: Path, *, database: Path | None = None, fail_first: int = 0
) -> Iterator[Env]:
    """Fixture body: a sandbox, a receiver (refusing its first ``fail_first`` deliveries)
    and a config with its database at ``database`` (in ``tmp_path`` unless given)."""
    sandbox = Sandbox(
        seed=11, start=SANDBOX_START, speed=0.0, options=Options(per_minute_limit=6000)
    ).start()
    secret = Secret(WEBHOOK_SECRETS["team-chat"], "team-chat")
    receiver = Receiver(secret, fail_first=fail_first).start()
    (tmp_path / "rules").mkdir()
    write_config(
        tmp_path / "automation.yaml",
        sandbox.base_url,
        requests_per_minute=6000,
        poll_interval="5m",
        database=str(database or tmp_path / "automation.db"),
        rules=[str(tmp_path / "rules")],
    )
    e = Env(tmp_path, sandbox, receiver)
    try:
        yield e
    finally:
        e.close()
        e.receiver.stop()
        sandbox.stop()


def threshold_rule(env: Env, posts: list[str]) -> None:
    """Rule ``at-100`` on ``posts``: at 100 likes, a repost as support, then a webhook."""
    ids = ", ".join(f'"{p}"' for p in posts)
    env.write_rules(f"""\
        version: 1
        rules:
          - id: at-100
            watch: {{posts: [{ids}], owner: brand}}
            when: likes >= 100
            actions:
              - repost: {{as: support}}
              - webhook: {{url: "{env.receiver.url}/hook", secret: team-chat}}
        """)

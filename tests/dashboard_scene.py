"""A database filled by the real engine against the sandbox, for the dashboard's tests.

Made once per test session (``dashboard_world``): the engine runs 30 cycles on the
sandbox's hand-driven clock, half an hour apart, starting at a fixed time, so every page
has something to show and the same thing on every run: a post that crosses 100 likes at a
known cycle (fired, reposted, and a webhook that the receiver refuses, so it is dead), a
post already past it when the rule appeared (seeded), a milestone rule, a rule nobody is
near yet, and a post that was deleted (unavailable).
"""

from __future__ import annotations

import re
import shutil
import textwrap
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx

from automation.config.disk_space import MeasureDisk, database_disk
from automation.config.loader import load_config
from automation.config.model import Config
from automation.config.secret import Secret
from automation.dashboard.access import Listen
from automation.dashboard.server import Running, start
from automation.engine.events import Event
from automation.sandbox import Options, Sandbox, write_config
from automation.sandbox.credentials import ACCOUNTS, WEBHOOK_SECRETS
from automation.sandbox.webhook_receiver import Receiver
from automation.service.runtime import open_runtime
from automation.x.http import HttpClient

__all__ = [
    "CYCLE",
    "START",
    "Live",
    "World",
    "browsing",
    "copy_world",
    "live_world",
    "make_world",
    "serving",
]

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
CYCLE = timedelta(minutes=30)
CYCLES = 30
BRAND = next(a.user_id for a in ACCOUNTS if a.name == "brand")
QUIET = {"impressions": 0, "engagements": 0, "favorites": 0, "retweets": 0}


@dataclass(frozen=True)
class World:
    folder: Path
    crossing: str  # crosses 100 likes midway (``crossing_time``)
    past: str  # past 100 likes before the first cycle: seeded
    deleted: str  # deleted midway: unavailable
    end: datetime  # the sandbox clock after the last cycle: the dashboard's "now"

    @property
    def config_path(self) -> Path:
        return self.folder / "automation.yaml"

    def config(self) -> Config:
        return load_config(self.config_path, env={})

    def crossing_time(self) -> datetime:
        """When the engine first read 100 likes or more on ``crossing``: when it fired."""
        cycle = next(c for c in range(CYCLES) if likes_at(c) >= 100)
        return START + cycle * CYCLE


def likes_at(cycle: int) -> int:
    """The crossing post's likes at each cycle: rising a little faster every time."""
    return 10 + 8 * cycle + cycle * cycle // 4


def _rules(crossing: str, past: str, deleted: str) -> str:
    return textwrap.dedent(f"""\
        version: 1
        rules:
          - id: at-100-likes
            description: Repost from support when one of the launch posts reaches 100 likes
            watch: {{posts: ["{crossing}", "{past}", "{deleted}"], owner: brand}}
            when: likes >= 100
            actions:
              - repost: {{as: support}}
              - webhook: {{url: "https://chat.example.com/hooks/team-chat", secret: team-chat}}
          - id: like-milestones
            description: Tell the log every 50 likes of a launch post
            watch: {{posts: ["{crossing}"], owner: brand}}
            fire: {{every: 50, metric: likes}}
            actions:
              - log: {{message: "{{post.id}} passed {{milestone}} likes"}}
          - id: big-reach
            description: Celebrate a brand post that reaches a million impressions
            watch: {{accounts: [brand], max_age: 2d}}
            when: impressions >= 1000000
            actions:
              - log: {{message: "{{post.url}} reached a million"}}
        """)


@contextmanager
def live_world(folder: Path) -> Iterator[tuple[World, Live]]:
    """The world, with its sandbox and engine still running for more cycles."""
    folder.mkdir(parents=True, exist_ok=True)
    sandbox = Sandbox(seed=5, start=START, speed=0.0, options=Options(per_minute_limit=6000))
    # Every webhook is refused with 400: such an action is dead at once (spec §6).
    receiver = Receiver(
        Secret(WEBHOOK_SECRETS["team-chat"], "team-chat"), fail_first=10**6, fail_status=400
    )
    with sandbox, receiver:
        world = sandbox.world
        crossing = world.add_post(BRAND, text="launch", finals=QUIET).id
        past = world.add_post(BRAND, text="teaser", finals=QUIET).id
        deleted = world.add_post(BRAND, text="typo", finals=QUIET).id
        world.set_metric(past, "favorites", 180)
        world.set_metric(deleted, "favorites", 30)
        (folder / "rules").mkdir(exist_ok=True)
        (folder / "rules" / "rules.yaml").write_text(
            _rules(crossing, past, deleted), encoding="utf-8"
        )
        write_config(
            folder / "automation.yaml",
            sandbox.base_url,
            requests_per_minute=6000,
            poll_interval="30m",
            database="automation.db",
            rules=["rules/"],
        )
        # Webhooks for chat.example.com reach the local receiver (as in the demo), so what
        # the pages show names no port that changes from run to run.
        target = urlsplit(receiver.url)
        http = HttpClient(
            timeout=5.0,
            rewrite=lambda url: (
                urlunsplit(urlsplit(url)._replace(scheme="http", netloc=target.netloc))
                if "example.com" in url
                else url
            ),
        )
        live = Live(sandbox, [])
        runtime = open_runtime(
            load_config(folder / "automation.yaml", env={}),
            emit=live.events.append,
            clock=sandbox.clock.now,
            http=http,
        )
        live.cycle = runtime.engine.cycle
        try:
            for cycle in range(CYCLES):
                world.set_metric(crossing, "favorites", likes_at(cycle))
                if cycle == 20:
                    world.delete_post(deleted)
                live.next_cycle()
            yield World(folder, crossing, past, deleted, sandbox.clock.now()), live
        finally:
            runtime.close()


@dataclass
class Live:
    """The running sandbox and engine of a ``live_world``, and every event it emitted."""

    sandbox: Sandbox
    events: list[Event]
    cycle: Callable[[], object] = lambda: None

    def next_cycle(self) -> None:
        """One engine cycle now, then the sandbox's clock moves on one poll interval."""
        self.cycle()
        self.sandbox.clock.advance(CYCLE.total_seconds())


def make_world(folder: Path) -> World:
    """Run the engine and leave its database, config and rules in ``folder``."""
    with live_world(folder) as (world, _):
        return world


def copy_world(world: World, folder: Path) -> World:
    """The same world in another folder, for a test that changes the database."""
    shutil.copytree(world.folder, folder, dirs_exist_ok=True)
    return World(folder, world.crossing, world.past, world.deleted, world.end)


@contextmanager
def serving(
    world: World,
    *,
    env: dict[str, str] | None = None,
    listen: Listen | None = None,
    clock: Callable[[], datetime] | None = None,
    disk: MeasureDisk = database_disk,
) -> Iterator[Running]:
    config = load_config(world.config_path, env=env or {}, secrets="when_used")
    running = start(config, listen, clock or (lambda: world.end), disk)
    try:
        yield running
    finally:
        running.stop()


@contextmanager
def browsing(running: Running) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=running.url, follow_redirects=False, timeout=20) as client:
        yield client


def csrf_token(html: str) -> str:
    """The form token a page carries, which every POST of the dashboard must send back."""
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found is not None
    return found.group(1)


def post_form(c: httpx.Client, path: str, **data: str) -> httpx.Response:
    """A form posted as a browser would: with the token of a page read first."""
    return c.post(path, data={"csrf_token": csrf_token(c.get("/rules").text), **data})

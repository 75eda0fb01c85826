"""``automation demo``: the whole engine against the in-process sandbox, in about 30 s.

It starts the sandbox with a hand-driven simulated clock (five simulated minutes per
cycle), a local webhook receiver that verifies every signature, and the real engine with
``rules.example.yaml``. Webhooks meant for example.com hosts are delivered to the local
receiver, so nothing leaves 127.0.0.1. Midway a new brand post is launched and goes viral,
so the run shows seeding, firing, a repost at the sandbox, a signed webhook (refused once
by the receiver, then retried with the same idempotency key) and a milestone.
"""

from __future__ import annotations

import logging
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO
from urllib.parse import urlsplit, urlunsplit

from automation.cli.tables import table
from automation.config.loader import load_config
from automation.config.model import Config
from automation.config.secret import Secret
from automation.core.window_text import beside_windows
from automation.core.wording import counted
from automation.engine.events import ActionEvent, CycleEvent, ErrorEvent, Event, FiredEvent
from automation.rulefiles.shipped import EXAMPLE_NAME, example_rules
from automation.sandbox import Options, Sandbox, write_config
from automation.sandbox.credentials import ACCOUNTS, WEBHOOK_SECRETS
from automation.sandbox.webhook_receiver import Receiver
from automation.service.runtime import open_runtime
from automation.x.http import HttpClient

__all__ = ["run_demo"]


CYCLE_MINUTES = 5
# The simulated clock starts here, not at the wall clock's now: the world, the story and the
# summary are then the same whenever and wherever the demo runs.
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
VIRAL_FINALS = {
    "impressions": 180_000,
    "engagements": 14_000,
    "favorites": 2_600,
    "retweets": 900,
    "quote_tweets": 60,
    "replies": 240,
    "url_clicks": 700,
    "detail_expands": 1_500,
    "user_profile_clicks": 300,
}


def run_demo(*, seconds: float = 30.0, out: TextIO | None = None, cycles: int = 30) -> int:
    # stdout is looked up now, not when this module was imported: it may have been replaced
    target = out if out is not None else sys.stdout
    with tempfile.TemporaryDirectory(prefix="automation-demo-") as tmp:
        return _Demo(Path(tmp), target, pause=max(0.0, seconds / cycles), cycles=cycles).run()


class _TimelineLog(logging.Handler):
    """The engine's warnings and errors as lines of the demo's timeline, at the simulated
    time: a line stamped with the real time would interrupt the story. Its INFO lines are
    left out: the demo shows what they say itself."""

    def __init__(self, demo: _Demo) -> None:
        super().__init__(logging.WARNING)
        self.demo = demo
        self.setFormatter(logging.Formatter("%(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        text = self.format(record).replace("\n", "\n          ")
        self.demo._say(f"{self.demo._time()}  {text}")


@contextmanager
def _engine_log_in_timeline(demo: _Demo) -> Iterator[None]:
    engine_log = logging.getLogger("automation")
    handler = _TimelineLog(demo)
    saved = engine_log.level, engine_log.propagate
    engine_log.setLevel(logging.WARNING)
    engine_log.propagate = False
    engine_log.addHandler(handler)
    try:
        yield
    finally:
        engine_log.removeHandler(handler)
        engine_log.setLevel(saved[0])
        engine_log.propagate = saved[1]


class _Demo:
    def __init__(self, tmp: Path, out: TextIO, *, pause: float, cycles: int) -> None:
        self.tmp, self.out, self.pause, self.cycles = tmp, out, pause, cycles
        self.sandbox = Sandbox(
            seed=7, start=START, speed=0.0, options=Options(per_minute_limit=6000)
        )
        secret = WEBHOOK_SECRETS["team-chat"]
        self.receiver = Receiver(Secret(secret, "team-chat"), fail_first=1)
        self.counts: Counter[tuple[str, str]] = Counter()
        self.seeded: Counter[str] = Counter()
        self.announced: dict[str, int] = {}  # firing id -> its place in the current cycle
        # this cycle's lines, printed in a fixed order when it ends: its actions finish in
        # whatever order the outbox's workers take, and the story must be the same each time
        self.pending: list[tuple[tuple[int, str, str, int], str]] = []

    def run(self) -> int:
        with self.sandbox, self.receiver, _engine_log_in_timeline(self):
            config = self._config()
            http = HttpClient(timeout=5.0, rewrite=self._route)
            runtime = open_runtime(config, emit=self._show, clock=self.sandbox.clock.now, http=http)
            try:
                self._say(
                    f"sandbox on {self.sandbox.base_url}, webhook receiver on "
                    f"{self.receiver.url}, rules from {EXAMPLE_NAME}"
                )
                self._say(f"one cycle every {CYCLE_MINUTES} simulated minutes\n")
                for number in range(1, self.cycles + 1):
                    if number == 3:
                        self._launch_viral_post()
                    runtime.engine.cycle()
                    self.sandbox.clock.advance(CYCLE_MINUTES * 60)
                    time.sleep(self.pause)
                self._flush()
                self._summary()
            finally:
                runtime.close()
        return 0

    def _config(self) -> Config:
        rules = self.tmp / EXAMPLE_NAME  # the package's copy, wherever it is installed
        rules.write_text(example_rules(), encoding="utf-8")
        path = write_config(
            self.tmp / "automation.yaml",
            self.sandbox.base_url,
            requests_per_minute=6000,
            poll_interval=f"{CYCLE_MINUTES}m",
            # beside the config, named relative to it: YAML cannot hold a directory name
            # that is not UTF-8 ($TMPDIR in Latin-1), the config's own path can
            database="automation.db",
            rules=[EXAMPLE_NAME],
        )
        return load_config(path, env={})

    def _route(self, url: str) -> str:
        """Webhooks for any non-local host go to the receiver, keeping the path."""
        parts = urlsplit(url)
        if parts.hostname in ("127.0.0.1", "localhost"):
            return url
        target = urlsplit(self.receiver.url)
        path = f"/{parts.hostname}{parts.path}"
        return urlunsplit((target.scheme, target.netloc, path, parts.query, ""))

    def _launch_viral_post(self) -> None:
        brand = next(a for a in ACCOUNTS if a.name == "brand")
        post = self.sandbox.world.add_post(
            brand.user_id, text="Our launch is live!", finals=VIRAL_FINALS, tau_hours=2.0
        )
        self._say(f"{self._time()}  a new brand post {post.id} is published and takes off\n")

    # --- output ------------------------------------------------------------------------

    def _time(self) -> str:
        return self.sandbox.clock.now().strftime("%H:%M")

    def _say(self, text: str) -> None:
        self.out.write(text + "\n")
        self.out.flush()

    def _show(self, event: Event) -> None:
        if isinstance(event, FiredEvent):
            self.counts[(event.rule, event.event)] += 1
            self._show_firing(event)
        elif isinstance(event, ActionEvent):
            self.counts[(event.rule, f"action_{event.status}")] += 1
            self._show_action(event)
        elif isinstance(event, ErrorEvent):
            self._say(f"{self._time()}  error in {event.step}: {event.error}")
        elif isinstance(event, CycleEvent):
            self._flush()
            self._show_seeded()
            if event.fired or event.seeded:
                self._say(
                    f"{self._time()}  cycle: {counted(event.posts, 'post')} watched, "
                    f"{counted(event.requests, 'API request')}, {event.fired} fired, "
                    f"{event.seeded} seeded"
                )

    def _show_firing(self, event: FiredEvent) -> None:
        metrics = ", ".join(f"{k}={v}" for k, v in event.metrics.items())
        values = beside_windows(metrics, event.windows)
        if event.event == "seeded":
            self.seeded[event.rule] += 1
            return
        place = self.announced.setdefault(event.id, len(self.announced))
        if event.event == "capped":
            line = f"{self._time()}  CAPPED {event.rule} for post {event.post}: over its limit"
            self.pending.append(((place, "", "", -1), line))
            return
        lines = [f"{self._time()}  FIRED {event.rule} for post {event.post} ({values})"]
        lines += [f"          why: {event.reason}"] if event.reason else []
        self.pending.append(((place, "", "", -1), "\n".join(lines)))

    def _show_seeded(self) -> None:
        for rule, count in sorted(self.seeded.items()):
            self._say(
                f"{self._time()}  seeded {rule}: {counted(count, 'post')} already past it "
                "when the rule was added; recorded as seen, not fired"
            )
        self.seeded.clear()

    def _flush(self) -> None:
        for _, text in sorted(self.pending):
            self._say(text)
        self.pending.clear()
        self.announced.clear()

    def _show_action(self, event: ActionEvent) -> None:
        # actions of this cycle's firings sit under their firing, in the rule's order; a
        # retry of an earlier firing's action gets its own time stamp, after them
        firing, _, index = event.id.rpartition(".")
        place = self.announced.get(firing)
        indent = "          " if place is not None else f"{self._time()}  "
        order = len(self.announced) if place is None else place
        key = (order, event.rule, event.post, int(index) if index.isdigit() else 0)
        self.pending.append((key, indent + self._action_text(event)))

    def _action_text(self, event: ActionEvent) -> str:
        if event.kind == "webhook":
            last = self.receiver.last()
            verdict = ""
            if last is not None and event.status == "sent":
                verdict = (
                    f"; receiver got {last.idempotency_key}, signature "
                    f"{'verified' if last.verified else 'INVALID'}"
                )
            return f"-> webhook {event.status}: {event.error or event.detail}{verdict}"
        if event.kind in ("repost", "like") and event.status == "sent":
            return f"-> {event.kind} as support at the sandbox: {event.detail}"
        return f"-> {event.kind} {event.status}: {event.error or event.detail}"

    def _summary(self) -> None:
        rules = sorted({rule for rule, _ in self.counts})
        rows = [
            [
                rule,
                self.counts[(rule, "fired")],
                self.counts[(rule, "seeded")],
                self.counts[(rule, "action_sent")],
                self.counts[(rule, "action_retry")],
                self.counts[(rule, "action_dead")],
            ]
            for rule in rules
        ]
        self._say("\nsummary")
        self._say(table(["rule", "fired", "seeded", "actions sent", "retried", "dead"], rows))
        support = next(a for a in ACCOUNTS if a.name == "support")
        reposts = len(self.sandbox.world.actions_by(support.user_id, "repost"))
        hooks = self.receiver.deliveries()
        verified = sum(1 for d in hooks if d.verified)
        self._say(
            f"\nreposts recorded at the sandbox: {reposts}; webhook requests received: "
            f"{len(hooks)} ({verified} with a valid signature, "
            f"{self.receiver.refused} refused on purpose and retried)"
        )

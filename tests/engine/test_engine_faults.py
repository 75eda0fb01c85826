"""Spec §7 under fire: the engine against an API and a receiver that misbehave.

The real engine, real SQLite, the sandbox over loopback with seeded fault injection (429s,
5xx, answers slower than the client's timeout, HTML and truncated 200 bodies) and a webhook
receiver that refuses a seeded share of deliveries, all on the sandbox's hand-driven clock.
Every source of chance (faults, refusals, retry jitter) is seeded, so a failure replays.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from fixed_time import SANDBOX_START

from automation.config.loader import load_config
from automation.config.secret import Secret
from automation.engine.events import ActionEvent, ErrorEvent, Event, FiredEvent
from automation.sandbox import FaultInjector, Options, Sandbox, write_config
from automation.sandbox.app import ENGAGEMENT_PATHS, Encoded
from automation.sandbox.credentials import ACCOUNTS, WEBHOOK_SECRETS
from automation.sandbox.faults import FAULT_KINDS as FAULT_MIX
from automation.sandbox.messages import Request
from automation.sandbox.webhook_receiver import Receiver
from automation.service.runtime import Chance, Runtime, open_runtime

BRAND = next(a.user_id for a in ACCOUNTS if a.name == "brand")
SUPPORT = next(a.user_id for a in ACCOUNTS if a.name == "support")
QUIET = {"impressions": 0, "engagements": 0, "favorites": 0, "retweets": 0}
RPM = 3  # low enough that retries after faults run into the engine's own budget
STEP = 300.0  # five simulated minutes between cycles
TIMEOUT = 0.4  # the client's timeout; a "slow" fault answers after SLOW seconds
SLOW = 0.8


class FlakyReceiver(Receiver):
    """Refuses a seeded share of deliveries with 503 (recorded like any other delivery)."""

    def __init__(self, secret: Secret, *, rate: float, seed: int) -> None:
        super().__init__(secret)
        self.rate = rate
        self._rng = random.Random(seed)

    def _answer(self, path: str, headers: dict[str, str], body: bytes) -> int:
        with self._lock:
            if self._rng.random() < self.rate:
                self._fail_left = 1
        return super()._answer(path, headers, body)


@dataclass
class Chaos:
    tmp: Path
    sandbox: Sandbox
    faults: FaultInjector
    receiver: FlakyReceiver
    chance: Chance
    events: list[tuple[int, Event]] = field(default_factory=list)
    engagement_requests: list[float] = field(default_factory=list)  # simulated epoch seconds
    runtime: Runtime | None = None
    cycle_no: int = 0
    escaped: list[str] = field(default_factory=list)

    def open(self) -> Runtime:
        config = load_config(self.tmp / "automation.yaml", env={})
        self.runtime = open_runtime(
            config,
            emit=lambda e: self.events.append((self.cycle_no, e)),
            clock=self.sandbox.clock.now,
            sleep=self.sandbox.clock.advance,  # the engine waits in simulated time
            chance=self.chance,
        )
        return self.runtime

    def close(self) -> None:
        if self.runtime is not None:
            self.runtime.close()
            self.runtime = None

    @property
    def store(self) -> Any:
        assert self.runtime is not None
        return self.runtime.store

    def cycle(self, *, advance: float = STEP) -> None:
        assert self.runtime is not None
        try:
            self.runtime.engine.cycle()
        except Exception as exc:  # the point is to see any escape at all
            self.escaped.append(f"cycle {self.cycle_no}: {exc.__class__.__name__}: {exc}")
        self.cycle_no += 1
        self.sandbox.clock.advance(advance)

    def post(self, author: str, likes: int) -> str:
        post = self.sandbox.world.add_post(author, text=f"post {likes}", finals=QUIET)
        self.sandbox.world.set_metric(post.id, "favorites", likes)
        return post.id

    def likes(self, post_id: str, value: int) -> None:
        self.sandbox.world.set_metric(post_id, "favorites", value)

    def fired(self) -> list[tuple[int, FiredEvent]]:
        return [(c, e) for c, e in self.events if isinstance(e, FiredEvent) and e.event == "fired"]

    def errors(self) -> list[tuple[int, ErrorEvent]]:
        return [(c, e) for c, e in self.events if isinstance(e, ErrorEvent)]

    def read_now(self, expected: dict[str, int]) -> set[str]:
        """Posts whose stored latest likes are this cycle's value: read in this cycle."""
        latest = self.store.latest_totals(list(expected))
        return {p for p, v in expected.items() if latest.get(p, {}).get("favorites") == v}


def _write_config(tmp: Path, base_url: str) -> None:
    path = write_config(
        tmp / "automation.yaml",
        base_url,
        requests_per_minute=RPM,
        poll_interval="5m",
        database=str(tmp / "automation.db"),
        rules=[str(tmp / "rules")],
    )
    doc = yaml.safe_load(path.read_text())
    doc["engagement_api"]["timeout"] = TIMEOUT
    doc["x_api"]["timeout"] = TIMEOUT
    doc["actions"] = {"first_retry": "1m", "max_attempts": 12}
    path.write_text(yaml.safe_dump(doc, sort_keys=False))


@pytest.fixture
def chaos(tmp_path: Path) -> Iterator[Chaos]:
    # Firing ids and retry jitter are the only other chance in the engine: seed them, so a
    # run replays (across restarts too: every runtime shares them).
    ids = random.Random(6)
    chance = Chance(new_id=lambda: f"{ids.getrandbits(64):016x}", rng=random.Random(5))
    faults = FaultInjector(0.0, seed=1234, slow_seconds=SLOW)
    sandbox = Sandbox(
        seed=3,
        start=SANDBOX_START,
        speed=0.0,
        options=Options(per_minute_limit=6000),
        faults=faults,
    )
    sandbox.start()
    receiver = FlakyReceiver(Secret(WEBHOOK_SECRETS["team-chat"], "team-chat"), rate=0.0, seed=9)
    receiver.start()
    (tmp_path / "rules").mkdir()
    _write_config(tmp_path, sandbox.base_url)
    env = Chaos(tmp_path, sandbox, faults, receiver, chance)
    handle = sandbox.app.handle

    def counted(request: Request) -> Encoded:
        if request.path in ENGAGEMENT_PATHS:
            env.engagement_requests.append(sandbox.clock.now().timestamp())
        return handle(request)

    sandbox.app.handle = counted  # type: ignore[method-assign]
    try:
        yield env
    finally:
        env.close()
        receiver.stop()
        sandbox.stop()


def _rules(env: Chaos, brand: list[str], milestone: str) -> None:
    def ids(posts: list[str]) -> str:
        return ", ".join(f'"{p}"' for p in posts)

    hook = f'webhook: {{url: "{env.receiver.url}/hook", secret: team-chat}}'
    (env.tmp / "rules" / "rules.yaml").write_text(f"""\
version: 1
rules:
  - id: brand-100
    watch: {{posts: [{ids(brand)}], owner: brand}}
    when: likes >= 100
    actions:
      - repost: {{as: support}}
      - {hook}
  - id: support-high
    watch: {{accounts: [support], max_age: 2d}}
    when: likes >= {HIGH}
    actions:
      - repost: {{as: brand}}
      - {hook}
  - id: milestones
    watch: {{posts: ["{milestone}"], owner: brand}}
    fire: {{every: 1000, metric: likes}}
    actions:
      - {hook}
""")


# Cycle plan: warm up fault-free, then faults at RATE, one cycle with the API down, a
# restart in the middle (ten simulated seconds after the cycle before it, so the budget must
# remember that cycle's requests), and fault-free cycles until the outbox has drained.
WARMUP, CYCLES, BLACKOUT, RESTART, RATE = 2, 44, 19, 21, 0.3
BRAND_CROSSINGS = (3, 8, 13, BLACKOUT, 24, RESTART, 31, 37, 42)
SUPPORT_CROSSINGS = (6, 17, 29)  # each new support post appears two cycles earlier
HIGH = 5_000_000  # far above any generated support post: only ours cross it


def _likes(threshold: int, crossing: int, cycle: int) -> int:
    """Below the threshold before the crossing cycle, at or above after; a new value every
    cycle, so the stored latest value tells which cycle last read the post."""
    return (threshold if cycle >= crossing else threshold - 90) + cycle


def test_spec_guarantees_hold_while_the_api_and_the_receiver_misbehave(chaos: Chaos) -> None:
    env = chaos
    brand = [env.post(BRAND, 10) for _ in BRAND_CROSSINGS]
    crossing = dict(zip(brand, BRAND_CROSSINGS, strict=True))
    threshold = dict.fromkeys(brand, 100)
    milestone = env.post(BRAND, 500)
    _rules(env, brand, milestone)
    env.open()

    read_at: dict[str, list[int]] = {p: [] for p in [*crossing, milestone]}
    milestone_value: dict[int, int] = {}

    def step(c: int, *, advance: float = STEP) -> None:
        if c + 2 in SUPPORT_CROSSINGS:  # found only through the support timeline
            post = env.post(SUPPORT, HIGH - 90)
            crossing[post], threshold[post] = c + 2, HIGH
            read_at[post] = []
        expected = {p: _likes(threshold[p], x, c) for p, x in crossing.items()}
        expected[milestone] = milestone_value[c] = 500 + 330 * c
        for post, value in expected.items():
            env.likes(post, value)
        env.cycle(advance=advance)
        for post in env.read_now(expected):
            read_at[post].append(c)

    for c in range(CYCLES):
        env.faults.rate = 0.0 if c < WARMUP else 1.0 if c == BLACKOUT else RATE
        if c in (RESTART - 1, RESTART):  # plain requests on both sides of the restart
            env.faults.rate = 0.0
        env.faults.kinds = ("server_error",) if c == BLACKOUT else FAULT_MIX
        env.receiver.rate = 0.0 if c < WARMUP else 0.35
        if c == RESTART:
            # mid-flight: retries pending, and the last cycle's requests still in the minute
            assert env.store.actions(status="pending")
            env.close()
            env.open()
        step(c, advance=10.0 if c + 1 == RESTART else STEP)

    # Let retries drain: no more faults, and time enough for the longest backoff.
    env.faults.rate, env.receiver.rate = 0.0, 0.0
    for c in range(CYCLES, CYCLES + 40):
        step(c, advance=900.0)
        if c > CYCLES and not env.store.actions(status="pending"):
            break

    assert env.escaped == []
    internal = [e.error for _, e in env.errors() if "internal error" in e.error]
    assert internal == []
    # the run really was hostile: every fault kind happened, the API was down, and the
    # receiver pushed back
    assert set(env.faults.injected) == set(FAULT_MIX)
    assert any(c == BLACKOUT and e.step == "fetch" for c, e in env.errors())
    assert any(d.status == 503 for d in env.receiver.deliveries())

    _assert_every_crossing_fired_once_when_first_read(env, crossing, read_at)
    _assert_milestones_once_per_multiple(env, milestone, milestone_value, read_at[milestone])
    _assert_outbox_drained_and_nothing_doubled(env)
    _assert_budget_kept(env)


def _assert_every_crossing_fired_once_when_first_read(
    env: Chaos, crossing: dict[str, int], read_at: dict[str, list[int]]
) -> None:
    fired_at = {e.post: c for c, e in env.fired() if e.rule != "milestones"}
    counts = Counter(e.post for _, e in env.fired() if e.rule != "milestones")
    assert all(n == 1 for n in counts.values()), counts
    delayed = []
    for post, c in crossing.items():
        first_read = min((r for r in read_at[post] if r >= c), default=None)
        assert fired_at.get(post) == first_read, (post, c, read_at[post])
        if first_read > c:
            delayed.append(post)
    # the post that crossed while the API was down fired later, not never
    [blackout_post] = [p for p, c in crossing.items() if c == BLACKOUT]
    assert blackout_post in delayed


def _assert_milestones_once_per_multiple(
    env: Chaos, post: str, value: dict[int, int], read: list[int]
) -> None:
    fired = [(c, e.key) for c, e in env.fired() if e.rule == "milestones"]
    assert all(e.post == post for _, e in env.fired() if e.rule == "milestones")
    # what a reader of exactly those cycles must have seen: each new multiple once, and a
    # jump over several multiples fires the highest only
    expected: list[tuple[int, str]] = []
    last = 0  # the post starts below the first multiple
    for c in read:
        reached = value[c] // 1000 * 1000
        if reached > last:
            expected.append((c, f"every:favorites:{reached}"))
            last = reached
    assert fired == expected
    assert len({k for _, k in fired}) == len(fired)


def _assert_outbox_drained_and_nothing_doubled(env: Chaos) -> None:
    history = env.store.history(limit=10_000)
    fired = [h for h in history if h.firing.kind == "fired"]
    assert len(fired) == len(env.fired())
    keys = Counter((h.firing.rule_id, h.firing.post_id, h.firing.key) for h in history)
    assert [k for k, n in keys.items() if n > 1] == []
    for entry in fired:
        assert entry.actions, entry.firing
        for action in entry.actions:
            assert action.status == "sent", (action.kind, action.last_error)
            outcomes = [a.outcome for a in env.store.attempts(action.id)]
            assert outcomes.count("sent") == 1, outcomes
    assert env.store.actions(status="dead") == []
    retried = [e for _, e in env.events if isinstance(e, ActionEvent) and e.status == "retry"]
    assert retried, "no action ever had to be retried: the faults missed the outbox"
    # no account reposted a post twice, and each post got what its rule says, once
    for account, owner_rule in ((SUPPORT, "brand-100"), (BRAND, "support-high")):
        reposted = [a.post_id for a in env.sandbox.world.actions_by(account, "repost")]
        assert len(reposted) == len(set(reposted))
        assert sorted(reposted) == sorted(
            h.firing.post_id for h in fired if h.firing.rule_id == owner_rule
        )
    # the receiver saw one idempotency key per webhook action, and a 200 for each
    delivered = [d for d in env.receiver.deliveries() if d.status == 200]
    assert all(d.verified for d in env.receiver.deliveries())
    webhook_ids = sorted(a.id for h in fired for a in h.actions if a.kind == "webhook")
    assert sorted(d.idempotency_key for d in delivered) == webhook_ids


def _assert_budget_kept(env: Chaos) -> None:
    times = sorted(env.engagement_requests)
    assert len(times) > RPM * 10
    busiest = max(sum(1 for u in times if t <= u < t + 60.0 - 1e-6) for t in times)
    assert busiest <= RPM
    assert busiest == RPM  # the budget was actually reached, so the check means something


@pytest.mark.parametrize("kind", ["truncated", "malformed"])
def test_a_broken_totals_answer_is_reported_and_nothing_fires_on_it(
    chaos: Chaos, kind: str
) -> None:
    env = chaos
    post = env.post(BRAND, 10)
    (env.tmp / "rules" / "rules.yaml").write_text(f"""\
version: 1
rules:
  - id: brand-100
    watch: {{posts: ["{post}"], owner: brand}}
    when: likes >= 100
    actions:
      - webhook: {{url: "{env.receiver.url}/hook", secret: team-chat}}
""")
    env.open()
    env.cycle()
    env.likes(post, 150)
    env.faults.rate, env.faults.kinds = 1.0, (kind,)  # every answer is a broken 200
    env.cycle()

    errors = [e for c, e in env.errors() if c == 1]
    assert errors, "a broken answer must be reported"
    for error in errors:
        assert error.step == "fetch" and error.retryable
        assert "/totals" in error.error and "not JSON" in error.error, error.error
        assert "account 'brand'" in error.error, error.error
    assert env.fired() == []
    assert env.store.latest_totals([post])[post]["favorites"] == 10  # nothing stored from it
    assert env.receiver.deliveries() == []

    env.faults.rate = 0.0
    env.cycle()
    assert [(c, e.post, dict(e.metrics)) for c, e in env.fired()] == [(2, post, {"likes": 150})]
    assert [e for c, e in env.errors() if c == 2] == []
    [delivery] = env.receiver.deliveries()
    assert delivery.status == 200 and delivery.verified
    assert env.escaped == []

"""A crash audit: SIGKILL a real ``automation run`` at chosen moments, restart it, check.

The sandbox and a webhook receiver run in this process; the engine is ``python -m
automation run`` against them. A kill is placed by counting events, not by sleeping: the
sandbox or the receiver kills the engine while it handles the n-th request of a kind
(metrics read, timeline read, repost or like, reply, webhook delivery), either before doing
what was asked (the engine dies waiting) or after (the action is done, the engine never
hears of it). Only the ``timer`` phase kills after a seeded delay, for the moments between
requests (evaluating, committing). After the kills, the last engine runs until every
firing the world calls for is recorded and every action sent, and ``check`` compares the
database with the world: each firing recorded once, each repost, like and reply done once,
each webhook delivered with one body per idempotency key, nothing pending or dead, the
file whole (``PRAGMA integrity_check``) and ``automation status`` without a complaint.

It lives under ``tests/`` because the suite keeps a short version of it
(``tests/service/test_crash_audit_e2e.py``: a fixed list of kills, all placed by events)
and builds on the end-to-end helpers; ``benchmarks/crash_audit.py`` runs the long, seeded
random version on SQLite and PostgreSQL and prints a table, as the other benchmarks do.
"""

from __future__ import annotations

import contextlib
import io
import json
import random
import signal
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from e2e_helpers import HIGH, SUPPORT, Engine, Scene, quiet_post, rule_file

from automation.cli.main import main
from automation.config.database import Database, database_of
from automation.config.secret import Secret
from automation.sandbox import Encoded, Options, Request, Sandbox
from automation.sandbox.credentials import WEBHOOK_SECRETS
from automation.sandbox.webhook_receiver import Receiver
from automation.store.opening import open_readonly

__all__ = ["PHASES", "Audit", "Kill", "open_audit", "random_kill", "run_audit"]

MILLION = 1_000_000
PHASES = ("metrics", "timeline", "repost-like", "reply", "webhook", "timer")
_DEADLINE = 120.0  # seconds for the engine to get somewhere: generous, never a timing
_UNSPRUNG = 20.0  # seconds before an engine whose event never came is killed anyway


@dataclass(frozen=True)
class Kill:
    phase: str
    after: bool  # killed after the request was handled (the action is done) or before
    count: int  # the n-th event of the phase (timer: the delay in hundredths of a second)


def _phase(method: str, url: str) -> str:
    if "/insights/engagement" in url:
        return "metrics"
    if method == "GET":
        return "timeline"
    if "/retweets" in url or "/likes" in url:
        return "repost-like"
    return "reply" if url.rstrip("/").endswith("/2/tweets") else "other"


class _Trap:
    """Kills the engine at the n-th event of the phase it is armed for."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.engine: Engine | None = None
        self.armed: Kill | None = None
        self._left = 0
        self.sprung = threading.Event()
        self._busy = 0  # requests being handled, by the sandbox or the receiver
        self._idle = threading.Condition(self._lock)

    @contextlib.contextmanager
    def handling(self) -> Iterator[None]:
        with self._lock:
            self._busy += 1
        try:
            yield
        finally:
            with self._lock:
                self._busy -= 1
                self._idle.notify_all()

    def settle(self) -> None:
        """Wait until the requests a killed engine had made are handled: none of them may
        count towards the next kill (the kernel closed its sockets, so they end at once)."""
        with self._lock:
            self._idle.wait_for(lambda: self._busy == 0, timeout=_UNSPRUNG)

    def arm(self, engine: Engine, kill: Kill) -> None:
        with self._lock:
            self.engine, self.armed, self._left = engine, kill, kill.count
            self.sprung.clear()

    def disarm(self) -> None:
        with self._lock:
            self.armed = None

    def event(self, phase: str, after: bool) -> bool:
        """Whether this event kills: the engine is dead when it returns True."""
        with self._lock:
            kill, engine = self.armed, self.engine
            if kill is None or engine is None or kill.phase != phase or kill.after != after:
                return False
            self._left -= 1
            if self._left > 0:
                return False
            self.armed = None
        engine.proc.send_signal(signal.SIGKILL)
        engine.proc.wait()
        self.sprung.set()
        return True


@dataclass
class Audit:
    """A world to crash: posts, rules, the engine's config, and what happened to it."""

    scene: Scene
    database_url: str | None = None
    digest: bool = False
    posts: list[str] = field(default_factory=list)
    pushed: dict[str, int] = field(default_factory=dict)  # post -> likes pushed to
    passed: set[tuple[str, str, int | None]] = field(default_factory=set)  # may fire
    kills: list[Kill] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # what ``check`` found, once run
    _trap: _Trap = field(default_factory=_Trap)

    # --- the world ---------------------------------------------------------------------
    def rules(self) -> list[dict[str, Any]]:
        hook = {"webhook": {"url": f"{self.receiver.url}/hooks/a", "secret": "team-chat"}}
        watch = {"accounts": ["brand"], "max_age": "2d"}
        when = f"likes >= {HIGH}"
        rules: list[dict[str, Any]] = [
            {
                "id": "act",
                "watch": watch,
                "when": when,
                "actions": [{"repost": {"as": "support"}}, {"like": {"as": "support"}}, hook],
            },
            {
                "id": "answer",
                "watch": watch,
                "when": when,
                "actions": [{"reply": {"as": "support", "text": "Thanks! {post.id}"}}],
            },
            {
                "id": "milestones",
                "watch": watch,
                "fire": {"every": MILLION, "metric": "likes"},
                "when": when,
                "actions": [hook],
            },
            {"id": "window", "watch": watch, "when": f"likes over 1h >= {HIGH}", "actions": [hook]},
            {"id": "held", "watch": watch, "when": when, "for": "2s", "actions": [hook]},
        ]
        if self.digest:
            digest = {"webhook": {**hook["webhook"], "digest": "1m"}}
            rules.append({"id": "digest", "watch": watch, "when": when, "actions": [digest]})
        return rules

    @property
    def receiver(self) -> Receiver:
        assert self.scene.receiver is not None
        return self.scene.receiver

    def prepare(self, posts: int) -> None:
        """Quiet posts, the config and the rules, migrated; the first cycle seeds them."""
        self.posts = [quiet_post(self.scene.sandbox) for _ in range(posts)]
        extra: dict[str, Any] = {"database": self.database_url} if self.database_url else {}
        self.scene.write_config(**extra)  # PostgreSQL: the lease is the shortest, 5 s
        self.scene.write_rules(rule_file(self.rules()))
        if self.database_url:  # SQLite: the engine migrates the file it creates
            migrated = self.scene.cli("migrate")
            assert migrated.code == 0, migrated.stderr

    def push(self, post: str, likes: int) -> None:
        """Set a post's likes; a milestone it had passed may have fired or been jumped over."""
        if post in self.pushed:
            self.passed.add(("milestones", post, self.pushed[post] // MILLION * MILLION))
        self.scene.sandbox.world.set_metric(post, "favorites", likes)
        self.pushed[post] = likes

    def expected(self) -> Counter[tuple[str, str, int | None]]:
        """The firings the world calls for: (rule, post, milestone), each once."""
        want: Counter[tuple[str, str, int | None]] = Counter()
        for post, likes in self.pushed.items():
            for rule in ("act", "answer", "window", "held", *(("digest",) if self.digest else ())):
                want[(rule, post, None)] += 1
            want[("milestones", post, likes // MILLION * MILLION)] += 1
        return want

    # --- the engine and its kills -----------------------------------------------------
    def start(self) -> Engine:
        return self.scene.engine(name=f"engine{len(self.kills)}")

    def kill(self, engine: Engine, kill: Kill, deadline: float = _UNSPRUNG) -> Kill:
        """Kill ``engine`` as ``kill`` says; one that outlives the deadline (its event never
        came) is killed there, counted as a timer kill."""
        if kill.phase == "timer":
            time.sleep(kill.count / 100)  # the one kill placed by time: between requests
            engine.proc.send_signal(signal.SIGKILL)
            engine.proc.wait()
        else:
            self._trap.arm(engine, kill)
            if not self._trap.sprung.wait(deadline):
                self._trap.disarm()
                engine.proc.send_signal(signal.SIGKILL)
                engine.proc.wait()
                kill = Kill("timer", False, int(deadline * 100))
        self._trap.settle()
        self.kills.append(kill)
        return kill

    def _handle(self, handle: Any, request: Request) -> Encoded:
        phase = _phase(request.method, request.url)
        with self._trap.handling():
            if self._trap.event(phase, after=False):
                return Encoded(503, {"content-type": "application/json"}, b"{}")
            answer: Encoded = handle(request)
            self._trap.event(phase, after=True)
            return answer

    def _answer(self, answer: Any, path: str, headers: dict[str, str], body: bytes) -> int:
        with self._trap.handling():
            status: int = answer(path, headers, body)
            self._trap.event("webhook", after=True)  # recorded: delivered
            return status

    def hook(self) -> None:
        """Route the sandbox's requests and the receiver's deliveries through the trap."""
        app, receiver = self.scene.sandbox.app, self.receiver
        handle, answer = app.handle, receiver._answer
        app.handle = lambda request: self._handle(handle, request)  # type: ignore[method-assign]
        receiver._answer = lambda *a: self._answer(answer, *a)  # type: ignore[method-assign]


def open_audit(
    tmp: Path, *, seed: int, database_url: str | None = None, digest: bool = False
) -> Audit:
    sandbox = Sandbox(seed=seed, speed=1.0, options=Options(per_minute_limit=600)).start()
    receiver = Receiver(Secret(WEBHOOK_SECRETS["team-chat"], "team-chat")).start()
    audit = Audit(Scene(tmp, sandbox, receiver), database_url, digest)
    audit.hook()
    return audit


def random_kill(rng: random.Random) -> Kill:
    phase = rng.choice(PHASES)
    if phase == "timer":
        return Kill(phase, False, rng.randint(0, 300))
    after = phase == "webhook" or rng.random() < 0.5
    return Kill(phase, after, rng.randint(1, {"repost-like": 2, "reply": 1}.get(phase, 3)))


# --- waiting and checking --------------------------------------------------------------
def _settled(audit: Audit) -> bool:
    """Every firing the world calls for is recorded and no action is left pending."""
    with open_readonly(_database(audit)) as store:
        fired = {
            (e.firing.rule_id, e.firing.post_id, e.firing.milestone)
            for e in store.history(limit=100_000, kind="fired")
        }
        counts = store.action_counts()
    return set(audit.expected()) <= fired and counts.get("pending", 0) == 0


def wait_settled(audit: Audit, engine: Engine, timeout: float = _DEADLINE) -> None:
    deadline = time.monotonic() + timeout
    while not _settled(audit):
        if not engine.running():
            raise AssertionError(f"the engine exited ({engine.proc.returncode}):\n{engine.stderr}")
        if time.monotonic() > deadline:
            raise AssertionError(f"not settled after {timeout}s:\n{engine.stderr[-3000:]}")
        time.sleep(0.2)


def _cli_json(audit: Audit, *args: str) -> Any:
    """A command's JSON, run in this process (``automation.cli.main``): the end-to-end
    tests of each command run it as a process already."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(["--config", str(audit.scene.config), *args, "--json"])
    assert code == 0, f"{args}: exit {code}"
    return json.loads(out.getvalue())


def check(audit: Audit) -> list[str]:
    """What is wrong once the engine has stopped: an empty list when nothing is."""
    problems: list[str] = []
    history = _cli_json(audit, "history", "--limit", "100000")
    fired = Counter(
        (e["rule"], e["post"], e.get("milestone")) for e in history if e["kind"] == "fired"
    )
    want = audit.expected()
    extra = [(k, n) for k, n in fired.items() if n > 1 or (k not in want and k not in audit.passed)]
    missing = [k for k in want if k not in fired]
    if extra or missing:
        problems.append(f"firings: {extra} extra or twice, {missing} missing")
    actions = _cli_json(audit, "actions", "--limit", "100000")
    statuses = Counter(a["status"] for a in actions)
    if set(statuses) != {"sent"}:
        problems.append(f"actions not all sent: {dict(statuses)}")
    firing_ids = {e["id"] for e in history if e["kind"] == "fired"}
    queued = {a["id"] for e in history if e["kind"] == "fired" for a in e["actions"]}
    if {a["id"] for a in actions} != queued or len(firing_ids) != fired.total():
        problems.append("the outbox and the firings' actions differ")
    problems += _world_problems(audit, actions)
    problems += _store_problems(audit)
    return problems


def _digests(audit: Audit) -> dict[str, str]:
    """The key each digested action went out under: its digest's (one request for all)."""
    with open_readonly(_database(audit)) as store:
        return {a.id: a.digest for a in store.actions(limit=100_000) if a.digest}


def _database(audit: Audit) -> Database:
    return database_of(audit.database_url or str(audit.scene.database), Path)


def _world_problems(audit: Audit, actions: list[dict[str, Any]]) -> list[str]:
    world, problems = audit.scene.sandbox.world, []
    for kind in ("repost", "like", "reply"):
        done = Counter(
            a.post_id if kind != "reply" else a.text for a in world.actions_by(SUPPORT, kind)
        )
        if any(n > 1 for n in done.values()):
            problems.append(f"{kind} done twice: {[k for k, n in done.items() if n > 1]}")
        wanted = {a["post"] for a in actions if a["kind"] == kind}
        if kind != "reply" and set(done) != wanted:
            problems.append(f"{kind}s done {sorted(done)}, queued for {sorted(wanted)}")
        if kind == "reply" and len(done) != len(wanted):
            problems.append(f"{len(done)} replies for {len(wanted)} queued")
    bodies: dict[str, set[bytes]] = {}
    for d in audit.receiver.deliveries():
        bodies.setdefault(d.idempotency_key, set()).add(d.body)
        if not d.verified:
            problems.append(f"webhook {d.idempotency_key} not verified")
    hooks = {_digests(audit).get(a["id"], a["id"]) for a in actions if a["kind"] == "webhook"}
    if set(bodies) != hooks:
        problems.append(f"webhooks delivered {len(bodies)}, queued {len(hooks)}")
    problems += [
        f"key {k} seen with {len(b)} bodies of {sorted(map(len, b))} bytes"
        for k, b in bodies.items()
        if len(b) > 1
    ]
    return problems


def _store_problems(audit: Audit) -> list[str]:
    problems = []
    if audit.database_url is None:
        with sqlite3.connect(audit.scene.database) as conn:
            (result,) = conn.execute("PRAGMA integrity_check").fetchone()
        if result != "ok":
            problems.append(f"integrity_check: {result}")
    return problems


def _status_problems(audit: Audit) -> list[str]:
    problems = []
    status = _cli_json(audit, "status")
    if status["rule_errors"] or status["reload_error"] or status["recording"]["stale"]:
        problems.append(f"status: {json.dumps(status)}")
    if status["actions"]["pending"] or status["actions"]["dead"]:
        problems.append(f"status actions: {status['actions']}")
    return problems


def run_audit(
    audit: Audit,
    rng: random.Random,
    kills: int,
    choose: Callable[[random.Random], Kill] | None = None,
) -> list[str]:
    """Prepare, push a post over the thresholds and kill the engine ``kills`` times (the
    third time a post passes two milestones more), let the last engine settle, stop it and
    return the problems ``check`` finds."""
    audit.prepare(kills + 1)
    engine = audit.start()
    engine.wait_cycles(1, timeout=_DEADLINE)  # seeds the quiet posts
    for n in range(kills):
        audit.push(audit.posts[n], HIGH + 1)
        if n == 2:
            audit.push(audit.posts[0], HIGH + 2 * MILLION + 1)
        audit.kill(engine, (choose or random_kill)(rng))
        engine = audit.start()
    audit.push(audit.posts[-1], HIGH + 1)
    wait_settled(audit, engine)
    running = _status_problems(audit)  # while the engine runs: a stopped one is stale
    engine.signal(signal.SIGTERM)
    engine.wait(timeout=30)
    return running + check(audit)

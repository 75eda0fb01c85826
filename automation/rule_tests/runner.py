"""Play one rule test through the real engine, and run whole test files for ``automation test``.

Each test gets a fresh in-memory store, so every rule is new at poll 1 and posts already
past a threshold then are seeded, exactly as when a rule goes live. Per poll the clock is
moved to the poll's time and ``Engine.cycle`` runs; the steps after a poll restart the
engine on the same store (what it recorded stays), swap in edited rules (as a reload
does), or let time pass. Firings are read back from the store's ledger afterwards, with
the payloads rendered at firing time, so templates render exactly as in production.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from automation.config.model import Account, ApiSettings, AppCredentials, Config
from automation.config.secret import Secret
from automation.core.errors import AutomationError, Problem, RuleError
from automation.core.evaluate import compile_rules
from automation.core.rules import Rule, WebhookAction
from automation.engine.cycle import Engine
from automation.engine.dispatch import Dispatcher
from automation.engine.events import ErrorEvent, Event
from automation.engine.running_rules import LoadedRules
from automation.rule_tests.fakes import (
    FakeEngagement,
    FakeX,
    ManualClock,
    Performed,
    World,
    recording_performers,
)
from automation.rule_tests.model import RuleTest, RuleTestFile
from automation.rule_tests.report import Outcome, judge, write_outcome, write_summary
from automation.rule_tests.test_file import load_test_file
from automation.rulefiles.yaml_loader import YAML_SUFFIXES
from automation.store.memory import MemoryStore

__all__ = ["ActualAction", "ActualFiring", "Run", "default_files", "run_files", "run_test"]

_UNUSED = Secret("unused", "rule tests")
_NOWHERE = "http://127.0.0.1:9"  # never contacted: the API clients are fakes


@dataclass(frozen=True)
class ActualAction:
    """One action of a firing as the outbox holds it; a webhook's body is parsed JSON."""

    index: int
    kind: str
    payload: dict[str, Any]
    performed: int | None = None  # the poll at which it was performed; None: not yet


@dataclass(frozen=True)
class ActualFiring:
    kind: str  # fired | seeded | capped
    rule: str
    post: str
    poll: int
    key: str
    milestone: int | None
    metrics: dict[str, float]
    actions: tuple[ActualAction, ...] = ()
    windows: Mapping[str, float] = field(default_factory=dict)  # FiringRecord.windows


@dataclass(frozen=True)
class Run:
    """What happened when a test was played."""

    test: RuleTest
    firings: tuple[ActualFiring, ...]
    errors: tuple[tuple[int, str], ...] = ()  # (poll, message) the engine reported
    performed: tuple[Performed, ...] = field(default_factory=tuple)


def run_test(test: RuleTest) -> Run:
    """Play ``test`` through a real Engine with fake edges and a manual clock."""
    store = MemoryStore()
    world = World(test.posts, test.times)
    clock = ManualClock(test.start)
    engagement, x = FakeEngagement(world), FakeX(world)
    events: list[tuple[int, Event]] = []
    rules = test.rules
    config = _config(test)
    numbers = itertools.count(1)  # firing ids: unique in the test's store, and the same every run

    def build() -> Engine:
        dispatcher = Dispatcher(
            store=store,
            performers=recording_performers(x),
            settings=config.actions,
            clock=clock,
            emit=lambda e: events.append((world.poll, e)),
        )
        return Engine(
            config=config,
            rules=_loaded(rules),
            store=store,
            engagement=engagement,
            x_client=x,
            dispatcher=dispatcher,
            clock=clock,
            new_id=lambda: f"{next(numbers):016x}",
            emit=lambda e: events.append((world.poll, e)),
        )

    engine = build()
    performed: dict[str, int] = {}  # action id -> the poll it was performed at
    for poll in range(1, test.polls + 1):
        world.poll = poll
        clock.now = test.times[poll - 1]
        engine.cycle()
        for item in store.actions(status="sent", limit=1_000_000):
            performed.setdefault(item.id, poll)
        for step in (s for s in test.steps if s.after_poll == poll):
            if step.kind == "edit":
                rules = step.rules
                engine.rules = _loaded(rules)  # what a reload of the edited file does
            elif step.kind == "restart":
                engine = build()
    errors = tuple(
        (poll, f"{e.step}: {e.error}") for poll, e in events if isinstance(e, ErrorEvent)
    )
    return Run(test, _firings(store, test, performed), errors, tuple(x.performed))


def _loaded(rules: Sequence[Rule]) -> LoadedRules:
    # No files: the engine must never reload the rules under test from disk by itself.
    return LoadedRules(rules=compile_rules(rules), files=())


def _config(test: RuleTest) -> Config:
    """A config naming every account and webhook secret the rules use, with no real secret."""
    every = [test.rules, *(s.rules for s in test.steps)]
    accounts: set[str] = set()
    secrets: set[str] = set()
    for rules in every:
        for rule in rules:
            accounts.update(rule.watch.accounts)
            accounts.update([rule.watch.owner] if rule.watch.owner else [])
            for action in rule.actions:
                accounts.update([getattr(action, "as_account", "")])
                if isinstance(action, WebhookAction) and action.secret:
                    secrets.add(action.secret)
    accounts.discard("")
    return Config(
        path=Path(test.where.path),
        database=Path(":memory:"),
        rules=(),
        poll_interval=test.poll_interval,
        engagement_api=ApiSettings(_NOWHERE),
        x_api=ApiSettings(_NOWHERE),
        app=AppCredentials(_UNUSED, _UNUSED, _UNUSED),
        accounts=tuple(
            Account(name, str(i + 1), _UNUSED, _UNUSED) for i, name in enumerate(sorted(accounts))
        ),
        webhook_secrets=tuple((name, _UNUSED) for name in sorted(secrets)),
    )


def _firings(
    store: MemoryStore, test: RuleTest, performed: dict[str, int]
) -> tuple[ActualFiring, ...]:
    polls = {moment: index + 1 for index, moment in enumerate(test.times)}
    out = []
    for entry in reversed(store.history(limit=1_000_000)):
        record = entry.firing
        actions = tuple(
            ActualAction(
                a.index, a.kind, _payload(a.payload), performed.get(f"{record.id}.{a.index}")
            )
            for a in sorted(record.actions, key=lambda a: a.index)
        )
        out.append(
            ActualFiring(
                kind=record.kind,
                rule=record.rule_id,
                post=record.post_id,
                poll=polls.get(record.at, 0),
                key=record.key,
                milestone=record.milestone,
                metrics=dict(record.metrics),
                actions=actions,
                windows=record.windows,
            )
        )
    out.sort(key=lambda f: f.poll)
    return tuple(out)


def _payload(text: str) -> dict[str, Any]:
    payload: dict[str, Any] = json.loads(text)
    if payload.get("kind") == "webhook" and isinstance(payload.get("body"), str):
        with contextlib.suppress(ValueError):
            payload["body"] = json.loads(payload["body"])
    return payload


# --- files -----------------------------------------------------------------------------------

TEST_DIR = "rule-tests"


def default_files(base: Path) -> list[Path]:
    """The test files ``automation test`` runs when given none: ``rule-tests/*.yaml``."""
    folder = base / TEST_DIR
    return expand([folder]) if folder.is_dir() else []


def expand(paths: Sequence[Path]) -> list[Path]:
    """Files as given; directories as their *.yaml / *.yml files."""
    out: list[Path] = []
    for path in paths:
        if path.is_dir():
            out += sorted(p for p in path.iterdir() if p.suffix in YAML_SUFFIXES and p.is_file())
        else:
            out.append(path)
    return out


def run_files(paths: Sequence[Path], *, out: TextIO, err: TextIO) -> int:
    """Run every test of every file; 0 all passed, 1 a test failed, 2 a file is invalid."""
    started = time.monotonic()
    files = expand(paths)
    invalid = 0
    outcomes: list[Outcome] = []
    for path in files:
        try:
            loaded: RuleTestFile = load_test_file(path)
        except RuleError as exc:
            invalid += 1
            for problem in exc.problems:
                print(problem, file=err)
            continue
        for test in loaded.tests:
            outcome = _play(test)
            write_outcome(outcome, out)
            outcomes.append(outcome)
    write_summary(outcomes, len(files), invalid, time.monotonic() - started, out)
    if invalid:
        return 2
    return 1 if any(not o.passed for o in outcomes) else 0


def _play(test: RuleTest) -> Outcome:
    try:
        run = run_test(test)
    except AutomationError as exc:  # e.g. a rule the evaluator refuses
        problem = Problem(test.where.path, test.where.line, test.where.column, str(exc))
        return Outcome(test, passed=False, findings=(f"could not run: {problem}",), table=())
    return judge(run)

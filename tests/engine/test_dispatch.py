"""The outbox performer: each action on its own, retries with backoff, dead after too many."""

from __future__ import annotations

import json
import random
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from clock import Clock

from automation.config.model import ActionSettings
from automation.core.errors import (
    ActionFailed,
    AuthFailed,
    AutomationError,
    RateLimited,
    ServerFailed,
)
from automation.core.records import ActionRecord, CycleWrite, FiringRecord
from automation.engine.dispatch import Dispatcher, DispatchLimits
from automation.engine.events import ActionEvent, Event
from automation.engine.performers import Performers
from automation.store.memory import MemoryStore
from automation.store.sqlite import SqliteStore

T0 = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


class Fake:
    """Performers that fail as scripted, per action kind."""

    def __init__(self, script: dict[str, list[Exception | None]]) -> None:
        self.script = script
        self.calls: list[tuple[str, str]] = []

    def _run(self, kind: str, ident: str) -> str:
        self.calls.append((kind, ident))
        plan = self.script.get(kind, [])
        outcome = plan.pop(0) if plan else None
        if outcome is not None:
            raise outcome
        return "ok"

    def performers(self) -> Performers:
        return Performers(
            x_write=lambda kind, account, post, text: self._run(kind, post),
            webhook=lambda action_id, payload: self._run("webhook", action_id),
            log_message=lambda message: None,
        )


def setup(script: dict[str, list[Exception | None]], *, max_attempts: int = 3):
    store = MemoryStore()
    actions = (
        ActionRecord(0, "repost", json.dumps({"kind": "repost", "as": "support", "post_id": "1"})),
        ActionRecord(
            1,
            "webhook",
            json.dumps(
                {"kind": "webhook", "url": "https://h.example", "body": "{}", "post_id": "1"}
            ),
        ),
    )
    firing = FiringRecord(
        id="f1", rule_id="r", post_id="1", key="once", kind="fired", at=T0, actions=actions
    )
    store.commit_cycle(CycleWrite(at=T0, firings=(firing,)))
    clock, events, fake = Clock(T0), [], Fake(script)
    dispatcher = Dispatcher(
        store=store,
        performers=fake.performers(),
        settings=ActionSettings(first_retry=10, max_attempts=max_attempts),
        clock=clock,
        emit=events.append,
        rng=random.Random(1),
    )
    return store, dispatcher, clock, events, fake


def statuses(events: list[Event]) -> list[tuple[str, str]]:
    return [(e.id, e.status) for e in events if isinstance(e, ActionEvent)]


def test_a_failing_sibling_never_resends_the_one_that_succeeded() -> None:
    store, dispatcher, clock, events, fake = setup(
        {"webhook": [ServerFailed("503", status=503), None]}
    )
    assert dispatcher.run_due() == 1
    clock.now += timedelta(hours=1)
    assert dispatcher.run_due() == 1
    assert [k for k, _ in fake.calls] == ["repost", "webhook", "webhook"]
    assert statuses(events) == [("f1.0", "sent"), ("f1.1", "retry"), ("f1.1", "sent")]
    attempts = [(e.id, e.attempt) for e in events if isinstance(e, ActionEvent)]
    assert attempts == [("f1.0", 1), ("f1.1", 1), ("f1.1", 2)]
    assert store.action("f1.0").attempts == 1


def test_retries_wait_with_backoff_and_honour_retry_after() -> None:
    store, dispatcher, clock, _events, fake = setup(
        {"webhook": [RateLimited("429", retry_after=900)]}
    )
    dispatcher.run_due()
    item = store.action("f1.1")
    assert item.status == "pending"
    assert item.next_attempt_at - T0 == timedelta(seconds=900)  # as asked, not later
    clock.now += timedelta(seconds=60)
    assert dispatcher.run_due() == 0  # not due yet
    assert len(fake.calls) == 2


def test_too_many_attempts_make_the_action_dead_with_the_reason() -> None:
    store, dispatcher, clock, events, _fake = setup(
        {"webhook": [ServerFailed("503 a"), ServerFailed("503 b"), ServerFailed("503 c")]},
        max_attempts=3,
    )
    for _ in range(5):
        dispatcher.run_due()
        clock.now += timedelta(hours=2)
    item = store.action("f1.1")
    assert item.status == "dead" and item.attempts == 3
    assert "gave up after 3 attempts" in (item.last_error or "")
    assert [s for i, s in statuses(events) if i == "f1.1"] == ["retry", "retry", "dead"]


@pytest.mark.parametrize(
    "error",
    [
        AuthFailed("401 for support"),
        ActionFailed("404 from receiver", retryable=False),
        AutomationError("unknown account support"),  # e.g. after a config edit
    ],
)
def test_errors_retrying_cannot_fix_are_dead_at_once(error: Exception) -> None:
    store, dispatcher, _clock, _events, _fake = setup({"webhook": [error]})
    dispatcher.run_due()
    assert store.action("f1.1").status == "dead"
    assert store.action("f1.1").last_error == str(error)  # no "gave up": it never retried
    assert store.action("f1.0").status == "sent"


def test_an_unknown_kind_is_dead_not_a_crash() -> None:
    store = MemoryStore()
    firing = FiringRecord(
        id="f9",
        rule_id="r",
        post_id="1",
        key="once",
        kind="fired",
        at=T0,
        actions=(ActionRecord(0, "teleport", '{"kind":"teleport"}'),),
    )
    store.commit_cycle(CycleWrite(at=T0, firings=(firing,)))
    events: list[Any] = []
    dispatcher = Dispatcher(
        store=store,
        performers=Fake({}).performers(),
        settings=ActionSettings(),
        clock=Clock(T0),
        emit=events.append,
    )
    dispatcher.run_due()
    assert store.action("f9.0").status == "dead"


def _corrupt(path: Path, action_id: str, payload: str) -> None:
    """What a hand edit or a half-restored file leaves behind."""
    conn = sqlite3.connect(path)
    with conn:
        conn.execute("UPDATE outbox SET payload = ? WHERE id = ?", (payload, action_id))
    conn.close()


CORRUPTIONS = {
    "not json": "{'kind': 'repost'",
    "not an object": "[1, 2, 3]",
    "missing fields": '{"kind": "repost", "post_id": "1"}',
    "wrong types": '{"kind": "repost", "as": ["support"], "post_id": "1"}',
    "kind disagrees": '{"kind": "log", "message": "hello"}',
}


def test_corrupted_outbox_rows_are_dead_with_the_reason_and_the_good_ones_are_sent(
    tmp_path: Path,
) -> None:
    path = tmp_path / "state.db"
    repost = {"kind": "repost", "as": "support", "post_id": "1"}
    firings = [
        FiringRecord(
            id=f"f{n}",
            rule_id="r",
            post_id=str(n),
            key="once",
            kind="fired",
            at=T0,
            actions=(ActionRecord(0, "repost", json.dumps({**repost, "post_id": str(n)})),),
        )
        for n in range(len(CORRUPTIONS) * 2)
    ]
    with SqliteStore.open(path) as store:
        store.commit_cycle(CycleWrite(at=T0, firings=tuple(firings)))
    bad = {f"f{2 * n}.0": text for n, text in enumerate(CORRUPTIONS.values())}
    for action_id, text in bad.items():
        _corrupt(path, action_id, text)

    fake = Fake({})
    with SqliteStore.open(path) as store:
        dispatcher = Dispatcher(
            store=store,
            performers=fake.performers(),
            settings=ActionSettings(),
            clock=Clock(T0),
            emit=lambda event: None,
        )
        assert dispatcher.run_due() == len(firings) - len(bad)
        assert dispatcher.run_due() == 0  # nothing is left to block a later cycle
        good = {f.id + ".0" for f in firings} - bad.keys()
        assert sorted(post for _, post in fake.calls) == sorted(
            store.action(a).post_id for a in good
        )
        assert {a: store.action(a).status for a in good} == dict.fromkeys(good, "sent")
        for action_id in bad:
            item = store.action(action_id)
            assert item.status == "dead" and item.attempts == 1, action_id
            assert (item.last_error or "").startswith(("unreadable outbox row", "unknown"))


def test_a_performer_that_crashes_is_recorded_for_a_retry_and_the_queue_moves_on() -> None:
    store, dispatcher, _clock, events, _fake = setup({"repost": [KeyError("as")]})
    assert dispatcher.run_due() == 1
    assert store.action("f1.0").status == "pending"
    assert "internal error: KeyError" in (store.action("f1.0").last_error or "")
    assert store.action("f1.1").status == "sent"
    assert statuses(events) == [("f1.0", "retry"), ("f1.1", "sent")]


def test_a_full_batch_is_followed_by_the_next_one_in_the_same_step() -> None:
    store = MemoryStore()
    logs = tuple(
        ActionRecord(i, "log", json.dumps({"kind": "log", "message": "m"})) for i in range(5)
    )
    firing = FiringRecord(
        id="f", rule_id="r", post_id="1", key="once", kind="fired", at=T0, actions=logs
    )
    store.commit_cycle(CycleWrite(at=T0, firings=(firing,)))
    dispatcher = Dispatcher(
        store=store,
        performers=Fake({}).performers(),
        settings=ActionSettings(),
        clock=Clock(T0),
        emit=lambda event: None,
        limits=DispatchLimits(batch=2, refresh=3600),
        monotonic=lambda: 0.0,
    )
    assert dispatcher.run_due() == 5
    assert store.action_counts()["sent"] == 5

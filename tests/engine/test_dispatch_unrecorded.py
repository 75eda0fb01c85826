"""The outbox when the database stops taking writes between performing an action and
recording it (a full disk, a mount turned read-only): the action is not performed again
while its outcome waits to be recorded, and nothing recorded is lost once writes work."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from clock import Clock

from automation.config.model import ActionSettings
from automation.core.errors import ServerFailed
from automation.core.records import ActionRecord, CycleWrite, FiringRecord
from automation.engine.dispatch import Dispatcher
from automation.engine.events import ActionEvent, Event
from automation.engine.performers import Performers
from automation.store.sqlite import SqliteStore

T0 = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
WEBHOOK = {"kind": "webhook", "url": "https://h.example", "body": "{}", "post_id": "1"}


def writable(store: SqliteStore, yes: bool) -> None:
    """As when the disk fills up (or the mount turns read-only) and is freed again."""
    store._conn.execute(f"PRAGMA query_only = {0 if yes else 1}")


def setup(
    path: Path, outcome: Exception | None
) -> tuple[SqliteStore, Dispatcher, Clock, list[Event], list[str]]:
    store = SqliteStore.open(path)
    actions = (
        ActionRecord(0, "repost", json.dumps({"kind": "repost", "as": "support", "post_id": "1"})),
        ActionRecord(1, "webhook", json.dumps(WEBHOOK)),
    )
    firing = FiringRecord(
        id="f1", rule_id="r", post_id="1", key="once", kind="fired", at=T0, actions=actions
    )
    store.commit_cycle(CycleWrite(at=T0, firings=(firing,)))
    clock, events, performed = Clock(T0), [], []

    def perform(kind: str, ident: str) -> str:
        performed.append(f"{kind} {ident}")
        writable(store, False)  # the disk fills up while the action is on its way
        if outcome is not None:
            raise outcome
        return "ok"

    dispatcher = Dispatcher(
        store=store,
        performers=Performers(
            x_write=lambda kind, account, post, text: perform(kind, post),
            webhook=lambda action_id, payload: perform("webhook", action_id),
            log_message=lambda message: None,
        ),
        settings=ActionSettings(first_retry=600, max_attempts=5),
        clock=clock,
        emit=events.append,
        rng=random.Random(1),
    )
    return store, dispatcher, clock, events, performed


def test_an_action_sent_but_not_recorded_is_not_sent_again_and_is_recorded_later(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store, dispatcher, clock, events, performed = setup(tmp_path / "state.db", None)
    for _ in range(5):  # cycles while the disk stays full
        dispatcher.run_due()
        dispatcher.work(0.0)
        clock.now += timedelta(seconds=15)
    assert performed == ["repost 1", "webhook f1.1"]
    assert [store.action(i).status for i in ("f1.0", "f1.1")] == ["pending", "pending"]
    assert "could not record the attempt at action f1.1" in caplog.text

    writable(store, True)  # space freed
    dispatcher.run_due()
    assert performed == ["repost 1", "webhook f1.1"]
    assert [(store.action(i).status, store.action(i).attempts) for i in ("f1.0", "f1.1")] == [
        ("sent", 1),
        ("sent", 1),
    ]
    assert [(e.id, e.status) for e in events if isinstance(e, ActionEvent)] == [
        ("f1.0", "sent"),
        ("f1.1", "sent"),
    ]
    dispatcher.close()
    store.close()


def test_a_failed_attempt_not_recorded_waits_for_its_backoff_not_resent_at_once(
    tmp_path: Path,
) -> None:
    store, dispatcher, clock, _events, performed = setup(
        tmp_path / "state.db", ServerFailed("503", status=503)
    )
    for _ in range(3):
        dispatcher.run_due()
        clock.now += timedelta(seconds=15)
    assert performed == ["repost 1", "webhook f1.1"]

    writable(store, True)
    dispatcher.run_due()  # records both retries; neither is due before its backoff
    assert performed == ["repost 1", "webhook f1.1"]
    item = store.action("f1.1")
    assert (item.status, item.attempts) == ("pending", 1)
    assert item.next_attempt_at > clock.now
    dispatcher.close()
    store.close()


def test_an_outcome_still_unrecorded_at_the_stop_is_given_back_with_its_key(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "state.db"
    store, dispatcher, _clock, _events, performed = setup(path, None)
    dispatcher.run_due()
    dispatcher.close()  # the engine stops with the disk still full
    assert "sent again, with the same idempotency keys" in caplog.text
    store.close()
    with SqliteStore.open(path) as again:  # the next engine performs them again
        assert [a.id for a in again.claim_actions(T0, 10)] == ["f1.0", "f1.1"]
    assert performed == ["repost 1", "webhook f1.1"]


def test_an_outcome_the_store_never_takes_does_not_hold_up_the_others(tmp_path: Path) -> None:
    store, dispatcher, _clock, _events, performed = setup(tmp_path / "state.db", None)
    dispatcher.run_due()
    writable(store, True)
    store._conn.execute("DELETE FROM outbox WHERE id = 'f1.0'")  # gone, say by a hand edit
    store._conn.commit()
    dispatcher.run_due()  # f1.0's record fails, and goes last
    dispatcher.run_due()
    assert (store.action("f1.1").status, store.action("f1.1").attempts) == ("sent", 1)
    assert performed == ["repost 1", "webhook f1.1"]
    dispatcher.close()
    store.close()

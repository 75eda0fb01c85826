"""Post actions waiting for X's write limits while the database takes no writes (a full
disk): they are claimed and handed back about once a second, which the log says once,
then at most once a minute with the count, and once when it works again; none is sent
before its limit allows, and each goes back to wait with its due time once writes work."""

from __future__ import annotations

import json
import logging
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from clock import Clock

from automation.config.model import ActionSettings
from automation.core.records import ActionRecord, CycleWrite, FiringRecord
from automation.engine.dispatch import Dispatcher
from automation.engine.performers import Performers
from automation.store.sqlite import SqliteStore
from automation.x.write_limits import Window, WriteLimits

T0 = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


def queue_reposts(store: SqliteStore, posts: list[str]) -> None:
    actions = tuple(
        ActionRecord(n, "repost", json.dumps({"kind": "repost", "as": "brand", "post_id": p}))
        for n, p in enumerate(posts)
    )
    firing = FiringRecord(
        id="f1", rule_id="r", post_id="1", key="once", kind="fired", at=T0, actions=actions
    )
    store.commit_cycle(CycleWrite(at=T0, firings=(firing,)))


def full_disk(path: Path, performed: list[str]) -> tuple[SqliteStore, Dispatcher, Clock]:
    """Three reposts waiting for brand's limit, used up until 13:00, on a full disk."""
    store, clock = SqliteStore.open(path), Clock(T0)
    queue_reposts(store, ["1", "2", "3"])
    limits = WriteLimits([Window("repost 1h", frozenset({"repost"}), 1, 3600)])
    limits.record("brand", "repost", T0.timestamp())
    dispatcher = Dispatcher(
        store=store,
        performers=Performers(
            x_write=lambda kind, account, post, text: performed.append(post) or "done",
            webhook=lambda action_id, payload: "delivered",
            log_message=lambda message: None,
        ),
        settings=ActionSettings(first_retry=600, max_attempts=5),
        clock=clock,
        emit=lambda event: None,
        rng=random.Random(1),
        pacing=limits,
    )
    store._conn.execute("PRAGMA query_only = 1")
    return store, dispatcher, clock


def postpone_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if "postpon" in r.getMessage()]


def test_a_postpone_the_store_refuses_is_said_once_a_minute_and_when_it_works(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="automation.actions")
    performed: list[str] = []
    store, dispatcher, clock = full_disk(tmp_path / "state.db", performed)

    for _ in range(150):  # asked about once a second, for two and a half minutes
        dispatcher.run_due()
        clock.now += timedelta(seconds=1)
    store._conn.execute("PRAGMA query_only = 0")  # space freed
    dispatcher.run_due()

    said = postpone_lines(caplog)
    assert [text.split(": ")[0] for text in said] == ["could not postpone 3 actions"] * 3 + [
        "postponing actions works again, after 150 failures since 2026-11-26T12:00:00Z"
    ]
    assert "said again at most every 1m while it fails" in said[0]
    assert "(60 more failures since 2026-11-26T12:00:00Z" in said[1]
    assert "(60 more failures since 2026-11-26T12:01:00Z" in said[2]
    assert performed == []  # not a moment before the limit allows
    assert [store.action(f"f1.{n}").next_attempt_at for n in range(3)] == [T0 + HOUR] * 3
    dispatcher.close()
    store.close()


def test_the_first_write_the_store_takes_ends_the_run_though_nothing_waits_any_more(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="automation.actions")
    performed: list[str] = []
    store, dispatcher, clock = full_disk(tmp_path / "state.db", performed)
    dispatcher.run_due()  # refused
    clock.now = T0 + HOUR  # the limit passed: performed, their outcomes kept
    dispatcher.run_due()
    assert performed == ["1", "2", "3"]
    assert len(postpone_lines(caplog)) == 1

    store._conn.execute("PRAGMA query_only = 0")
    dispatcher.run_due()  # records the kept outcomes

    assert postpone_lines(caplog)[1:] == [
        "postponing actions works again, after 1 failure since 2026-11-26T12:00:00Z"
    ]
    assert [store.action(f"f1.{n}").status for n in range(3)] == ["sent"] * 3
    dispatcher.close()
    store.close()

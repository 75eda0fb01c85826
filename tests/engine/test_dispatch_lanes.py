"""Draining the outbox: receivers in parallel, each account in order within X's write limits,
nothing slow holding up the rest, and a stop that keeps what was not sent.

The parallel tests use real worker threads and prove what they claim by events, not
timings: a delivery that hangs until the test releases it, a barrier that only opens when
several accounts write at once.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from clock import Clock

from automation.config.model import ActionSettings
from automation.core.records import ActionRecord, CycleWrite, FiringRecord
from automation.engine import pauses
from automation.engine.dispatch import Dispatcher, DispatchLimits
from automation.engine.performers import Performers
from automation.engine.workers import ThreadWorkers, Workers
from automation.store.memory import MemoryStore
from automation.x.write_limits import Window, WriteLimits

T0 = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
PATIENCE = 20.0  # seconds a test waits for something that takes milliseconds


def queue(store: MemoryStore, actions: list[dict[str, Any]]) -> list[str]:
    """One firing per action, in this order; returns the action ids."""
    start = len(store.actions(limit=1_000_000))
    firings = tuple(
        FiringRecord(
            id=f"f{n:03d}",
            rule_id="r",
            post_id=str(n),
            key="once",
            kind="fired",
            at=T0,
            actions=(ActionRecord(0, action["kind"], json.dumps(action)),),
        )
        for n, action in enumerate(actions, start=start)
    )
    store.commit_cycle(CycleWrite(at=T0, firings=firings))
    return [f"{f.id}.0" for f in firings]


def hook(host: str, n: int) -> dict[str, Any]:
    return {"kind": "webhook", "url": f"https://{host}/in", "body": "{}", "post_id": str(n)}


def repost(account: str, post: str, kind: str = "repost") -> dict[str, Any]:
    return {"kind": kind, "as": account, "post_id": post}


def performers(
    x_write: Callable[[str, str, str, str | None], str] = lambda *a: "done",
    webhook: Callable[[str, dict[str, Any]], str] = lambda i, p: "delivered",
) -> Performers:
    return Performers(x_write=x_write, webhook=webhook, log_message=lambda m: None)


def dispatcher(
    store: MemoryStore,
    perform: Performers,
    *,
    workers: Workers | None = None,
    clock: Clock | None = None,
    **kwargs: Any,
) -> Dispatcher:
    return Dispatcher(
        store=store,
        performers=perform,
        settings=ActionSettings(first_retry=10, max_attempts=3),
        clock=clock or Clock(T0),
        emit=lambda event: None,
        workers=workers,
        **kwargs,
    )


def work_until(d: Dispatcher, condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + PATIENCE
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"gave up waiting for {what}")
        d.work(0.05)


def statuses(store: MemoryStore, ids: list[str]) -> list[str]:
    return [store.action(i).status for i in ids]


@pytest.fixture
def release() -> Iterator[threading.Event]:
    """Set at teardown too, so no worker outlives a failing test by more than a moment."""
    event = threading.Event()
    yield event
    event.set()


def test_a_hanging_receiver_holds_up_neither_other_receivers_nor_the_next_cycle(
    release: threading.Event,
) -> None:
    store = MemoryStore()
    started: Counter[str] = Counter()
    lock = threading.Lock()

    def webhook(action_id: str, payload: dict[str, Any]) -> str:
        with lock:
            started[payload["url"]] += 1
        if "hang" in payload["url"]:
            release.wait(PATIENCE)  # a receiver that does not answer until told
        return "delivered"

    hung = queue(store, [hook("hang.example", n) for n in range(10)])
    fast = queue(store, [hook("fast.example", n) for n in range(10)])
    d = dispatcher(
        store,
        performers(webhook=webhook),
        workers=ThreadWorkers(8),
        limits=DispatchLimits(per_receiver=3, settle=0.05),
    )
    try:
        sent = d.run_due()  # a cycle's step returns although deliveries hang
        work_until(d, lambda: statuses(store, fast) == ["sent"] * 10, "the other receiver")
        sent += d.run_due()  # the next cycle's step is not held up either
        assert statuses(store, hung) == ["pending"] * 10
        assert started["https://hang.example/in"] == 3  # its lane, and no more
        assert d.in_flight == 3
        release.set()
        work_until(d, lambda: statuses(store, hung) == ["sent"] * 10, "the slow receiver")
        assert sent + d.run_due() == 20  # every sending counted once, between cycles too
    finally:
        d.close(grace=1.0)


def test_each_account_writes_one_at_a_time_in_order_while_accounts_write_at_once() -> None:
    store = MemoryStore()
    accounts = ("brand", "support", "news")
    together = threading.Barrier(len(accounts), timeout=PATIENCE)
    lock = threading.Lock()
    active: Counter[str] = Counter()
    peak: Counter[str] = Counter()
    done: dict[str, list[str]] = {a: [] for a in accounts}

    def x_write(kind: str, account: str, post_id: str, text: str | None) -> str:
        with lock:
            active[account] += 1
            peak[account] = max(peak[account], active[account])
        if not done[account]:
            together.wait()  # opens only when every account's first write runs at once
        time.sleep(0.002)  # room for an overlap, if the dispatcher allowed one
        with lock:
            active[account] -= 1
            done[account].append(post_id)
        return "done"

    queued = [repost(a, f"{a}-{n}") for n in range(12) for a in accounts]
    queue(store, queued)
    d = dispatcher(store, performers(x_write=x_write), workers=ThreadWorkers(8))
    try:
        report = d.drain()
    finally:
        d.close()
    assert report.sent == len(queued) and not report.stopped and report.pending == 0
    for account in accounts:
        assert done[account] == [f"{account}-{n}" for n in range(12)]
        assert peak[account] == 1


def test_a_used_up_write_limit_is_the_only_wait_and_costs_no_attempt() -> None:
    store, clock = MemoryStore(), Clock(T0)
    limits = WriteLimits([Window("repost 1m", frozenset({"repost"}), 2, 60)])
    calls: list[str] = []

    def x_write(kind: str, account: str, post_id: str, text: str | None) -> str:
        limits.record(account, kind, clock.now.timestamp())  # what the X client does
        calls.append(post_id)
        return "done"

    ids = queue(
        store,
        [
            repost("brand", "1"),
            repost("brand", "2"),
            repost("brand", "3"),
            repost("brand", "4"),
            repost("brand", "5", kind="like"),  # another limit: it need not wait
            repost("support", "6"),
            repost("support", "7"),
        ],
    )
    d = dispatcher(store, performers(x_write=x_write), clock=clock, pacing=limits)

    report = d.drain()

    assert [c for c in calls if c < "6"] == ["1", "2", "5"]  # brand's, in order
    assert [c for c in calls if c >= "6"] == ["6", "7"]
    waiting = [store.action(i) for i in ids[2:4]]
    assert [(a.status, a.attempts) for a in waiting] == [("pending", 0)] * 2
    assert [a.next_attempt_at for a in waiting] == [T0 + timedelta(seconds=60)] * 2
    assert (report.sent, report.pending, report.waiting) == (5, 2, 2)
    assert report.waiting_until == T0 + timedelta(seconds=60)
    assert "2 wait for X's write limits, the first until 2026-11-26T12:01:00Z" in report.summary()

    clock.now += timedelta(seconds=59)
    assert d.drain().sent == 5  # not a moment early
    clock.now += timedelta(seconds=1)
    later = d.drain()
    assert (later.sent, later.pending, later.waiting) == (7, 0, 0)
    assert calls[-2:] == ["3", "4"]
    assert [store.action(i).attempts for i in ids[2:4]] == [1, 1]


def test_a_stopped_drain_finishes_what_is_in_flight_and_gives_back_the_rest() -> None:
    store = MemoryStore()
    stop = threading.Event()
    performed: Counter[str] = Counter()
    lock = threading.Lock()

    def webhook(action_id: str, payload: dict[str, Any]) -> str:
        with lock:
            performed[action_id] += 1
            if len(performed) == 5:
                stop.set()
        return "delivered"

    ids = queue(store, [hook("one.example", n) for n in range(200)])
    d = dispatcher(
        store, performers(webhook=webhook), workers=ThreadWorkers(4), limits=DispatchLimits()
    )

    report = d.drain(should_stop=stop.is_set, grace=PATIENCE)

    sent = [i for i in ids if store.action(i).status == "sent"]
    assert report.stopped and report.sent == len(sent)
    assert sorted(performed) == sorted(sent)  # in flight at the stop: finished and recorded
    assert report.pending == 200 - len(sent) > 0
    assert "stopped with" in report.summary()
    # Nothing is left claimed: the next engine is handed every one that was not sent.
    assert len(store.claim_actions(T0, 1000)) == report.pending


def test_closing_does_not_wait_for_a_hung_delivery_and_keeps_it_pending(
    release: threading.Event,
) -> None:
    store = MemoryStore()
    [hung] = queue(store, [hook("hang.example", 0)])

    def webhook(action_id: str, payload: dict[str, Any]) -> str:
        release.wait(PATIENCE)
        return "delivered"

    d = dispatcher(
        store,
        performers(webhook=webhook),
        workers=ThreadWorkers(2),
        limits=DispatchLimits(settle=0.0),
    )
    d.run_due()
    assert d.in_flight == 1
    d.close(grace=0.0)
    assert store.action(hung).status == "pending" and store.action(hung).attempts == 0
    assert [a.id for a in store.claim_actions(T0, 10)] == [hung]  # handed out again


def test_a_drain_leaves_a_retry_due_later_in_the_outbox_and_says_so() -> None:
    store, clock = MemoryStore(), Clock(T0)
    refused: set[str] = set()

    def webhook(action_id: str, payload: dict[str, Any]) -> str:
        if payload["url"].startswith("https://down.example") and action_id not in refused:
            refused.add(action_id)
            raise OSError("connection refused")
        return "delivered"

    down = queue(store, [hook("down.example", 0)])
    up = queue(store, [hook("up.example", n) for n in range(1, 6)])
    d = dispatcher(store, performers(webhook=webhook), workers=ThreadWorkers(4), clock=clock)
    try:
        report = d.drain()  # the clock stands still: the retry is never due during it
    finally:
        d.close()

    assert statuses(store, up) == ["sent"] * 5
    [retry] = [store.action(i) for i in down]
    assert (retry.status, retry.attempts) == ("pending", 1)
    assert retry.next_attempt_at is not None and retry.next_attempt_at > T0
    assert (report.sent, report.pending, report.waiting, report.stopped) == (5, 1, 0, False)
    assert report.summary() == (
        "every due action performed (5 sent); 1 pending for later (retries, or waiting for a limit)"
    )


def test_a_pause_holds_back_the_actions_claimed_before_it_that_had_not_started(
    release: threading.Event,
) -> None:
    """Actions claimed and held (their receiver's lane full) when the rule is paused wait
    in the outbox, as the README says, instead of starting once the lane frees."""
    store = MemoryStore()
    started: list[str] = []

    def webhook(action_id: str, payload: dict[str, Any]) -> str:
        started.append(action_id)
        release.wait(PATIENCE)  # the first holds the receiver's one lane until told
        return "delivered"

    ids = queue(store, [hook("slow.example", n) for n in range(3)])
    d = dispatcher(
        store,
        performers(webhook=webhook),
        workers=ThreadWorkers(2),
        limits=DispatchLimits(per_receiver=1, settle=0.05, refresh=0.0),
    )
    try:
        d.run_due()  # claims all three, starts the first, holds the others
        work_until(d, lambda: started == ids[:1], "the first delivery to start")
        pauses.pause(store, "r", who="operator", now=T0, known_rules=["r"])
        release.set()
        work_until(d, lambda: statuses(store, ids)[0] == "sent", "the first delivery")
        d.run_due()
        assert started == ids[:1]
        assert statuses(store, ids) == ["sent", "pending", "pending"]
        pauses.resume(store, "r", who="operator", now=T0)
        d.run_due()
        work_until(d, lambda: statuses(store, ids) == ["sent"] * 3, "the rest after resume")
    finally:
        d.close(grace=1.0)

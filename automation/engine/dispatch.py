"""Perform the outbox's due actions as soon as they are due: claim, perform, record.

A recorded firing's actions live in the outbox until they are sent or dead, so a crash, a
restart or a dead receiver only delays them. The dispatcher claims due actions from the
store (which hands each one out once), performs them on a bounded pool of workers and
records each outcome on the engine's own thread, the only one that touches the store.

Actions go in lanes, so nothing slow holds up the rest:

- webhooks by receiver (``scheme://host:port``), at most ``per_receiver`` at once each:
  a receiver that hangs until its timeout ties up its own lane, never another's;
- post actions (repost, like, reply, quote) by acting account, one at a time in the order
  queued, within X's per-user write limits. A write whose limit is used up is handed back
  to the store, due when the limit allows, without counting an attempt: that limit is the
  only reason an action due now waits. The account's other kinds of write go on meanwhile;
- log lines, which never wait.

Each action is attempted on its own: a sibling's failure never re-sends one that
succeeded, and retries reuse the payload rendered at firing time, hence the same body and
idempotency key. Whatever goes wrong with one action is recorded against it, and the
queue moves on. An outcome the store cannot record (a full disk) is kept, with its time,
and recorded at a later cycle; the action stays claimed meanwhile, so it is not performed
again. Only an engine that stops before then leaves it pending, to be performed again,
with the same idempotency key, by the next.

The engine drives it three ways: ``run_due`` in each cycle (claim, start, and record what
finishes within ``settle`` seconds), ``work`` between cycles, and ``drain`` for
``run --once``. ``close`` gives back what was never started.
"""

from __future__ import annotations

import logging
import math
import random
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from automation.config.model import ActionSettings
from automation.core.errors import ActionFailed, AutomationError, DatabaseUnreachable
from automation.core.payloads import iso
from automation.core.records import OutboxItem
from automation.core.wording import counted
from automation.engine.digest_jobs import digest_payload, in_order
from automation.engine.events import Sink
from automation.engine.outbox_actions import POST_KINDS, OutboxAction, decode_action
from automation.engine.outcomes import Outcomes, as_failure
from automation.engine.pauses import held_rules
from automation.engine.performers import Performers
from automation.engine.webhook import origin
from automation.engine.workers import Finished, InlineWorkers, Workers
from automation.engine.write_waits import WritePacing, WriteWaits
from automation.store.base import Store

__all__ = ["DispatchLimits", "Dispatcher", "DrainReport"]

log = logging.getLogger("automation.actions")

_TICK = 0.25  # the longest a wait goes without looking at its stop condition
_T = TypeVar("_T")
_Unrecorded = tuple[bool, Callable[[], None]]  # (was it a send, record it)


@dataclass(frozen=True)
class DispatchLimits:
    """How much runs at once, and how patient the dispatcher is."""

    per_receiver: int = 24  # webhooks in flight to one receiver
    batch: int = 200  # actions claimed from the store at a time
    max_held: int = 5_000  # claimed but not started: a bound on memory
    settle: float = 1.0  # how long a cycle waits for the actions it started
    refresh: float = 1.0  # how soon to ask the store again after it had nothing more


@dataclass(frozen=True)
class DrainReport:
    """What ``drain`` left behind: ``stopped`` when it was asked to stop before the end."""

    sent: int
    stopped: bool
    pending: int  # still pending in the outbox
    waiting: int = 0  # of which handed back to wait for a write limit during this drain
    waiting_until: datetime | None = None

    def summary(self) -> str:
        if self.stopped:
            return (
                f"stopped with {self.pending} actions left in the outbox; they go out, "
                "with the same idempotency keys, when the engine runs again"
            )
        text = f"every due action performed ({self.sent} sent)"
        if self.pending:
            text += f"; {self.pending} pending for later (retries, or waiting for a limit)"
        if self.waiting and self.waiting_until is not None:
            text += (
                f": {self.waiting} wait for X's write limits, the first until "
                f"{iso(self.waiting_until)}"
            )
        return text


@dataclass(frozen=True)
class _Job:
    """One thing to perform: an action, or a digest's first action with the rest of its
    window (``more``), sent as one request."""

    item: OutboxItem
    action: OutboxAction
    lane: str
    more: tuple[tuple[OutboxItem, OutboxAction], ...] = ()

    @property
    def items(self) -> tuple[OutboxItem, ...]:
        return (self.item, *(item for item, _ in self.more))


class Dispatcher:
    def __init__(
        self,
        *,
        store: Store,
        performers: Performers,
        settings: ActionSettings,
        clock: Callable[[], datetime],
        emit: Sink,
        rng: random.Random | None = None,
        workers: Workers | None = None,
        pacing: WritePacing | None = None,
        after_writes: Callable[[], None] = lambda: None,
        limits: DispatchLimits = DispatchLimits(),
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._store = store
        self._performers = performers
        self._outcomes = Outcomes(
            store=store, settings=settings, clock=clock, emit=emit, rng=rng or random.Random()
        )
        self._clock = clock
        self._workers: Workers = workers or InlineWorkers()
        self._waits = WriteWaits(store, pacing, clock)
        self._after_writes = after_writes
        self._limits = limits
        self._monotonic = monotonic
        self._held: dict[str, deque[_Job]] = {}  # lane -> claimed jobs in queue order
        self._pauses_after = -math.inf  # when held jobs' pauses are next read
        self._held_count = 0
        self._running: dict[str, _Job] = {}
        self._launched: set[str] = set()  # started since run_due began
        self._busy: Counter[str] = Counter()
        self._unrecorded: dict[str, _Unrecorded] = {}  # performed; the store refused the record
        self._claim_after = -math.inf  # monotonic time before which the store is not asked
        self._sent = 0  # since the last run_due
        self._sent_in_all = 0
        self._closed = False

    def configure(self, *, performers: Performers, settings: ActionSettings) -> None:
        """Use a reloaded config from the next action started; running ones finish as
        they began."""
        self._performers, self._outcomes.settings = performers, settings

    @property
    def in_flight(self) -> int:
        return len(self._running)

    # --- the ways the engine drives it ----------------------------------------------------

    def run_due(self, *, should_stop: Callable[[], bool] = lambda: False) -> int:
        """A cycle's step: claim what is due (the cycle may just have queued it), start it,
        and record what finishes within ``settle`` seconds; the rest is recorded as it
        finishes, between cycles. Returns how many actions were sent since the last call.
        With synchronous workers every due action is performed before it returns."""
        self._claim_after = -math.inf
        self._launched.clear()
        self._record_unrecorded()
        patience = math.inf if self._workers.synchronous else self._limits.settle
        self._run(patience, should_stop, idle=lambda: self._launched.isdisjoint(self._running))
        sent, self._sent = self._sent, 0
        return sent

    def work(self, seconds: float, *, should_stop: Callable[[], bool] = lambda: False) -> None:
        """Between cycles: for ``seconds``, record what finishes and start what comes due
        (retries, deferred writes); returns early when ``should_stop()``."""
        self._run(seconds, should_stop, idle=lambda: False)

    def drain(
        self, *, should_stop: Callable[[], bool] = lambda: False, grace: float = 5.0
    ) -> DrainReport:
        """Perform every action due now and wait for each to finish (``run --once``).
        Retries scheduled for later and writes waiting for a limit stay in the outbox.
        Asked to stop, it gives the actions in flight ``grace`` seconds to finish and
        hands everything else back."""
        self._claim_after = -math.inf
        self._run(math.inf, should_stop, idle=lambda: not self._running)
        stopped = should_stop()
        if stopped:
            self._stop(grace)
        try:
            pending = self._store.action_counts()["pending"]
        except AutomationError as exc:
            log.error("could not count the pending actions: %s", exc)
            pending = 0
        return DrainReport(
            sent=self._sent_in_all,
            stopped=stopped,
            pending=pending,
            waiting=self._waits.count,
            waiting_until=self._waits.first,
        )

    def close(self, grace: float = 5.0) -> None:
        """Stop: start nothing more, record what finishes within ``grace`` seconds, and
        give everything else back to the store with its idempotency key."""
        if not self._closed:
            self._stop(grace)
        self._workers.close()

    def _stop(self, grace: float) -> None:
        self._closed = True
        deadline = self._monotonic() + grace
        while self._running and (left := deadline - self._monotonic()) > 0:
            self._record(self._workers.take(min(_TICK, left)))
        self._record_unrecorded()
        unfinished = [item.id for job in self._running.values() for item in job.items]
        unfinished += self._unrecorded  # performed, but the store took no record of it
        held = [item.id for lane in self._held.values() for job in lane for item in job.items]
        self._running.clear()
        self._held.clear()
        self._held_count = 0
        if unfinished:
            log.warning(
                "stopped with %d actions in flight or not recorded; they are sent again, with"
                " the same idempotency keys, when the engine runs again",
                len(unfinished),
            )
        self._unrecorded.clear()
        try:
            self._store.release_actions([*unfinished, *held])
        except AutomationError as exc:
            log.error("could not give back the unstarted actions: %s", exc)

    # --- the loop -------------------------------------------------------------------------

    def _run(
        self, seconds: float, should_stop: Callable[[], bool], *, idle: Callable[[], bool]
    ) -> None:
        """Start and record until ``idle()`` (checked after each start), ``seconds`` pass,
        or ``should_stop()``."""
        deadline = self._monotonic() + max(0.0, seconds)
        while not self._closed and not should_stop():
            self._fill()
            if idle():
                return
            left = deadline - self._monotonic()
            if left <= 0:
                return
            finished = self._workers.take(min(_TICK, left))
            self._record(finished, refill=lambda: None if should_stop() else self._fill())

    def _fill(self) -> None:
        """Start what can start; claim more while workers are free and the store has more.
        After the store had nothing more, it is asked again ``refresh`` seconds later."""
        now = self._clock()
        self._hold_back_paused(now)
        self._start(now)
        while self._free() and self._held_count < self._limits.max_held:
            if self._monotonic() < self._claim_after:
                return
            try:
                paused = held_rules(self._store, now)  # a paused rule's actions wait
                if paused is None:
                    self._claim_after = self._monotonic() + self._limits.refresh
                    return
                claimed = self._store.claim_actions(now, self._limits.batch, skip_rules=paused)
            except DatabaseUnreachable as exc:
                # The engine's election says so in one line (spec section 13); the store
                # connects again when it is next asked, ``refresh`` seconds from now.
                log.debug("could not read the outbox: %s", exc)
                claimed = []
            except AutomationError as exc:
                log.error("could not read the outbox: %s", exc)
                claimed = []
            for group in in_order(claimed):
                self._hold(group)
            self._start(now)
            if len(claimed) < self._limits.batch:
                self._claim_after = self._monotonic() + self._limits.refresh
                return
            self._claim_after = -math.inf

    def _hold_back_paused(self, now: datetime) -> None:
        """Give back to the outbox the claimed jobs not started yet of the rules paused
        since their claim: a pause holds back every action that has not started (README,
        "Pause a rule"). Pauses are read again at most every ``refresh`` seconds."""
        if not self._held_count or self._monotonic() < self._pauses_after:
            return
        self._pauses_after = self._monotonic() + self._limits.refresh

        def paused(job: _Job) -> bool:
            return rules is None or any(item.rule_id in rules for item in job.items)

        try:
            rules = held_rules(self._store, now)
            back = [
                item.id for q in self._held.values() for j in q if paused(j) for item in j.items
            ]
            if back:
                self._store.release_actions(back)
        except AutomationError as exc:
            log.debug("could not give back the actions of paused rules: %s", exc)
            return
        for lane, queue in list(self._held.items()):
            kept = deque(job for job in queue if not paused(job))
            self._held_count -= len(queue) - len(kept)
            if kept:
                self._held[lane] = kept
            else:
                del self._held[lane]

    def _free(self) -> bool:
        return len(self._running) < self._workers.size

    def _hold(self, group: tuple[OutboxItem, ...]) -> None:
        """Hold one claimed action, or a digest's (those that can be read) as one job."""
        readable: list[tuple[OutboxItem, OutboxAction]] = []
        for member in group:
            try:
                readable.append((member, decode_action(member)))
            except ActionFailed as exc:
                self._guarded(member, self._outcomes.failed, exc)
        if not readable:
            return
        (item, action), more = readable[0], tuple(readable[1:])
        if action.kind in POST_KINDS:
            lane = f"account {action.account}"
        elif action.kind == "webhook":
            url = self._performers.destination(str(action.payload["url"]))
            lane = f"receiver {origin(url)}"
        else:
            lane = "log"
        self._held.setdefault(lane, deque()).append(_Job(item, action, lane, more))
        self._held_count += 1

    def _capacity(self, lane: str) -> int:
        if lane.startswith("account "):
            return 1
        if lane.startswith("receiver "):
            return self._limits.per_receiver
        return self._workers.size

    def _start(self, now: datetime) -> None:
        """Start held jobs, one per lane in turn (lanes in the order first claimed), so a
        lane with a long queue does not take every free worker before the others."""
        deferred: dict[datetime, list[str]] = {}
        started = True
        while started and self._free():
            started = False
            for lane in list(self._held):
                queue = self._held[lane]
                if self._busy[lane] < self._capacity(lane):
                    job = queue.popleft()
                    self._held_count -= 1
                    started = True
                    until = self._waits.until(job.item.id, job.action, now)
                    if until is None:
                        self._launch(job)
                    else:
                        deferred.setdefault(until, []).append(job.item.id)
                if not queue:
                    del self._held[lane]
                if not self._free():
                    break
        for until, ids in deferred.items():
            self._waits.give_back(ids, until)

    def _launch(self, job: _Job) -> None:
        self._busy[job.lane] += 1
        self._running[job.item.id] = job
        self._launched.add(job.item.id)
        self._workers.submit(job.item.id, self._performer(job))

    def _performer(self, job: _Job) -> Callable[[], str]:
        performers = self._performers
        action_id, action = job.item.id, job.action
        if job.item.digest is not None and action.kind == "webhook":
            key = job.item.digest
            digest = digest_payload(key, [action, *(a for _, a in job.more)])
            return lambda: performers.webhook(key, digest)
        if action.kind in POST_KINDS:
            kind, account, post_id, text = action.kind, action.account, action.post_id, action.text
            return lambda: performers.x_write(kind, account, post_id, text)
        if action.kind == "webhook":
            payload = dict(action.payload)
            return lambda: performers.webhook(action_id, payload)
        message = str(action.payload["message"])

        def log_line() -> str:
            performers.log_message(message)
            return f"logged: {message}"

        return log_line

    # --- recording ------------------------------------------------------------------------

    def _record(
        self, finished: Iterable[Finished], *, refill: Callable[[], object] = lambda: None
    ) -> None:
        """Record what finished. ``refill`` runs once their lanes are free and before the
        store is written, so the next actions are on their way while it is."""
        ended = [(job, done) for done in finished if (job := self._running.pop(done.job_id, None))]
        for job, _ in ended:
            self._busy[job.lane] -= 1
        if ended:
            refill()
        wrote = False
        for job, done in ended:
            wrote = wrote or job.action.kind in POST_KINDS
            for item in job.items:  # a digest's outcome is each of its actions'
                if done.error is None:
                    self._guarded(item, self._outcomes.sent, done.detail, sent=True)
                else:
                    self._guarded(item, self._outcomes.failed, as_failure(item, done.error))
        if wrote:
            try:
                self._after_writes()
            except AutomationError as exc:
                log.error("could not save the write-limit state: %s", exc)

    def _guarded(
        self,
        item: OutboxItem,
        record: Callable[[OutboxItem, _T, datetime], None],
        outcome: _T,
        *,
        sent: bool = False,
    ) -> None:
        """Record; when the store cannot, keep the outcome to record at the next cycle,
        the action still claimed, so that it is not performed again meanwhile."""
        at = self._clock()
        try:
            record(item, outcome, at)
        except AutomationError as exc:
            log.error(
                "could not record the attempt at action %s: %s; it is not performed again,"
                " and is recorded once the database takes writes",
                item.id,
                exc,
            )
            self._unrecorded[item.id] = (sent, lambda: record(item, outcome, at))
            return
        self._recorded(sent)

    def _record_unrecorded(self) -> None:
        """Record the outcomes the store refused before, in order, up to the first it still
        refuses (the disk is still full: one line a cycle, not one an action). That one goes
        last, so one the store will never take does not hold up the others."""
        for action_id, (sent, record) in list(self._unrecorded.items()):
            try:
                record()
            except AutomationError as exc:
                waiting = counted(len(self._unrecorded), "performed action")
                log.error("%s not recorded yet: %s", waiting, exc)
                self._unrecorded[action_id] = self._unrecorded.pop(action_id)
                return
            del self._unrecorded[action_id]
            self._recorded(sent)

    def _recorded(self, sent: bool) -> None:
        """An outcome recorded: the store takes writes (again)."""
        self._waits.writes_work()
        self._sent += sent
        self._sent_in_all += sent

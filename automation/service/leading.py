"""``automation run`` on PostgreSQL: one of several engines, of which one acts.

The engine stands by until PostgreSQL makes it the leader (``store.postgres_leadership``),
then builds its runtime under the lead's epoch and runs cycles while it leads. When it
loses the lead (its session ended, or another engine took over) it stops starting
actions, lets those running finish and record their outcome, closes the runtime and
stands by again. Standing by, it is healthy and says so: ``/healthz`` answers 200
``standby``, ``automation_leader`` is 0, systemd's status line reads ``standby``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from automation.config.database import PostgresDatabase
from automation.config.model import Config
from automation.core.errors import (
    DatabaseUnreachable,
    EngineLocked,
    SchemaNewer,
    SchemaOutdated,
    StoreError,
)
from automation.core.leadership import (
    lease_times,
    longest_action,
    may_reclaim,
    reclaim_grace,
)
from automation.engine.webhook import MAX_REDIRECTS
from automation.service import sdnotify
from automation.service.loop import Controls
from automation.service.observers import Observers
from automation.service.runtime import Runtime, utc_now
from automation.store.opening import migrate
from automation.store.postgres_leadership import Election, leader_view

__all__ = ["run_elected"]

log = logging.getLogger("automation.service")

_ANOTHER_LEADS = "standby: another engine leads"
_SILENT = "its session did not answer within the lease"

Start = Callable[[Config, int, Callable[[], bool]], Runtime]
Serve = Callable[[Runtime, Callable[[], bool]], int]


def run_elected(
    config: Config,
    *,
    controls: Controls,
    observers: Observers,
    start: Start,
    serve: Serve,
    refresh: Callable[[Config], Config],
    once: bool = False,
) -> int:
    """Stand by, lead, stand by again, until stopped. ``start(config, epoch, leading)``
    builds the runtime of a new lead, ``serve(runtime, leading)`` runs its cycles and
    ``refresh(config)`` re-reads the config when the engine takes the lead. With ``once``
    the engine runs one cycle if it can lead at once, and refuses if another leads."""
    database = config.database
    assert isinstance(database, PostgresDatabase)
    election = Election(database, times=lease_times(config.poll_interval))
    standby = _Standby(election, controls, observers)
    code = 0
    try:
        while not controls.should_stop():
            try:
                epoch = election.try_lead(utc_now())
            except SchemaOutdated:
                if config.migrate != "auto":
                    raise
                migrate(database)  # ``migrate: auto``: bring a new database up to date
                continue
            if epoch is None:
                if once:
                    raise EngineLocked(_refusal(election, database))
                standby.wait()
                continue
            config = refresh(config) if standby.waited else config
            unreachable = None
            try:
                code, config = _lead(config, epoch, election, observers, start, serve)
            except DatabaseUnreachable as exc:  # said once, below, as the lead lost
                if once:
                    raise
                unreachable = str(exc)
            except StoreError as exc:
                if once or isinstance(exc, SchemaOutdated | SchemaNewer):
                    raise
                log.error("could not start leading: %s", exc)  # the database failed
            standby.reset()
            if once or controls.should_stop():
                break
            # One line for the loss: standing by, the engine says no more until it
            # reaches the database again (spec section 13).
            loss = election.loss or unreachable or _SILENT
            log.warning("lost the lead on %s (%s): standing by", database, loss)
            election.resign()
            standby.lost(unreachable)
            # The engines that stood by ask first: this one waits a lease before asking
            # again, so a healthy standby takes over from one whose connection failed.
            standby.wait(election.times.lease)
    finally:
        election.close()
    return code


def _lead(
    config: Config,
    epoch: int,
    election: Election,
    observers: Observers,
    start: Start,
    serve: Serve,
) -> tuple[int, Config]:
    """Act while leading; returns the exit code and the config the engine last ran."""
    log.info("leading the database %s (epoch %d)", config.database, epoch)
    observers.set_leading(True)
    runtime = start(config, epoch, election.leading)
    grace = 0.0
    try:
        longest = longest_action(
            (r.rule for r in runtime.engine.rules.rules),
            write_timeout=config.x_api.timeout,
            redirects=MAX_REDIRECTS,
        )
        grace = reclaim_grace(election.times, longest)
        led_since = election.led_since or time.monotonic()
        runtime.store.reclaim_stale = lambda: may_reclaim(
            led_since=led_since, now=time.monotonic(), grace=grace
        )
        code = serve(runtime, election.leading)
    finally:
        # Having lost the lead, the actions already sent on their way finish and are
        # recorded (their claim is their licence); none is given back to be re-sent
        # while it may still be running.
        lost = not election.leading()
        if lost:  # it can act no more: /healthz says so while its actions under way end
            observers.set_leading(False, problem=f"lost the lead: {election.loss or _SILENT}")
        runtime.close(grace=max(grace, 5.0) if lost else 5.0)
    return code, runtime.config


class _Standby:
    """Waiting for the lead: healthy, saying so, and asking again every ``retry``."""

    def __init__(self, election: Election, controls: Controls, observers: Observers) -> None:
        self._election, self._controls, self._observers = election, controls, observers
        self._said: str | None = None
        self._ready = False
        self._quiet = False  # the database out of reach goes unsaid: a line said it already
        self.waited = False

    def reset(self) -> None:
        """The engine led meanwhile: say so again when it stands by."""
        self._said, self._quiet, self.waited = None, False, False

    def lost(self, unreachable: str | None = None) -> None:
        """The engine has just logged that it lost the lead and stands by: that line
        stands for the database out of reach until the engine reaches it again. When
        the loss came from the database out of reach (``unreachable`` says why, else a
        new session tells: a lead lost to its heartbeat may be the server down or only
        the lock's session cut off), ``/healthz`` says so from now on, as a standby's
        does, not from its next try."""
        unreachable = unreachable or self._election.reach()
        self._said = f"standby: {unreachable}" if unreachable else _ANOTHER_LEADS
        self._quiet = True
        self._observers.set_leading(False, problem=unreachable)

    def wait(self, seconds: float | None = None) -> None:
        """Say the engine stands by, and wait ``seconds`` (a retry interval unless
        given: then the lease after a loss, with no try since to say anything new) or
        until a stop is asked for."""
        if seconds is None:
            self._say(self._election.problem)
        sdnotify.status(self._said or _ANOTHER_LEADS)
        retry = self._election.times.retry
        clock = self._controls.clock
        deadline = clock.monotonic() + (retry if seconds is None else seconds)
        while (left := deadline - clock.monotonic()) > 0 and not self._controls.should_stop():
            sdnotify.watchdog()
            self._controls.reload.clear()  # the config is read again on taking the lead
            self._controls.pause(min(left, retry))
        self.waited = True

    def _say(self, problem: str | None) -> None:
        """What the last try found: said (once for an outage) and told to ``/healthz``."""
        if not problem:
            self._quiet = False  # a try reached the database: its next outage is news again
        text = f"standby: {problem}" if problem else _ANOTHER_LEADS
        if text != self._said:
            if not self._ready:
                sdnotify.ready(text)
                self._ready = True
            if not (problem and self._quiet):
                log.log(logging.WARNING if problem else logging.INFO, "%s", text)
                self._quiet = bool(problem)  # one line for an outage, however its cause reads
            self._observers.set_leading(False, problem=problem)
            self._said = text


def _refusal(election: Election, database: PostgresDatabase) -> str:
    if election.problem:
        return election.problem
    who = leader_view(database).leader
    return (
        f"another engine{f' ({who})' if who else ''} leads the database {database}; this one"
        " runs only when it leads: stop that one first, or let it do the work"
    )

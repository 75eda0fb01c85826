"""What a standing-by engine says about its database (spec section 13: an engine that
loses its database connection logs one line for it): the line that says it lost the lead
stands for the database's outage that follows, but once the database has answered
again, the next outage is said again, in one line."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest

from automation.config.database import PostgresDatabase
from automation.core.errors import DatabaseUnreachable
from automation.core.leadership import lease_times
from automation.service import leading
from automation.service.health import Health
from automation.service.leading import _Standby, run_elected
from automation.service.loop import Controls

DOWN = "cannot connect to the database postgresql://automation@db/automation: refused"


@dataclass
class _Election:
    problem: str | None = None
    times: object = field(default_factory=lambda: lease_times(15.0))

    def reach(self) -> str | None:
        """What a new session finds: the database out of reach (``problem``), or not."""
        return self.problem


@dataclass
class _Clock:
    """Time that passes only while the standby waits: a whole wait, even when the event
    is set. Not ``clock.Clock`` (the standby reads ``monotonic`` and waits on an event), nor
    ``StepClock`` of the loop's tests, whose wait ends early on a set event."""

    now: float = 1000.0

    def monotonic(self) -> float:
        return self.now

    def wait(self, event: threading.Event, seconds: float) -> bool:
        self.now += seconds
        return event.is_set()


class _Observers:
    def __init__(self) -> None:
        self.problems: list[str | None] = []

    def set_leading(self, leading: bool, *, problem: str | None = None) -> None:
        self.problems.append(problem)


def _said(caplog: pytest.LogCaptureFixture) -> list[str]:
    lines = [r.getMessage() for r in caplog.records if r.name == "automation.service"]
    caplog.clear()
    return lines


def test_a_database_outage_after_the_lead_was_lost_and_the_database_answered_is_said(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="automation.service")
    election = _Election()
    standby = _Standby(election, Controls(clock=_Clock()), _Observers())  # type: ignore[arg-type]
    standby.lost()  # the engine has just logged "lost the lead on ...: standing by"
    standby.wait(15.0)  # a lease before it tries again
    election.problem = DOWN
    standby.wait()
    assert _said(caplog) == []  # the loss's line said it
    election.problem = None  # the database answers; another engine leads
    standby.wait()
    assert _said(caplog) == ["standby: another engine leads"]
    election.problem = DOWN  # then the database goes away
    standby.wait()
    assert _said(caplog) == [f"standby: {DOWN}"]
    standby.wait()
    assert _said(caplog) == []  # one line for it


def test_a_lead_lost_while_the_database_answers_says_a_later_outage(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="automation.service")
    election = _Election()
    standby = _Standby(election, Controls(clock=_Clock()), _Observers())  # type: ignore[arg-type]
    standby.lost()  # a frozen leader's session ended; the database itself is fine
    standby.wait(15.0)
    standby.wait()  # its next try finds another engine leading
    assert _said(caplog) == []
    election.problem = DOWN
    standby.wait()
    assert _said(caplog) == [f"standby: {DOWN}"]


def test_a_standby_says_an_outage_once_however_its_cause_reads(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="automation.service")
    election = _Election()
    standby = _Standby(election, Controls(clock=_Clock()), _Observers())  # type: ignore[arg-type]
    standby.wait()
    assert _said(caplog) == ["standby: another engine leads"]
    cut = "database postgresql://automation@db/automation: terminating connection"
    election.problem = cut  # the server shuts down: the session ends
    standby.wait()
    election.problem = DOWN  # then nothing listens while it is down
    standby.wait()
    standby.wait()
    assert _said(caplog) == [f"standby: {cut}"]
    election.problem = None  # back
    standby.wait()
    election.problem = DOWN  # and gone again: a new outage
    standby.wait()
    assert _said(caplog) == ["standby: another engine leads", f"standby: {DOWN}"]


def test_what_a_standby_tells_healthz_is_the_database_out_of_reach_and_back() -> None:
    election, observers = _Election(), _Observers()
    standby = _Standby(election, Controls(clock=_Clock()), observers)  # type: ignore[arg-type]
    standby.wait()
    election.problem = DOWN
    standby.wait()
    election.problem = None
    standby.wait()
    assert observers.problems == [None, DOWN, None]


class _HealthObservers:
    """What ``Observers.set_leading`` does to ``/healthz``."""

    def __init__(self) -> None:
        self.health = Health(poll_interval=900.0, clock=lambda: datetime(2026, 3, 2, tzinfo=UTC))

    def set_leading(self, leading: bool, *, problem: str | None = None) -> None:
        self.health.set_standby(not leading, problem=problem)


class _LedOnce(_Election):
    """Leads at the first try; the database is then found out of reach."""

    def __init__(self, database: PostgresDatabase, times: object) -> None:
        super().__init__(times=times)
        self.loss: str | None = None
        self.led_since: float | None = None

    def try_lead(self, now: datetime) -> int | None:
        return 1

    def leading(self) -> bool:
        return False

    def resign(self) -> None:
        pass

    def close(self) -> None:
        pass


def test_a_leader_that_loses_the_database_answers_503_while_it_waits_out_the_lease(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Before its next try (a lease later), the old leader already knows the database is
    out of reach: /healthz says so, as a standby's does, not that another engine acts."""
    monkeypatch.setattr(leading, "Election", _LedOnce)
    observers, controls = _HealthObservers(), Controls(clock=_Clock())
    answers: list[tuple[int, str]] = []

    def start(config: Any, epoch: int, leads: Any) -> Any:
        raise DatabaseUnreachable(DOWN)

    def wait(event: threading.Event, seconds: float) -> bool:
        answers.append(observers.health.check())  # what /healthz says meanwhile
        event.set()  # then the engine is stopped
        return True

    controls.clock.wait = wait  # type: ignore[method-assign]
    config = SimpleNamespace(
        database=PostgresDatabase("postgresql://automation@db/automation"),
        poll_interval=900.0,
    )
    run_elected(
        config,  # type: ignore[arg-type]
        controls=controls,
        observers=observers,  # type: ignore[arg-type]
        start=start,
        serve=lambda runtime, leads: 0,
        refresh=lambda c: c,
    )
    assert answers == [(503, f"standby: {DOWN}")]


def test_healthz_after_a_loss_to_an_outage_follows_the_next_tries(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="automation.service")
    election, observers = _Election(), _HealthObservers()
    standby = _Standby(election, Controls(clock=_Clock()), observers)  # type: ignore[arg-type]
    standby.lost(DOWN)  # the engine has just logged "lost the lead on ... (DOWN)"
    assert observers.health.check() == (503, f"standby: {DOWN}")
    standby.wait(15.0)  # a lease before it tries again: nothing new to say
    assert observers.health.check() == (503, f"standby: {DOWN}")
    election.problem = DOWN
    standby.wait()
    assert _said(caplog) == []  # the loss's line said it
    election.problem = None  # the database is back, and another engine took the lead
    standby.wait()
    assert observers.health.check() == (200, "standby: another engine is acting on this database")
    assert _said(caplog) == ["standby: another engine leads"]


@pytest.mark.parametrize(
    ("problem", "answer"),
    [
        (DOWN, (503, f"standby: {DOWN}")),
        (None, (200, "standby: another engine is acting on this database")),
    ],
    ids=["server down", "only the lock's session cut"],
)
def test_a_lead_lost_to_its_heartbeat_answers_healthz_as_a_new_session_finds(
    problem: str | None, answer: tuple[int, str]
) -> None:
    election, observers = _Election(problem=problem), _HealthObservers()
    standby = _Standby(election, Controls(clock=_Clock()), observers)  # type: ignore[arg-type]
    standby.lost()  # its heartbeat failed: which of the two, a new session tells
    assert observers.health.check() == answer

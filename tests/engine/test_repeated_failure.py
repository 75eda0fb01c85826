"""An operation that fails again and again (a full disk) is reported once when it starts
failing, then at most once a minute with how many times it failed since, and once when it
works again: on a hand-driven clock, never a sleep."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest
from clock import Clock

from automation.engine.repeated_failure import RepeatedFailure

T0 = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
log = logging.getLogger("test.repeated")


def lines(caplog: pytest.LogCaptureFixture) -> list[tuple[str, str]]:
    return [(r.levelname, r.getMessage()) for r in caplog.records if r.name == log.name]


def fail_each_second(report: RepeatedFailure, clock: Clock, seconds: int) -> None:
    for _ in range(seconds):
        report.failed("could not do it: disk full")
        clock.now += timedelta(seconds=1)


def test_said_once_then_once_a_minute_with_the_count_then_once_when_it_works(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    clock = Clock(T0)
    report = RepeatedFailure(log, "doing it", clock)

    fail_each_second(report, clock, 150)  # 12:00:00 .. 12:02:29
    report.worked()
    report.worked()  # working on: nothing more to say

    assert lines(caplog) == [
        ("ERROR", "could not do it: disk full (said again at most every 1m while it fails)"),
        (
            "ERROR",
            "could not do it: disk full (60 more failures since 2026-11-26T12:00:00Z,"
            " failing since 2026-11-26T12:00:00Z; said at most every 1m)",
        ),
        (
            "ERROR",
            "could not do it: disk full (60 more failures since 2026-11-26T12:01:00Z,"
            " failing since 2026-11-26T12:00:00Z; said at most every 1m)",
        ),
        ("INFO", "doing it works again, after 150 failures since 2026-11-26T12:00:00Z"),
    ]


def test_a_new_run_of_failures_is_said_at_once_and_counted_afresh(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    clock = Clock(T0)
    report = RepeatedFailure(log, "doing it", clock, every=timedelta(seconds=30))
    fail_each_second(report, clock, 2)
    report.worked()
    fail_each_second(report, clock, 1)  # 12:00:02, at once although within 30 seconds
    report.worked()

    assert [text for _, text in lines(caplog)] == [
        "could not do it: disk full (said again at most every 30s while it fails)",
        "doing it works again, after 2 failures since 2026-11-26T12:00:00Z",
        "could not do it: disk full (said again at most every 30s while it fails)",
        "doing it works again, after 1 failure since 2026-11-26T12:00:02Z",
    ]


def test_nothing_is_said_of_an_operation_that_only_works(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    report = RepeatedFailure(log, "doing it", Clock(T0))
    report.worked()
    assert lines(caplog) == []

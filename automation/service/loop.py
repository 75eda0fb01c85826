"""The long-running loop: cycles on a schedule, signals, reloads and systemd notifications.

SIGTERM and SIGINT finish the step in progress and leave; SIGHUP reloads the config and
rules (a broken reload keeps the running ones); ``service.signals`` catches them. Waiting
is done on an Event, so a stop request is noticed at once, and the watchdog is pinged
while waiting. Waits inside a cycle (the API budget), and the cycle's next API request,
raise ``Stopping`` so a long fetch does not delay shutdown. Every wait reads the time and
waits through ``Controls.clock``: ``MonotonicClock`` when it runs.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from automation.core.errors import DatabaseUnreachable
from automation.core.recording import DiskSpace
from automation.core.wording import size_text
from automation.engine.cycle import CycleResult, Engine
from automation.engine.dispatch import DrainReport
from automation.service import sdnotify

__all__ = ["Clock", "Controls", "MonotonicClock", "Stopping", "run_loop", "status_line"]

log = logging.getLogger("automation.service")


class Stopping(BaseException):
    """Raised inside a wait when a stop was requested; never an error."""


class Actions(Protocol):
    """The outbox as the loop drives it (``engine.dispatch.Dispatcher``)."""

    def work(self, seconds: float, *, should_stop: Callable[[], bool]) -> None: ...

    def drain(self, *, should_stop: Callable[[], bool]) -> DrainReport: ...


class Clock(Protocol):
    """Time as the loop's waits see it."""

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back."""
        ...

    def wait(self, event: threading.Event, seconds: float) -> bool:
        """Wait ``seconds`` at most; True as soon as ``event`` is set."""
        ...


class MonotonicClock:
    """``time.monotonic``, and ``Event.wait``, which a signal handler's ``set`` ends."""

    def monotonic(self) -> float:
        return time.monotonic()

    def wait(self, event: threading.Event, seconds: float) -> bool:
        return event.wait(seconds)


@dataclass
class Controls:
    """Flags set by signal handlers and read by the loop, and the clock its waits use."""

    stop: threading.Event = field(default_factory=threading.Event)
    reload: threading.Event = field(default_factory=threading.Event)
    clock: Clock = field(default_factory=MonotonicClock)

    def sleep(self, seconds: float) -> None:
        """A wait that ends early, by raising Stopping, when a stop is requested.

        Waits inside a cycle (the API's request budget) can be long, so the watchdog is
        pinged while waiting: a patient engine is not a hung one.
        """
        deadline = self.clock.monotonic() + max(0.0, seconds)
        while True:
            left = deadline - self.clock.monotonic()
            if left <= 0:
                return
            if self.pause(min(left, 5.0)):
                raise Stopping
            sdnotify.watchdog()

    def pause(self, seconds: float) -> bool:
        """Wait ``seconds`` at most; True as soon as a stop is requested."""
        return self.clock.wait(self.stop, seconds)

    def should_stop(self) -> bool:
        return self.stop.is_set()

    def check(self) -> None:
        """Raise Stopping when a stop was requested: run before each of a cycle's API
        requests, so a stop waits for the request in flight, never for those after it."""
        if self.stop.is_set():
            raise Stopping


def run_loop(
    engine_ref: Callable[[], Engine],
    *,
    controls: Controls,
    poll_interval: Callable[[], float],
    reload: Callable[[], None],
    once: bool = False,
    on_cycle: Callable[[CycleResult], None] = lambda r: None,
    actions: Actions | None = None,
    leading: Callable[[], bool] = lambda: True,
    disk: Callable[[], DiskSpace | None] = lambda: None,
) -> int:
    """Run cycles until stopped (or once), or until this engine no longer ``leading()``
    (another engine acts on its database). Returns the exit code for the CLI.

    Between cycles ``actions`` go on: what finishes is recorded and what comes due is
    started. With ``once``, every action due is performed before the loop ends. ``disk``
    measures the database's disk once a cycle, for systemd's status line."""
    sdnotify.ready()
    watchdog = sdnotify.watchdog_interval()
    exit_code = 0
    standing_by = False
    try:
        while not controls.should_stop() and leading():
            if controls.reload.is_set():
                controls.reload.clear()
                _reload(reload)
            started = controls.clock.monotonic()
            result = engine_ref().cycle()
            on_cycle(result)
            sdnotify.status(status_line(result, disk()))
            if once:
                exit_code = 1 if result.errors else 0
                if actions is not None:  # asked to stop, it only says what is left
                    report = actions.drain(should_stop=controls.should_stop)
                    log.info("outbox: %s", report.summary())
                break
            _wait(
                controls,
                poll_interval() - (controls.clock.monotonic() - started),
                watchdog,
                actions,
                leading,
            )
    except Stopping:
        log.info("stopped during a wait")
    except DatabaseUnreachable:
        standing_by = True  # the engine lost its database: it stands by (service.leading)
        raise
    finally:
        if leading() and not standing_by:  # else the process goes on, standing by
            sdnotify.stopping()
    return exit_code


def _reload(reload: Callable[[], None]) -> None:
    sdnotify.reloading()
    try:
        reload()
    finally:
        sdnotify.ready()


def _wait(
    controls: Controls,
    seconds: float,
    watchdog: float | None,
    actions: Actions | None,
    leading: Callable[[], bool],
) -> None:
    """Until the next cycle, perform actions as they come due, pinging the watchdog and
    waking for stop or reload, or when the lead is lost."""
    deadline = controls.clock.monotonic() + max(0.0, seconds)
    slice_ = (watchdog / 2) if watchdog else 5.0

    def interrupted() -> bool:
        return controls.should_stop() or controls.reload.is_set() or not leading()

    while not interrupted():
        sdnotify.watchdog()
        left = deadline - controls.clock.monotonic()
        if left <= 0:
            return
        if actions is None:
            controls.pause(min(slice_, left, 1.0))
        else:
            actions.work(min(slice_, left, 1.0), should_stop=interrupted)


def status_line(result: CycleResult, disk: DiskSpace | None = None) -> str:
    """What ``systemctl status`` shows after a cycle; first, while the database's disk is
    (almost) full as ``automation status`` judges it, that the engine records nothing."""
    text = (
        f"disk full: {disk.directory} has {size_text(disk.free)} free; "
        if disk is not None and disk.almost_full
        else ""
    )
    text += (
        f"{result.posts} posts, {result.fired} fired, {result.seeded} seeded, "
        f"{result.actions_sent} actions sent"
    )
    if result.errors:
        text += f", {len(result.errors)} errors: {result.errors[0][:80]}"
    return text

"""The service loop's waits: interruptible, and pinging the watchdog while they last."""

from __future__ import annotations

import socket
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import cast

import pytest

from automation.core.recording import DiskSpace
from automation.engine.cycle import CycleResult, Engine
from automation.service import sdnotify
from automation.service.loop import Controls, MonotonicClock, Stopping, run_loop, status_line


@pytest.fixture
def notify_socket(monkeypatch: pytest.MonkeyPatch) -> Iterator[socket.socket]:
    name = "test-" + uuid.uuid4().hex
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind("\0" + name)
    sock.settimeout(10)
    monkeypatch.setenv("NOTIFY_SOCKET", "@" + name)
    try:
        yield sock
    finally:
        sock.close()


@dataclass
class StepClock:
    """Time that passes only while the loop waits, each wait lasting its whole length
    unless the event is set. ``seen`` gets each wait's length (a test may add more to it,
    to see the order); ``meanwhile(n)`` runs as the n-th wait begins, as a signal handler
    runs while the process waits. Not ``clock.Clock``: the loop reads ``monotonic`` and
    waits on an event, which a signal may set while it waits."""

    now: float = 1000.0
    seen: list[object] = field(default_factory=list)
    meanwhile: Callable[[int], object] = lambda n: None
    waits: int = 0

    def monotonic(self) -> float:
        return self.now

    def wait(self, event: threading.Event, seconds: float) -> bool:
        self.waits += 1
        assert self.waits < 100, "the loop waits on and on"
        self.seen.append(seconds)
        self.meanwhile(self.waits)
        if event.is_set():
            return True
        self.now += seconds
        return False


def test_a_long_wait_pings_the_watchdog(notify_socket: socket.socket) -> None:
    clock = StepClock()
    Controls(clock=clock).sleep(5.2)
    assert clock.seen == [5.0, pytest.approx(0.2)] and clock.now >= 1005.2
    assert [notify_socket.recv(100) for _ in clock.seen] == [b"WATCHDOG=1"] * 2


def test_a_stop_request_ends_a_wait_at_once() -> None:
    controls = Controls()
    clock = StepClock(meanwhile=lambda n: n == 2 and controls.stop.set())
    controls.clock = clock
    with pytest.raises(Stopping):
        controls.sleep(30)
    assert clock.seen == [5.0, 5.0] and clock.now == 1005.0  # the second wait ended


def test_a_stop_set_by_another_thread_ends_the_services_wait() -> None:
    stop = threading.Event()
    setter = threading.Thread(target=stop.set)
    setter.start()
    assert MonotonicClock().wait(stop, 3600)  # returns when set, not an hour later
    setter.join()
    assert not MonotonicClock().wait(threading.Event(), 0)


def test_a_wait_of_nothing_returns_at_once() -> None:
    clock = StepClock()
    Controls(clock=clock).sleep(-1)
    assert clock.seen == [] and clock.now == 1000.0


def test_between_cycles_the_loop_waits_in_slices_until_the_poll_interval(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    controls = Controls()
    clock = StepClock(meanwhile=lambda n: n == 5 and controls.stop.set())
    controls.clock = clock
    seen = clock.seen
    monkeypatch.setattr(sdnotify, "watchdog", lambda: seen.append("ping"))

    class Timed:
        def cycle(self) -> CycleResult:
            seen.append(f"cycle at {clock.now}")
            clock.now += 0.5  # the cycle's own time counts towards the interval
            return CycleResult(posts=1)

    engine = cast(Engine, Timed())
    code = run_loop(lambda: engine, controls=controls, poll_interval=lambda: 3, reload=str)
    assert code == 0
    assert seen == [
        "cycle at 1000.0",
        *["ping", 1.0, "ping", 1.0, "ping", 0.5, "ping"],
        "cycle at 1003.0",
        *["ping", 1.0, "ping", 1.0],  # a stop comes during the second: no third cycle
    ]


RESULT = CycleResult(posts=2, fired=1, actions_sent=1, errors=["fetch failed: disk is full"])
WORDS = "2 posts, 1 fired, 0 seeded, 1 actions sent, 1 errors: fetch failed: disk is full"


def test_the_status_line_says_first_when_the_databases_disk_is_full() -> None:
    full = DiskSpace("/var/lib/automation", 8 * 1024**3, 5 * 1024**2)
    assert status_line(RESULT, full) == (
        "disk full: /var/lib/automation has 5.0 MiB free; " + WORDS
    )
    # under 1 % free but over 1 GiB, over 1 % but under 1 GiB, unseen: as status judges
    for roomy in (
        DiskSpace("/srv", 1000 * 1024**3, 2 * 1024**3),
        DiskSpace("/srv", 8 * 1024**3, 100 * 1024**2),
        None,
    ):
        assert status_line(RESULT, roomy) == WORDS == status_line(RESULT)


def test_the_loop_measures_the_disk_after_each_cycle_for_systemd(
    notify_socket: socket.socket,
) -> None:
    class OneCycle:
        def cycle(self) -> CycleResult:
            return RESULT

    measured: list[str] = []

    def disk() -> DiskSpace:
        measured.append("disk")
        return DiskSpace("/var/lib/automation", 8 * 1024**3, 0)

    engine = cast(Engine, OneCycle())
    code = run_loop(
        lambda: engine,
        controls=Controls(),
        poll_interval=lambda: 60,
        reload=lambda: None,
        once=True,
        disk=disk,
    )
    assert code == 1 and measured == ["disk"]
    sent = [notify_socket.recv(1000).decode() for _ in range(3)]
    assert sent == [
        "READY=1",
        "STATUS=disk full: /var/lib/automation has 0 bytes free; " + WORDS,
        "STOPPING=1",
    ]

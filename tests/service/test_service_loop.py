"""The service loop's waits: interruptible, and pinging the watchdog while they last."""

from __future__ import annotations

import socket
import threading
import time
import uuid
from collections.abc import Iterator
from typing import cast

import pytest

from automation.core.recording import DiskSpace
from automation.engine.cycle import CycleResult, Engine
from automation.service.loop import Controls, Stopping, run_loop, status_line


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


def test_a_long_wait_pings_the_watchdog(notify_socket: socket.socket) -> None:
    started = time.monotonic()
    Controls().sleep(5.2)
    assert time.monotonic() - started >= 5.2
    assert notify_socket.recv(100) == b"WATCHDOG=1"


def test_a_stop_request_ends_a_wait_at_once() -> None:
    controls = Controls()
    threading.Timer(0.2, controls.stop.set).start()
    started = time.monotonic()
    with pytest.raises(Stopping):
        controls.sleep(30)
    assert time.monotonic() - started < 2


def test_a_wait_of_nothing_returns_at_once() -> None:
    started = time.monotonic()
    Controls().sleep(-1)
    assert time.monotonic() - started < 0.1


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

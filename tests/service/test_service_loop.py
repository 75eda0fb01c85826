"""The service loop's waits: interruptible, and pinging the watchdog while they last."""

from __future__ import annotations

import socket
import threading
import time
import uuid
from collections.abc import Iterator

import pytest

from automation.service.loop import Controls, Stopping


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

from __future__ import annotations

import os
import socket
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from automation.service import sdnotify


@pytest.fixture
def listener(monkeypatch: pytest.MonkeyPatch) -> Iterator[socket.socket]:
    """A bound datagram socket standing in for systemd, on an abstract address."""
    name = f"@test-{uuid.uuid4().hex}"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind("\0" + name[1:])
    sock.settimeout(2)
    monkeypatch.setenv("NOTIFY_SOCKET", name)
    yield sock
    sock.close()


def _recv(sock: socket.socket) -> str:
    return sock.recv(4096).decode()


def test_without_notify_socket_every_call_is_a_no_op(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    assert sdnotify.notify("READY=1") is False
    assert sdnotify.ready() is False
    assert sdnotify.status("x") is False
    assert sdnotify.watchdog() is False
    assert sdnotify.reloading() is False
    assert sdnotify.stopping() is False


def test_ready_with_status_is_one_datagram(listener: socket.socket) -> None:
    assert sdnotify.ready("polling 3 rules") is True
    assert _recv(listener) == "READY=1\nSTATUS=polling 3 rules"


def test_each_helper_sends_its_key(listener: socket.socket) -> None:
    assert sdnotify.ready()
    assert _recv(listener) == "READY=1"
    assert sdnotify.watchdog()
    assert _recv(listener) == "WATCHDOG=1"
    assert sdnotify.stopping()
    assert _recv(listener) == "STOPPING=1"
    assert sdnotify.notify("X_CUSTOM=1", "STATUS=a")
    assert _recv(listener) == "X_CUSTOM=1\nSTATUS=a"


def test_status_is_kept_to_one_line(listener: socket.socket) -> None:
    sdnotify.status("cycle done\nREADY=1  now")
    assert _recv(listener) == "STATUS=cycle done READY=1 now"


def test_reloading_carries_the_monotonic_clock(listener: socket.socket) -> None:
    before = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
    assert sdnotify.reloading()
    after = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
    first, second = _recv(listener).split("\n")
    assert first == "RELOADING=1"
    key, value = second.split("=")
    assert key == "MONOTONIC_USEC"
    assert before <= int(value) <= after


def test_filesystem_socket(monkeypatch: pytest.MonkeyPatch) -> None:
    # AF_UNIX paths are limited to ~107 bytes, so use a short directory, not tmp_path.
    path = Path("/tmp") / f"sdn-{uuid.uuid4().hex[:12]}.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    sock.settimeout(2)
    try:
        monkeypatch.setenv("NOTIFY_SOCKET", str(path))
        assert sdnotify.status("hello") is True
        assert _recv(sock) == "STATUS=hello"
    finally:
        sock.close()
        path.unlink()


def test_a_vanished_socket_does_not_raise(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NOTIFY_SOCKET", f"@test-gone-{uuid.uuid4().hex}")
    assert sdnotify.ready() is False


def test_unsupported_address_is_ignored(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NOTIFY_SOCKET", "vsock:2:1234")
    assert sdnotify.ready() is False


@pytest.mark.parametrize(
    ("usec", "pid", "expected"),
    [
        ("30000000", None, 15.0),
        ("30000000", "own", 15.0),
        ("30000000", "other", None),
        (None, None, None),
        ("0", None, None),
        ("soon", None, None),
    ],
)
def test_watchdog_interval(
    monkeypatch: pytest.MonkeyPatch, usec: str | None, pid: str | None, expected: float | None
) -> None:
    for name, value in (("WATCHDOG_USEC", usec), ("WATCHDOG_PID", pid)):
        if value is None:
            monkeypatch.delenv(name, raising=False)
        elif value == "own":
            monkeypatch.setenv(name, str(os.getpid()))
        elif value == "other":
            monkeypatch.setenv(name, str(os.getpid() + 1))
        else:
            monkeypatch.setenv(name, value)
    assert sdnotify.watchdog_interval() == expected

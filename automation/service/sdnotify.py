"""Tell systemd how the service is doing (the ``sd_notify`` protocol), without a dependency.

Under ``Type=notify`` systemd waits for ``READY=1`` before it considers the service started,
and with ``WatchdogSec=`` it kills a service that stops pinging. Outside systemd
``$NOTIFY_SOCKET`` is unset and every call here is a cheap no-op, so the engine can call
these unconditionally. A failed send never raises: losing a status line must not stop the
engine (systemd itself says to ignore the result).
"""

from __future__ import annotations

import os
import socket
import time

__all__ = [
    "notify",
    "ready",
    "reloading",
    "status",
    "stopping",
    "watchdog",
    "watchdog_interval",
]


def _address(raw: str) -> str | None:
    if raw.startswith("@"):
        return "\0" + raw[1:]  # Linux abstract namespace
    if raw.startswith("/"):
        return raw
    return None  # vsock: and other transports are not used by this service


def notify(*lines: str) -> bool:
    """Send ``KEY=VALUE`` lines as one datagram; True when it was sent."""
    raw = os.environ.get("NOTIFY_SOCKET", "")
    address = _address(raw) if raw else None
    if address is None or not lines:
        return False
    payload = "\n".join(lines).encode()
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.connect(address)
            sock.sendall(payload)
    except OSError:
        return False
    return True


def _one_line(text: str) -> str:
    # The protocol is line based: a newline would start a new (bogus) assignment.
    return " ".join(text.split())


def ready(status_text: str | None = None) -> bool:
    """Startup (or a reload) is complete."""
    lines = ["READY=1"]
    if status_text is not None:
        lines.append(f"STATUS={_one_line(status_text)}")
    return notify(*lines)


def status(text: str) -> bool:
    """A one-line status that ``systemctl status`` shows."""
    return notify(f"STATUS={_one_line(text)}")


def watchdog() -> bool:
    """Keep-alive; call it from the main loop itself so a wedged loop is noticed."""
    return notify("WATCHDOG=1")


def reloading() -> bool:
    """A reload has started; it must be followed by ``ready()``.

    ``MONOTONIC_USEC`` lets newer systemd versions match this message to the reload request.
    """
    usec = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
    return notify("RELOADING=1", f"MONOTONIC_USEC={usec}")


def stopping() -> bool:
    """Shutdown has begun; systemd then waits up to ``TimeoutStopSec=``."""
    return notify("STOPPING=1")


def watchdog_interval() -> float | None:
    """Seconds between watchdog pings, or None when no watchdog is asking for them.

    That is half of ``$WATCHDOG_USEC``, as systemd recommends, and only when
    ``$WATCHDOG_PID`` is unset or names this process (a child must not ping for its parent).
    """
    raw = os.environ.get("WATCHDOG_USEC", "")
    pid = os.environ.get("WATCHDOG_PID", "")
    if pid and pid != str(os.getpid()):
        return None
    try:
        usec = int(raw)
    except ValueError:
        return None
    if usec <= 0:
        return None
    return usec / 1_000_000 / 2

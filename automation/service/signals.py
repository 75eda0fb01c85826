"""Stop and reload requests from signals, caught from the moment ``automation run`` starts.

The handlers only set events, which the loop reads (``service.loop.Controls``). They are
installed before the engine's modules load and its config is read, so a SIGTERM, SIGINT
or SIGHUP that comes while the engine starts is a stop or a reload like any later one,
never the signal's default action, which would end the process.
"""

from __future__ import annotations

import logging
import signal
import threading
from dataclasses import dataclass, field
from types import FrameType

__all__ = ["Requests", "catch"]

log = logging.getLogger("automation.service")


@dataclass(frozen=True)
class Requests:
    """What the signals asked for: set by the handlers, cleared by no one but the loop."""

    stop: threading.Event = field(default_factory=threading.Event)
    reload: threading.Event = field(default_factory=threading.Event)


def catch() -> Requests:
    """Route SIGTERM/SIGINT to a stop and SIGHUP to a reload (main thread only)."""
    requests = Requests()

    def on_stop(signum: int, frame: FrameType | None) -> None:
        log.info("received %s, finishing the current step", signal.Signals(signum).name)
        requests.stop.set()

    def on_hup(signum: int, frame: FrameType | None) -> None:
        requests.reload.set()

    signal.signal(signal.SIGTERM, on_stop)
    signal.signal(signal.SIGINT, on_stop)
    signal.signal(signal.SIGHUP, on_hup)
    return requests

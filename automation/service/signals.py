"""Stop and reload requests from signals, caught from the moment the program starts.

The handlers only set events, which the loop reads (``service.loop.Controls``). The
program catches the signals before it loads the commands' modules (``automation.program``),
so a SIGTERM, SIGINT or SIGHUP that comes while ``automation run`` starts is a stop or a
reload like any later one, never the signal's default action, which would end the process.
Every other command gives them back (``release``), and receives any that came meanwhile.
"""

from __future__ import annotations

import logging
import signal
import threading
from dataclasses import dataclass, field
from types import FrameType
from typing import Any

__all__ = ["Requests", "catch", "release"]

log = logging.getLogger("automation.service")


@dataclass(frozen=True)
class Requests:
    """What the signals asked for: set by the handlers, cleared by no one but the loop.
    ``received``: the signals in the order they came; ``previous``: their handlers
    before ``catch``."""

    stop: threading.Event = field(default_factory=threading.Event)
    reload: threading.Event = field(default_factory=threading.Event)
    received: list[int] = field(default_factory=list)
    previous: dict[int, Any] = field(default_factory=dict)


def catch() -> Requests:
    """Route SIGTERM/SIGINT to a stop and SIGHUP to a reload (main thread only)."""
    requests = Requests()

    def on_stop(signum: int, frame: FrameType | None) -> None:
        log.info("received %s, finishing the current step", signal.Signals(signum).name)
        requests.received.append(signum)
        requests.stop.set()

    def on_hup(signum: int, frame: FrameType | None) -> None:
        requests.received.append(signum)
        requests.reload.set()

    for signum, handler in (
        (signal.SIGTERM, on_stop),
        (signal.SIGINT, on_stop),
        (signal.SIGHUP, on_hup),
    ):
        requests.previous[signum] = signal.signal(signum, handler)
    return requests


def release(requests: Requests) -> None:
    """Give the signals back to their handlers before ``catch``, then deliver those that
    came meanwhile, as if they came now: a command that is not the engine ends on a
    SIGTERM as it always did."""
    for signum, handler in requests.previous.items():
        signal.signal(signum, handler)
    for signum in requests.received:
        signal.raise_signal(signum)

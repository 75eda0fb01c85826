"""A socket server served in a daemon thread, and stopped: the metrics endpoint's, and the
sandbox's and its webhook receiver's, one way."""

from __future__ import annotations

import threading
from socketserver import BaseServer

__all__ = ["STOP_POLL", "serve_in_thread", "stop_serving"]

# Seconds: how often the serving loop looks whether it is asked to stop, so how long a stop
# waits at most. The standard library's 0.5 s made every engine's shutdown wait for it; a
# look costs microseconds.
STOP_POLL = 0.05


def serve_in_thread(server: BaseServer, name: str) -> threading.Thread:
    """Start serving ``server`` in a daemon thread named ``name``."""
    thread = threading.Thread(
        target=server.serve_forever,
        kwargs={"poll_interval": STOP_POLL},
        name=name,
        daemon=True,
    )
    thread.start()
    return thread


def stop_serving(server: BaseServer) -> None:
    """Stop ``server``'s loop (waiting for it to notice) and close its socket."""
    server.shutdown()
    server.server_close()

"""A socket server served in a daemon thread, and stopped: the metrics endpoint's, and the
sandbox's and its webhook receiver's, one way."""

from __future__ import annotations

import threading
from socketserver import BaseServer

__all__ = ["serve_in_thread", "stop_serving"]


def serve_in_thread(server: BaseServer, name: str, poll_interval: float) -> threading.Thread:
    """Start serving ``server`` in a daemon thread named ``name``; ``poll_interval`` is how
    often ``serve_forever`` looks whether it is asked to stop."""
    thread = threading.Thread(
        target=server.serve_forever,
        kwargs={"poll_interval": poll_interval},
        name=name,
        daemon=True,
    )
    thread.start()
    return thread


def stop_serving(server: BaseServer) -> None:
    """Stop ``server``'s loop (waiting for it to notice) and close its socket."""
    server.shutdown()
    server.server_close()

"""The sandbox on 127.0.0.1: a threading HTTP server in front of ``SandboxApp``.

``Sandbox`` bundles the clock, world and app; ``start()`` serves from a background thread
(port 0 picks a free port), ``handle()`` answers in-process without a socket. Keep-alive
is on (HTTP/1.1) so a pooled client reuses its connections, as it would with X.
"""

from __future__ import annotations

import logging
import socket
import sys
import threading
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from automation.sandbox.app import Encoded, SandboxApp
from automation.sandbox.clock import Growth, SimClock
from automation.sandbox.faults import FaultInjector
from automation.sandbox.messages import Request
from automation.sandbox.options import Options
from automation.sandbox.world import World
from automation.service.server_thread import serve_in_thread, stop_serving

__all__ = ["Sandbox"]

log = logging.getLogger(__name__)
HOST = "127.0.0.1"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out as separate writes
    server_version = "sandbox"
    sys_version = ""
    app: SandboxApp  # set on the subclass made per server
    server: ThreadingHTTPServer  # what http.server runs it under, not any socketserver

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        host = headers.get("host") or f"{HOST}:{self.server.server_address[1]}"
        request = Request(self.command, f"http://{host}{self.path}", headers, body)
        try:
            answer = self.app.handle(request)
        except Exception:  # a bug in the sandbox must not kill the connection silently
            log.exception("sandbox failed on %s %s", self.command, self.path)
            answer = Encoded(
                500, {"content-type": "application/json"}, b'{"errors":["internal server error"]}'
            )
        self.send_response(answer.status)
        for name, value in answer.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(answer.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(answer.body)

    do_GET = do_POST = do_DELETE = do_PUT = do_PATCH = _serve

    def log_message(self, format: str, *args: object) -> None:
        log.debug("%s " + format, self.address_string(), *args)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(
        self, request: socket.socket | tuple[bytes, socket.socket], client_address: Any
    ) -> None:
        """A client that hung up (e.g. after its timeout) is normal, not worth a traceback."""
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


class Sandbox:
    """Simulated X APIs. Use as a context manager, or ``start()`` / ``stop()``."""

    def __init__(
        self,
        *,
        seed: int = 0,
        start: datetime | None = None,
        speed: float = 1.0,
        port: int = 0,
        options: Options | None = None,
        fault_rate: float = 0.0,
        faults: FaultInjector | None = None,
        history_days: int = 120,
        simulated_limits: bool = False,
        growth: float = 1.0,
    ) -> None:
        """``simulated_limits``: count request limits on the simulated clock, for a client
        that paces itself on it (a simulated day served in minutes); OAuth timestamps are
        checked against real time either way. ``growth``: the world (posts written, metrics
        grown) runs this many times faster than the clock from now on, each post dated on
        the clock (``automation sandbox --speed``)."""
        self.clock = SimClock(start, speed)
        pace = None if growth == 1 else Growth(self.clock.now(), growth)
        self.world = World(seed, self.clock, history_days=history_days, growth=pace)
        self.app = SandboxApp(
            self.world,
            options,
            faults or FaultInjector(fault_rate),
            limits_now=(lambda: self.clock.now().timestamp()) if simulated_limits else None,
        )
        self._port = port
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("the sandbox is not started")
        return f"http://{HOST}:{self._server.server_address[1]}"

    def handle(self, request: Request) -> Encoded:
        """Answer one request in-process, exactly as the server would."""
        return self.app.handle(request)

    def start(self) -> Sandbox:
        """Listen on 127.0.0.1 and serve from a daemon thread. OSError if the port is taken."""
        handler = type("Handler", (_Handler,), {"app": self.app})
        server = _Server((HOST, self._port), handler)
        self._server = server
        self._thread = serve_in_thread(server, "sandbox")
        return self

    def stop(self) -> None:
        if self._server is not None:
            stop_serving(self._server)
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

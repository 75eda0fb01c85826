"""A local webhook receiver that checks signatures: the sandbox's, the demo's and the tests'.

It does what the README tells a real receiver to do: read the raw body, verify
``X-Automation-Signature`` with the shared secret, and remember the ``Idempotency-Key``;
``on_delivery`` is told of each request (``automation sandbox`` prints it).
It can refuse the first N deliveries with 503 to show that the outbox retries them, and
answer slowly (``delay``) so a test can stop the engine while a delivery is in flight.
A request whose body ends before its ``Content-Length`` (the sender died while writing
it) is no delivery: it is counted in ``cut_short`` and its connection dropped unanswered.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from automation.config.secret import Secret
from automation.engine.webhook import verify
from automation.service.server_thread import serve_in_thread, stop_serving

__all__ = ["Delivery", "Receiver"]


@dataclass(frozen=True)
class Delivery:
    path: str
    idempotency_key: str
    body: bytes
    verified: bool
    status: int
    signed: bool = False


class Receiver:
    def __init__(
        self,
        secret: Secret | None,
        *,
        fail_first: int = 0,
        fail_status: int = 503,
        delay: float = 0.0,
        clock: Callable[[], float] = time.time,
        on_delivery: Callable[[Delivery], None] | None = None,
    ) -> None:
        self._secret = secret
        self._delay = delay
        self._fail_left = fail_first
        self._fail_status = fail_status
        self._clock = clock
        self._on_delivery = on_delivery
        self._lock = threading.Lock()
        self._deliveries: list[Delivery] = []
        self.refused = 0
        self.cut_short = 0
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None, "the receiver is not started"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def deliveries(self) -> list[Delivery]:
        with self._lock:
            return list(self._deliveries)

    def last(self) -> Delivery | None:
        with self._lock:
            return self._deliveries[-1] if self._deliveries else None

    def _answer(self, path: str, headers: dict[str, str], body: bytes) -> int:
        signature = headers.get("x-automation-signature", "")
        ok = (
            self._secret is not None
            and bool(signature)
            and verify(self._secret, signature, body, self._clock())
        )
        with self._lock:
            status = 200
            if self._fail_left > 0:
                self._fail_left -= 1
                self.refused += 1
                status = self._fail_status
            key = headers.get("idempotency-key", "")
            delivery = Delivery(path, key, body, ok, status, signed=bool(signature))
            self._deliveries.append(delivery)
        if self._on_delivery is not None:
            self._on_delivery(delivery)
        return status

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                if len(body) < length:
                    with receiver._lock:
                        receiver.cut_short += 1
                    self.close_connection = True
                    return
                headers = {k.lower(): v for k, v in self.headers.items()}
                status = receiver._answer(self.path, headers, body)
                if receiver._delay > 0:  # recorded on arrival, answered late
                    time.sleep(receiver._delay)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                return None

        self._server = _Server(("127.0.0.1", 0), Handler)
        serve_in_thread(self._server, "webhook-receiver")
        return self

    def stop(self) -> None:
        if self._server is not None:
            stop_serving(self._server)
            self._server = None

    def __enter__(self) -> Receiver:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class _Server(ThreadingHTTPServer):
    """Takes a burst of deliveries at once (the default backlog of 5 makes the sixth
    connection wait a second for a SYN retry), and never waits for a slow answer to stop."""

    daemon_threads = True
    request_queue_size = 128

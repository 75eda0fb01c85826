"""The sandbox as an httpx transport: an ``HttpClient`` talks to it in-process, no socket.

Every request goes through ``SandboxApp.handle`` exactly as over 127.0.0.1 (gzip, OAuth
signatures, limits, faults), so a benchmark can run the real engine against a simulated
day without the cost of a loopback server and its threads. ``observe`` hears of each
exchange with the time the sandbox spent answering it, so a caller can tell the engine's
CPU from the simulated API's.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx

from automation.sandbox.app import Encoded, SandboxApp
from automation.sandbox.messages import Request

__all__ = ["Exchange", "SandboxTransport"]

# (request as the sandbox saw it, its answer, CPU seconds the sandbox spent on it)
Exchange = Callable[[Request, Encoded, float], None]


class SandboxTransport(httpx.BaseTransport):
    def __init__(
        self,
        app: SandboxApp,
        *,
        observe: Exchange | None = None,
        cpu: Callable[[], float] = time.process_time,
    ) -> None:
        self._app = app
        self._observe = observe
        self._cpu = cpu

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        asked = Request(
            request.method,
            str(request.url),
            {k.lower(): v for k, v in request.headers.items()},
            request.read(),
        )
        started = self._cpu()
        answer = self._app.handle(asked)
        spent = self._cpu() - started
        if self._observe is not None:
            self._observe(asked, answer, spent)
        return httpx.Response(answer.status, headers=dict(answer.headers), content=answer.body)

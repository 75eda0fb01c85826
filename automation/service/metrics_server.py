"""Serve ``/metrics`` (prometheus-client's exposition) and ``/healthz`` on ``metrics.listen``.

A small threaded WSGI server beside the engine loop: prometheus-client's own WSGI app
answers ``/metrics`` (content negotiation and gzip included), ``/healthz`` answers from the
``Health`` value the loop keeps. It never touches the store, so a slow scrape cannot hold
the engine up, and requests are not logged (a scrape every 15 s would drown the journal).
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable, Iterable
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import CollectorRegistry, make_wsgi_app

from automation.config.model import MetricsSettings
from automation.core.errors import ConfigError
from automation.service.health import Health
from automation.service.server_thread import serve_in_thread, stop_serving

__all__ = ["MetricsServer"]

log = logging.getLogger("automation.service")

StartResponse = Callable[..., Any]


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True
    allow_reuse_address = True


class _Server6(_Server):
    address_family = socket.AF_INET6


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        return None


class MetricsServer:
    def __init__(
        self, settings: MetricsSettings, *, registry: CollectorRegistry, health: Health
    ) -> None:
        self._settings = settings
        self._metrics = make_wsgi_app(registry)
        self._health = health
        self._server: WSGIServer | None = None

    @property
    def url(self) -> str:
        """``http://HOST:PORT`` as bound (port 0 picks a free one)."""
        assert self._server is not None, "the metrics server is not started"
        port = self._server.server_address[1]
        host = self._settings.host
        return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"

    def start(self) -> MetricsServer:
        """Bind and serve in a daemon thread; a bad address is a ConfigError (exit 2)."""
        server_class = _Server6 if ":" in self._settings.host else _Server
        try:
            self._server = make_server(
                self._settings.host,
                self._settings.port,
                self._app,
                server_class=server_class,
                handler_class=_Quiet,
            )
        except OSError as exc:
            raise ConfigError(
                f"metrics.listen {self._settings.listen}: cannot serve there "
                f"({exc.strerror or exc}); choose another address or port",
                key="metrics.listen",
            ) from None
        serve_in_thread(self._server, "metrics-server")
        log.info("serving /metrics and /healthz on %s", self.url)
        return self

    def stop(self) -> None:
        if self._server is not None:
            stop_serving(self._server)
            self._server = None

    def _app(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == "/metrics":
            return self._metrics(environ, start_response)  # type: ignore[no-any-return]
        if path == "/healthz":
            status, reason = self._health.check()
            return _text(start_response, f"{status} {_PHRASES[status]}", reason)
        return _text(start_response, "404 Not Found", "not found: try /metrics or /healthz")


_PHRASES = {200: "OK", 503: "Service Unavailable"}


def _text(start_response: StartResponse, status: str, text: str) -> list[bytes]:
    body = (text + "\n").encode()
    start_response(
        status,
        [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body)))],
    )
    return [body]

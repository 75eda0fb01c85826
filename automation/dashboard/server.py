"""Serving the dashboard with uvicorn, in the foreground (the command) or in a thread
(tests, benchmarks)."""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime

import uvicorn

from automation.config.disk_space import MeasureDisk, database_disk
from automation.config.model import Config
from automation.core.errors import UsageError
from automation.core.wording import shown_path
from automation.dashboard.access import Listen, password_for
from automation.dashboard.app import create_app
from automation.dashboard.site import Site
from automation.store.opening import require_store

__all__ = ["Running", "prepare", "serve", "start"]

log = logging.getLogger("automation.dashboard")


def _now() -> datetime:
    return datetime.now(UTC)


def prepare(
    config: Config,
    listen: Listen,
    clock: Callable[[], datetime] = _now,
    disk: MeasureDisk = database_disk,
) -> uvicorn.Config:
    """Check access and the database, and make the server's settings. Refuses (with a
    ConfigError) to listen beyond loopback without a password."""
    password = password_for(config, listen)
    site = Site(config, clock, disk)
    waiting = site.waiting()
    if waiting is None:
        # Bring the file to the current schema once, as every command does; pages then
        # read it through read-only connections.
        require_store(config.database, migrate=config.migrate).close()
    else:
        # The engine makes the database (at this version's schema) at its first start.
        # Until then every page says so and nothing is created here; exiting instead made
        # a service unit restart the dashboard every few seconds before the engine's start.
        log.warning("%s", waiting)
    app = create_app(site, password)
    return uvicorn.Config(
        app,
        host=listen.host,
        port=listen.port,
        log_config=None,
        access_log=False,
        server_header=False,
        proxy_headers=False,
        lifespan="off",
    )


def serve(config: Config, listen: Listen) -> None:
    """Serve until SIGTERM or Ctrl-C."""
    settings = prepare(config, listen)
    _check_free(listen)
    gate = "with a password" if config.dashboard.password is not None else "loopback only"
    database = shown_path(str(config.database))

    def announce(bound: Listen) -> None:
        log.info("dashboard on http://%s/ (%s), database %s", bound, gate, database)

    _Server(settings, announce).run()


def _bound(server: uvicorn.Server) -> Listen:
    """Where a started ``server`` listens: with port 0 asked for, the port it got."""
    host, port = server.servers[0].sockets[0].getsockname()[:2]
    return Listen(host, port)


class _Server(uvicorn.Server):
    """uvicorn's server, which says where it listens once its sockets are bound."""

    def __init__(self, settings: uvicorn.Config, announce: Callable[[Listen], None]) -> None:
        super().__init__(settings)
        self._announce = announce

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)  # a socket it cannot bind ends the process
        self._announce(_bound(self))


def _check_free(listen: Listen) -> None:
    """Refuse, saying what to do, an address that is taken or not this machine's, as the
    server would bind it (SO_REUSEADDR, IPv6 only for an IPv6 address), rather than let
    the server log the error and end with its own exit code."""
    try:
        found = socket.getaddrinfo(
            listen.host, listen.port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )
        for family, kind, proto, _, address in found:
            with socket.socket(family, kind, proto) as probe:
                probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                if family == socket.AF_INET6:
                    probe.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
                probe.bind(address)
    except OSError as exc:
        raise UsageError(
            f"cannot listen on {listen}: {exc.strerror or exc}; stop what listens there "
            "(another dashboard?) or give another --listen ADDRESS:PORT"
        ) from None


class Running:
    """A dashboard served from a thread, for tests and benchmarks: ``url``, ``stop()``."""

    def __init__(self, settings: uvicorn.Config) -> None:
        self.server = uvicorn.Server(settings)
        self.thread = threading.Thread(target=self.server.run, name="dashboard", daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the dashboard did not start")
            time.sleep(0.02)
        self.url = f"http://{_bound(self.server)}"

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def start(
    config: Config,
    listen: Listen | None = None,
    clock: Callable[[], datetime] = _now,
    disk: MeasureDisk = database_disk,
) -> Running:
    """A dashboard on a free port of 127.0.0.1 (or ``listen``), served from a thread."""
    return Running(prepare(config, listen or Listen("127.0.0.1", 0), clock, disk))

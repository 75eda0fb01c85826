"""Who may reach the dashboard: where it listens, and the password it needs off loopback.

Listening on a loopback address needs nothing more: only people on the machine reach it.
Any other address needs ``dashboard: {password: ...}`` in the config, and then every page
asks for it once per browser session (a signed cookie). Without one it refuses to start.
"""

from __future__ import annotations

import hmac
import ipaddress
from dataclasses import dataclass

from automation.config.model import Config
from automation.core.errors import ConfigError, UsageError
from automation.core.wording import shown_path

__all__ = ["DEFAULT_LISTEN", "Listen", "password_for", "passwords_match"]

DEFAULT_LISTEN = "127.0.0.1:8080"


@dataclass(frozen=True)
class Listen:
    host: str
    port: int

    @classmethod
    def parse(cls, text: str) -> Listen:
        """``ADDR:PORT`` (``[::1]:8080`` for IPv6); port 0 picks a free one."""
        host, sep, port = text.rpartition(":")
        host = host.removeprefix("[").removesuffix("]")
        if not sep or not host or not port.isdigit() or int(port) > 65535:
            raise UsageError(
                f"--listen {text!r}: expected ADDRESS:PORT, such as {DEFAULT_LISTEN} "
                "or 0.0.0.0:8080"
            )
        return cls(host, int(port))

    @property
    def loopback(self) -> bool:
        if self.host == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return False  # a host name: it may resolve to anything

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


def password_for(config: Config, listen: Listen) -> str | None:
    """The password pages ask for, or None on loopback without one. Off loopback without a
    password this refuses, saying how to set one."""
    secret = config.dashboard.password
    if secret is None:
        if listen.loopback:
            return None
        raise ConfigError(
            f"the dashboard would listen on {listen}, beyond this machine, without a password:"
            " add a 'dashboard:' section with 'password: ${DASHBOARD_PASSWORD}' to "
            f"{shown_path(config.path.name)} and set DASHBOARD_PASSWORD, or listen on 127.0.0.1"
        )
    value = secret.reveal()  # an unset ${NAME} fails here, naming it
    if not value:
        raise ConfigError(f"dashboard.password in {shown_path(config.path.name)} is empty")
    return value


def passwords_match(given: str, expected: str) -> bool:
    """Compared in constant time, so timing says nothing about the password."""
    return hmac.compare_digest(given.encode(), expected.encode())

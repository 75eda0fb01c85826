"""Where a webhook may go, checked when it is sent: the host against the config's
``webhooks.allow_hosts``, then every address the name resolves to (``core.destinations``
says which are refused), so a name that points inside the network is caught however it is
spelt. The resolver is the system's, or the one a test passes in."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Sequence
from urllib.parse import urlsplit

from automation.core.destinations import HostPolicy, IPAddress
from automation.core.errors import ActionFailed
from automation.engine.webhook import origin

__all__ = ["DestinationGuard", "Resolver", "system_resolver"]

Resolver = Callable[[str, int], Sequence[IPAddress]]


def system_resolver(host: str, port: int) -> list[IPAddress]:
    """The addresses ``host`` resolves to, as a connection would find them."""
    found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in found]


class DestinationGuard:
    def __init__(self, policy: HostPolicy, resolve: Resolver = system_resolver) -> None:
        self._policy, self._resolve = policy, resolve

    def check(self, url: str) -> None:
        """Refuse (``ActionFailed``, not retryable) a URL whose host is not allowed or
        resolves to an address that is not; a name that cannot be resolved now is a
        failure a retry may mend."""
        where = origin(url) or "the url"
        try:
            parts = urlsplit(url)
            host, port = parts.hostname or "", parts.port
        except ValueError:
            return  # the request itself says what is wrong with the URL
        self._allowed(host, port or (443 if parts.scheme == "https" else 80), where)

    def addresses(self, host: str, port: int) -> list[str]:
        """Where a connection to ``host:port`` may go: the host resolved once and checked
        as ``check`` does, for the connection to use those very addresses."""
        shown = f"[{host}]" if ":" in host else host
        where = shown if port in (80, 443) else f"{shown}:{port}"
        return [str(address) for address in self._allowed(host, port, where)]

    def _allowed(self, host: str, port: int, where: str) -> Sequence[IPAddress]:
        problem = self._policy.name_problem(host)
        addresses: Sequence[IPAddress] = []
        if problem is None and _is_name(host):
            try:
                addresses = self._resolve(host, port)
            except (OSError, UnicodeError) as exc:
                reason = getattr(exc, "strerror", None) or str(exc)
                raise ActionFailed(
                    f"webhook to {where}: cannot resolve {host}: {reason}", retryable=True
                ) from None
            problem = self._policy.address_problem(host, addresses)
        elif problem is None and host:
            addresses = [ipaddress.ip_address(host.strip("[]"))]
        if problem:
            raise ActionFailed(f"webhook to {where} refused: {problem}", retryable=False)
        return addresses


def _is_name(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return bool(host)
    return False

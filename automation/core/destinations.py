"""Where webhooks may go (``webhooks.allow_hosts``): host patterns and address classes.

A rule author can point a webhook, with post data, at any URL; the operator decides where
they may go. With an allowlist, a webhook's host must match one of its entries: a host
name (``hooks.slack.com``), a wildcard for subdomains (``*.example.com``), an IP address
or a network (``10.1.0.0/16``). With or without one, a host whose address is loopback,
private, link-local (cloud metadata lives there) or unique-local IPv6 is refused unless
listed explicitly: by its exact name, its address or a network holding it, never by a
wildcard, so a name that merely resolves inside the network gets nowhere. The checks are
made on the name at ``check --config`` and again on the resolved addresses when a webhook
is sent. Pure: the caller resolves names.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = [
    "HostPolicy",
    "IPAddress",
    "bad_pattern",
    "internal_class",
    "unmapped",
]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

_LINK_LOCAL_V6 = ipaddress.ip_network("fe80::/10")
_UNIQUE_LOCAL = ipaddress.ip_network("fc00::/7")
_SHARED = ipaddress.ip_network("100.64.0.0/10")  # carrier-grade NAT: inside someone's network


def internal_class(address: IPAddress) -> str | None:
    """What kind of internal address this is ("a loopback address", ...); None if public."""
    address = unmapped(address)
    if address.is_loopback:
        return "a loopback address"
    if address.is_unspecified:
        return "the unspecified address (it reaches this machine)"
    if address.is_link_local or address in _LINK_LOCAL_V6:
        return "a link-local address (where cloud metadata services answer)"
    if isinstance(address, ipaddress.IPv6Address) and address in _UNIQUE_LOCAL:
        return "a unique-local IPv6 address"
    if address.is_private or address in _SHARED:
        return "a private address"
    return None


def unmapped(address: IPAddress) -> IPAddress:
    """``::ffff:127.0.0.1`` reaches 127.0.0.1, so it is judged as that."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def bad_pattern(pattern: str) -> str | None:
    """Why ``pattern`` cannot be an allow_hosts entry; None when it can."""
    text = pattern.strip()
    if not text or text != pattern:
        return "expected a host name, *.domain, an IP address or a network like 10.0.0.0/8"
    if _address(text) is not None or ("/" in text and _network(text) is not None):
        return None
    name = text.removeprefix("*.")
    labels = name.split(".")
    if "*" in name or not all(_label(part) for part in labels):
        return (
            f"'{pattern}' is not a host name: write the host alone, like hooks.slack.com or "
            "*.example.com (no scheme, port or path)"
        )
    return None


def _label(part: str) -> bool:
    return 0 < len(part) <= 63 and all(c.isalnum() or c in "-_" for c in part)


@dataclass(frozen=True)
class HostPolicy:
    """``webhooks.allow_hosts``: empty means no allowlist (any public host)."""

    allow: tuple[str, ...] = ()

    def name_problem(self, host: str) -> str | None:
        """Why a webhook to ``host`` is refused before resolving it; None when it may go on
        to be resolved (an IP address is judged as an address here too)."""
        host = _bare(host)
        address = _address(host)
        allowed = any(_matches(p, host) for p in self.allow)
        if self.allow and not allowed and not (address is not None and self._covers(address)):
            return f"{host} is not in webhooks.allow_hosts ({', '.join(self.allow)})"
        if address is not None:
            return self.address_problem(host, [address])
        if host == "localhost" or host.endswith(".localhost"):
            return self.address_problem(host, [ipaddress.ip_address("127.0.0.1")])
        return None

    def address_problem(self, host: str, addresses: Iterable[IPAddress]) -> str | None:
        """Why a webhook to ``host``, which resolved to ``addresses``, is refused; None
        when every address may be reached."""
        host = _bare(host)
        listed = host.lower() in (p.lower() for p in self.allow)
        for address in map(unmapped, addresses):
            kind = internal_class(address)
            if kind is None or listed or self._covers(address):
                continue
            via = "" if _address(host) is not None else f"{host} resolves to {address}, "
            return (
                f"{via}{address} is {kind}: webhooks may not go inside the network unless "
                f"webhooks.allow_hosts lists {host if via else address} explicitly"
            )
        return None

    def _covers(self, address: IPAddress) -> bool:
        networks = (_network(pattern) for pattern in self.allow)
        return any(
            n is not None and n.version == address.version and address in n for n in networks
        )


def _bare(host: str) -> str:
    return host.strip("[]").rstrip(".").lower()


def _address(text: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(text.strip("[]"))
    except ValueError:
        return None


def _network(text: str) -> IPNetwork | None:
    try:
        return ipaddress.ip_network(text.strip("[]"), strict=False)
    except ValueError:
        return None


def _matches(pattern: str, host: str) -> bool:
    pattern = _bare(pattern)
    if pattern.startswith("*."):
        return host.endswith(pattern[1:]) and host != pattern[2:]
    if host == pattern:
        return True
    address = _address(pattern)
    return address is not None and _address(host) == address

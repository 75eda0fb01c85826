"""Where webhooks may go: allowlist patterns, and each class of address inside a network."""

from __future__ import annotations

import ipaddress

import pytest

from automation.core.destinations import HostPolicy, bad_pattern, internal_class

NO_LIST = HostPolicy()
LIST = HostPolicy(("hooks.slack.com", "*.example.com", "10.9.0.0/16", "127.0.0.1", "db.internal"))


def ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    return ipaddress.ip_address(text)


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("127.0.0.1", "a loopback address"),
        ("127.200.0.9", "a loopback address"),
        ("10.1.2.3", "a private address"),
        ("172.16.0.1", "a private address"),
        ("172.31.255.254", "a private address"),
        ("192.168.1.1", "a private address"),
        ("169.254.169.254", "a link-local address (where cloud metadata services answer)"),
        ("0.0.0.0", "the unspecified address (it reaches this machine)"),
        ("::1", "a loopback address"),
        ("fc00::1", "a unique-local IPv6 address"),
        ("fd00:ec2::254", "a unique-local IPv6 address"),
        ("fe80::1", "a link-local address (where cloud metadata services answer)"),
        ("::ffff:127.0.0.1", "a loopback address"),  # IPv4-mapped: no way around the check
        ("::ffff:10.0.0.1", "a private address"),
    ],
)
def test_every_class_of_internal_address_is_refused_without_a_listing(
    address: str, kind: str
) -> None:
    assert internal_class(ip(address)) == kind
    problem = NO_LIST.address_problem("hooks.example.net", [ip(address)])
    address = address.removeprefix("::ffff:")
    assert problem == (
        f"hooks.example.net resolves to {address}, {address} is {kind}: webhooks may not go "
        "inside the network unless webhooks.allow_hosts lists hooks.example.net explicitly"
    )


@pytest.mark.parametrize("address", ["93.184.216.34", "172.32.0.1", "2606:4700::1111", "8.8.8.8"])
def test_public_addresses_may_be_reached(address: str) -> None:
    assert internal_class(ip(address)) is None
    assert NO_LIST.address_problem("hooks.example.net", [ip(address)]) is None


def test_an_ip_address_in_the_url_is_judged_by_its_class() -> None:
    assert NO_LIST.name_problem("169.254.169.254") == (
        "169.254.169.254 is a link-local address (where cloud metadata services answer): "
        "webhooks may not go inside the network unless webhooks.allow_hosts lists "
        "169.254.169.254 explicitly"
    )
    assert NO_LIST.name_problem("[::1]") is not None
    assert NO_LIST.name_problem("localhost") is not None
    assert NO_LIST.name_problem("8.8.8.8") is None
    assert NO_LIST.name_problem("hooks.slack.com") is None  # no allowlist: any name


def test_an_allowlist_admits_names_wildcards_addresses_and_networks() -> None:
    assert LIST.name_problem("hooks.slack.com") is None
    assert LIST.name_problem("HOOKS.slack.com.") is None
    assert LIST.name_problem("crm.example.com") is None
    assert LIST.name_problem("a.b.example.com") is None
    assert LIST.name_problem("127.0.0.1") is None  # listed explicitly
    assert LIST.name_problem("10.9.3.4") is None  # inside a listed network
    assert LIST.name_problem("example.com") == (
        "example.com is not in webhooks.allow_hosts "
        "(hooks.slack.com, *.example.com, 10.9.0.0/16, 127.0.0.1, db.internal)"
    )
    assert LIST.name_problem("evil-example.com") is not None
    assert LIST.name_problem("hooks.slack.com.evil.net") is not None
    assert LIST.name_problem("10.8.0.1") is not None
    assert LIST.name_problem("127.0.0.2") is not None


def test_a_name_that_resolves_inside_the_network_is_refused_unless_listed_exactly() -> None:
    # *.example.com allows the name, but not an address inside the network behind it
    problem = LIST.address_problem("crm.example.com", [ip("93.184.216.34"), ip("10.0.0.7")])
    assert problem is not None and "crm.example.com resolves to 10.0.0.7" in problem
    assert LIST.address_problem("db.internal", [ip("10.0.0.7")]) is None  # listed by name
    assert LIST.address_problem("crm.example.com", [ip("10.9.0.7")]) is None  # in a network
    assert LIST.address_problem("crm.example.com", [ip("::ffff:127.0.0.1")]) is None


@pytest.mark.parametrize(
    ("pattern", "ok"),
    [
        ("hooks.slack.com", True),
        ("*.example.com", True),
        ("127.0.0.1", True),
        ("::1", True),
        ("10.0.0.0/8", True),
        ("fc00::/7", True),
        ("https://hooks.slack.com", False),
        ("hooks.slack.com:443", False),
        ("hooks.slack.com/x", False),
        ("*", False),
        ("a.*.com", False),
        ("", False),
        (" padded.com", False),
    ],
)
def test_allow_hosts_entries_are_hosts_wildcards_addresses_or_networks(
    pattern: str, ok: bool
) -> None:
    assert (bad_pattern(pattern) is None) is ok

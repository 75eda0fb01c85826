"""Dispatch re-checks where a webhook goes after resolving its host (the resolver is the
test's), follows a 307/308 redirect only to an allowed host, trusts the operator's own
webhooks.redirect_to, and says where a webhook went by scheme and host only: a hook URL's
path or query often holds a token."""

from __future__ import annotations

import dataclasses
import ipaddress
from collections.abc import Sequence

import httpx
import pytest
from config_helpers import make_config

from automation.config.model import Config, WebhookSettings
from automation.core.destinations import IPAddress
from automation.core.errors import ActionFailed
from automation.engine.performers import make_performers
from automation.x.http import HttpClient

TOKEN = "T0KEN-SECRET-PATH"
PAYLOAD = {"url": f"https://hooks.example.com/services/{TOKEN}?key={TOKEN}", "body": "{}"}
DNS = {
    "hooks.example.com": ["93.184.216.34"],
    "other.example.com": ["93.184.216.35"],
    "inside.example.com": ["10.0.0.7"],
    "v6inside.example.com": ["2606:4700::1", "fd12::7"],
    "gone.example.com": [],
}


def resolve(host: str, port: int) -> Sequence[IPAddress]:
    if host not in DNS or not DNS[host]:
        raise OSError(-2, "Name or service not known")
    return [ipaddress.ip_address(a) for a in DNS[host]]


class Server:
    """Answers each request by its host: a status, and a Location for redirects."""

    def __init__(self, answers: dict[str, tuple[int, str]] | None = None) -> None:
        self.answers = answers or {}
        self.seen: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(str(request.url))
        status, location = self.answers.get(request.url.host, (200, ""))
        return httpx.Response(status, headers={"location": location} if location else {})


def send(
    server: Server, *, allow: tuple[str, ...] = (), redirect_to: str | None = None, **payload: str
) -> str:
    config: Config = dataclasses.replace(
        make_config(), webhooks=WebhookSettings(redirect_to=redirect_to, allow_hosts=allow)
    )
    with HttpClient(transport=httpx.MockTransport(server)) as http:
        performers = make_performers(config, None, http, resolve=resolve)  # type: ignore[arg-type]
        return performers.webhook("f1.0", {**PAYLOAD, **payload})


def refused(server: Server, **kwargs: object) -> ActionFailed:
    with pytest.raises(ActionFailed) as caught:
        send(server, **kwargs)  # type: ignore[arg-type]
    return caught.value


def test_a_public_host_is_delivered_and_the_detail_shows_no_path_or_query() -> None:
    server = Server()
    detail = send(server)
    assert detail == "delivered to https://hooks.example.com"
    assert server.seen == [PAYLOAD["url"]]


def test_a_name_that_resolves_to_a_private_address_is_refused_before_sending() -> None:
    server = Server()
    error = refused(server, url=f"https://inside.example.com/{TOKEN}")
    assert not error.retryable and server.seen == []
    assert str(error) == (
        "webhook to https://inside.example.com refused: inside.example.com resolves to "
        "10.0.0.7, 10.0.0.7 is a private address: webhooks may not go inside the network "
        "unless webhooks.allow_hosts lists inside.example.com explicitly"
    )
    assert TOKEN not in str(error)


def test_one_internal_ipv6_address_among_public_ones_is_enough_to_refuse() -> None:
    error = refused(Server(), url="https://v6inside.example.com/x")
    assert "fd12::7 is a unique-local IPv6 address" in str(error)


def test_a_wildcard_does_not_let_a_name_inside_the_network_but_an_exact_entry_does() -> None:
    assert "10.0.0.7" in str(
        refused(Server(), url="https://inside.example.com/x", allow=("*.example.com",))
    )
    detail = send(Server(), url="https://inside.example.com/x", allow=("inside.example.com",))
    assert detail == "delivered to https://inside.example.com"


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8080/x", "http://[::1]/x", "http://169.254.169.254/latest"]
)
def test_address_literals_inside_the_network_are_refused(url: str) -> None:
    server = Server()
    error = refused(server, url=url)
    assert not error.retryable and "refused" in str(error) and server.seen == []


def test_a_host_outside_the_allowlist_is_refused() -> None:
    error = refused(Server(), allow=("other.example.com",))
    assert str(error) == (
        "webhook to https://hooks.example.com refused: hooks.example.com is not in "
        "webhooks.allow_hosts (other.example.com)"
    )


def test_a_name_that_does_not_resolve_now_is_retried() -> None:
    error = refused(Server(), url="https://gone.example.com/x")
    assert error.retryable
    assert str(error) == (
        "webhook to https://gone.example.com: cannot resolve gone.example.com: "
        "Name or service not known"
    )


def test_redirect_to_is_trusted_and_said_to_be_a_redirection() -> None:
    server = Server()
    detail = send(server, allow=("hooks.example.com",), redirect_to="http://127.0.0.1:8099/h?t=1")
    assert detail == (
        "delivered to http://127.0.0.1:8099 (redirected by webhooks.redirect_to from "
        "https://hooks.example.com)"
    )
    assert server.seen == ["http://127.0.0.1:8099/h?t=1"]


def test_a_307_to_an_allowed_host_is_followed() -> None:
    server = Server({"hooks.example.com": (307, f"https://other.example.com/{TOKEN}")})
    detail = send(server, allow=("*.example.com",))
    assert detail == (
        "delivered to https://other.example.com (following a redirect from "
        "https://hooks.example.com)"
    )
    assert server.seen[-1] == f"https://other.example.com/{TOKEN}"


@pytest.mark.parametrize(
    "location", ["https://evil.example.net/x", "http://10.1.1.1/x", "https://inside.example.com/"]
)
def test_a_redirect_to_a_host_not_allowed_is_not_followed(location: str) -> None:
    server = Server({"hooks.example.com": (308, location)})
    error = refused(server, allow=("hooks.example.com", "*.example.com"))
    assert not error.retryable and "refused" in str(error)
    assert len(server.seen) == 1


def test_other_redirects_are_never_followed_and_name_only_the_host() -> None:
    server = Server({"hooks.example.com": (302, f"https://other.example.com/{TOKEN}")})
    error = refused(server)
    assert len(server.seen) == 1
    assert str(error) == (
        "webhook to https://hooks.example.com answered 302 (a redirect to "
        "https://other.example.com; redirects are not followed: update the url)"
    )


def test_a_failure_names_the_host_never_the_path_or_query() -> None:
    def broken(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    config = make_config()
    with HttpClient(transport=httpx.MockTransport(broken)) as http:
        performers = make_performers(config, None, http, resolve=resolve)  # type: ignore[arg-type]
        with pytest.raises(ActionFailed) as caught:
            performers.webhook("f1.0", dict(PAYLOAD))
    assert caught.value.retryable
    assert TOKEN not in str(caught.value) and "https://hooks.example.com" in str(caught.value)

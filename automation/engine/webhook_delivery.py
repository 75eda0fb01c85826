"""Delivering a webhook action's payload the one way the config allows: its secret looked up,
``webhooks.redirect_to`` applied, the host checked against ``webhooks.allow_hosts`` on the
addresses it resolves to (and again at each redirect followed), then signed and sent. The
connection is made to addresses checked as it opens (``HttpClient.gated``), so a name that
resolves to a public address for the check and a private one afterwards gets nowhere.

The outbox's performers and ``automation try-action`` both deliver through this, so a trial
can never reach a host that a firing could not.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from automation.config.model import Config
from automation.core.errors import ActionFailed
from automation.engine import webhook
from automation.engine.destinations import DestinationGuard, Resolver, system_resolver
from automation.x.http import HttpClient, HttpResponse

__all__ = ["Delivery", "WebhookSender"]


@dataclass(frozen=True)
class Delivery:
    """What was sent, what answered, and the detail the outbox records (no URL path)."""

    request: webhook.WebhookRequest
    response: HttpResponse
    detail: str


class WebhookSender:
    def __init__(
        self, config: Config, http: HttpClient, *, resolve: Resolver = system_resolver
    ) -> None:
        self._config, self._http = config, http
        self._guard = DestinationGuard(config.webhooks.policy, resolve)

    def request(self, key: str, payload: Mapping[str, Any]) -> webhook.WebhookRequest:
        """The signed request for ``payload`` under idempotency ``key``; ActionFailed (not
        retryable) when its secret is unknown or its host is not allowed."""
        secret = None
        if payload.get("secret"):
            secret = self._config.webhook_secret(str(payload["secret"]))
            if secret is None:
                raise ActionFailed(
                    f"webhook secret {payload['secret']!r} is not in the config", retryable=False
                )
        url = self._config.webhooks.target(str(payload["url"]))
        if url == payload["url"]:  # redirect_to is the operator's own: trusted
            self._guard.check(self._http.destination(url))
        return webhook.build_request(
            url=url,
            body=str(payload["body"]).encode(),
            idempotency_key=key,
            headers=payload.get("headers") or {},
            secret=secret,
        )

    def send(
        self, payload: Mapping[str, Any], request: webhook.WebhookRequest
    ) -> tuple[HttpResponse, str]:
        """POST ``request`` (built from ``payload``) once, following a 307/308 only to an
        allowed host; the answer and the detail to record."""
        followed: list[str] = []

        def follow(location: str) -> None:
            self._guard.check(self._http.destination(location))
            followed.append(location)

        timeout = float(payload.get("timeout") or 10.0)
        trusted = None  # webhooks.redirect_to is the operator's own
        if request.url != payload["url"]:
            trusted = urlsplit(self._http.destination(request.url)).hostname

        def gate(host: str, port: int) -> list[str]:
            return [host] if host == trusted else self._guard.addresses(host, port)

        with self._http.gated(gate):
            response = webhook.send(self._http, request, timeout=timeout, follow=follow)
        detail = webhook.delivered(
            str(payload["url"]), request.url, followed[-1] if followed else None
        )
        return response, detail

    def deliver(self, key: str, payload: Mapping[str, Any]) -> Delivery:
        request = self.request(key, payload)
        response, detail = self.send(payload, request)
        return Delivery(request, response, detail)

"""What performing an action means at the edge: an X write, a webhook delivery, a log line.

The dispatcher calls these from its worker threads, so each one only does I/O and returns
a short detail, or raises ``ActionFailed`` / ``ApiError`` saying whether a retry can help.
Details and errors never carry a webhook URL's path or query, which often hold a token.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from automation.config.model import Config
from automation.engine.destinations import Resolver, system_resolver
from automation.engine.webhook_delivery import WebhookSender
from automation.x.http import HttpClient
from automation.x.v2_client import WriteResult

__all__ = ["Performers", "PostWriter", "make_performers"]


@dataclass(frozen=True)
class Performers:
    """The side-effecting edges, replaceable in tests."""

    x_write: Callable[[str, str, str, str | None], str]  # (kind, account, post_id, text)
    webhook: Callable[[str, dict[str, Any]], str]  # (action_id, payload) -> detail
    log_message: Callable[[str], None]
    # where a webhook URL is delivered (webhooks.redirect_to), so the dispatcher can count
    # the deliveries in flight to each receiver
    destination: Callable[[str], str] = lambda url: url


class PostWriter(Protocol):
    """The X client's writes, as the performers call them."""

    def repost(self, account: str, post_id: str) -> WriteResult: ...

    def like(self, account: str, post_id: str) -> WriteResult: ...

    def reply(self, account: str, post_id: str, text: str) -> WriteResult: ...

    def quote(self, account: str, post_id: str, text: str) -> WriteResult: ...


def make_performers(
    config: Config,
    x_client: PostWriter,
    http: HttpClient,
    *,
    resolve: Resolver = system_resolver,
) -> Performers:
    """Wire the real X client and webhook sender to the dispatcher. A webhook goes only
    where ``webhooks.allow_hosts`` lets it (checked on the addresses its host resolves to,
    and again at each redirect); ``webhooks.redirect_to`` is the operator's own, trusted."""
    sender = WebhookSender(config, http, resolve=resolve)

    def x_write(kind: str, account: str, post_id: str, text: str | None) -> str:
        if kind in ("reply", "quote"):
            result = getattr(x_client, kind)(account, post_id, text or "")
        else:
            result = getattr(x_client, kind)(account, post_id)
        return "already done" if result.already else f"done ({result.detail})".strip()

    def send_webhook(action_id: str, payload: dict[str, Any]) -> str:
        return sender.deliver(action_id, payload).detail

    def log_message(message: str) -> None:
        logging.getLogger("automation.rules").info("%s", message)

    return Performers(
        x_write=x_write,
        webhook=send_webhook,
        log_message=log_message,
        destination=config.webhooks.target,
    )

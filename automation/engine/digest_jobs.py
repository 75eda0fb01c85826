"""A digest's actions as one webhook request: the dispatcher sends the actions of one
window (``OutboxItem.digest``) together, under the window's key, and records the outcome
against each of them. The store hands them out together; this module builds the request's
payload from theirs (``automation.core.digests`` says what the body holds)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from automation.core.digests import digest_body
from automation.core.records import OutboxItem
from automation.engine.outbox_actions import OutboxAction

__all__ = ["digest_payload", "in_order"]


def in_order(items: Iterable[OutboxItem]) -> list[tuple[OutboxItem, ...]]:
    """Claimed items in claim order, each digest's together (at its first item's place)."""
    groups: dict[str, list[OutboxItem]] = {}
    out: list[list[OutboxItem]] = []
    for item in items:
        if item.digest is None:
            out.append([item])
        elif item.digest in groups:
            groups[item.digest].append(item)
        else:
            groups[item.digest] = [item]
            out.append(groups[item.digest])
    return [tuple(group) for group in out]


def digest_payload(key: str, actions: Sequence[OutboxAction]) -> dict[str, Any]:
    """The webhook payload of a digest request: the first action's url, headers, secret and
    timeout (the rule's at its first firing in the window), and a body listing them all."""
    payload = dict(actions[0].payload)
    body = digest_body(key, [a.payload for a in actions])
    payload["body"] = json.dumps(body, separators=(",", ":"), ensure_ascii=False)
    return payload

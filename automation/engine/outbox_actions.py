"""Read an outbox row's payload into the action it asks for, or say why it cannot be read.

A payload was rendered at firing time and lives on disk for as long as the action is
pending, so it can be damaged (a hand edit, a half-restored file) or written by another
version. Whatever is wrong with it, the answer is a non-retryable ``ActionFailed`` naming
the problem: the dispatcher records the action dead and goes on with the rest.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from automation.core.errors import ActionFailed
from automation.core.records import OutboxItem

__all__ = ["POST_KINDS", "OutboxAction", "decode_action"]

POST_KINDS = frozenset({"repost", "like", "reply", "quote"})
# The text fields each kind needs; everything else in a payload is optional.
_REQUIRED: Mapping[str, tuple[str, ...]] = {
    "repost": ("as", "post_id"),
    "like": ("as", "post_id"),
    "reply": ("as", "post_id", "text"),
    "quote": ("as", "post_id", "text"),
    "webhook": ("url", "body"),
    "log": ("message",),
}


@dataclass(frozen=True)
class OutboxAction:
    """One decoded action: its kind, who acts (post actions), and the whole payload."""

    kind: str
    payload: Mapping[str, Any]

    @property
    def account(self) -> str:
        return str(self.payload.get("as", ""))

    @property
    def post_id(self) -> str:
        return str(self.payload.get("post_id", ""))

    @property
    def text(self) -> str | None:
        text = self.payload.get("text")
        return text if isinstance(text, str) else None


def decode_action(item: OutboxItem) -> OutboxAction:
    """The action ``item`` holds; ``ActionFailed`` (not retryable) when it cannot be read."""
    try:
        payload = json.loads(item.payload)
    except (TypeError, ValueError) as exc:
        raise _unreadable(f"the payload is not JSON ({exc})") from None
    if not isinstance(payload, dict):
        raise _unreadable(f"the payload is a JSON {type(payload).__name__}, not an object")
    kind = payload.get("kind")
    if kind not in _REQUIRED:
        raise ActionFailed(f"unknown action kind {kind!r}", retryable=False)
    if kind != item.kind:
        raise _unreadable(f"the payload says {kind!r} but the row says {item.kind!r}")
    missing = [name for name in _REQUIRED[kind] if not isinstance(payload.get(name), str)]
    if missing:
        raise _unreadable(f"{kind} payload without {', '.join(missing)}")
    headers = payload.get("headers")
    if headers is not None and not isinstance(headers, dict):
        raise _unreadable("webhook headers are not an object")
    return OutboxAction(kind=kind, payload=MappingProxyType(payload))


def _unreadable(reason: str) -> ActionFailed:
    return ActionFailed(f"unreadable outbox row: {reason}", retryable=False)

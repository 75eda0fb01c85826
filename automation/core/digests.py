"""Digest webhooks (``digest: 15m``): one request per rule, action and window, listing every
firing of the window, instead of one request per firing.

Windows are aligned to the clock in UTC (a 15m digest's windows start at :00, :15, :30 and
:45; a 1d digest's at midnight UTC). Each firing's digest action waits in the outbox until
its window ends; the dispatcher then sends the window's actions as one request whose
``Idempotency-Key`` is the window's ``key``, the same on every retry. The body lists each
firing's own webhook body, in the order they fired. Pure: times are passed in.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

__all__ = ["DigestWindow", "digest_body", "digest_window"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class DigestWindow:
    """One window of one digest action of a rule: ``[start, end)``."""

    rule_id: str
    index: int
    start: datetime
    end: datetime

    @property
    def key(self) -> str:
        """Stable per rule, action and window: the idempotency key of its request."""
        stamp = self.start.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
        return f"digest.{self.rule_id}.{self.index}.{stamp}"


def digest_window(rule_id: str, index: int, size: int, moment: datetime) -> DigestWindow:
    """The window of ``size`` seconds that ``moment`` falls in."""
    elapsed = int((moment - _EPOCH).total_seconds())
    start = _EPOCH + timedelta(seconds=elapsed - elapsed % size)
    return DigestWindow(rule_id, index, start, start + timedelta(seconds=size))


def digest_body(key: str, members: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The body of a digest request from its members' outbox payloads (each with its own
    rendered ``body`` and the ``digest`` part ``render_action`` adds), in firing order."""
    first = members[0]["digest"]
    return {
        "event": "rule.digest",
        "id": key,
        "rule": {"id": first["rule"], "description": first.get("description", "")},
        "window": {"from": first["from"], "to": first["to"]},
        "count": len(members),
        "firings": [json.loads(member["body"]) for member in members],
    }

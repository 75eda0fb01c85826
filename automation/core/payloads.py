"""Turn a firing into the exact payload of each of its actions, once, at firing time.

Rendering happens before the firing is recorded, so every retry of an action sends the
same bytes (and the same idempotency key) even if the rule file is edited meanwhile.
Payloads name secrets (``"secret": "team-chat"``), never hold their values, so the outbox
in the database stays free of credentials. Pure: no I/O, the time is passed in.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from automation.core.digests import DigestWindow
from automation.core.metric_names import ALIASES, DERIVED, canonical
from automation.core.rules import (
    Action,
    JsonObject,
    LikeAction,
    LogAction,
    QuoteAction,
    ReplyAction,
    RepostAction,
    Rule,
    WebhookAction,
)
from automation.core.templates import Template

__all__ = [
    "FiringContext",
    "action_metrics",
    "default_webhook_body",
    "iso",
    "number",
    "render_action",
    "template_values",
]


def iso(at: datetime) -> str:
    """UTC timestamps as people and JSON tools expect them: ``2026-11-26T12:00:00Z``.

    The one formatter of moments for output, requests and payloads. A naive datetime has
    no defined moment (``astimezone`` would take it as the machine's local time), so it
    is refused."""
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"naive datetime {at.isoformat()}: pass a timezone-aware one")
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def number(value: float) -> int | float:
    """Whole numbers as integers, so a payload says 100 and not 100.0."""
    return int(value) if float(value).is_integer() else round(float(value), 6)


@dataclass(frozen=True)
class FiringContext:
    """Everything a template or a default webhook body may mention about one firing."""

    firing_id: str
    rule: Rule
    post_id: str
    post_url: str
    post_account: str | None
    post_created_at: datetime
    fired_at: datetime
    metrics: Mapping[str, float]  # by the names the rule wrote
    totals: Mapping[str, float]  # every known total, canonical names
    milestone: int | None = None


def template_values(ctx: FiringContext) -> dict[str, str]:
    """The flat name -> text mapping templates substitute from (see templates.FIXED_NAMES)."""
    values = {
        "post.id": ctx.post_id,
        "post.url": ctx.post_url,
        "post.account": ctx.post_account or "",
        "post.created_at": iso(ctx.post_created_at),
        "rule.id": ctx.rule.id,
        "rule.description": ctx.rule.description,
        "milestone": "" if ctx.milestone is None else str(ctx.milestone),
        "fired_at": iso(ctx.fired_at),
    }
    known = dict(ctx.totals)
    for alias, name in ALIASES.items():
        if name in known:
            known[alias] = known[name]
    for name, (num, den) in DERIVED.items():
        if known.get(den) and num in known:
            known[name] = known[num] / known[den]
    for name, value in known.items():
        values[f"metrics.{name}"] = str(number(value))
    return values


def default_webhook_body(ctx: FiringContext) -> dict[str, Any]:
    """The spec's default payload, used when a webhook action has no ``body``."""
    return {
        "event": "rule.fired",
        "id": ctx.firing_id,
        "rule": {"id": ctx.rule.id, "description": ctx.rule.description},
        "post": {"id": ctx.post_id, "url": ctx.post_url, "account": ctx.post_account},
        # a value JSON cannot carry (NaN, infinity) is null: receivers must parse the body
        "metrics": {k: number(v) if math.isfinite(v) else None for k, v in ctx.metrics.items()},
        "fired_at": iso(ctx.fired_at),
    }


def render_action(action: Action, ctx: FiringContext, digest: DigestWindow | None = None) -> str:
    """The action's payload as compact JSON text, ready for the outbox. A webhook sent in
    a ``digest`` also carries what the digest request says of the rule and its window."""
    values = template_values(ctx)
    payload: dict[str, Any] = {"kind": action.kind, "post_id": ctx.post_id}
    if isinstance(action, RepostAction | LikeAction):
        payload["as"] = action.as_account
    elif isinstance(action, ReplyAction | QuoteAction):
        payload["as"] = action.as_account
        payload["text"] = action.text.render(values)
    elif isinstance(action, LogAction):
        payload["message"] = action.message.render(values)
    elif isinstance(action, WebhookAction):
        body = (
            default_webhook_body(ctx) if action.body is None else _render_tree(action.body, values)
        )
        payload.update(
            url=action.url.render(values),
            headers={name: t.render(values) for name, t in action.headers},
            body=json.dumps(body, separators=(",", ":"), ensure_ascii=False),
            secret=action.secret,
            timeout=action.timeout,
            firing_id=ctx.firing_id,
        )
        if digest is not None:
            payload["digest"] = {
                "key": digest.key,
                "rule": ctx.rule.id,
                "description": ctx.rule.description,
                "from": iso(digest.start),
                "to": iso(digest.end),
            }
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False)


def _render_tree(value: Any, values: Mapping[str, str]) -> Any:
    """Render a webhook body: Templates become text, JsonObjects objects, tuples arrays."""
    if isinstance(value, Template):
        return value.render(values)
    if isinstance(value, JsonObject):
        return {k: _render_tree(v, values) for k, v in value.items}
    if isinstance(value, tuple):
        return [_render_tree(v, values) for v in value]
    return value


def action_metrics(rule: Rule) -> frozenset[str]:
    """The API metrics a rule's action templates mention (``{metrics.impressions}``), so the
    engine fetches them even when no condition needs them and they never render empty."""
    names: set[str] = set()
    for action in rule.actions:
        for template in _templates(action):
            for name in template.names:
                if name.startswith("metrics."):
                    metric = canonical(name.removeprefix("metrics."))
                    if metric is not None:
                        names.update(DERIVED.get(metric, (metric,)))
    return frozenset(names)


def _templates(value: Any) -> list[Template]:
    """Every Template inside an action or a webhook body."""
    if isinstance(value, Template):
        return [value]
    if isinstance(value, JsonObject):
        return [t for _, v in value.items for t in _templates(v)]
    if isinstance(value, tuple):
        return [t for v in value for t in _templates(v)]
    fields = getattr(value, "__dataclass_fields__", None)
    if fields is None:
        return []
    return [t for name in fields for t in _templates(getattr(value, name))]

"""Turning a decision into a ledger entry: the firing record and its rendered actions."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from automation.core.digests import DigestWindow, digest_window
from automation.core.facts import Decision, Outcome, PostFacts
from automation.core.payloads import FiringContext, render_action
from automation.core.quiet_hours import quiet_until
from automation.core.records import ActionRecord, FiringKind, FiringRecord
from automation.core.rules import Action, Rule, WebhookAction

__all__ = ["action_record", "firing_record"]


def firing_record(
    rule: Rule,
    facts: PostFacts,
    decision: Decision,
    now: datetime,
    firing_id: str,
    *,
    capped: bool = False,
    metrics: Mapping[str, float] | None = None,
    windows: Mapping[str, float] | None = None,
) -> FiringRecord:
    """The ledger entry for a FIRE or SEED decision; a firing carries its rendered actions,
    a seed none (it only marks the post as already past the rule), and neither does a
    firing over the rule's cap (``capped``). ``firing_id`` comes from the caller's source
    of unique ids: the core makes none itself. ``metrics`` and ``windows``: the decision's,
    when the caller shares equal ones (else the decision's own). Only ``metrics`` reach the
    actions: a payload's shape (spec section 6) has no place for a window."""
    kind: FiringKind = "fired" if decision.outcome is Outcome.FIRE else "seeded"
    if capped and kind == "fired":
        kind = "capped"
    actions: tuple[ActionRecord, ...] = ()
    if kind == "fired":
        ctx = FiringContext(
            firing_id=firing_id,
            rule=rule,
            post_id=facts.post_id,
            post_url=facts.url,
            post_account=facts.account,
            post_created_at=facts.created_at,
            fired_at=now,
            metrics=decision.metrics,
            totals=facts.totals,
            milestone=decision.milestone,
        )
        actions = tuple(action_record(rule, i, a, ctx) for i, a in enumerate(rule.actions))
    return FiringRecord(
        id=firing_id,
        rule_id=rule.id,
        post_id=facts.post_id,
        key=decision.key or "",
        kind=kind,
        at=now,
        milestone=decision.milestone,
        metrics=dict(decision.metrics) if metrics is None else metrics,
        actions=actions,
        windows=decision.windows if windows is None else windows,
    )


def action_record(rule: Rule, index: int, action: Action, ctx: FiringContext) -> ActionRecord:
    """One rendered action, and when it may be performed: a digest's when its window ends,
    and nothing during the rule's quiet hours (unless a webhook opts out with
    ``quiet: false``): the outbox holds it until then."""
    due = ctx.fired_at
    window: DigestWindow | None = None
    if isinstance(action, WebhookAction) and action.digest:
        window = digest_window(rule.id, index, action.digest, ctx.fired_at)
        due = window.end
    if rule.quiet is not None and (not isinstance(action, WebhookAction) or action.quiet):
        due = quiet_until(rule.quiet, due) or due
    return ActionRecord(
        index=index,
        kind=action.kind,
        payload=render_action(action, ctx, window),
        due_at=None if due == ctx.fired_at else due,
        digest=window.key if window else None,
    )

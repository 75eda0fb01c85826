"""Turning a decision into a ledger entry: the firing record and its rendered actions."""

from __future__ import annotations

from datetime import datetime

from automation.core.facts import Decision, Outcome, PostFacts
from automation.core.payloads import FiringContext, render_action
from automation.core.records import ActionRecord, FiringKind, FiringRecord
from automation.core.rules import Rule

__all__ = ["firing_record"]


def firing_record(
    rule: Rule, facts: PostFacts, decision: Decision, now: datetime, firing_id: str
) -> FiringRecord:
    """The ledger entry for a FIRE or SEED decision; a firing carries its rendered actions,
    a seed none (it only marks the post as already past the rule). ``firing_id`` comes from
    the caller's source of unique ids: the core makes none itself."""
    kind: FiringKind = "fired" if decision.outcome is Outcome.FIRE else "seeded"
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
        actions = tuple(
            ActionRecord(index=i, kind=a.kind, payload=render_action(a, ctx))
            for i, a in enumerate(rule.actions)
        )
    return FiringRecord(
        id=firing_id,
        rule_id=rule.id,
        post_id=facts.post_id,
        key=decision.key or "",
        kind=kind,
        at=now,
        milestone=decision.milestone,
        metrics=dict(decision.metrics),
        actions=actions,
    )

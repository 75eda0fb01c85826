"""Try one action of a rule now, outside any firing: render it exactly as a firing would,
for a real watched post (or a sample), and send it if it is a webhook.

Nothing is recorded: the trial's firing id starts with ``try-`` so a receiver never
mistakes it for a real firing's idempotency key. Post actions are only performed when the
caller asks (``automation try-action --really``).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from types import MappingProxyType
from typing import Any

from automation.core.errors import UsageError
from automation.core.evaluate import compile_rule
from automation.core.facts import Outcome, PostFacts, post_created_at
from automation.core.firings import firing_record
from automation.core.records import WatchedPostRecord
from automation.core.rules import Rule
from automation.engine import webhook
from automation.engine.digest_jobs import digest_payload
from automation.engine.outbox_actions import OutboxAction

__all__ = ["SAMPLE_POST", "Trial", "render", "trial_post", "webhook_payload"]

SAMPLE_POST = "1860000000000000000"
# Plausible totals for a sample post, so every template renders a number.
SAMPLE_TOTALS: Mapping[str, float] = {
    "impressions": 12000,
    "engagements": 480,
    "favorites": 120,
    "retweets": 14,
    "replies": 9,
    "quote_tweets": 3,
    "bookmarks": 6,
    "video_views": 0,
    "url_clicks": 25,
}


@dataclass(frozen=True)
class Trial:
    """One rendered action: which, for which post, and whether the post is a sample."""

    rule: Rule
    index: int  # 0-based, as in the idempotency key
    firing_id: str
    post: PostFacts
    sample: bool
    action: OutboxAction

    @property
    def key(self) -> str:
        return webhook.idempotency_key(self.firing_id, self.index)


def trial_post(
    rule: Rule,
    post_id: str | None,
    posts: list[WatchedPostRecord],
    totals: Mapping[str, Mapping[str, float]],
) -> tuple[PostFacts, bool]:
    """The post to render with: ``post_id`` or the newest post the rule watches, with its
    latest values; a sample (True) when there is none or it has no values yet."""
    known = {p.post_id: p for p in posts}
    if post_id is None:
        watched = [
            p
            for p in posts
            if (p.source == "timeline" and p.account in rule.watch.accounts)
            or p.post_id in rule.watch.posts
        ]
        post_id = watched[-1].post_id if watched else None
    record = known.get(post_id) if post_id else None
    values = dict(totals.get(post_id, {})) if post_id else {}
    pid = post_id or SAMPLE_POST
    sample = record is None or not values
    account = (
        record.account if record else rule.watch.owner or next(iter(rule.watch.accounts), None)
    )
    return (
        PostFacts(
            post_id=pid,
            account=account,
            created_at=record.created_at if record else post_created_at(pid),
            totals=values or dict(SAMPLE_TOTALS),
        ),
        sample,
    )


def render(rule: Rule, number: int, post: PostFacts, *, sample: bool, now: datetime) -> Trial:
    """Render action ``number`` (1-based, as people count) of ``rule`` for ``post``."""
    if not 1 <= number <= len(rule.actions):
        kinds = ", ".join(f"{i} {a.kind}" for i, a in enumerate(rule.actions, 1))
        raise UsageError(f"rule {rule.id} has no action {number}; its actions: {kinds}")
    index = number - 1
    firing_id = f"try-{os.urandom(6).hex()}"
    # rendered as a firing would render it, whatever the rule says of the post right now
    decision = replace(compile_rule(rule).explain(post, None, now), outcome=Outcome.FIRE)
    payload = firing_record(rule, post, decision, now, firing_id).actions[index].payload
    action = OutboxAction(
        kind=rule.actions[index].kind, payload=MappingProxyType(json.loads(payload))
    )
    return Trial(rule, index, firing_id, post, sample, action)


def webhook_payload(trial: Trial) -> Mapping[str, Any]:
    """What the outbox would deliver for the trial's webhook: a digest action's firing is
    sent as its window's digest request, listing this one firing."""
    payload = trial.action.payload
    if payload.get("digest"):
        return digest_payload(trial.key, [trial.action])
    return payload

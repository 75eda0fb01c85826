"""``automation explain``: why a rule did or did not fire for a post."""

from __future__ import annotations

import argparse
from datetime import timedelta
from typing import Any

from automation.cli.context import now, open_store, required_config
from automation.cli.tables import table
from automation.core.errors import UsageError
from automation.core.facts import PostFacts, post_created_at, post_url
from automation.core.payloads import iso

__all__ = ["register"]


def register(sub: Any) -> None:
    e = sub.add_parser("explain", help="why a rule did or did not fire for a post")
    e.add_argument("rule_id")
    e.add_argument("post_id")
    e.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from automation.core.evaluate import compile_rule
    from automation.engine.pauses import current, describe
    from automation.rulefiles.rule_parser import load_rules

    config = required_config(args)
    with open_store(config) as store:
        ruleset = load_rules(list(config.rules), names=config.rule_names())
        rule = next((r for r in ruleset.rules if r.id == args.rule_id), None)
        if rule is None:
            raise UsageError(f"no rule {args.rule_id!r} in {', '.join(map(str, config.rules))}")
        if not (args.post_id.isascii() and args.post_id.isdigit() and len(args.post_id) <= 19):
            raise UsageError(
                f"not a post ID: {args.post_id!r} (expected its digits, e.g. 1260294888811347969)"
            )
        compiled = compile_rule(rule)
        moment = now()
        post = next(
            (p for p in store.posts(include_unavailable=True) if p.post_id == args.post_id), None
        )
        totals = store.latest_totals([args.post_id]).get(args.post_id, {})
        since = moment - timedelta(hours=28)
        snaps = store.snapshots([args.post_id], since=since).get(args.post_id, ())
        facts = PostFacts(
            post_id=args.post_id,
            account=post.account if post else rule.watch.owner,
            created_at=post.created_at if post else post_created_at(args.post_id),
            totals=totals,
            snapshots=tuple(snaps),
            url=post_url(args.post_id),
        )
        decision = compiled.explain(facts, store.rule_state(rule.id, args.post_id), moment)
        recorded = store.history(rule_id=rule.id, post_id=args.post_id, limit=5)
        held = current(store, [rule.id], moment)
    print(f"rule {rule.id} on post {args.post_id} ({facts.url})")
    if rule.id in held.paused:
        print(
            f"  {describe(held.paused[rule.id], moment)}: it is evaluated, but records and "
            "performs nothing until resumed"
        )
    elif rule.id in held.resuming:
        print("  resumed: the engine's next cycle seeds what crossed while it was paused")
    if not totals:
        print("  no metrics recorded for this post yet (values below are unknown)")
    rows = [[t.description, t.value, t.threshold, t.truth.value, t.reason] for t in decision.trace]
    if rows:
        print(table(["condition", "value", "threshold", "result", "why"], rows))
    reason = decision.reason
    if recorded and recorded[0].firing.kind == "seeded" and reason.startswith("already fired"):
        reason = "already recorded: seeded when the rule was added or changed, so it won't fire"
    print(f"result: {decision.truth.value}; {reason}")
    for e in recorded:
        print(f"recorded: {e.firing.kind} {e.firing.key} at {iso(e.firing.at)}")
    return 0

"""``automation explain``: why a rule did or did not fire for a post.

By default it explains from what the engine stored; ``--live`` first reads the post's
current values from the Engagement API (and, for an owned post, the /28hr series its
windows need), within the request budget a running engine shares, so a window is not
unknown only because nothing was stored for it.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from automation.cli.args import check_post_id
from automation.cli.context import command_store, now, required_config
from automation.cli.tables import table
from automation.core.cycle_decisions import seeding_reason
from automation.core.errors import UsageError
from automation.core.facts import (
    Decision,
    LeafTrace,
    Outcome,
    PostFacts,
    Snapshot,
    Truth,
    post_created_at,
)
from automation.core.payloads import iso
from automation.core.records import FiringRecord, HistoryEntry, WatchedPostRecord
from automation.core.window_text import windows_text
from automation.core.wording import no_rule

if TYPE_CHECKING:
    from automation.config.model import Config
    from automation.core.evaluate import CompiledRule
    from automation.core.pauses import PauseState
    from automation.core.rules import Rule
    from automation.store.base import Store

__all__ = ["register"]


def register(sub: Any) -> None:
    e = sub.add_parser("explain", help="why a rule did or did not fire for a post")
    e.add_argument("rule_id")
    e.add_argument("post_id")
    e.add_argument(
        "--live", action="store_true", help="read the post's current values from the API first"
    )
    e.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from automation.core.evaluate import compile_rule
    from automation.engine.pauses import current
    from automation.rulefiles.rule_parser import load_rules

    config = required_config(args, secrets="required" if args.live else "when_used")
    with command_store(config, only_reads=not args.live) as store:
        ruleset = load_rules(list(config.rules), names=config.rule_names())
        rule = next((r for r in ruleset.rules if r.id == args.rule_id), None)
        if rule is None:
            raise UsageError(no_rule(args.rule_id, (r.id for r in ruleset.rules)))
        check_post_id(args.post_id)
        compiled = compile_rule(rule)
        moment = now()
        post = next(
            (p for p in store.posts(include_unavailable=True) if p.post_id == args.post_id), None
        )
        since = moment - timedelta(hours=28)
        snaps = store.snapshots([args.post_id], since=since).get(args.post_id, ())
        record = post or WatchedPostRecord(
            args.post_id, rule.watch.owner, post_created_at(args.post_id), "explicit", moment
        )
        if args.live:
            facts = _live_facts(config, store, compiled, record, snaps, moment)
        else:
            facts = PostFacts(
                post_id=args.post_id,
                account=record.account,
                created_at=record.created_at,
                totals=store.latest_totals([args.post_id]).get(args.post_id, {}),
                snapshots=tuple(snaps),
            )
        totals = facts.totals
        held = current(store, [rule.id], moment)
        seeds = seeding_reason(compiled, store.rule_versions().get(rule.id), held.resuming)
        state = store.rule_state(rule.id, args.post_id)
        decision = compiled.explain(facts, state, moment, seeding=bool(seeds))
        recorded = store.history(rule_id=rule.id, post_id=args.post_id, limit=5)
    print(f"rule {rule.id} on post {args.post_id} ({facts.url})")
    for note in _notes(post, rule, args.post_id, held, moment, seeds):
        print(f"  {note}")
    if args.live:
        print(f"  values read from the API at {iso(moment)}")
    if not totals:
        gone = "the API has no values" if args.live else "no metrics recorded"
        print(f"  {gone} for this post yet (values below are unknown)")
    rows = [[t.description, t.value, t.threshold, t.truth.value, t.reason] for t in decision.trace]
    if rows:
        print(table(["condition", "value", "threshold", "result", "why"], rows))
    print(f"result: {decision.truth.value}; {_reason(decision, seeds, recorded)}")
    if not args.live and record.account is not None:
        _window_hint(decision.trace)
    for e in recorded:
        print(_recorded(e.firing))
    return 0


def _reason(decision: Decision, seeds: str, recorded: Sequence[HistoryEntry]) -> str:
    """The result's sentence, in what the engine would do with the post now."""
    if decision.outcome is Outcome.SEED:
        return f"would be seeded (recorded as seen, not fired): {seeds}"
    reason = decision.reason
    if recorded and recorded[0].firing.kind == "seeded" and reason.startswith("already fired"):
        reason = "already recorded: seeded when the rule was added or changed, so it won't fire"
    return reason


def _recorded(firing: FiringRecord) -> str:
    """``recorded: fired once at ...``, and the windows that decided it when it has any."""
    windows = windows_text(firing.windows)
    return f"recorded: {firing.kind} {firing.key} at {iso(firing.at)}" + (
        f" ({windows})" if windows else ""
    )


def _notes(
    post: WatchedPostRecord | None,
    rule: Rule,
    post_id: str,
    held: PauseState,
    moment: datetime,
    seeds: str,
) -> list[str]:
    """What stands in the way of acting on the post: the engine has not seen it, it is
    gone, or the rule is paused; and what its next cycle does once resumed, which
    ``seeds`` (``seeding_reason``'s answer) decides."""
    from automation.engine.pauses import describe

    rule_id = rule.id
    notes = []
    if post is None and post_id not in rule.watch.posts and rule.watch.accounts:
        accounts = ", ".join(rule.watch.accounts)
        notes.append(
            f"the engine has not seen this post among the posts of {accounts} (a new one is"
            " found at its next cycle), so it is explained as another account's public post:"
            " impressions and windows stay unknown"
        )
    if post is not None and post.unavailable_at is not None:
        notes.append(
            f"the API reports this post unavailable since {iso(post.unavailable_at)}"
            " (deleted, protected or not readable with our tokens): it is no longer polled,"
            " and the values below are the last ones read"
        )
    if rule_id in held.paused:
        notes.append(
            f"{describe(held.paused[rule_id], moment)}: it is evaluated, but records and "
            "performs nothing until resumed"
        )
    elif rule_id in held.resuming and seeds:
        notes.append("resumed: the engine's next cycle seeds what crossed while it was paused")
    elif rule_id in held.resuming:
        notes.append(
            "resumed with --catch-up: the engine's next cycle fires what meets it (caught up)"
        )
    return notes


def _window_hint(trace: Sequence[LeafTrace]) -> None:
    """An owned post's window left unknown from what was stored: ``--live`` reads it."""
    window = next(
        (t for t in trace if t.truth is Truth.UNKNOWN and " over " in t.description), None
    )
    if window is not None:
        print(
            f"hint: {window.description}: a window of an owned post comes from the API's "
            "last 28 hours; add --live to read them now"
        )


def _live_facts(
    config: Config,
    store: Store,
    compiled: CompiledRule,
    record: WatchedPostRecord,
    snapshots: tuple[Snapshot, ...],
    moment: datetime,
) -> PostFacts:
    """The facts a cycle would assemble for the post right now, read from the API."""
    from automation.core.cycle_facts import assemble_facts
    from automation.core.metric_names import HOURLY_METRICS
    from automation.core.payloads import action_metrics
    from automation.service.api_clients import engagement_client
    from automation.x.engagement_plan import WatchedPost, plan_requests
    from automation.x.http import HttpClient

    window = compiled.window_metrics
    requests = plan_requests(
        [WatchedPost(record.post_id, record.account)],
        totals_metrics=compiled.totals_metrics | action_metrics(compiled.rule) | window,
        hourly_posts=[record.post_id] if record.account is not None else [],
        hourly_metrics=window & HOURLY_METRICS,
    )
    with HttpClient(timeout=config.engagement_api.timeout) as http:
        fetched = engagement_client(config, store, http, clock=now).fetch(requests)
    if fetched.failures:
        raise fetched.failures[0]
    found = assemble_facts(
        {record.post_id: record},
        fetched.totals,
        fetched.hourly,
        fetched.forbidden,
        {record.post_id: snapshots},
        moment,
    )
    return found.get(record.post_id) or PostFacts(
        post_id=record.post_id,
        account=record.account,
        created_at=record.created_at,
    )

"""Commands that read (or adjust) the recorded state: history, status, top, actions,
rearm and explain. They open the database without the engine lock, so they work while
the service runs; SQLite's WAL keeps their reads consistent."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

from automation.cli.tables import table
from automation.config.loader import Config
from automation.core.errors import UsageError
from automation.core.facts import PostFacts, post_created_at, post_url
from automation.core.metric_names import DERIVED, canonical, suggest
from automation.core.payloads import iso, number
from automation.store.sqlite import SqliteStore

__all__ = ["dispatch", "top_values"]


def dispatch(args: argparse.Namespace, config: Config) -> int:
    if not config.database.exists():
        raise UsageError(f"no database at {config.database} yet: run 'automation run --once' first")
    store = SqliteStore.open(config.database)
    try:
        handler = {
            "history": _history,
            "status": _status,
            "top": _top,
            "actions": _actions,
            "rearm": _rearm,
            "explain": _explain,
        }[args.command]
        return handler(args, config, store)
    finally:
        store.close()


def _now() -> datetime:
    return datetime.now(UTC)


def _emit_json(data: Any) -> None:
    print(json.dumps(data, indent=2, default=str))


def _history(args: argparse.Namespace, config: Config, store: Any) -> int:
    entries = store.history(rule_id=args.rule, post_id=args.post, limit=args.limit)
    if args.json:
        _emit_json([_entry_dict(e) for e in entries])
        return 0
    if not entries:
        print("no firings recorded")
        return 0
    rows = []
    for e in entries:
        f = e.firing
        acts = ", ".join(f"{a.kind}:{a.status}" for a in e.actions) or "-"
        rows.append([iso(f.at), f.rule_id, f.post_id, f.kind, f.key, acts])
    print(table(["when", "rule", "post", "kind", "key", "actions"], rows))
    return 0


def _entry_dict(e: Any) -> dict[str, Any]:
    f = e.firing
    return {
        "id": f.id,
        "rule": f.rule_id,
        "post": f.post_id,
        "kind": f.kind,
        "key": f.key,
        "at": iso(f.at),
        "milestone": f.milestone,
        "metrics": {k: number(v) for k, v in f.metrics.items()},
        "actions": [
            {
                "id": a.id,
                "kind": a.kind,
                "status": a.status,
                "attempts": a.attempts,
                "last_error": a.last_error,
            }
            for a in e.actions
        ],
    }


def _status(args: argparse.Namespace, config: Config, store: Any) -> int:
    from automation.rulefiles.rule_parser import load_rules

    ruleset = load_rules(list(config.rules), names=config.rule_names())
    last = json.loads(store.meta("last_cycle") or "null")
    reload_error = _reload_error(store.meta("reload_error"))
    counts = store.action_counts()
    now = _now().timestamp()
    used = len(store.budget_load("engagement", now - 60))
    data = {
        "last_cycle": last,
        "posts_watched": len(store.posts()),
        # what the engine runs (it keeps its rules when a reload fails), else what is on disk
        "rules_loaded": (last or {}).get("rules", len(ruleset.rules)),
        "rule_errors": [str(p) for p in ruleset.errors],
        "reload_error": reload_error,
        "actions": {
            "pending": counts.get("pending", 0),
            "dead": counts.get("dead", 0),
            "sent": counts.get("sent", 0),
        },
        "api_budget": {
            "requests_last_minute": used,
            "limit_per_minute": config.engagement_api.requests_per_minute,
        },
    }
    if args.json:
        _emit_json(data)
        return 0
    rows = [
        ["last cycle", _last_cycle_text(last)],
        ["posts watched", data["posts_watched"]],
        ["rules loaded", data["rules_loaded"]],
        ["actions pending", data["actions"]["pending"]],
        ["actions dead", data["actions"]["dead"]],
        [
            "API budget",
            f"{used} of {config.engagement_api.requests_per_minute} requests in the last minute",
        ],
    ]
    if reload_error:
        first = (reload_error["errors"].splitlines() or [""])[0][:120]
        when = f"{reload_error['at']}: " if reload_error.get("at") else ""
        rows.append(["failed reload", when + first])
    for problem in data["rule_errors"][:5]:
        rows.append(["rule error", problem])
    print(table(["", ""], rows).split("\n", 2)[2])
    return 0


def _reload_error(raw: str | None) -> dict[str, Any] | None:
    """A failed rules reload is recorded as JSON ({"at", "errors"}), a failed config reload
    as plain text; both are shown the same way."""
    if not raw:
        return None
    try:
        data = json.loads(raw)
    except ValueError:
        data = None
    if isinstance(data, dict) and isinstance(data.get("errors"), str):
        return {"at": data.get("at"), "errors": data["errors"]}
    return {"at": None, "errors": raw}


def _last_cycle_text(last: dict[str, Any] | None) -> str:
    if not last:
        return "never"
    text = (
        f"{last['at']}: {last['posts']} posts, {last['fired']} fired, "
        f"{last['seeded']} seeded, {last['actions_sent']} actions sent"
    )
    if last.get("errors"):
        text += f", {len(last['errors'])} errors"
    return text


def _top(args: argparse.Namespace, config: Config, store: Any) -> int:
    metric = canonical(args.metric)
    if metric is None:
        hint = suggest(args.metric)
        raise UsageError(
            f"unknown metric {args.metric!r}" + (f" (did you mean {hint!r}?)" if hint else "")
        )
    rows = top_values(store, metric, args.n)
    if not rows:
        print(f"no watched post has a recorded value for {args.metric}")
        return 0
    print(table(["post", args.metric, "url"], [[p, v, post_url(p)] for p, v in rows]))
    return 0


def top_values(store: Any, metric: str, n: int) -> list[tuple[str, float]]:
    """The watched posts highest in ``metric``; a derived metric (engagement_rate) is not
    stored, so it is computed from the stored values it is made of."""
    if metric not in DERIVED:
        return list(store.top(metric, n))
    numerator, denominator = DERIVED[metric]
    ids = [p.post_id for p in store.posts()]
    rows = [
        (pid, values[numerator] / values[denominator])
        for pid, values in store.latest_totals(ids).items()
        if values.get(denominator) and numerator in values
    ]
    return sorted(rows, key=lambda row: (-row[1], row[0]))[:n]


def _actions(args: argparse.Namespace, config: Config, store: Any) -> int:
    if args.verb == "retry":
        if not args.action_id:
            raise UsageError("automation actions retry: give the action ID to re-queue")
        if not store.retry_action(args.action_id, _now()):
            print(f"automation: no dead action {args.action_id}", file=sys.stderr)
            return 1
        print(f"re-queued {args.action_id}")
        return 0
    items = store.actions(status="dead" if args.dead else None)
    if args.json:
        _emit_json(
            [
                {
                    "id": i.id,
                    "kind": i.kind,
                    "status": i.status,
                    "attempts": i.attempts,
                    "next_attempt_at": i.next_attempt_at and iso(i.next_attempt_at),
                    "last_error": i.last_error,
                }
                for i in items
            ]
        )
        return 0
    if not items:
        print("no dead actions" if args.dead else "the outbox is empty")
        return 0
    rows = [
        [
            i.id,
            i.kind,
            i.status,
            i.attempts,
            iso(i.next_attempt_at) if i.next_attempt_at else "-",
            (i.last_error or "")[:60],
        ]
        for i in items
    ]
    print(table(["id", "kind", "status", "attempts", "next attempt", "last error"], rows))
    return 0


def _rearm(args: argparse.Namespace, config: Config, store: Any) -> int:
    count = store.rearm(args.rule_id, args.post_id, _now())
    target = f"{args.rule_id} on post {args.post_id}" if args.post_id else args.rule_id
    if count == 0:
        print(f"automation: nothing to rearm: no firings of {target} are recorded", file=sys.stderr)
        return 1
    print(f"re-armed {target}: {count} firing(s) forgotten; it may fire again")
    return 0


def _explain(args: argparse.Namespace, config: Config, store: Any) -> int:
    from automation.core.evaluate import compile_rule
    from automation.rulefiles.rule_parser import load_rules

    ruleset = load_rules(list(config.rules), names=config.rule_names())
    rule = next((r for r in ruleset.rules if r.id == args.rule_id), None)
    if rule is None:
        raise UsageError(f"no rule {args.rule_id!r} in {', '.join(map(str, config.rules))}")
    if not (args.post_id.isascii() and args.post_id.isdigit() and len(args.post_id) <= 19):
        raise UsageError(
            f"not a post ID: {args.post_id!r} (expected its digits, e.g. 1260294888811347969)"
        )
    compiled = compile_rule(rule)
    now = _now()
    post = next(
        (p for p in store.posts(include_unavailable=True) if p.post_id == args.post_id), None
    )
    totals = store.latest_totals([args.post_id]).get(args.post_id, {})
    snaps = store.snapshots([args.post_id], since=now - timedelta(hours=28)).get(args.post_id, ())
    facts = PostFacts(
        post_id=args.post_id,
        account=post.account if post else rule.watch.owner,
        created_at=post.created_at if post else post_created_at(args.post_id),
        totals=totals,
        snapshots=tuple(snaps),
        url=post_url(args.post_id),
    )
    decision = compiled.explain(facts, store.rule_state(rule.id, args.post_id), now)
    print(f"rule {rule.id} on post {args.post_id} ({facts.url})")
    if not totals:
        print("  no metrics recorded for this post yet (values below are unknown)")
    rows = [[t.description, t.value, t.threshold, t.truth.value, t.reason] for t in decision.trace]
    if rows:
        print(table(["condition", "value", "threshold", "result", "why"], rows))
    recorded = store.history(rule_id=rule.id, post_id=args.post_id, limit=5)
    reason = decision.reason
    if recorded and recorded[0].firing.kind == "seeded" and reason.startswith("already fired"):
        reason = "already recorded: seeded when the rule was added or changed, so it won't fire"
    print(f"result: {decision.truth.value}; {reason}")
    for e in recorded:
        print(f"recorded: {e.firing.kind} {e.firing.key} at {iso(e.firing.at)}")
    return 0

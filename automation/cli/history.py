"""``automation history``: firings, newest first, with where each action stands."""

from __future__ import annotations

import argparse
from typing import Any

from automation.cli.args import positive
from automation.cli.context import emit_json, open_store, required_config
from automation.cli.tables import table
from automation.core.payloads import iso, number
from automation.core.records import HistoryEntry

__all__ = ["register"]


def register(sub: Any) -> None:
    h = sub.add_parser("history", help="firings, newest first")
    h.add_argument("--rule", help="only this rule's firings (a rule ID)")
    h.add_argument("--post", help="only this post's firings (a post ID)")
    h.add_argument(
        "--limit", type=positive, default=20, help="at most this many firings (default 20)"
    )
    h.add_argument("--json", action="store_true", help="print them as JSON")
    h.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    with open_store(required_config(args), only_reads=True) as store:
        entries = store.history(rule_id=args.rule, post_id=args.post, limit=args.limit)
    if args.json:
        emit_json([_entry_dict(e) for e in entries])
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


def _entry_dict(e: HistoryEntry) -> dict[str, Any]:
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

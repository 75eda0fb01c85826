"""``automation history``: firings, newest first, with where each action stands."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from automation.cli.args import check_post_id, positive
from automation.cli.context import command_store, emit_json, required_config
from automation.cli.tables import table
from automation.core.errors import UsageError
from automation.core.payloads import iso, number
from automation.core.records import HistoryEntry
from automation.core.window_text import windows_json, windows_text
from automation.core.wording import no_rule

if TYPE_CHECKING:  # only named: the parser of every command loads no config code
    from automation.config.model import Config

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
    config = required_config(args)
    if args.post is not None:
        check_post_id(args.post, "--post")
    with command_store(config, only_reads=True) as store:
        entries = store.history(rule_id=args.rule, post_id=args.post, limit=args.limit)
    if args.rule is not None and not entries:
        _check_known(args.rule, config)
    if args.json:
        emit_json([_entry_dict(e) for e in entries])
        return 0
    if not entries:
        print("no firings recorded")
        return 0
    print(_table(entries))
    return 0


def _table(entries: list[HistoryEntry]) -> str:
    """A row a firing; a ``window`` column (the value of each windowed leaf that decided
    it) only when some firing listed has one, so a listing without stays as it was."""
    windowed = any(e.firing.windows for e in entries)
    rows = []
    for e in entries:
        f = e.firing
        acts = ", ".join(f"{a.kind}:{a.status}" for a in e.actions) or "-"
        row = [iso(f.at), f.rule_id, f.post_id, f.kind, f.key, acts]
        rows.append([*row, windows_text(f.windows) or None] if windowed else row)
    headers = ["when", "rule", "post", "kind", "key", "actions"]
    return table([*headers, "window"] if windowed else headers, rows)


def _check_known(rule_id: str, config: Config) -> None:
    """A rule ID with no firings that the rule files do not know either is a typo, not
    a quiet rule (the firings of a rule since removed are still listed)."""
    from automation.rulefiles.rule_parser import load_rules

    known = [r.id for r in load_rules(list(config.rules), names=config.rule_names()).rules]
    if rule_id not in known:
        raise UsageError(f"{no_rule(rule_id, known)}, and no firings are recorded for it")


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
        **windows_json(f.windows),
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

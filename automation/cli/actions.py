"""``automation actions``: the outbox; ``actions retry ID`` re-queues a dead action.

Each action is listed with its rule and post; the last error of each is shown whole below
the table, wrapped at spaces, so no message is cut."""

from __future__ import annotations

import argparse
import shutil
import sys
import textwrap
from typing import Any

from automation.cli.args import positive
from automation.cli.context import emit_json, now, open_store, required_config
from automation.cli.tables import table
from automation.core.errors import UsageError
from automation.core.payloads import iso

__all__ = ["register"]


def register(sub: Any) -> None:
    a = sub.add_parser("actions", help="the outbox; 'actions retry ID' re-queues a dead one")
    a.add_argument("verb", nargs="?", choices=("retry",))
    a.add_argument("action_id", nargs="?")
    a.add_argument(
        "--dead", action="store_true", help="only the dead actions (retry one: actions retry ID)"
    )
    a.add_argument(
        "--limit", type=positive, default=100, metavar="N", help="the newest N (default 100)"
    )
    a.add_argument("--json", action="store_true", help="print them as JSON")
    a.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from automation.cli.pause import operator
    from automation.engine.retries import retry_dead

    with open_store(required_config(args), only_reads=args.verb != "retry") as store:
        if args.verb == "retry":
            if not args.action_id:
                raise UsageError("automation actions retry: give the action ID to re-queue")
            if not retry_dead(store, args.action_id, who=operator(), now=now()):
                print(f"automation: no dead action {args.action_id}", file=sys.stderr)
                return 1
            print(f"re-queued {args.action_id}")
            return 0
        items = store.actions(status="dead" if args.dead else None, limit=args.limit + 1)
    if len(items) > args.limit:
        items = items[: args.limit]
        print(
            f"the newest {args.limit} actions; there are more: --limit N lists more",
            file=sys.stderr,
        )
    if args.json:
        emit_json(
            [
                {
                    "id": i.id,
                    "rule": i.rule_id,
                    "post": i.post_id,
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
            i.rule_id,
            i.post_id,
            i.kind,
            i.status,
            i.attempts,
            iso(i.next_attempt_at) if i.next_attempt_at else "-",
        ]
        for i in items
    ]
    print(table(["id", "rule", "post", "kind", "status", "attempts", "next attempt"], rows))
    errors = [(i.id, i.last_error) for i in items if i.last_error]
    if errors:
        print("\nlast errors")
        for action_id, error in errors:
            print(_wrapped(action_id, error))
    return 0


def _wrapped(action_id: str, error: str) -> str:
    """The whole error beside its action, wrapped at spaces only: no word is ever cut."""
    width = max(60, shutil.get_terminal_size((100, 24)).columns)
    return textwrap.fill(
        error,
        width=width,
        initial_indent=f"{action_id}  ",
        subsequent_indent=" " * (len(action_id) + 2),
        break_long_words=False,
        break_on_hyphens=False,
    )

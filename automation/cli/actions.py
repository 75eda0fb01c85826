"""``automation actions [--rule RULE_ID]``: the outbox (of one rule); ``actions retry ID``
re-queues a dead action, ``actions retry --all [--rule RULE_ID]`` every dead one (of that
rule) at once.

Each action is listed with its rule and post; the last error of each is shown whole below
the table, wrapped at spaces, so no message is cut."""

from __future__ import annotations

import argparse
import shutil
import sys
import textwrap
from typing import Any

from automation.cli.args import positive
from automation.cli.context import command_store, emit_json, now, required_config
from automation.cli.tables import table
from automation.core.errors import UsageError
from automation.core.payloads import iso
from automation.core.wording import counted, no_rule

__all__ = ["register"]


def register(sub: Any) -> None:
    a = sub.add_parser("actions", help="the outbox; 'actions retry ID|--all' re-queues dead ones")
    a.add_argument("verb", nargs="?", choices=("retry",))
    a.add_argument("action_id", nargs="?")
    a.add_argument(
        "--dead", action="store_true", help="only the dead actions (retry one: actions retry ID)"
    )
    a.add_argument(
        "--limit", type=positive, default=100, metavar="N", help="the newest N (default 100)"
    )
    a.add_argument("--json", action="store_true", help="print them as JSON")
    a.add_argument(
        "--all", action="store_true", help="retry every dead action (actions retry --all)"
    )
    a.add_argument(
        "--rule",
        metavar="RULE_ID",
        help="only this rule's actions (with retry --all: only its dead ones)",
    )
    a.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    if args.verb == "retry":
        return _retry(args)
    if args.all:
        raise UsageError("--all goes with retry: automation actions retry --all")
    config = required_config(args)
    with command_store(config, only_reads=True) as store:
        if args.rule:
            _check_known(store, config, args.rule)
        items = store.actions(
            status="dead" if args.dead else None, limit=args.limit + 1, rule_id=args.rule
        )
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
        if args.rule:
            print(f"no {'dead ' if args.dead else ''}actions of {args.rule}")
        else:
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


def _retry(args: argparse.Namespace) -> int:
    """Re-queue the dead action named, or with ``--all`` every dead one (of ``--rule``)."""
    from automation.cli.pause import operator
    from automation.engine.retries import retry_all_dead, retry_dead

    if args.action_id and args.all:
        raise UsageError("automation actions retry: give the action ID or --all, not both")
    if not args.action_id and not args.all:
        raise UsageError(
            "automation actions retry: give the action ID to re-queue, or --all for every"
            " dead action"
        )
    if args.rule and not args.all:
        raise UsageError("automation actions retry: --rule goes with --all, not an action ID")
    config = required_config(args)
    with command_store(config) as store:
        if not args.all:
            if not retry_dead(store, args.action_id, who=operator(), now=now()):
                return _not_dead(store, args.action_id)
            print(f"re-queued {args.action_id}")
            return 0
        if args.rule:
            _check_known(store, config, args.rule)
        done = retry_all_dead(store, who=operator(), now=now(), rule_id=args.rule)
    of_rule = f" of {args.rule}" if args.rule else ""
    print(
        f"re-queued {counted(done, 'dead action')}{of_rule}"
        if done
        else f"no dead actions{of_rule}"
    )
    return 0


def _not_dead(store: Any, action_id: str) -> int:
    """Say why ``action_id`` could not be re-queued, and where the ones that can are
    listed: an ID the outbox does not hold is a mistyped one, a usage error (exit 2) as an
    unknown rule is to ``rearm`` and ``pause``; an action that is not dead, exit 1."""
    item = store.action(action_id)
    if item is None:
        raise UsageError(
            f"no action {action_id} in the outbox; give the ID of a dead action: "
            "automation actions --dead lists them"
        )
    print(
        f"automation: action {action_id} is {item.status}, not dead: only a dead action is "
        "re-queued; automation actions --dead lists them",
        file=sys.stderr,
    )
    return 1


def _check_known(store: Any, config: Any, rule_id: str) -> None:
    """Refuse a rule ID that neither the rule files, the engine nor the outbox know (a
    typo), rather than say only that it has no dead actions."""
    from automation.cli.pause import known_rules

    known = known_rules(config, store)
    if rule_id not in known and not store.actions(rule_id=rule_id, limit=1):
        raise UsageError(no_rule(rule_id, known))


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

"""``automation rearm``: forget firings so a rule may fire again."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from automation.cli.context import now, open_store, required_config

__all__ = ["register"]


def register(sub: Any) -> None:
    ra = sub.add_parser("rearm", help="forget firings so the rule may fire again")
    ra.add_argument("rule_id")
    ra.add_argument("post_id", nargs="?")
    ra.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    with open_store(required_config(args)) as store:
        count = store.rearm(args.rule_id, args.post_id, now())
    target = f"{args.rule_id} on post {args.post_id}" if args.post_id else args.rule_id
    if count == 0:
        print(f"automation: nothing to rearm: no firings of {target} are recorded", file=sys.stderr)
        return 1
    print(f"re-armed {target}: {count} firing(s) forgotten; it may fire again")
    return 0

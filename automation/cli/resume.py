"""``automation resume``: lift a pause; the engine's next cycle seeds what crossed meanwhile."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from automation.cli.context import now
from automation.cli.pause import control, target

__all__ = ["register", "run"]


def register(sub: Any) -> None:
    p = sub.add_parser(
        "resume",
        help="lift a pause; what crossed meanwhile is seeded",
        description="Lift a pause. Posts that crossed while the rule was paused are seeded "
        "(recorded, not acted on) unless --catch-up.",
    )
    p.add_argument("rule_id", nargs="?", metavar="RULE_ID")
    p.add_argument("--all", action="store_true", help="lift every pause")
    p.add_argument(
        "--catch-up",
        action="store_true",
        help="fire for the posts that crossed while paused instead of seeding them",
    )
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from automation.engine import pauses

    rule = target(args, "resume")
    moment = now()
    result = control(args, pauses.resume, rule, moment, catch_up=args.catch_up)
    if not result.lifted and result.still_paused_by is None:
        what = "no rule is paused" if args.all else f"rule {rule} is not paused"
        print(f"automation: {what}", file=sys.stderr)
        return 1
    for record in result.lifted:
        which = "every rule" if record.all_rules else f"rule {record.rule_id}"
        print(f"resumed {which} (paused by {record.paused_by})")
    if result.still_paused_by is not None:
        print(
            f"rule {rule} stays paused: {pauses.describe(result.still_paused_by, moment)}; "
            "lift that with 'automation resume --all'",
            file=sys.stderr,
        )
        return 1
    if args.catch_up:
        print("The engine's next cycle fires for the posts that crossed while it was paused.")
    else:
        print("The engine's next cycle seeds the posts that crossed while it was paused")
        print("(recorded, not acted on); 'resume --catch-up' would have fired them.")
    return 0

"""``automation rearm``: forget firings so a rule may fire again.

Only firings are forgotten: a seeded post was already past the rule when the rule was added,
and forgetting its seed would fire for it at once (``--include-seeded`` does so on purpose).
The command says how many posts the rule may fire for again, asks first on a terminal
(``--yes`` skips the question) and ``--dry-run`` lists them without changing anything.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from automation.cli.args import check_post_id
from automation.cli.context import command_store, confirmed, now, required_config
from automation.cli.pause import known_rules
from automation.cli.tables import table
from automation.core.errors import UsageError
from automation.core.payloads import iso
from automation.core.wording import counted, no_rule

if TYPE_CHECKING:
    from automation.core.records import FiringRecord

__all__ = ["register"]


def register(sub: Any) -> None:
    ra = sub.add_parser("rearm", help="forget firings so the rule may fire again")
    ra.add_argument("rule_id")
    ra.add_argument("post_id", nargs="?", help="only this post (default: every post)")
    ra.add_argument(
        "--include-seeded",
        action="store_true",
        help="also forget seeds: posts already past the rule when it was added fire too",
    )
    ra.add_argument(
        "--dry-run", action="store_true", help="list what would fire again; change nothing"
    )
    ra.add_argument("--yes", action="store_true", help="do not ask for confirmation on a terminal")
    ra.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    if args.post_id is not None:
        check_post_id(args.post_id)
    target = f"{args.rule_id} on post {args.post_id}" if args.post_id else args.rule_id
    config = required_config(args)
    with command_store(config) as store:
        plan = store.rearm(
            args.rule_id, args.post_id, now(), include_seeded=args.include_seeded, dry_run=True
        )
        kept = [] if args.include_seeded else _seeds(store, args.rule_id, args.post_id)
        if not plan and not kept:
            _check_known(args.rule_id, known_rules(config, store))
        if not plan:
            print(
                f"automation: nothing to rearm: no firings of {target} are recorded",
                file=sys.stderr,
            )
            if kept:
                print(f"automation: {_seeded_note(kept)}", file=sys.stderr)
            return 1
        print(
            f"{target}: {counted(len(plan), 'firing')} to forget; the rule may fire again "
            f"for {_posts(plan)} at its next cycle"
        )
        if kept:
            print(_seeded_note(kept))
        if args.dry_run:
            print(_listing(plan))
            print("dry run: nothing was changed")
            return 0
        if (
            not args.yes
            and sys.stdin.isatty()
            and not confirmed(f"re-arm {args.rule_id}?", sys.stdout or sys.stderr)  # >&-
        ):
            print("nothing was changed")
            return 1
        done = store.rearm(args.rule_id, args.post_id, now(), include_seeded=args.include_seeded)
    print(f"re-armed {target}: {counted(len(done), 'firing')} of {_posts(done)} forgotten")
    return 0


def _check_known(rule_id: str, known: set[str]) -> None:
    """Refuse a rule id neither the rule files nor the engine's records know (a typo),
    rather than say only that it has no firings."""
    if rule_id not in known:
        raise UsageError(f"{no_rule(rule_id, known)}; give one of them")


def _seeds(store: Any, rule_id: str, post_id: str | None) -> list[FiringRecord]:
    every: list[FiringRecord] = store.rearm(
        rule_id, post_id, now(), include_seeded=True, dry_run=True
    )
    return [f for f in every if f.kind == "seeded"]


def _seeded_note(seeds: list[FiringRecord]) -> str:
    return (
        f"{_posts(seeds)} stay seeded (they were already past the rule when it was added); "
        "--include-seeded forgets those too"
    )


def _listing(firings: list[FiringRecord]) -> str:
    rows = [[f.post_id, f.kind, f.key, iso(f.at)] for f in firings]
    return table(["post", "kind", "key", "recorded at"], rows)


def _posts(firings: list[FiringRecord]) -> str:
    return counted(len({f.post_id for f in firings}), "post")

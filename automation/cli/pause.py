"""``automation pause``: hold a rule (or every rule) back without editing its file."""

from __future__ import annotations

import argparse
import getpass
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar

from automation.cli.context import command_store, now, required_config
from automation.core.durations import duration_hint, parse_duration
from automation.core.errors import UsageError

__all__ = ["control", "operator", "register", "run", "target"]

_T = TypeVar("_T")


def register(sub: Any) -> None:
    p = sub.add_parser(
        "pause",
        help="stop a rule acting without editing files",
        description="Pause a rule: it is still evaluated but records nothing and performs "
        "nothing until 'automation resume' (or until --for runs out).",
    )
    p.add_argument("rule_id", nargs="?", metavar="RULE_ID")
    p.add_argument("--all", action="store_true", help="pause every rule")
    p.add_argument("--for", dest="duration", metavar="D", help="resume by itself after D (2h)")
    p.add_argument("--reason", default="", metavar="TEXT", help="why, for status and the logs")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from automation.engine import pauses

    rule = target(args, "pause")
    moment = now()
    until = None
    if args.duration is not None:
        seconds = parse_duration(args.duration)
        if not seconds:
            raise UsageError(
                f"--for: expected a duration such as 30m, 2h or 1d, got {args.duration!r}"
                + duration_hint(args.duration)
            )
        try:
            until = moment + timedelta(seconds=seconds)
        except OverflowError:  # past the year 9999 a date holds
            raise UsageError(
                f"--for {args.duration}: that ends after the year 9999; give a shorter "
                "duration, or no --for to pause until resumed"
            ) from None
    record = control(args, pauses.pause, rule, moment, until=until, reason=args.reason)
    print(pauses.describe(record, moment))
    print("The engine holds it back from its next cycle: evaluated, but nothing is recorded or")
    print("performed. 'automation resume' lifts it; what crossed meanwhile is then seeded.")
    return 0


def control(
    args: argparse.Namespace, act: Callable[..., _T], rule: str, moment: datetime, **options: Any
) -> _T:
    """``act`` (``pauses.pause`` or ``pauses.resume``) on ``rule`` at ``moment``, by the
    operator at the keyboard, refusing a rule neither the rule files nor the engine know."""
    config = required_config(args)
    with command_store(config) as store:
        return act(
            store,
            rule,
            who=operator(),
            now=moment,
            known_rules=known_rules(config, store),
            **options,
        )


def target(args: argparse.Namespace, command: str) -> str:
    """The rule id, or ``*`` for ``--all``; exactly one of them."""
    from automation.core.pauses import ALL_RULES

    if args.all == bool(args.rule_id):
        raise UsageError(f"automation {command}: give a RULE_ID or --all (not both)")
    return ALL_RULES if args.all else str(args.rule_id)


def operator() -> str:
    """Who is at the keyboard, as recorded beside a pause."""
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return "unknown user"


def known_rules(config: Any, store: Any) -> set[str]:
    """Rule ids in the rule files now, and those the engine has run (a broken file must not
    stop anyone pausing the rule the engine still runs)."""
    from automation.rulefiles.rule_parser import load_rules

    ruleset = load_rules(list(config.rules), names=config.rule_names())
    return {r.id for r in ruleset.rules} | set(store.rule_versions())

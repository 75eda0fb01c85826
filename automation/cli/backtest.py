"""``automation backtest``: how often rules would have fired over a past period.

Loads the rules (the deployed ones, or files given with ``--rules``), plans the
``/historical`` requests the history still lacks, says what they cost and asks on a
terminal when there are more than 20, then runs the backtest (``automation.backtest``)
and prints per rule what would have fired beside what the live engine fired. Nothing
but hourly history is written; the engine's ledger and outbox are only read.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from automation.cli.backtest_output import print_json, print_table
from automation.cli.context import confirmed, now, required_config
from automation.cli.progress_bar import NoProgress, ProgressBar
from automation.core.errors import UsageError
from automation.core.periods import parse_period
from automation.core.request_eta import ASK_ABOVE, request_eta

if TYPE_CHECKING:
    from automation.backtest import BacktestPlan
    from automation.config.model import Config
    from automation.core.evaluate import CompiledRule

__all__ = ["register", "run"]

DEFAULT_SINCE = "28d"


def register(sub: Any) -> None:
    p = sub.add_parser(
        "backtest",
        help="how often rules would have fired over a past period",
        description="Replay rules over the stored hourly history and /historical, as the "
        "engine would have run them, in a throwaway ledger: nothing is performed and the "
        "engine's ledger is left as it is.",
    )
    p.add_argument("rule_ids", nargs="*", metavar="RULE_ID", help="only these rules")
    p.add_argument(
        "--rules",
        action="append",
        type=Path,
        default=[],
        metavar="PATH",
        help="backtest these rule files or directories instead of the deployed rules",
    )
    p.add_argument("--since", metavar="D", help=f"the last D until now (default {DEFAULT_SINCE})")
    p.add_argument("--from", dest="start", metavar="T", help="a date or UTC time")
    p.add_argument("--to", dest="end", metavar="T", help="a date or UTC time (default now)")
    p.add_argument("--json", action="store_true", help="events and a summary as JSON lines")
    p.add_argument("--yes", action="store_true", help=f"do not ask above {ASK_ABOVE} requests")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from automation.backtest import (
        BacktestSpec,
        check_period,
        open_clients,
        plan_backtest,
        run_backtest,
    )
    from automation.store.opening import open_store
    from automation.x.http import HttpClient

    config = required_config(args, secrets="required")
    started = now()
    since = args.since if args.since or args.start else DEFAULT_SINCE
    period = parse_period(since=since, start=args.start, end=args.end, now=started)
    assert period is not None
    check_period(period)
    spec = BacktestSpec(_rules(args, config), period, config.poll_interval)
    with (
        open_store(config.database, migrate=config.migrate) as store,
        HttpClient(timeout=config.engagement_api.timeout) as http,
    ):
        engagement, timeline = open_clients(config, store, http, clock=now)
        plan = plan_backtest(spec, store=store, timeline=timeline, now=started)
        print(plan.history.describe(config.engagement_api.requests_per_minute), file=sys.stderr)
        if not _go_ahead(plan, args.yes):
            print("automation: nothing fetched, nothing replayed", file=sys.stderr)
            return 1
        progress = ProgressBar(sys.stderr) if sys.stderr.isatty() else NoProgress()
        per_minute = config.engagement_api.requests_per_minute

        def show(done: int, planned: int) -> None:
            left = planned - done
            progress.update(
                done, planned, lambda: request_eta(left, available_now=0, per_minute=per_minute)
            )

        try:
            result = run_backtest(plan, store=store, engagement=engagement, progress=show)
        except KeyboardInterrupt:
            progress.close()
            print(
                "automation: interrupted; the history fetched so far is kept: run the same "
                "command again to go on",
                file=sys.stderr,
            )
            return 130
        progress.close()
    if args.json:
        print_json(result, sys.stdout)
    else:
        print_table(result, sys.stdout)
    return 0


def _rules(args: argparse.Namespace, config: Config) -> tuple[CompiledRule, ...]:
    """The rules to replay: enabled ones, or those named (a disabled one as if enabled)."""
    import dataclasses

    from automation.core.evaluate import compile_rule
    from automation.rulefiles.rule_parser import load_rules
    from automation.rulefiles.yaml_loader import YAML_SUFFIXES

    ruleset = load_rules(args.rules or list(config.rules), names=config.rule_names())
    ruleset.raise_for_errors()
    known = {r.id: r for r in ruleset.rules}
    unknown = [name for name in args.rule_ids if name not in known]
    if unknown:
        if unknown[0].endswith(YAML_SUFFIXES) or Path(unknown[0]).exists():
            raise UsageError(
                f"{unknown[0]!r} is not a rule ID: give each rule file its own --rules"
                f" (--rules {args.rules[-1] if args.rules else 'PATH'} --rules {unknown[0]})"
            )
        listed = ", ".join(sorted(known)) or "none"
        raise UsageError(f"no rule {unknown[0]!r} in the rules loaded (they are: {listed})")
    chosen = (
        [dataclasses.replace(known[name], enabled=True) for name in dict.fromkeys(args.rule_ids)]
        if args.rule_ids
        else [r for r in ruleset.rules if r.enabled]
    )
    if not chosen:
        raise UsageError("no enabled rule to backtest: name one, or give --rules PATH")
    return tuple(compile_rule(r) for r in chosen)


def _go_ahead(plan: BacktestPlan, yes: bool) -> bool:
    """True unless a terminal user declines a plan of more than ``ASK_ABOVE`` requests."""
    if yes or len(plan.history.requests) <= ASK_ABOVE or not sys.stdin.isatty():
        return True
    return confirmed("fetch that history now?", sys.stderr)  # stdout may carry --json

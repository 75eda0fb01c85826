"""``automation run``: the polling loop, once or for good, for real or as a dry run.

A dry run ends with a table per rule: would fire, would seed, and the posts whose
condition could not be known, with the commonest reason (``--json``: a ``summary``
event), so a rule that can never know its values shows at once.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any

from automation.cli.context import required_config
from automation.cli.tables import table

if TYPE_CHECKING:
    from automation.engine.dry_run_tally import DryRunTally

__all__ = ["register"]


def register(sub: Any) -> None:
    r = sub.add_parser("run", help="the polling loop")
    r.add_argument("--once", action="store_true", help="one cycle, then exit")
    r.add_argument("--dry-run", action="store_true", help="read the API, record and do nothing")
    r.add_argument("--json", action="store_true", help="one JSON object per event on stdout")
    r.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from automation.service.signals import catch

    # caught as the program started, else now: a stop while the engine loads is a stop too
    signalled = args.signalled or catch()
    from automation.service.run import run as run_service

    return run_service(
        required_config(args, secrets="required"),
        once=args.once,
        dry_run=args.dry_run,
        json_out=args.json,
        report=_json_summary if args.json else _table_summary,
        signalled=signalled,
    )


def _rows(tally: DryRunTally) -> list[list[object]]:
    return [
        [rule, t.would_fire, t.would_seed, len(t.unknown), t.commonest or None]
        for rule, t in tally.rules.items()
    ]


def _table_summary(tally: DryRunTally) -> None:
    if not tally.rules:  # every loaded rule has a row, even one watching no post
        print(
            "dry run: no rules are loaded, so nothing was evaluated; write a rule file where"
            " the config's rules: points (rules.example.yaml shows every feature) and check"
            " it with automation check"
        )
        return
    headers = ["rule", "would fire", "would seed", "unknown", "commonest reason it was unknown"]
    print("dry run, per rule (unknown: posts whose condition could not be known)")
    print(table(headers, _rows(tally)))


def _json_summary(tally: DryRunTally) -> None:
    names = ("rule", "would_fire", "would_seed", "unknown", "reason")
    rules = [dict(zip(names, row, strict=True)) for row in _rows(tally)]
    sys.stdout.write(json.dumps({"event": "summary", "rules": rules}) + "\n")

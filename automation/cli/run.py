"""``automation run``: the polling loop, once or for good, for real or as a dry run."""

from __future__ import annotations

import argparse
from typing import Any

from automation.cli.context import required_config

__all__ = ["register"]


def register(sub: Any) -> None:
    r = sub.add_parser("run", help="the polling loop")
    r.add_argument("--once", action="store_true", help="one cycle, then exit")
    r.add_argument("--dry-run", action="store_true", help="read the API, record and do nothing")
    r.add_argument("--json", action="store_true", help="one JSON object per event on stdout")
    r.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from automation.service.run import run as run_service

    return run_service(
        required_config(args, secrets="required"),
        once=args.once,
        dry_run=args.dry_run,
        json_out=args.json,
    )

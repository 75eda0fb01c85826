"""``automation demo``'s arguments; the demo itself (``cli.demo``) is imported only when it
runs, so that ``automation --help`` does not load it."""

from __future__ import annotations

import argparse
from typing import Any

__all__ = ["register"]


def register(sub: Any) -> None:
    d = sub.add_parser("demo", help="the whole engine against the built-in sandbox")
    d.add_argument("--seconds", type=float, default=30.0, help=argparse.SUPPRESS)
    d.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from automation.cli.demo import run_demo

    return run_demo(seconds=args.seconds)

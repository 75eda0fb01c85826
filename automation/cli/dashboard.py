"""``automation dashboard``: the web dashboard over the engine's database."""

from __future__ import annotations

import argparse
from typing import Any

from automation.cli.context import required_config

__all__ = ["register", "run"]


def register(sub: Any) -> None:
    d = sub.add_parser(
        "dashboard",
        help="web pages over the database: rules, posts, history, actions",
        description=(
            "Serve the dashboard. It listens on 127.0.0.1 unless the config sets "
            "dashboard: password: ${DASHBOARD_PASSWORD}; then any address may be given."
        ),
    )
    d.add_argument(
        "--listen",
        default="127.0.0.1:8080",
        metavar="ADDR:PORT",
        help="where to listen (default 127.0.0.1:8080)",
    )
    d.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from automation.dashboard.access import Listen
    from automation.dashboard.server import serve

    listen = Listen.parse(args.listen)
    serve(required_config(args), listen)
    return 0

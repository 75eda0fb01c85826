"""``automation sandbox``'s arguments; the sandbox (``sandbox.cli``) is imported only when it
runs, so that ``automation --help`` does not load it."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

__all__ = ["register"]


def register(sub: Any) -> None:
    sb = sub.add_parser(
        "sandbox",
        help="serve the simulated X API on 127.0.0.1",
        description=(
            "Serve the simulated X API and a webhook receiver on 127.0.0.1. With "
            "--write-config FILE, also write a config that points the engine at them."
        ),
    )
    sb.add_argument("--port", type=int, default=8099, help="the API's port (default 8099)")
    sb.add_argument(
        "--write-config",
        type=Path,
        metavar="FILE",
        help="write a config for the engine (and rules/ beside it, if missing)",
    )
    sb.add_argument(
        "--speed",
        type=float,
        default=1.0,
        metavar="X",
        help=(
            "its accounts post and their posts grow X times faster than real time, an "
            "hour's worth a second at 3600, so a rule fires within a minute or two "
            "(default 1; 0 stops them); the times it reports stay real, in the engine's past"
        ),
    )
    sb.add_argument(
        "--fault-rate",
        type=float,
        default=0.0,
        metavar="P",
        help="the share of API requests (0 to 1) that fail as the real API can: a 429, a "
        "5xx, a slow, malformed or cut-short answer (default 0)",
    )
    sb.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from automation.sandbox import serve

    return serve(
        port=args.port,
        write_config=args.write_config,
        speed=args.speed,
        fault_rate=args.fault_rate,
    )

"""``automation sandbox``: serve the simulated X API on 127.0.0.1."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

__all__ = ["register"]


def register(sub: Any) -> None:
    sb = sub.add_parser("sandbox", help="serve the simulated X API on 127.0.0.1")
    sb.add_argument("--port", type=int, default=8099)
    sb.add_argument("--write-config", type=Path)
    sb.add_argument("--speed", type=float, default=1.0, help="simulated seconds per second")
    sb.add_argument("--fault-rate", type=float, default=0.0)
    sb.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from automation.sandbox import serve

    return serve(
        port=args.port,
        write_config=args.write_config,
        speed=args.speed,
        fault_rate=args.fault_rate,
    )

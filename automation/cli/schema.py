"""``automation schema``: print the rule files' JSON Schema."""

from __future__ import annotations

import argparse
from typing import Any

__all__ = ["register"]


def register(sub: Any) -> None:
    sub.add_parser("schema", help="print the rule files' JSON Schema").set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from automation.rulefiles.schema import schema_text

    print(schema_text())
    return 0

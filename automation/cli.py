"""The ``automation`` command line (placeholder until the commands land)."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    print("automation: commands are being built", file=sys.stderr)
    return 2

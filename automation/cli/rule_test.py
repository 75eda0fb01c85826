"""``automation test``: run rule unit tests."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from automation.core.errors import UsageError
from automation.core.wording import shown_path

__all__ = ["register"]


def register(sub: Any) -> None:
    t = sub.add_parser("test", help="run rule unit tests")
    t.add_argument("files", nargs="*", type=Path)
    t.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Without FILE: ``rule-tests/*.yaml`` next to the config file when one is named
    (``--config`` or ``$AUTOMATION_CONFIG``), else in the current directory. The config
    itself is not read: tests bring their own fakes and need no credentials."""
    from automation.rule_tests import default_files, expand, run_files

    files = list(args.files)
    if files and not expand(files):  # only directories, none holding a test file
        raise UsageError(
            "automation test: no rule test files (*.yaml) in "
            f"{', '.join(shown_path(str(f)) for f in files)}; "
            "name a test file or a directory that holds them"
        )
    if not files:
        named = args.config or os.environ.get("AUTOMATION_CONFIG")
        base = Path(named).parent if named else Path()
        files = default_files(base)
        if not files:
            raise UsageError(
                "automation test: no rule test files (*.yaml) in "
                f"{shown_path(str(base / 'rule-tests'))}; "
                "name them: automation test FILE ..."
            )
    return run_files(files, out=sys.stdout, err=sys.stderr)

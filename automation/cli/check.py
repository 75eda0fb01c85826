"""``automation check``: every problem of the rule files, one line each, editor-clickable.

Lines read ``PATH:LINE:COL: error: MESSAGE`` (or ``warning:``), sorted by file and line, then
one summary line. The exit status is 1 when there is any error, so CI can gate on it.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from automation.cli.context import command_config, now
from automation.core.errors import Problem
from automation.core.wording import counted

if TYPE_CHECKING:
    from automation.config.model import Config

__all__ = ["format_problems", "register", "run_check"]


def register(sub: Any) -> None:
    c = sub.add_parser("check", help="validate rule files")
    c.add_argument("paths", nargs="*", type=Path)
    c.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Paths given: check them, cross-checking names when a config is found. No paths:
    the config's rules, so the config is required."""
    explicit = bool(args.config or os.environ.get("AUTOMATION_CONFIG"))
    config = command_config(args, required=explicit or not args.paths)
    paths = list(args.paths) or list(config.rules if config else ())
    return run_check(paths, config=config, err=sys.stderr, now=now())


def run_check(
    paths: Sequence[Path], *, config: Config | None, err: TextIO, now: datetime | None = None
) -> int:
    """Check ``paths`` (files or directories) and print the findings to ``err``; with
    ``now``, also the ages of the posts rules name against their max_age."""
    from automation.rulefiles.rule_parser import load_rules

    ruleset = load_rules(paths, names=config.rule_names() if config else None, now=now)
    for line in format_problems(ruleset.problems):
        print(line, file=err)
    errors, warnings = len(ruleset.errors), len(ruleset.warnings)
    print(
        f"checked {counted(len(ruleset.rules), 'rule')} in {counted(len(ruleset.files), 'file')}: "
        f"{counted(errors, 'error')}, {counted(warnings, 'warning')}",
        file=err,
    )
    if config is None:
        print(
            "account and webhook-secret names were not cross-checked (no config): "
            "add --config automation.yaml to check them too",
            file=err,
        )
    return 1 if errors else 0


def format_problems(problems: Sequence[Problem]) -> list[str]:
    """Problems as lines, by file, then line and column, in the order files were given."""
    order: dict[str, int] = {}
    for problem in problems:
        order.setdefault(problem.path, len(order))
    ranked = sorted(problems, key=lambda p: (order[p.path], p.line, p.column))
    return [str(problem) for problem in ranked]

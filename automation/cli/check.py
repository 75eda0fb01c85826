"""``automation check``: every problem of the rule files, one line each, editor-clickable.

Lines read ``PATH:LINE:COL: error: MESSAGE`` (or ``warning:``), sorted by file and line, then
one summary line. The exit status is 1 when there is any error, so CI can gate on it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from automation.config.loader import Config
from automation.core.errors import Problem
from automation.rulefiles.rule_parser import load_rules

__all__ = ["format_problems", "run_check"]


def run_check(paths: Sequence[Path], *, config: Config | None, err: TextIO) -> int:
    """Check ``paths`` (files or directories) and print the findings to ``err``."""
    ruleset = load_rules(paths, names=config.rule_names() if config else None)
    for line in format_problems(ruleset.problems):
        print(line, file=err)
    errors, warnings = len(ruleset.errors), len(ruleset.warnings)
    print(
        f"checked {_count(len(ruleset.rules), 'rule')} in {_count(len(ruleset.files), 'file')}: "
        f"{_count(errors, 'error')}, {_count(warnings, 'warning')}",
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


def _count(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"

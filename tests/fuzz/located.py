"""What "ends in the project's own error, with a location" means for each layer."""

from __future__ import annotations

import re

from automation.core.errors import Problem

# The line breaks YAML counts (PyYAML's reader), so a line number can be checked.
_BREAKS = re.compile(r"\r\n|[\r\n\x85\u2028\u2029]")


def line_count(text: str) -> int:
    return len(_BREAKS.split(text))


def assert_located(problem: Problem, name: str, text: str) -> None:
    """``problem`` points into ``text`` (the file ``name``): a real line, a column >= 1."""
    assert problem.path == name, problem
    assert 1 <= problem.line <= line_count(text) + 1, (problem, line_count(text))
    assert problem.column >= 1, problem
    assert problem.message.strip(), problem
    assert "Traceback" not in problem.message, problem

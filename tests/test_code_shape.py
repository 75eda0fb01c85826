"""The package keeps the shape the guide asks for: modules under 500 lines, functions
under 60, so that a module does one job and a function can be read at once."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import automation

PACKAGE = Path(automation.__file__).parent
MODULES = sorted(PACKAGE.rglob("*.py"))
MAX_MODULE_LINES = 500
MAX_FUNCTION_LINES = 60


def long_functions(tree: ast.Module) -> list[str]:
    """Each function (method, nested function) longer than the limit, with its line."""
    return [
        f"{node.name} (line {node.lineno}): {node.end_lineno - node.lineno + 1} lines"
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.end_lineno is not None
        and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES
    ]


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_modules_and_functions_stay_small(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    lines = len(text.splitlines())
    assert lines < MAX_MODULE_LINES, f"{lines} lines: split it by job"
    assert long_functions(ast.parse(text)) == []


def test_a_long_function_is_found() -> None:
    body = "\n".join(f"    x{i} = {i}" for i in range(MAX_FUNCTION_LINES))
    tree = ast.parse(f"def short():\n    pass\n\ndef long():\n{body}\n")
    assert long_functions(tree) == [f"long (line 4): {MAX_FUNCTION_LINES + 1} lines"]

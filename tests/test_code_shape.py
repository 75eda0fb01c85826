"""The package keeps the shape the guide asks for: modules under 500 lines, functions
under 60, so that a module does one job and a function can be read at once; and every name
is imported from the module that defines it, so a reader finds it from the import."""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

import pytest

import automation

PACKAGE = Path(automation.__file__).parent
MODULES = sorted(PACKAGE.rglob("*.py"))
IMPORTING = [*MODULES, *sorted(PACKAGE.parent.glob("tests/**/*.py"))]
IMPORTING += sorted(PACKAGE.parent.glob("benchmarks/*.py"))
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


@cache
def _imported(module: str) -> set[str]:
    """The names ``module`` takes from elsewhere: empty for a package, whose ``__init__``
    gathers its public names on purpose."""
    path = PACKAGE.parent.joinpath(*module.split(".")).with_suffix(".py")
    if not path.is_file():
        return set()
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {
        alias.asname or alias.name
        for node in tree.body
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    }


def borrowed_imports(tree: ast.Module) -> list[str]:
    """Each ``from automation.m import name`` where ``m`` only imported ``name`` itself."""
    return [
        f"{node.module}.{alias.name} (line {node.lineno})"
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom)
        and node.module is not None
        and node.module.startswith("automation.")
        for alias in node.names
        if alias.name in _imported(node.module)
    ]


@pytest.mark.parametrize("path", IMPORTING, ids=lambda p: str(p.relative_to(PACKAGE.parent)))
def test_names_are_imported_from_where_they_are_defined(path: Path) -> None:
    assert borrowed_imports(ast.parse(path.read_text(encoding="utf-8"))) == []


def test_a_borrowed_import_is_found() -> None:
    tree = ast.parse("from automation.config.loader import Secret, load_config\n")
    assert borrowed_imports(tree) == ["automation.config.loader.Secret (line 1)"]

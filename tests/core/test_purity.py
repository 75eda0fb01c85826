"""The core is pure: standard library only, and no clock, randomness or I/O of its own.

import-linter keeps the layers; this test also catches a third-party package nobody thought
to list, and the clock read through a stdlib module the core may import (``datetime``).
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

import automation.core

CORE = Path(automation.core.__file__).parent
MODULES = sorted(CORE.glob("*.py"))
# stdlib modules that do I/O or read the clock or entropy: passed in from the edges instead
IMPURE = {
    "os", "io", "pathlib", "random", "secrets", "uuid", "time", "socket", "subprocess",
    "sqlite3", "threading", "logging", "shutil", "tempfile", "urllib", "http", "asyncio",
}  # fmt: skip
CLOCK_CALLS = {"now", "utcnow", "today", "fromtimestamp", "time", "monotonic", "perf_counter"}


def imported(tree: ast.Module) -> list[tuple[int, str]]:
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
    return found


def offences(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out = []
    for line, name in imported(tree):
        top = name.split(".")[0]
        if name == "__future__" or name.startswith("automation.core"):
            continue
        if top not in sys.stdlib_module_names or top in IMPURE:
            out.append(f"{path.name}:{line}: imports {name}")
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in CLOCK_CALLS
            and (node.func.attr in {"now", "utcnow", "today"} or not node.args)
        ):
            out.append(f"{path.name}:{node.lineno}: reads the clock ({node.func.attr}())")
    return out


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.name)
def test_core_module_is_pure(path: Path) -> None:
    assert offences(path) == []


def test_the_check_finds_an_impure_module(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text(
        "import yaml\nfrom random import random\nfrom datetime import datetime\n"
        "x = datetime.now(UTC)\n"
    )
    assert offences(bad) == [
        "bad.py:1: imports yaml",
        "bad.py:2: imports random",
        "bad.py:4: reads the clock (now())",
    ]

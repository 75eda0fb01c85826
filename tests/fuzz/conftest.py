"""Prints how many generated inputs each fuzz target ran, so the figure in the README's
test section can be checked against any run (``python -m pytest tests/fuzz``)."""

from __future__ import annotations

import pytest
from fuzz.strategies import INPUTS


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not INPUTS:
        return
    terminalreporter.section("fuzz inputs")
    for target, count in sorted(INPUTS.items()):
        terminalreporter.write_line(f"{target:<28} {count:>7,}")
    terminalreporter.write_line(f"{'total':<28} {sum(INPUTS.values()):>7,}")

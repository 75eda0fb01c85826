"""Prints how many generated inputs each fuzz target ran, so the figure in the README's
test section can be checked against any run (``python -m pytest tests/fuzz``).

The suite runs over every core (pytest-xdist): each worker counts its own inputs and hands
them to the main process when it ends, which adds them up and prints them. A plugin of the
root ``conftest.py``, so the main process loads it whichever tests it was asked to run."""

from __future__ import annotations

from typing import Any

import pytest
from fuzz.strategies import INPUTS

_KEY = "fuzz_inputs"


def pytest_sessionfinish(session: pytest.Session) -> None:
    output = getattr(session.config, "workeroutput", None)
    if output is not None:  # in a worker: hand the counts over
        output[_KEY] = dict(INPUTS)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: object) -> None:
    INPUTS.update(getattr(node, "workeroutput", {}).get(_KEY, {}))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not INPUTS or hasattr(terminalreporter.config, "workeroutput"):
        return
    terminalreporter.section("fuzz inputs")
    for target, count in sorted(INPUTS.items()):
        terminalreporter.write_line(f"{target:<28} {count:>7,}")
    terminalreporter.write_line(f"{'total':<28} {sum(INPUTS.values()):>7,}")

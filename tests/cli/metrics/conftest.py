"""Fixtures of the ``automation metrics`` tests: the process's state kept apart, a sandbox
that stands still (speed 0), and ``cli`` with a config pointing at it."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_helpers import Cli
from sandbox_api import SandboxTarget

from automation.sandbox import write_config


@pytest.fixture(autouse=True)
def _own_directory(in_own_directory: None) -> None:
    """Every test here runs in its own directory (``tests/cli/conftest.py``)."""


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], tmp_path: Path, target: SandboxTarget) -> Cli:
    config = write_config(
        tmp_path / "automation.yaml", target.base_url, requests_per_minute=6000, database="s.db"
    )
    return Cli(capsys, config)

"""Fixtures of the ``automation metrics`` tests: the process's state kept apart, a sandbox
that stands still (speed 0), and ``cli`` with a config pointing at it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_helpers import Cli, isolated_process_state
from sandbox_api import SandboxTarget

from automation.sandbox import write_config


@pytest.fixture(autouse=True)
def _process_state(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("AUTOMATION_CONFIG", raising=False)
    with isolated_process_state():
        yield


@pytest.fixture
def target() -> Iterator[SandboxTarget]:
    t = SandboxTarget(lambda: 0.0).start()
    yield t
    t.stop()


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], tmp_path: Path, target: SandboxTarget) -> Cli:
    config = write_config(
        tmp_path / "automation.yaml", target.base_url, requests_per_minute=6000, database="s.db"
    )
    return Cli(capsys, config)

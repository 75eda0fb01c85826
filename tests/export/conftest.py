"""The export tests' sandbox and store, one of each a test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sandbox_api import SandboxTarget

from automation.store.sqlite import SqliteStore


@pytest.fixture
def target() -> Iterator[SandboxTarget]:
    t = SandboxTarget(lambda: 0.0).start()
    yield t
    t.stop()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteStore]:
    with SqliteStore.open(tmp_path / "state.db") as s:
        yield s

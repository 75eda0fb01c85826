"""The store under test: every contract test runs once per implementation."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from automation.store import MemoryStore, SqliteStore, Store


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(
    request: pytest.FixtureRequest, tmp_path: Path, new_sqlite: Callable[[Path], Path]
) -> Iterator[Store]:
    if request.param == "postgres":  # a fixture of its own: it closes the store itself
        yield request.getfixturevalue("postgres_store")
        return
    if request.param == "memory":
        s: Store = MemoryStore()
    else:
        s = SqliteStore.open(new_sqlite(tmp_path / "state.db"))  # migrated once a session
    yield s
    s.close()

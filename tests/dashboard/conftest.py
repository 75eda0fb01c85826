"""The dashboard's fixtures: one engine-filled database per session, dashboards over it.

Dashboards are served for real (uvicorn on a free port of 127.0.0.1, in a thread) and
read with an httpx client, as a browser would reach them.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from dashboard_scene import World, browsing, copy_world, make_world, serving

from automation.dashboard.server import Running


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    return make_world(tmp_path_factory.mktemp("dashboard-world"))


@pytest.fixture
def own_world(world: World, tmp_path: Path) -> World:
    """A copy of the world for a test that changes the database."""
    return copy_world(world, tmp_path / "world")


@pytest.fixture(scope="session")
def shared_dashboard(world: World) -> Iterator[Running]:
    """One dashboard over the session's world, for tests that only read."""
    with serving(world) as running:
        yield running


@pytest.fixture
def client(shared_dashboard: Running) -> Iterator[httpx.Client]:
    with browsing(shared_dashboard) as c:
        yield c

"""The dashboard's fixtures: one engine-filled database per session, dashboards over it.

Dashboards are served for real (uvicorn on a free port of 127.0.0.1, in a thread) and
read with an httpx client, as a browser would reach them.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from dashboard_browser import ARGS, LAPTOP, Watched, chromium, watch
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


@pytest.fixture(scope="session")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the screenshots go: the folder ``AUTOMATION_SCREENSHOTS`` names, or a
    temporary one."""
    asked = os.environ.get("AUTOMATION_SCREENSHOTS")
    folder = Path(asked) if asked else tmp_path_factory.mktemp("screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    executable = chromium()
    if executable is None:
        message = "needs Chromium: install Debian's chromium package (apt-get install chromium)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{message}; .ci/run installs it in CI")
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=ARGS)
        yield browser
        browser.close()


@pytest.fixture
def tab(browser: Any, shared_dashboard: Running) -> Iterator[Watched]:
    """A laptop-sized page of the shared dashboard, watched for errors."""
    context = browser.new_context(viewport=LAPTOP, locale="en-GB", timezone_id="UTC")
    try:
        yield watch(context.new_page(), shared_dashboard.url)
    finally:
        context.close()

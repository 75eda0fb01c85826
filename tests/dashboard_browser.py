"""Headless Chromium (Debian's ``chromium`` package) for the dashboard's browser tests:
where it is, how it starts, and a page that collects everything that went wrong on it."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

LAPTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
# As root Chromium needs --no-sandbox; the rest keep it from calling Google's services.
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
]


def chromium() -> str | None:
    for candidate in (
        os.environ.get("CHROMIUM"),
        shutil.which("chromium"),
        "/usr/bin/chromium",
        "/usr/lib/chromium/chromium",
    ):
        if candidate and Path(candidate).exists():
            return candidate
    return None


@dataclass
class Watched:
    """A page with everything that went wrong on it collected."""

    page: Any
    origin: str
    problems: list[str] = field(default_factory=list)

    def open(self, path: str) -> Any:
        response = self.page.goto(self.origin + path, wait_until="networkidle")
        assert response is not None and response.ok, f"{path}: {response and response.status}"
        return response

    def assert_clean(self) -> None:
        assert self.problems == []


def watch(page: Any, origin: str) -> Watched:
    w = Watched(page, origin)
    host = urlsplit(origin).netloc

    def on_console(message: Any) -> None:
        if message.type == "error":
            w.problems.append(f"console: {message.text}")

    def on_request(request: Any) -> None:
        parts = urlsplit(request.url)
        if parts.scheme != "data" and parts.netloc != host:
            w.problems.append(f"request to another host: {request.url}")

    def on_response(response: Any) -> None:
        if response.status >= 400:
            w.problems.append(f"{response.status} for {response.url}")

    page.on("console", on_console)
    page.on("pageerror", lambda exc: w.problems.append(f"page error: {exc}"))
    page.on("request", on_request)
    page.on("requestfailed", lambda r: w.problems.append(f"failed: {r.url} {r.failure}"))
    page.on("response", on_response)
    return w

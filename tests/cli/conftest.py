"""Fixtures the command-line tests share: the process's global state kept apart for each
test (``process_state``, and ``in_own_directory`` with no config named by the
environment), the sandbox in process or served standing still (``target``), a receiver
that checks the team-chat signature, and ``cli`` for a module that defines its
``project``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_helpers import Cli, Project, isolated_process_state, start_sandbox

from automation.config.secret import Secret
from automation.sandbox import Sandbox
from automation.sandbox import credentials as creds
from automation.sandbox.webhook_receiver import Receiver


@pytest.fixture
def process_state() -> Iterator[None]:
    with isolated_process_state():
        yield


@pytest.fixture
def in_own_directory(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, process_state: None) -> None:
    """The test runs in its own directory, no config named by the environment."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("AUTOMATION_CONFIG", raising=False)


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    sb = start_sandbox()
    yield sb
    sb.stop()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver(Secret(creds.WEBHOOK_SECRETS["team-chat"], "team-chat")) as rec:
        yield rec


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], project: Project) -> Cli:
    return Cli(capsys, project.config)

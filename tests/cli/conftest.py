"""Fixtures the command-line tests share: the process's global state kept apart for each
test (``process_state``), the sandbox, a receiver that checks the team-chat signature,
and ``cli`` for a module that defines its ``project``."""

from __future__ import annotations

from collections.abc import Iterator

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

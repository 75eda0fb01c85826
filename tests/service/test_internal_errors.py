"""A bug inside a cycle is logged with its (redacted) traceback, and the checks the other
tests make on user errors ("no traceback") would catch it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cli_helpers import (
    Cli,
    assert_no_traceback,
    isolated_process_state,
    make_project,
    start_sandbox,
)

from automation.sandbox import credentials as creds
from automation.x.engagement_client import EngagementClient

RULES = """
    version: 1
    rules:
      - id: likes-100
        watch: {accounts: [brand]}
        when: likes >= 100
        actions: [{log: {message: "{post.id}"}}]
"""


@pytest.fixture
def cli(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> Iterator[Cli]:
    monkeypatch.delenv("AUTOMATION_CONFIG", raising=False)
    sandbox = start_sandbox()
    try:
        with isolated_process_state():
            project = make_project(tmp_path, sandbox)
            project.write_rules(RULES)
            yield Cli(capsys, project.config)
    finally:
        sandbox.stop()


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_a_bug_in_a_cycle_keeps_its_traceback_without_secrets(
    cli: Cli, monkeypatch: pytest.MonkeyPatch, fmt: str
) -> None:
    def fetch_with_a_bug(self: Any, requests: Any, compact: Any = None) -> Any:
        raise KeyError(f"token {creds.BEARER_TOKEN}")

    monkeypatch.setattr(EngagementClient, "fetch", fetch_with_a_bug)
    result = cli("run", "--once", front=["--log-format", fmt])

    assert result.code == 1
    assert "Traceback (most recent call last)" in result.err
    assert "fetch_with_a_bug" in result.err  # the frame where the bug is
    assert creds.BEARER_TOKEN not in result.err + result.out
    with pytest.raises(AssertionError):
        assert_no_traceback(result.err)


def test_a_user_error_passes_the_check(cli: Cli) -> None:
    result = cli("explain", "no-such-rule", "123")
    assert result.code == 2
    assert_no_traceback(result.err, result.out)

"""Commands that never call X work where the secrets are not set: an administrator's shell
beside a service that gets them only through systemd's LoadCredential= (spec §4)."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_helpers import (
    SECRET_ENV,
    Cli,
    Project,
    make_project,
)

from automation.sandbox import Sandbox

RULES = """
    version: 1
    rules:
      - id: likes-100
        watch: {posts: ["%s"], owner: brand}
        when: likes >= 100
        actions:
          - repost: {as: support}
          - log: {message: "{post.id} reached 100 likes"}
    """


pytestmark = pytest.mark.usefixtures("process_state")


@pytest.fixture
def fired(
    tmp_path: Path,
    sandbox: Sandbox,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> tuple[Project, Cli, str]:
    """A database in which likes-100 fired, made by ``run`` with every secret set; then the
    secrets are taken away, as in a shell that is not the service."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("AUTOMATION_CONFIG", raising=False)
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    for name, value in SECRET_ENV.items():
        monkeypatch.setenv(name, value)
    project = make_project(tmp_path / "project", sandbox, env_secrets=True)
    cli = Cli(capsys, project.config)
    post = project.new_post(favorites=20)
    project.write_rules(RULES % post)
    assert cli("run", "--once").code == 0
    project.set_metric(post, "favorites", 150)
    assert cli("run", "--once").code == 0
    for name in SECRET_ENV:
        monkeypatch.delenv(name)
    return project, cli, post


def test_commands_that_do_not_call_x_work_without_the_secrets(
    fired: tuple[Project, Cli, str],
) -> None:
    project, cli, post = fired
    commands = [
        ["status"],
        ["status", "--json"],
        ["history"],
        ["top", "--metric", "likes"],
        ["actions"],
        ["explain", "likes-100", post],
        ["check"],
        ["check", str(project.rules_dir)],
        ["pause", "likes-100", "--for", "1h"],
        ["resume", "likes-100"],
        ["rearm", "likes-100", post],
    ]
    for args in commands:
        result = cli(*args)
        assert result.code == 0, (args, result)
        assert "is not set" not in result.err, (args, result)
    assert "1 firing" in result.out  # the last one, rearm, found what run recorded


def test_run_still_needs_every_secret(fired: tuple[Project, Cli, str]) -> None:
    _, cli, _ = fired
    result = cli("run", "--once")
    assert result.code == 2
    assert "${X_CONSUMER_KEY} is not set" in result.err
    assert "Traceback" not in result.err

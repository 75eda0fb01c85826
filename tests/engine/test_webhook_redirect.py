"""``webhooks: {redirect_to: URL}`` (spec §4): a staging copy delivers every webhook to one
URL instead of its own, signed and keyed exactly as it would have been."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from cli_helpers import isolated_process_state

from automation.cli.main import main
from automation.config.loader import load_config
from automation.config.model import Config, WebhookSettings
from automation.config.secret import Secret
from automation.engine.performers import make_performers
from automation.sandbox import write_config
from automation.sandbox.credentials import WEBHOOK_SECRETS
from automation.sandbox.webhook_receiver import Receiver
from automation.x.http import HttpClient

SECRET = Secret(WEBHOOK_SECRETS["team-chat"], "team-chat")
PAYLOAD = {
    "url": "https://chat.example.com/hooks/T123",
    "body": '{"text": "post 1 reached 100 likes"}',
    "secret": "team-chat",
    "headers": {"X-Team": "growth"},
}


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return load_config(write_config(tmp_path / "automation.yaml", "http://127.0.0.1:9"), env={})


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver(SECRET) as rec:
        yield rec


def test_every_webhook_goes_to_redirect_to_signed_and_keyed(
    config: Config, receiver: Receiver
) -> None:
    staged = replace(config, webhooks=WebhookSettings(redirect_to=f"{receiver.url}/hooks"))
    with HttpClient(timeout=5.0) as http:
        detail = make_performers(staged, None, http).webhook("f1.0", PAYLOAD)
    [delivery] = receiver.deliveries()
    assert delivery.path == "/hooks"
    assert delivery.body == PAYLOAD["body"].encode()
    assert delivery.idempotency_key == "f1.0"
    assert delivery.verified
    assert detail == (
        f"delivered to {receiver.url} (redirected by webhooks.redirect_to "
        "from https://chat.example.com)"
    )
    assert "T123" not in detail  # a hook URL's path may hold a token


def test_without_redirect_to_the_webhook_goes_to_its_own_url(
    config: Config, receiver: Receiver
) -> None:
    own = {**PAYLOAD, "url": f"{receiver.url}/own"}
    with HttpClient(timeout=5.0) as http:
        detail = make_performers(config, None, http).webhook("f1.0", own)
    assert [d.path for d in receiver.deliveries()] == ["/own"]
    assert detail == f"delivered to {receiver.url}"  # not the path, which may hold a token


def test_try_action_delivers_its_webhook_to_redirect_to_as_well(
    tmp_path: Path, receiver: Receiver, capsys: pytest.CaptureFixture[str]
) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "r.yaml").write_text(
        "version: 1\nrules:\n  - id: hook\n    watch: {accounts: [brand]}\n"
        "    when: likes >= 100\n    actions:\n"
        '      - webhook: {url: "http://127.0.0.1:9/hooks/T123", secret: team-chat}\n'
    )
    path = write_config(
        tmp_path / "automation.yaml",
        "http://127.0.0.1:9",
        webhooks_to=f"{receiver.url}/staging",
    )
    with isolated_process_state():
        assert main(["--config", str(path), "try-action", "hook"]) == 0, capsys.readouterr()
    [delivery] = receiver.deliveries()
    assert delivery.path == "/staging" and delivery.verified


def test_status_and_the_start_up_log_name_redirect_to_by_its_host_only(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A staging receiver's URL may carry its token in the path or query, like any hook's."""
    token = "staging-hook-token-5c1e"
    path = write_config(
        tmp_path / "automation.yaml",
        "http://127.0.0.1:9",
        webhooks_to=f"http://127.0.0.1:8099/hooks/{token}?token={token}",
    )
    (tmp_path / "rules").mkdir()
    shown = []
    with isolated_process_state():
        for args in (["run", "--once"], ["status"], ["status", "--json"]):
            main(["--config", str(path), *args])
            shown.append(capsys.readouterr())
    run, status, status_json = shown
    assert "every webhook is delivered to http://127.0.0.1:8099 instead" in run.err
    assert "all delivered to http://127.0.0.1:8099 (redirect_to)" in status.out
    assert '"webhooks_redirected_to": "http://127.0.0.1:8099"' in status_json.out
    assert all(token not in s.out + s.err for s in shown)

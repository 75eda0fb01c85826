"""``automation try-action``: one action rendered with a real post (or a sample) and tried
now, against the sandbox and a signature-checking receiver; nothing is recorded."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from cli_helpers import (
    SUPPORT_ID,
    Cli,
    Project,
    make_project,
)

from automation.sandbox import Sandbox
from automation.sandbox.webhook_receiver import Receiver
from automation.store.sqlite import SqliteStore

RULES = """\
version: 1
rules:
  - id: likes-100
    watch: {{accounts: [brand], max_age: 2d}}
    when: likes >= 100
    actions:
      - repost: {{as: support}}
      - webhook:
          url: "{url}/hooks/T0KEN"
          secret: team-chat
          body: {{text: "{{post.url}} has {{metrics.likes}} likes"}}
      - log: {{message: "{{post.id}} at {{metrics.likes}}"}}
"""


pytestmark = pytest.mark.usefixtures("process_state")


@pytest.fixture
def project(
    tmp_path: Path, sandbox: Sandbox, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> Project:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("AUTOMATION_CONFIG", raising=False)
    project = make_project(tmp_path / "project", sandbox)
    project.write_rules(RULES.format(url=receiver.url))
    return project


def test_a_webhook_is_signed_sent_now_and_shown_with_its_answer(
    cli: Cli, receiver: Receiver, project: Project
) -> None:
    result = cli("try-action", "likes-100", "--action", "2")
    assert result.code == 0, result.err
    [delivery] = receiver.deliveries()
    assert delivery.verified and delivery.path == "/hooks/T0KEN"
    assert re.fullmatch(r"try-[0-9a-f]{12}\.1", delivery.idempotency_key)
    body = json.loads(delivery.body)
    # no database yet: a sample post with sample values
    assert body == {"text": "https://x.com/i/status/1860000000000000000 has 120 likes"}
    out = result.out
    assert "rule likes-100, action 2 of 3: webhook" in out
    assert "(a sample: no values are recorded for it)" in out
    assert f"> Idempotency-Key: {delivery.idempotency_key}" in out
    assert re.search(r"> X-Automation-Signature: t=\d+,v1=… \(HMAC-SHA256", out)
    assert "< 200" in out
    assert "T0KEN" not in out  # a hook URL's path may be its credential
    assert not re.search(r"v1=[0-9a-f]{64}", out)
    assert not project.database.exists()  # nothing recorded, not even a database


def test_a_credential_header_a_rule_sets_is_not_shown(
    cli: Cli, receiver: Receiver, project: Project
) -> None:
    bearer = "rule-header-bearer-e8f1a2"
    project.write_rules(
        RULES.format(url=receiver.url).replace(
            "secret: team-chat",
            f'secret: team-chat\n          headers: {{Authorization: "Bearer {bearer}", '
            'X-Rule: "{rule.id}"}',
        )
    )
    result = cli("try-action", "likes-100", "--action", "2")
    assert result.code == 0, result.err
    [delivery] = receiver.deliveries()
    assert delivery.verified
    assert "> Authorization: ***" in result.out and "> X-Rule: likes-100" in result.out
    assert bearer not in result.out + result.err


def test_a_refused_webhook_fails_with_the_receivers_answer(
    cli: Cli, project: Project, sandbox: Sandbox
) -> None:
    with Receiver(None, fail_first=1, fail_status=410) as gone:
        url = gone.url
        project.write_rules(RULES.format(url=url))
        result = cli("try-action", "likes-100", "--action", "2")
    assert result.code == 1
    assert f"failed: webhook to {url} answered 410" in result.out
    [delivery] = gone.deliveries()
    # what was sent is shown before the answer, so the receiver's complaint can be read
    # against it
    assert f"> Idempotency-Key: {delivery.idempotency_key}" in result.out
    assert f"> {delivery.body.decode()}" in result.out


def test_a_webhook_goes_only_where_dispatch_would_send_it(
    cli: Cli, project: Project, receiver: Receiver
) -> None:
    # a host made by a template is judged when the webhook is sent, not by check
    doc = yaml.safe_load(project.config.read_text())
    doc["webhooks"] = {"allow_hosts": ["*.example.com"]}
    project.config.write_text(yaml.safe_dump(doc))
    port = receiver.url.rsplit(":", 1)[1]
    project.write_rules(RULES.format(url=f"http://{{rule.id}}.localhost:{port}"))
    result = cli("try-action", "likes-100", "--action", "2")
    assert result.code == 1
    assert "refused: likes-100.localhost is not in webhooks.allow_hosts" in result.out
    assert receiver.deliveries() == []


def test_a_digest_webhook_is_tried_as_its_window_would_be_sent(
    cli: Cli, project: Project, receiver: Receiver
) -> None:
    project.write_rules(
        RULES.format(url=receiver.url).replace(
            "secret: team-chat", "secret: team-chat\n          digest: 15m"
        )
    )
    result = cli("try-action", "likes-100", "--action", "2")
    assert result.code == 0, result.err
    [delivery] = receiver.deliveries()
    assert delivery.verified and delivery.idempotency_key.startswith("try-")
    body = json.loads(delivery.body)
    assert body["event"] == "rule.digest" and body["id"] == delivery.idempotency_key
    assert body["rule"]["id"] == "likes-100" and body["count"] == 1
    assert body["firings"] == [{"text": "https://x.com/i/status/1860000000000000000 has 120 likes"}]


def test_a_watched_post_and_its_values_are_used_once_the_engine_ran(
    cli: Cli, project: Project
) -> None:
    post = project.new_post(favorites=42)
    assert cli("run", "--once").code == 0
    with SqliteStore.open(project.database) as store:
        before = store.history(limit=100)
    result = cli("try-action", "likes-100", "--action", "3", "--post", post)
    assert result.code == 0, result.err
    assert f"would log: {post} at 42" in result.out
    assert "sample" not in result.out
    with SqliteStore.open(project.database) as store:
        assert store.history(limit=100) == before
        assert store.action_counts()["pending"] == 0


def test_a_post_action_is_shown_and_performed_only_when_really_asked(
    cli: Cli, project: Project, sandbox: Sandbox
) -> None:
    post = project.new_post(favorites=5)
    shown = cli("try-action", "likes-100", "--post", post)
    assert shown.code == 0, shown.err
    assert f"would repost post {post} as support" in shown.out
    assert "add --really" in shown.out
    assert not sandbox.world.has_reposted(SUPPORT_ID, post)

    done = cli("try-action", "likes-100", "--post", post, "--really")
    assert done.code == 0, done.err
    assert f"repost post {post} as support: done" in done.out
    assert sandbox.world.has_reposted(SUPPORT_ID, post)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("try-action", "nope"), "no rule 'nope' (rules: likes-100)"),
        (
            ("try-action", "likes-100", "--action", "4"),
            "rule likes-100 has no action 4; its actions: 1 repost, 2 webhook, 3 log",
        ),
        (("try-action", "likes-100", "--action", "0"), "expected a number of at least 1"),
        (("try-action", "likes-100", "--post", "abc"), "--post: not a post ID: 'abc'"),
    ],
)
def test_mistakes_say_how_to_fix_them(
    cli: Cli, receiver: Receiver, args: tuple[str, ...], message: str
) -> None:
    result = cli(*args)
    assert result.code == 2
    assert message in result.err and "Traceback" not in result.err
    assert receiver.deliveries() == []

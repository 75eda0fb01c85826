"""``webhooks.allow_hosts`` in the config, and ``check --config`` refusing rules whose
webhook host it does not allow."""

from __future__ import annotations

import io
import textwrap
from pathlib import Path

import pytest

from automation.cli.check import run_check
from automation.config.loader import load_config
from automation.config.model import Config
from automation.core.errors import ConfigError

BASE = """\
database: automation.db
rules: [rules/]
engagement_api: {base_url: https://data-api.x.com}
x_api: {base_url: https://api.x.com}
app: {consumer_key: k, consumer_secret: s, bearer_token: b}
accounts: {brand: {user_id: "1", access_token: a, access_token_secret: s}}
"""


def load(tmp_path: Path, extra: str = "") -> Config:
    path = tmp_path / "automation.yaml"
    path.write_text(BASE + extra, encoding="utf-8")
    return load_config(path, env={})


def check(tmp_path: Path, config: Config, *urls: str) -> tuple[int, list[str]]:
    hooks = "".join(f"\n      - webhook: {{url: '{url}'}}" for url in urls)
    rules = tmp_path / "r.yaml"
    rules.write_text(
        textwrap.dedent("""\
            version: 1
            rules:
              - id: r
                watch: {accounts: [brand]}
                when: likes >= 100
                actions:""")
        + hooks
        + "\n",
        encoding="utf-8",
    )
    err = io.StringIO()
    code = run_check([rules], config=config, err=err)
    return code, [line for line in err.getvalue().splitlines() if "r.yaml" in line]


def test_allow_hosts_is_read_and_empty_when_absent(tmp_path: Path) -> None:
    assert load(tmp_path).webhooks.allow_hosts == ()
    config = load(tmp_path, 'webhooks: {allow_hosts: [hooks.slack.com, "*.example.com"]}\n')
    assert config.webhooks.allow_hosts == ("hooks.slack.com", "*.example.com")


def test_a_bad_allow_hosts_entry_names_its_line_and_the_fix(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load(
            tmp_path,
            "webhooks:\n  allow_hosts:\n    - ok.example.com\n    - https://hooks.slack.com/x\n",
        )
    assert caught.value.line == 10
    assert str(caught.value).endswith(
        "webhooks.allow_hosts[1]: 'https://hooks.slack.com/x' is not a host name: write the "
        "host alone, like hooks.slack.com or *.example.com (no scheme, port or path)"
    )


def test_check_with_a_config_refuses_a_webhook_host_it_does_not_allow(tmp_path: Path) -> None:
    config = load(tmp_path, 'webhooks: {allow_hosts: [hooks.slack.com, "*.example.com"]}\n')
    code, lines = check(
        tmp_path,
        config,
        "https://hooks.slack.com/services/T1",
        "https://crm.example.com/x",
        "https://evil.example.net/steal",
    )
    assert code == 1
    assert lines == [
        f"{tmp_path / 'r.yaml'}:9:33: error: webhook refused: evil.example.net is not in "
        "webhooks.allow_hosts (hooks.slack.com, *.example.com); add the host to "
        "webhooks.allow_hosts in the config if it is meant"
    ]


def test_without_an_allowlist_addresses_inside_the_network_are_refused(tmp_path: Path) -> None:
    code, lines = check(
        tmp_path,
        load(tmp_path),
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]:8080/x",
        "http://localhost:8080/x",
        "https://hooks.slack.com/services/T1",
    )
    assert code == 1
    errors = [line.split(": error: ")[1] for line in lines if ": error: " in line]
    assert len(errors) == 3 and all(e.startswith("webhook refused: ") for e in errors)
    assert "169.254.169.254 is a link-local address" in errors[0]
    assert "::1 is a loopback address" in errors[1]
    assert "localhost resolves to 127.0.0.1" in errors[2]


def test_an_address_listed_explicitly_may_be_used(tmp_path: Path) -> None:
    config = load(tmp_path, "webhooks: {allow_hosts: [127.0.0.1]}\n")
    code, lines = check(tmp_path, config, "http://127.0.0.1:8099/hooks")
    assert (code, lines) == (0, [])


def test_a_host_made_by_a_template_is_left_to_dispatch_with_a_warning(tmp_path: Path) -> None:
    config = load(tmp_path, "webhooks: {allow_hosts: [hooks.slack.com]}\n")
    code, lines = check(tmp_path, config, "https://{post.account}.example.com/x")
    assert code == 0
    assert len(lines) == 1 and "warning: the webhook's host comes from a template" in lines[0]


def test_the_sandbox_config_allows_its_local_receiver_and_the_starter_rules(
    tmp_path: Path,
) -> None:
    from automation.sandbox.config_writer import write_config, write_starter_rules

    path = write_config(tmp_path / "automation.yaml", "http://127.0.0.1:9", webhooks_to=None)
    write_starter_rules(path)
    config = load_config(path, env={})
    assert config.webhooks.allow_hosts == ("*.example.com", "127.0.0.1")
    assert config.webhooks.policy.name_problem("127.0.0.1") is None
    err = io.StringIO()
    assert run_check(list(config.rules), config=config, err=err) == 0, err.getvalue()

"""The config's ``metrics`` and ``alerts`` sections (spec §4): parsed, checked, optional."""

from __future__ import annotations

from pathlib import Path

import pytest

from automation.config.loader import load_config
from automation.config.model import AlertSettings, Config, MetricsSettings
from automation.core.errors import ConfigError

BASE = """\
database: automation.db
rules: [rules/]
engagement_api: {base_url: https://data-api.x.com}
x_api: {base_url: https://api.x.com}
app: {consumer_key: k, consumer_secret: s, bearer_token: b}
webhook_secrets: {team-chat: t0ps3cret}
"""


def _load(tmp_path: Path, extra: str) -> Config:
    path = tmp_path / "automation.yaml"
    path.write_text(BASE + extra, encoding="utf-8")
    return load_config(path, env={})


def _error(tmp_path: Path, extra: str) -> str:
    with pytest.raises(ConfigError) as caught:
        _load(tmp_path, extra)
    return str(caught.value)


def test_both_sections_are_off_when_absent(tmp_path: Path) -> None:
    config = _load(tmp_path, "")
    assert config.metrics is None and config.alerts is None


@pytest.mark.parametrize(
    ("listen", "host", "port"),
    [
        ("127.0.0.1:9464", "127.0.0.1", 9464),
        ("[::1]:0", "::1", 0),
        ("localhost:80", "localhost", 80),
        ("127.0.0.1:65535", "127.0.0.1", 65535),  # the highest port is a port
    ],
)
def test_metrics_listen_is_an_address_and_port(
    tmp_path: Path, listen: str, host: str, port: int
) -> None:
    config = _load(tmp_path, f'metrics: {{listen: "{listen}"}}\n')
    assert config.metrics == MetricsSettings(host=host, port=port)
    assert config.metrics.listen == listen


@pytest.mark.parametrize("listen", ["9464", "127.0.0.1", "127.0.0.1:http", "a b:1"])
def test_a_listen_value_without_a_port_says_what_is_expected(tmp_path: Path, listen: str) -> None:
    message = _error(tmp_path, f'metrics: {{listen: "{listen}"}}\n')
    assert "metrics.listen: expected ADDRESS:PORT, such as 127.0.0.1:9464" in message


def test_a_port_above_65535_is_refused(tmp_path: Path) -> None:
    message = _error(tmp_path, "metrics: {listen: '127.0.0.1:70000'}\n")
    assert message.endswith("automation.yaml:7: metrics.listen: port 70000 is above 65535")


def test_alerts_name_their_webhook_secret_and_default_to_three_cycles(tmp_path: Path) -> None:
    config = _load(tmp_path, "alerts: {webhook: 'https://ops.example.com/h', secret: team-chat}\n")
    assert config.alerts == AlertSettings("https://ops.example.com/h", "team-chat", after=3)
    unsigned = _load(tmp_path, "alerts: {webhook: 'http://127.0.0.1:8099/', after: 5}\n")
    assert unsigned.alerts == AlertSettings("http://127.0.0.1:8099/", None, after=5)


def test_an_alert_secret_must_be_one_of_the_webhook_secrets(tmp_path: Path) -> None:
    message = _error(tmp_path, "alerts: {webhook: 'https://ops.example.com/h', secret: ops}\n")
    assert message.endswith(
        ":7: alerts.secret: no webhook secret named 'ops' under webhook_secrets (team-chat)"
    )
    assert "t0ps3cret" not in message


def test_alerts_need_a_url(tmp_path: Path) -> None:
    assert "alerts.webhook: missing" in _error(tmp_path, "alerts: {secret: team-chat}\n")
    assert "alerts.webhook: expected an http://" in _error(tmp_path, "alerts: {webhook: nope}\n")

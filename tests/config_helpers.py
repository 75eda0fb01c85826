"""A config with the starter rules' names (brand, support, team-chat), built in memory, for
tests that cross-check rule files against a config without reading one."""

from __future__ import annotations

from pathlib import Path

from automation.config.model import Account, ApiSettings, AppCredentials, Config
from automation.config.secret import Secret


def make_config() -> Config:
    secret = Secret("not-used")
    return Config(
        path=Path("automation.yaml"),
        database=Path("automation.db"),
        rules=(),
        poll_interval=300,
        engagement_api=ApiSettings("https://data-api.x.com"),
        x_api=ApiSettings("https://api.x.com"),
        app=AppCredentials(secret, secret, secret),
        accounts=(
            Account("brand", "2244994945", secret, secret),
            Account("support", "783214", secret, secret),
        ),
        webhook_secrets=(("team-chat", secret),),
    )

"""Running exports (``automation metrics``) against the sandbox (on ``clock.Clock``, whose
``sleep`` moves it, so budget waits take no real time).

``export_config`` points a config at a sandbox with its documented credentials;
``engagement_requests`` reads the Engagement API requests a ``SandboxTarget`` answered.
"""

from __future__ import annotations

from pathlib import Path

from sandbox_api import Received, SandboxTarget

from automation.config.model import Account, ApiSettings, AppCredentials, Config
from automation.config.secret import Secret
from automation.sandbox import credentials as cred

__all__ = ["BRAND", "NASA", "SUPPORT", "engagement_requests", "export_config"]

BRAND = next(a.user_id for a in cred.ACCOUNTS if a.name == "brand")
SUPPORT = next(a.user_id for a in cred.ACCOUNTS if a.name == "support")
NASA = "11348282"  # a public account of the simulated world


def export_config(base_url: str, database: Path, *, rpm: int = 6000) -> Config:
    return Config(
        path=database.parent / "automation.yaml",
        database=database,
        rules=(),
        poll_interval=300,
        engagement_api=ApiSettings(base_url, requests_per_minute=rpm, timeout=10.0),
        x_api=ApiSettings(base_url, timeout=10.0),
        app=AppCredentials(
            Secret(cred.CONSUMER_KEY), Secret(cred.CONSUMER_SECRET), Secret(cred.BEARER_TOKEN)
        ),
        accounts=tuple(
            Account(a.name, a.user_id, Secret(a.access_token), Secret(a.access_token_secret))
            for a in cred.ACCOUNTS
        ),
    )


def engagement_requests(target: SandboxTarget) -> list[Received]:
    return [r for r in target.received if r.path.startswith("/insights/engagement/")]

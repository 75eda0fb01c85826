"""The config file (``automation.yaml``): its model as frozen values, and its loader.

The loader reads the file with the same strict YAML loader as rule files, resolves
``${NAME}`` from the environment or from ``$CREDENTIALS_DIRECTORY/NAME`` (systemd
``LoadCredential=``), and reports every problem with the file, line and key. Secret values
are wrapped in ``Secret`` and never printed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from automation.secret import Secret

__all__ = [
    "Account",
    "ActionSettings",
    "ApiSettings",
    "AppCredentials",
    "Config",
]


@dataclass(frozen=True)
class ApiSettings:
    base_url: str
    requests_per_minute: int = 60
    timeout: float = 30.0


@dataclass(frozen=True)
class AppCredentials:
    consumer_key: Secret
    consumer_secret: Secret
    bearer_token: Secret


@dataclass(frozen=True)
class Account:
    """An owned account: ``name`` is the short name rules use."""

    name: str
    user_id: str
    access_token: Secret
    access_token_secret: Secret


@dataclass(frozen=True)
class ActionSettings:
    first_retry: int = 10  # seconds; then doubling with jitter
    max_retry_interval: int = 3600
    max_attempts: int = 10


@dataclass(frozen=True)
class Config:
    path: Path
    database: Path
    rules: tuple[Path, ...]
    poll_interval: int
    engagement_api: ApiSettings
    x_api: ApiSettings
    app: AppCredentials
    accounts: tuple[Account, ...] = ()
    webhook_secrets: tuple[tuple[str, Secret], ...] = ()
    actions: ActionSettings = field(default_factory=ActionSettings)

    def account(self, name: str) -> Account | None:
        return next((a for a in self.accounts if a.name == name), None)

    def account_names(self) -> frozenset[str]:
        return frozenset(a.name for a in self.accounts)

    def webhook_secret(self, name: str) -> Secret | None:
        return dict(self.webhook_secrets).get(name)

"""The config's model: frozen values the loader builds from ``automation.yaml``."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from automation.config.database import Database, MigrateMode
from automation.config.secret import Secret
from automation.core.destinations import HostPolicy
from automation.rulefiles.action_parser import Names

CONFIG_ENV = "AUTOMATION_CONFIG"
DEFAULT_CONFIG = "automation.yaml"
DEFAULT_POLL_INTERVAL = 300
DEFAULT_MAX_STALENESS = 3600


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
class HistorySettings:
    keep: int = 90 * 86400  # seconds of hourly history kept per post


@dataclass(frozen=True)
class MetricsSettings:
    """Where ``/metrics`` and ``/healthz`` are served (``metrics.listen``)."""

    host: str
    port: int

    @property
    def listen(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


@dataclass(frozen=True)
class AlertSettings:
    """Where alerts about the engine itself go: a §6-signed webhook. ``after`` is how many
    failed cycles in a row, or poll intervals stalled by the API budget, make an alert."""

    webhook: str
    secret: str | None = None
    after: int = 3


@dataclass(frozen=True)
class WebhookSettings:
    """The ``webhooks`` section. ``allow_hosts``: where rules' webhooks may go (else any
    public host). ``redirect_to``: for staging, deliver every webhook to this URL instead of
    its own (signed and keyed as ever), so nothing reaches real receivers; it is the
    operator's own and trusted, as ``alerts.webhook`` is."""

    redirect_to: str | None = None
    allow_hosts: tuple[str, ...] = ()

    @property
    def policy(self) -> HostPolicy:
        return HostPolicy(self.allow_hosts)

    def target(self, url: str) -> str:
        """Where a webhook meant for ``url`` is delivered."""
        return self.redirect_to or url


@dataclass(frozen=True)
class RetentionSettings:
    firings: int = 400 * 86400  # seconds; older firings and their actions are pruned


@dataclass(frozen=True)
class DashboardSettings:
    """``dashboard:``; without a password the dashboard listens on loopback only."""

    password: Secret | None = None


@dataclass(frozen=True)
class Config:
    path: Path
    database: Database  # a SQLite file, or a PostgreSQL database
    rules: tuple[Path, ...]
    poll_interval: int
    engagement_api: ApiSettings
    x_api: ApiSettings
    app: AppCredentials
    accounts: tuple[Account, ...] = ()
    webhook_secrets: tuple[tuple[str, Secret], ...] = ()
    actions: ActionSettings = field(default_factory=ActionSettings)
    history: HistorySettings = field(default_factory=HistorySettings)
    metrics: MetricsSettings | None = None
    webhooks: WebhookSettings = field(default_factory=WebhookSettings)
    retention: RetentionSettings = field(default_factory=RetentionSettings)
    alerts: AlertSettings | None = None
    dashboard: DashboardSettings = field(default_factory=DashboardSettings)
    # seconds: when the request budget cannot refresh every post each cycle, none waits
    # longer than this between two readings
    max_staleness: int = DEFAULT_MAX_STALENESS
    migrate: MigrateMode = "auto"  # "manual": only ``automation migrate`` changes the schema

    def account(self, name: str) -> Account | None:
        return next((a for a in self.accounts if a.name == name), None)

    def account_names(self) -> frozenset[str]:
        return frozenset(a.name for a in self.accounts)

    def webhook_secret(self, name: str) -> Secret | None:
        return dict(self.webhook_secrets).get(name)

    def rule_names(self) -> Names:
        """The account and webhook-secret names rule files may use."""
        return Names(
            sorted(self.account_names()),
            [name for name, _ in self.webhook_secrets],
            hosts=self.webhooks.policy,
        )

"""Running exports (``automation metrics``) against the sandbox (on ``clock.Clock``, whose
``sleep`` moves it, so budget waits take no real time).

``export_config`` points a config at a sandbox with its documented credentials;
``engagement_requests`` reads the Engagement API requests a ``SandboxTarget`` answered.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from clock import Clock
from sandbox_api import START, Received, SandboxTarget

from automation.config.model import Account, ApiSettings, AppCredentials, Config
from automation.config.secret import Secret
from automation.core.metric_columns import Column, choose_columns
from automation.core.periods import Period
from automation.export.job import ExportJob, ExportResult, run_export
from automation.sandbox import credentials as cred
from automation.store.sqlite import SqliteStore
from automation.x.http import HttpClient

__all__ = [
    "BRAND",
    "NASA",
    "SUPPORT",
    "Recorder",
    "engagement_requests",
    "export",
    "export_config",
    "values",
]

BRAND = next(a.user_id for a in cred.ACCOUNTS if a.name == "brand")
SUPPORT = next(a.user_id for a in cred.ACCOUNTS if a.name == "support")
NASA = "11348282"  # a public account of the simulated world
ALL = choose_columns(None, by=None, period=False)


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


class Recorder:
    """A progress that remembers what it was told (and can play Ctrl-C)."""

    def __init__(self, interrupt_at: int | None = None) -> None:
        self.updates: list[tuple[int, int, float]] = []
        self.waits: list[float] = []
        self.resumed: list[tuple[int, int, str]] = []
        self._interrupt_at = interrupt_at

    def update(self, done: int, planned: int, eta: Callable[[], float]) -> None:
        self.updates.append((done, planned, eta()))
        if done == self._interrupt_at:
            raise KeyboardInterrupt

    def waiting(self, seconds: float) -> None:
        self.waits.append(seconds)

    def resuming(self, resumed: int, planned: int, earlier: str) -> None:
        assert not self.updates, "said before the first update"
        self.resumed.append((resumed, planned, earlier))


def export(
    target: SandboxTarget,
    store: SqliteStore,
    listed: Sequence[str],
    *,
    accounts: Sequence[str] = (),
    columns: tuple[Column, ...] = ALL,
    period: Period | None = None,
    clock: Clock | None = None,
    rpm: int = 6000,
    progress: Recorder | None = None,
    deliver: Callable[[ExportResult], None] = lambda result: None,
) -> ExportResult:
    clock = clock or Clock(START)
    config = export_config(target.base_url, store.path, rpm=rpm)
    with HttpClient(timeout=10.0) as http:
        return run_export(
            ExportJob(tuple(listed), tuple(accounts), columns, period),
            config=config,
            store=store,
            http=http,
            clock=clock,
            sleep=clock.sleep,
            progress=progress or Recorder(),
            deliver=deliver,
        )


def values(result: ExportResult, metric: str) -> dict[str, float | None]:
    table = result.table
    return {table.post_ids[r]: table.value(r, metric) for r in range(len(table))}

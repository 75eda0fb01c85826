"""The request budget's sends kept in the store (``RateBudget``'s ledger), or only read there
by a dry run.

Its own module, apart from ``runtime``: a command that only reads the API (``metrics``,
``backtest``) builds its budget with it without importing the engine ``runtime``
assembles.
"""

from __future__ import annotations

from automation.store.base import Store

__all__ = ["DryRunLedger", "StoreLedger"]


class StoreLedger:
    """Lets the API budget keep its request times in the store, across restarts."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def load(self, api: str, since: float) -> list[float]:
        return self._store.budget_load(api, since)

    def record(self, api: str, at: float) -> None:
        self._store.budget_record(api, at)

    def claim(self, api: str, at: float, since: float, allowance: int, count: int = 1) -> int:
        return self._store.budget_claim(api, at, since, allowance, count)


class DryRunLedger(StoreLedger):
    """A dry run records nothing, not even its requests: it reads the sends others kept."""

    def record(self, api: str, at: float) -> None:
        return None

    def claim(self, api: str, at: float, since: float, allowance: int, count: int = 1) -> int:
        used = sum(1 for t in self._store.budget_load(api, since) if t > since)
        return max(0, min(count, allowance - used))

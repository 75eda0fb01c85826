"""The request budget's sends kept in the store (``RateBudget``'s ledger).

Its own module, apart from ``runtime``: a command that only reads the API (``metrics``,
``backtest``) builds its budget with it without importing the engine ``runtime``
assembles.
"""

from __future__ import annotations

from automation.store.base import Store

__all__ = ["StoreLedger"]


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

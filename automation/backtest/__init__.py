"""Backtests: rules replayed over the past, as the engine would have run them.

``plan_backtest`` finds the posts and plans the ``/historical`` requests; ``run_backtest``
fetches them and replays, returning a ``BacktestResult`` of plain values that the command
line prints and a web page can show.
"""

from __future__ import annotations

from automation.backtest.job import (
    BacktestPlan,
    BacktestSpec,
    check_period,
    open_clients,
    plan_backtest,
    run_backtest,
)
from automation.backtest.replay import WouldFire
from automation.backtest.result import BacktestResult, RuleResult
from automation.core.request_eta import ASK_ABOVE

__all__ = [
    "ASK_ABOVE",
    "BacktestPlan",
    "BacktestResult",
    "BacktestSpec",
    "RuleResult",
    "WouldFire",
    "check_period",
    "open_clients",
    "plan_backtest",
    "run_backtest",
]

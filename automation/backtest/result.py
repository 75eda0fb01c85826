"""What a backtest found, as plain values: per rule, what would have fired, been seeded
and been capped, per day, the first firings, and what the live engine did fire in the period."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from automation.backtest.replay import WouldFire
from automation.core.periods import Period
from automation.core.records import FiringRecord

__all__ = ["FIRST", "BacktestResult", "RuleResult", "summarize"]

FIRST = 10  # firings listed per rule


@dataclass(frozen=True)
class RuleResult:
    """One rule's backtest. ``per_day`` counts would-be firings on every day the period
    touches (zeros included); ``live`` are the firings the engine recorded in the period,
    oldest first; ``unknown`` says what the replay could not know for this rule."""

    rule: str
    posts: int
    would_fire: int
    would_seed: int
    per_day: tuple[tuple[date, int], ...]
    first: tuple[WouldFire, ...]
    live_fired: int
    live: tuple[FiringRecord, ...]
    unknown: tuple[str, ...] = ()
    would_cap: int = 0  # firings over the rule's cap: recorded, acting on nothing


@dataclass(frozen=True)
class BacktestResult:
    period: Period
    poll_interval: int
    rules: tuple[RuleResult, ...]
    events: tuple[WouldFire, ...]  # every would-be firing, seed and cap, in time order
    requests_planned: int = 0
    requests_sent: int = 0
    notes: tuple[str, ...] = ()  # what holds for the whole backtest


def summarize(
    rules: Sequence[str],
    events: Sequence[WouldFire],
    *,
    period: Period,
    posts: Mapping[str, int],
    live: Mapping[str, Iterable[FiringRecord]],
    unknown: Mapping[str, Sequence[str]],
) -> tuple[RuleResult, ...]:
    """One ``RuleResult`` per rule, in the order given."""
    days = _days(period)
    out: list[RuleResult] = []
    for rule in rules:
        mine = [e for e in events if e.rule == rule]
        fired = [e for e in mine if e.kind == "fired"]
        per_day = Counter(e.at.date() for e in fired)
        real = sorted(
            (f for f in live.get(rule, ()) if f.kind == "fired" and _inside(f.at, period)),
            key=lambda f: f.at,
        )
        out.append(
            RuleResult(
                rule=rule,
                posts=posts.get(rule, 0),
                would_fire=len(fired),
                would_seed=sum(e.kind == "seeded" for e in mine),
                per_day=tuple((d, per_day.get(d, 0)) for d in days),
                first=tuple(fired[:FIRST]),
                live_fired=len(real),
                live=tuple(real[:FIRST]),
                unknown=tuple(unknown.get(rule, ())),
                would_cap=sum(e.kind == "capped" for e in mine),
            )
        )
    return tuple(out)


def _inside(moment: datetime, period: Period) -> bool:
    return period.start <= moment < period.end


def _days(period: Period) -> list[date]:
    first, last = period.start.date(), (period.end - timedelta(microseconds=1)).date()
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]

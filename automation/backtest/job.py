"""One backtest from start to end: which posts, which history to fetch, the replay, and
what the live engine fired meanwhile.

    plan = plan_backtest(spec, store=store, timeline=timeline, now=now)
    print(plan.history.describe(rpm))            # and ask, when it is a lot
    result = run_backtest(plan, store=store, engagement=client)

Nothing here writes the ledger, the outbox or the engine's state: the store gets only
hourly history (what ``/historical`` answered), and the replay's firings go to a
throwaway ledger. The clients are passed in (``open_clients`` builds the real ones,
sharing the request budget with a running engine through the database), so tests run a
backtest against respx or the sandbox, and a web page can run one and show the result.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from automation.backtest.posts import Timeline, find_posts, rule_posts, watch_hours
from automation.backtest.readings import PostReadings, build_readings
from automation.backtest.replay import replay
from automation.backtest.result import BacktestResult, summarize
from automation.backtest.unknowns import unknowns
from automation.config.model import Config
from automation.core.errors import UsageError
from automation.core.evaluate import CompiledRule
from automation.core.fetch_plan import plan_fetch
from automation.core.hours import hour_start
from automation.core.metric_names import HOURLY_METRICS
from automation.core.periods import Period
from automation.core.records import WatchedPostRecord
from automation.core.wording import counted
from automation.service.api_clients import engagement_client, timeline_client
from automation.store.base import Store
from automation.x.engagement_client import EngagementClient
from automation.x.engagement_plan import EARLIEST_HISTORICAL
from automation.x.historical import (
    HistoryPlan,
    HistorySource,
    Progress,
    fetch_history,
    plan_missing,
)
from automation.x.http import HttpClient
from automation.x.v2_client import XClient

__all__ = [
    "BacktestPlan",
    "BacktestSpec",
    "check_period",
    "open_clients",
    "plan_backtest",
    "run_backtest",
]

_LIVE_LIMIT = 1_000_000


def check_period(period: Period) -> None:
    """Refuse a period that starts before X's engagement history begins: it has nothing
    to read, and one from a distant year would replay every hour since (or overflow the
    dates worked out from it)."""
    if period.start < EARLIEST_HISTORICAL:
        raise UsageError(
            f"the period starts at {period.start:%Y-%m-%d}, before X's engagement history "
            f"begins ({EARLIEST_HISTORICAL:%Y-%m-%d}): choose a later start or fewer days"
        )


@dataclass(frozen=True)
class BacktestSpec:
    """What to replay: enabled compiled rules, over a period, at a poll interval."""

    rules: tuple[CompiledRule, ...]
    period: Period
    poll_interval: int


@dataclass(frozen=True)
class BacktestPlan:
    """The posts to replay, each with the hours it is watched, and the ``/historical``
    requests that fill the hours of owned posts the store lacks."""

    spec: BacktestSpec
    posts: tuple[WatchedPostRecord, ...]
    hours: Mapping[str, tuple[int, int]]
    history: HistoryPlan
    metrics: frozenset[str]  # the API metrics the rules read
    totals_metrics: frozenset[str]  # those read as totals
    notes: tuple[str, ...] = ()


def open_clients(
    config: Config,
    store: Store,
    http: HttpClient,
    *,
    clock: Callable[[], datetime],
    sleep: Callable[[float], None] = time.sleep,
) -> tuple[EngagementClient, XClient]:
    """The Engagement API client (its budget kept in ``store``, so a running engine and
    the backtest share it) and the X API client that reads timelines."""
    engagement = engagement_client(config, store, http, clock=clock, sleep=sleep)
    return engagement, timeline_client(config, http, clock=clock)


def plan_backtest(
    spec: BacktestSpec, *, store: Store, timeline: Timeline, now: datetime
) -> BacktestPlan:
    """Find the posts and plan the history to fetch; sends only timeline requests."""
    posts, notes = find_posts(
        spec.rules,
        spec.period,
        known=store.posts(include_unavailable=True),
        timeline=timeline,
        now=now,
    )
    hours = watch_hours(spec.rules, posts, spec.period)
    needs = plan_fetch(spec.rules, (), spec.period.start)
    metrics = needs.totals_metrics | needs.hourly_metrics
    hourly = tuple(m for m in sorted(metrics) if m in HOURLY_METRICS)
    owners = {p.post_id: p.account for p in posts if p.account is not None}
    missing: dict[str, tuple[tuple[datetime, datetime], ...]] = {}
    for wanted, ids in _by_metrics(spec, posts, owners).items():
        lo = min(hours[p][0] for p in ids)
        hi = max(hours[p][1] for p in ids)
        found = store.missing_hours(ids, wanted, hour_start(lo), hour_start(hi))
        for post_id, spans in found.items():
            first, last = (hour_start(h) for h in hours[post_id])
            inside = tuple(
                (max(a, first), min(b, last)) for a, b in spans if a < last and b > first
            )
            if inside:
                missing[post_id] = inside
    requests = plan_missing(missing, owners, hourly, now=now) if hourly else ()
    return BacktestPlan(
        spec,
        tuple(posts),
        hours,
        HistoryPlan(requests, missing, now),
        frozenset(metrics),
        needs.totals_metrics,
        tuple(notes),
    )


def _by_metrics(
    spec: BacktestSpec, posts: Sequence[WatchedPostRecord], owners: Mapping[str, str]
) -> dict[tuple[str, ...], list[str]]:
    """The owned posts grouped by the hourly metrics the rules watching each read: a post
    lacks history only in those, not in what another rule reads of other posts."""
    wanted: dict[str, set[str]] = {}
    watched = rule_posts(spec.rules, posts, spec.period)
    for compiled in spec.rules:
        needs = plan_fetch([compiled], (), spec.period.start)
        names = (needs.totals_metrics | needs.hourly_metrics) & HOURLY_METRICS
        for post in watched[compiled.rule.id]:
            if names and post.post_id in owners:
                wanted.setdefault(post.post_id, set()).update(names)
    groups: dict[tuple[str, ...], list[str]] = {}
    for post_id, read in wanted.items():
        groups.setdefault(tuple(sorted(read)), []).append(post_id)
    return groups


def run_backtest(
    plan: BacktestPlan,
    *,
    store: Store,
    engagement: HistorySource,
    progress: Progress | None = None,
    should_stop: Callable[[], bool] = lambda: False,
) -> BacktestResult:
    """Fetch what the plan says, then replay; the result is plain values."""
    spec = plan.spec
    fetched = fetch_history(
        plan.history, engagement, store, progress=progress, should_stop=should_stop
    )
    readings = load_readings(store, plan)
    events = replay(spec.rules, readings, spec.period.start, spec.period.end, spec.poll_interval)
    names = [r.rule.id for r in spec.rules]
    watched = rule_posts(spec.rules, plan.posts, spec.period)
    live = {
        name: [e.firing for e in store.history(rule_id=name, limit=_LIVE_LIMIT)] for name in names
    }
    notes = list(plan.notes)
    if fetched.failures:
        notes.append(
            f"{len(fetched.failures)} /historical request(s) failed ({fetched.failures[0]});"
            " their hours are not known: run the backtest again to fetch them"
        )
    if fetched.out_of_reach is not None:
        lost = fetched.out_of_reach
        notes.append(
            f"{lost.describe()}; the hourly counts of {counted(len(lost.posts), 'owned post')}"
            " before then are not known to the replay: choose a period within the last 365 days"
        )
    if fetched.stopped:
        notes.append("stopped before all history was fetched: run it again to go on")
    return BacktestResult(
        period=spec.period,
        poll_interval=spec.poll_interval,
        rules=summarize(
            names,
            events,
            period=spec.period,
            posts={rule: len(posts) for rule, posts in watched.items()},
            live=live,
            unknown=unknowns(spec.rules, readings, watched, spec.period),
        ),
        events=tuple(events),
        requests_planned=len(plan.history.requests),
        requests_sent=fetched.requests_sent,
        notes=tuple(notes),
    )


def load_readings(store: Store, plan: BacktestPlan) -> dict[str, PostReadings]:
    """Each post's readings over its watched hours, from the stored hourly history."""
    if not plan.posts:
        return {}
    lo = min(first for first, _ in plan.hours.values())
    hi = max(last for _, last in plan.hours.values())
    ids = [p.post_id for p in plan.posts]
    found = store.hourly(ids, sorted(plan.metrics), hour_start(lo), hour_start(hi))
    return {
        p.post_id: build_readings(
            p, found.get(p.post_id, {}), plan.hours[p.post_id][1] - 1, plan.totals_metrics
        )
        for p in plan.posts
    }

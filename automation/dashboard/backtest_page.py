"""The backtest page: choose deployed rules (or paste a rule file) and a period, run the
``automation backtest`` engine, and see firings per day beside what actually fired.

A backtest reads the stored hourly history and, for owned posts, fetches the hours it
lacks from ``/historical`` with the engine's credentials, sharing the engine's request
budget. Above ``ASK_ABOVE`` requests the page shows the plan and asks before fetching, as
the command does on a terminal. Where the credentials are not set (a dashboard may run
without them), it replays only what is stored and says so. It writes only hourly history.
"""

from __future__ import annotations

import dataclasses
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from automation.backtest import (
    ASK_ABOVE,
    BacktestPlan,
    BacktestResult,
    BacktestSpec,
    check_period,
    open_clients,
    plan_backtest,
    run_backtest,
)
from automation.backtest.posts import Timeline
from automation.config.model import Config
from automation.core.errors import ApiError, AutomationError, Problem, RuleError, UsageError
from automation.core.evaluate import CompiledRule, compile_rule
from automation.core.periods import Period, parse_period
from automation.core.rules import Rule
from automation.dashboard.security import checked_form
from automation.dashboard.site import Site, site_of
from automation.dashboard.templates import render
from automation.rulefiles.rule_parser import load_rules
from automation.store.base import Store
from automation.x.historical import HistoryPlan
from automation.x.http import HttpClient
from automation.x.v2_client import Discovery

__all__ = ["backtest_form", "backtest_run"]

PERIODS = (("7d", "last 7 days"), ("14d", "last 14 days"), ("28d", "last 28 days"))
_MAX_PASTED = 200_000


@dataclass(frozen=True)
class Choice:
    """What the form asked for, to show it again."""

    rules: tuple[str, ...] = ()
    pasted: str = ""
    since: str = "28d"
    day_from: str = ""
    day_to: str = ""


@dataclass
class Outcome:
    """``rule_problems`` and ``period_problems`` are shown beside the fields they are about."""

    choice: Choice
    rule_problems: list[str] = field(default_factory=list)
    period_problems: list[str] = field(default_factory=list)
    plan: str = ""
    ask: int = 0  # requests to confirm before fetching
    result: BacktestResult | None = None
    live_per_day: dict[str, list[int]] = field(default_factory=dict)


def backtest_form(request: Request) -> Response:
    site = site_of(request)
    return _page(request, site, Outcome(Choice()))


async def backtest_run(request: Request) -> Response:
    form = await checked_form(request)
    site = site_of(request)
    choice = _choice(form)
    confirmed = form.get("confirm") == "yes"
    outcome = await run_in_threadpool(_run, site, choice, confirmed)
    return _page(request, site, outcome)


def _page(request: Request, site: Site, outcome: Outcome) -> Response:
    context = {
        "o": outcome,
        "rule_ids": [r.id for r in site.rules()],
        "periods": PERIODS,
        "chart": _chart(outcome),
        "credentials": _credentials_set(site.config),
        "now": site.clock(),
    }
    refused = outcome.rule_problems or outcome.period_problems
    return render(request, "backtest.html", context, status=400 if refused else 200)


def _choice(form: FormData) -> Choice:
    pasted = form.get("pasted")
    return Choice(
        rules=tuple(str(v) for v in form.getlist("rule")),
        pasted=pasted[:_MAX_PASTED] if isinstance(pasted, str) else "",
        since=str(form.get("since") or ""),
        day_from=str(form.get("from") or ""),
        day_to=str(form.get("to") or ""),
    )


def _run(site: Site, choice: Choice, confirmed: bool) -> Outcome:
    outcome = Outcome(choice)
    now = site.clock()
    try:
        period = _period(choice, now)
    except AutomationError as exc:
        outcome.period_problems.append(str(exc))
    try:
        rules = _rules(site, choice)
    except RuleError as exc:  # the pasted file: its lines, not the temporary file's path
        outcome.rule_problems += [_pasted_problem(p) for p in exc.problems]
    except AutomationError as exc:
        outcome.rule_problems.append(str(exc))
    if outcome.rule_problems or outcome.period_problems:
        return outcome
    spec = BacktestSpec(rules, period, site.config.poll_interval)
    budget = site.config.engagement_api.requests_per_minute
    with site.writing() as store, HttpClient(timeout=site.config.engagement_api.timeout) as http:
        engagement, client = open_clients(site.config, store, http, clock=site.clock)
        timeline: Timeline = client if _credentials_set(site.config) else _NoTimeline()
        plan = plan_backtest(spec, store=store, timeline=timeline, now=now)
        plan = _without_credentials(plan) if not _credentials_set(site.config) else plan
        outcome.plan = plan.history.describe(budget)
        if len(plan.history.requests) > ASK_ABOVE and not confirmed:
            outcome.ask = len(plan.history.requests)
            return outcome
        outcome.result = run_backtest(plan, store=store, engagement=engagement)
        outcome.live_per_day = _live_per_day(store, outcome.result)
    return outcome


def _period(choice: Choice, now: datetime) -> Period:
    """The period the form names; its two days' mistakes in the form's words (the parse's
    own name the command line's options)."""
    if choice.day_to and not choice.day_from:
        raise UsageError("to: give a from day too, or leave both empty and choose the last days")
    if choice.day_from and choice.day_to and choice.day_to < choice.day_from:  # ISO days
        raise UsageError(
            f"to: {choice.day_to} is before from {choice.day_from}: choose a to day on or after it"
        )
    if choice.day_from:
        found = parse_period(since=None, start=choice.day_from, end=choice.day_to or None, now=now)
    else:
        found = parse_period(since=choice.since or "28d", start=None, end=None, now=now)
    assert found is not None
    check_period(found)
    return found


def _pasted_problem(problem: Problem) -> str:
    return f"line {problem.line}, column {problem.column}: {problem.message}"


def _rules(site: Site, choice: Choice) -> tuple[CompiledRule, ...]:
    """The pasted rule file's enabled rules, or the chosen deployed ones (a disabled one
    as if enabled), or every enabled deployed rule."""
    if choice.pasted.strip():
        with tempfile.TemporaryDirectory(prefix="automation-backtest-") as folder:
            path = Path(folder) / "pasted.yaml"
            path.write_text(choice.pasted, encoding="utf-8")
            ruleset = load_rules([path], names=site.config.rule_names())
        if ruleset.errors:
            raise RuleError(ruleset.errors)
        chosen: list[Rule] = [r for r in ruleset.rules if r.enabled]
    else:
        known = {r.id: r for r in site.rules()}
        names = [n for n in choice.rules if n in known]
        chosen = (
            [dataclasses.replace(known[n], enabled=True) for n in names]
            if names
            else [r for r in known.values() if r.enabled]
        )
    if not chosen:
        raise UsageError("no enabled rule to backtest: choose one, or paste a rule file")
    return tuple(compile_rule(r) for r in chosen)


def _credentials_set(config: Config) -> bool:
    secrets = [config.app.consumer_key, config.app.consumer_secret, config.app.bearer_token]
    for account in config.accounts:
        secrets += [account.access_token, account.access_token_secret]
    return all(s.is_set for s in secrets)


class _NoTimeline:
    """Where the X credentials are not set, no timeline can be read: the backtest replays
    the posts the engine already watched."""

    def discover(
        self,
        account: str,
        *,
        since_id: str | None,
        max_pages: int = 0,
        start_time: datetime | None = None,
        end_time: datetime | None = None,
        replies: bool = False,
    ) -> Discovery:
        raise ApiError("the X credentials are not set where the dashboard runs")


def _without_credentials(plan: BacktestPlan) -> BacktestPlan:
    if not plan.history.requests:
        return plan
    note = (
        f"{plan.history.post_hours:,} post-hours of owned posts are not stored and cannot be"
        " fetched without the X credentials: run automation backtest where they are set"
    )
    return dataclasses.replace(
        plan, history=HistoryPlan((), plan.history.missing), notes=(*plan.notes, note)
    )


def _live_per_day(store: Store, result: BacktestResult) -> dict[str, list[int]]:
    """What the engine really fired on each day of the period, per rule."""
    out: dict[str, list[int]] = {}
    for rule in result.rules:
        days = [d for d, _ in rule.per_day]
        counts = dict.fromkeys(days, 0)
        for entry in store.history(
            rule_id=rule.rule,
            limit=100_000,
            kind="fired",
            since=result.period.start,
            until=result.period.end,
        ):
            day = entry.firing.at.date()
            if day in counts:
                counts[day] += 1
        out[rule.rule] = [counts[d] for d in days]
    return out


def _chart(outcome: Outcome) -> list[dict[str, Any]]:
    """Per rule: days (epoch seconds of midnight UTC), would-fire and live counts."""
    if outcome.result is None:
        return []
    return [
        {
            "rule": r.rule,
            "days": [_midnight(d) for d, _ in r.per_day],
            "would": [n for _, n in r.per_day],
            "live": outcome.live_per_day.get(r.rule, []),
        }
        for r in outcome.result.rules
    ]


def _midnight(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp())

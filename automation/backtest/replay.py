"""Replay rules over the past, poll by poll, as the engine would have run them.

Each poll runs the engine's own core: ``plan_fetch`` (which posts each rule evaluates now,
young enough for its ``max_age``), ``assemble_facts`` and ``decide_cycle`` (seeding while a
rule is new, ``for``, windows, every firing policy), committing into a
``ThrowawayLedger``. The first poll finds every rule new, so posts already past it are
seeded; posts that appear later fire. A post appears once its first hour of history is
known, as the engine would have discovered it on its timeline.

The history is hourly, so within an hour nothing a rule reads changes but the time
itself. At a poll inside an hour the replay evaluates only what the time can change:
windowed rules (a window slides), rules still seeding, posts whose ``for`` period is
running, and posts turning 27 hours old (when the /28hr series stops standing in for
totals /totals lacks). Any other evaluation there would return "nothing changes";
``every_poll=True`` evaluates everything at every poll, which the tests compare against.
Pure: the readings are prepared beforehand, the clock is the polls.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from automation.backtest.ledger import ThrowawayLedger
from automation.backtest.readings import PostReadings
from automation.core.cycle_decisions import decide_cycle
from automation.core.cycle_facts import assemble_facts
from automation.core.evaluate import CompiledRule
from automation.core.facts import PostFacts
from automation.core.fetch_plan import FetchPlan, plan_fetch
from automation.core.hours import hour_index
from automation.core.records import FiringKind, WatchedPostRecord

__all__ = ["WouldFire", "poll_times", "replay"]

_YOUNG = timedelta(hours=27)  # windows.young_post_totals' age limit


@dataclass(frozen=True)
class WouldFire:
    """A firing (``kind`` fired) or a seed the engine would have recorded at ``at``."""

    kind: FiringKind
    rule: str
    post: str
    key: str
    at: datetime
    metrics: Mapping[str, float]
    milestone: int | None = None


def poll_times(start: datetime, end: datetime, interval: int) -> Iterator[datetime]:
    """Polls every ``interval`` seconds in ``[start, end)``, on multiples of the interval
    (a 5-minute engine polls at :00, :05, ...), so hours end on a poll when they can."""
    step = timedelta(seconds=interval)
    start = start.astimezone(UTC)
    origin = start.replace(hour=0, minute=0, second=0, microsecond=0)
    at = origin + -(-(start - origin) // step) * step
    while at < end:
        yield at
        at += step


def replay(
    rules: Sequence[CompiledRule],
    readings: Mapping[str, PostReadings],
    start: datetime,
    end: datetime,
    interval: int,
    *,
    every_poll: bool = False,
) -> list[WouldFire]:
    """Every firing and seed of ``rules`` over the posts of ``readings`` in the period."""
    ids = (f"backtest-{n}" for n in itertools.count(1))
    new_id: Callable[[], str] = ids.__next__
    ledger = ThrowawayLedger()
    oldest = timedelta(seconds=max((r.rule.watch.max_age for r in rules), default=0))
    by_age = sorted(readings.values(), key=lambda r: (r.post.created_at, r.post.post_id))
    out: list[WouldFire] = []
    hour: int | None = None
    plan = plan_fetch(rules, (), start)
    facts: dict[str, PostFacts] = {}
    watched: Sequence[tuple[CompiledRule, Sequence[WatchedPostRecord]]]
    previous = start
    for now in poll_times(start, end, interval):
        visible = hour_index(now) - 1  # the last hour that has ended
        if visible != hour:
            hour = visible
            young = [r for r in by_age if r.post.created_at >= now - oldest]
            known = [r.post for r in young if r.totals_at(visible) is not None]
            plan = plan_fetch(rules, known, now)
            facts = _facts(plan, readings, list(plan.posts), visible, now)
            watched = plan.watched
        else:
            turning = [p for p in plan.posts.values() if previous < p.created_at + _YOUNG <= now]
            facts.update(_facts(plan, readings, [p.post_id for p in turning], visible, now))
            watched = plan.watched if every_poll else _changing(plan, ledger, turning)
        previous = now
        decided = decide_cycle(watched, facts, ledger.versions, ledger.states_of, now, new_id)
        new = ledger.commit(decided.write)
        out.extend(
            WouldFire(f.kind, f.rule_id, f.post_id, f.key, now, f.metrics, f.milestone)
            for f in decided.write.firings
            if f.id in new
        )
    return out


def _facts(
    plan: FetchPlan,
    readings: Mapping[str, PostReadings],
    post_ids: Sequence[str],
    hour: int,
    now: datetime,
) -> dict[str, PostFacts]:
    """The facts of ``post_ids`` as the cycle would assemble them from what it read."""
    totals = {}
    hourly = {}
    snapshots = {}
    for post_id in post_ids:
        found = readings[post_id]
        values = found.totals_at(hour)
        if values is None:
            continue
        totals[post_id] = {m: v for m, v in values.items() if m in plan.totals_metrics}
        if post_id in plan.hourly_posts:
            hourly[post_id] = found.series_at(hour, plan.hourly_metrics)
        if post_id in plan.window_posts:
            snapshots[post_id] = found.snapshots_at(hour)
    return assemble_facts(plan.posts, totals, hourly, (), snapshots, now)


def _changing(
    plan: FetchPlan, ledger: ThrowawayLedger, turning: Sequence[WatchedPostRecord]
) -> list[tuple[CompiledRule, Sequence[WatchedPostRecord]]]:
    """What a poll inside an hour can change: see the module's docstring."""
    out: list[tuple[CompiledRule, Sequence[WatchedPostRecord]]] = []
    ages = {p.post_id for p in turning}
    for compiled, posts in plan.watched:
        rule_id = compiled.rule.id
        if compiled.max_window or rule_id not in ledger.versions:
            out.append((compiled, posts))
            continue
        holding = ledger.holding.get(rule_id, ())
        chosen = [p for p in posts if p.post_id in holding or p.post_id in ages]
        if chosen:
            out.append((compiled, chosen))
    return out

"""Replay rules over the past, poll by poll, as the engine would have run them.

Each poll runs the engine's own core: ``plan_fetch`` (which posts each rule evaluates now,
young enough for its ``max_age``), ``assemble_facts`` and ``decide_cycle`` (seeding while a
rule is new, ``for``, windows, every firing policy, caps), committing into a
``ThrowawayLedger``. The first poll finds every rule new, so posts already past it are
seeded; posts that appear later fire. A post appears once its first hour of history is
known, as the engine would have discovered it on its timeline.

The history is hourly: a poll sees the post as it was when the last hour ended, its
series, snapshots and age moved forward to the poll's time, as if just read (so a window
does not shrink as the hour goes on for want of newer data, which is not what the engine
would have seen). Within an hour a poll's facts are then the same as at its first poll,
and an evaluation can only change something where time itself counts: a running ``for``
period, or a rule that is still seeding. Those are all a poll inside an hour evaluates;
``every_poll=True`` evaluates everything at every poll, which the tests compare against.
Pure: the readings are prepared beforehand, the clock is the polls.
"""

from __future__ import annotations

import bisect
import dataclasses
import itertools
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from automation.backtest.ledger import ThrowawayLedger
from automation.backtest.readings import PostReadings
from automation.core.cycle_decisions import decide_cycle
from automation.core.cycle_facts import assemble_facts
from automation.core.evaluate import CompiledRule
from automation.core.facts import EMPTY, PostFacts
from automation.core.fetch_plan import FetchPlan, plan_fetch
from automation.core.hours import hour_index, hour_start
from automation.core.records import FiringKind, WatchedPostRecord

__all__ = ["WouldFire", "poll_times", "replay"]

Watched = Sequence[tuple[CompiledRule, Sequence[WatchedPostRecord]]]


@dataclass(frozen=True)
class WouldFire:
    """A firing (``kind`` fired), a seed, or a firing over the rule's cap (capped) the
    engine would have recorded at ``at``, with its ``metrics`` and ``windows`` as a
    ``FiringRecord`` has them."""

    kind: FiringKind
    rule: str
    post: str
    key: str
    at: datetime
    metrics: Mapping[str, float]
    milestone: int | None = None
    windows: Mapping[str, float] = field(default_factory=lambda: EMPTY)


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
    born = [r.post.created_at for r in by_age]
    # posts named by ID in a rule without max_age are watched however old (spec section 5)
    ageless = [r for r in by_age if any(not c.rule.watch.ages_out(r.post.post_id) for c in rules)]
    out: list[WouldFire] = []
    hour: int | None = None
    plan = plan_fetch(rules, (), start)
    facts: dict[str, PostFacts] = {}
    previous = start
    for now in poll_times(start, end, interval):
        visible = hour_index(now) - 1  # the last hour that has ended
        if visible != hour:
            hour = visible
            cut = now - oldest
            young = by_age[bisect.bisect_left(born, cut) :]
            old = (r for r in ageless if r.post.created_at < cut)
            known = [
                r.post for r in itertools.chain(old, young) if r.totals_at(visible) is not None
            ]
            plan = plan_fetch(rules, known, now)
            facts = _facts(plan, readings, plan.posts, visible, now)
            watched: Watched = plan.watched
        elif every_poll:
            facts = _facts(plan, readings, plan.posts, visible, now)
            watched = plan.watched
        else:
            watched = _changing(plan, ledger, previous)
            posts = {p.post_id for _, chosen in watched for p in chosen}
            facts = _facts(plan, readings, posts, visible, now)
        previous = now
        decided = decide_cycle(
            watched,
            facts,
            ledger.versions,
            ledger.states_of,
            now,
            new_id,
            fired_since=ledger.fired_count,
        )
        new = ledger.commit(decided.write)
        out.extend(
            WouldFire(f.kind, f.rule_id, f.post_id, f.key, now, f.metrics, f.milestone, f.windows)
            for f in decided.write.firings
            if f.id in new
        )
    return out


def _facts(
    plan: FetchPlan,
    readings: Mapping[str, PostReadings],
    post_ids: Iterable[str],
    hour: int,
    now: datetime,
) -> dict[str, PostFacts]:
    """The facts of ``post_ids`` as the cycle would assemble them from what it read: the
    post as when ``hour`` ended, moved forward to ``now``."""
    shift = now - hour_start(hour + 1)
    posts: Mapping[str, WatchedPostRecord] = plan.posts
    moved: dict[str, WatchedPostRecord] = {}
    totals = {}
    hourly = {}
    snapshots = {}
    for post_id in post_ids:
        found = readings[post_id]
        values = found.totals_at(hour)
        if values is None:
            continue
        if shift:
            post = plan.posts[post_id]
            moved[post_id] = dataclasses.replace(post, created_at=post.created_at + shift)
        totals[post_id] = values
        if post_id in plan.hourly_posts:
            hourly[post_id] = found.series_at(hour, plan.hourly_metrics, shift)
        if post_id in plan.window_posts:
            snapshots[post_id] = found.snapshots_at(hour, shift)
    return assemble_facts(moved if shift else posts, totals, hourly, (), snapshots, now)


def _changing(
    plan: FetchPlan, ledger: ThrowawayLedger, previous: datetime
) -> list[tuple[CompiledRule, Sequence[WatchedPostRecord]]]:
    """What a poll inside an hour can change: rules still seeding (all their posts), and
    posts whose ``for`` period had not run out at the previous poll."""
    out: list[tuple[CompiledRule, Sequence[WatchedPostRecord]]] = []
    for compiled, posts in plan.watched:
        rule_id = compiled.rule.id
        if rule_id not in ledger.versions:
            out.append((compiled, posts))
            continue
        holding = ledger.holding.get(rule_id)
        if holding:
            period = timedelta(seconds=compiled.rule.for_)
            running = {p for p, since in holding.items() if since + period > previous}
            chosen = [p for p in posts if p.post_id in running] if running else []
            if chosen:
                out.append((compiled, chosen))
    return out

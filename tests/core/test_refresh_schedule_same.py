"""``schedule_refresh`` against the straightforward scheduler it replaced: the posts sorted
by a key function per post and the likely ones found by a second pass, every rule's posts
filtered one by one, each post offered by a call of ``_Cost.add`` with whether a request
has room counted over every owner before it, and every post
counted to see whether all of them fit the budget. The same posts in the same order, the
same series, the same posts for each rule, over random plans (shared and windowed
watches, public posts, posts never read, windows open or not) and readings."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from automation.core import refresh_schedule
from automation.core.evaluate import compile_rule
from automation.core.fetch_plan import MAX_IDS, plan_fetch
from automation.core.metric_names import HOURLY_METRICS
from automation.core.records import WatchedPostRecord
from automation.core.refresh_outlook import NEVER, Recent
from automation.core.refresh_schedule import ages_after, refresh_ages, schedule_refresh
from automation.core.rules import Leaf, Rule, Watch

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
WATCHES = [
    Watch(accounts=("brand",)),
    Watch(accounts=("brand", "news"), max_age=86400),
    Watch(posts=tuple(str(2000 + i) for i in range(0, 40, 3))),
]
WHEN = [Leaf("favorites", "gte", 10), Leaf("retweets", "gte", 2, over=3600)]
RULES = [
    compile_rule(Rule(id=f"r{i}{j}", watch=w, when=when))
    for i, w in enumerate(WATCHES)
    for j, when in enumerate(WHEN)
]


def straightforward_order(posts, recent, horizon, young):
    def read_at(i):
        seen = recent.get(posts[i].post_id)
        return seen.at if seen is not None else posts[i].first_seen.timestamp()

    def key(i):
        return read_at(i) - (1e12 if posts[i].post_id not in recent else 0)

    projected, fresh = [], []
    for i, post in enumerate(posts):
        seen = recent.get(post.post_id)
        if seen is None:
            fresh.append(i)
        elif seen.cross_at <= horizon or seen.window_open:
            projected.append((min(seen.cross_at, horizon), i))
        elif post.created_at >= young:
            fresh.append(i)
    projected.sort(key=lambda item: item[0])
    fresh.sort(key=lambda i: (posts[i].post_id in recent, -posts[i].created_at.timestamp()))
    places = range(len(posts))
    return sorted(places, key=key), [read_at(i) for i in places], [i for _, i in projected] + fresh


def straightforward_narrowed(plan, cost, likely):
    chosen, series = cost.chosen, frozenset(cost.series)
    last = {p.post_id: p for p in reversed(likely) if p.post_id in chosen}
    order = {pid: p for pid, p in chosen.items() if pid not in last}
    order.update(last)

    def evaluates(rule, post):
        if post.post_id not in chosen:
            return False
        if post.account is None or not rule.window_metrics & HOURLY_METRICS:
            return True
        return post.post_id in series

    watched = tuple(
        (rule, tuple(p for p in posts if evaluates(rule, p))) for rule, posts in plan.watched
    )
    return replace(
        plan,
        posts=order,
        watched=watched,
        hourly_posts=series,
        window_posts=frozenset(p for p in plan.window_posts if p in chosen),
    )


def straightforward_full_cost(plan, budget):
    full = refresh_schedule.plan_cost(plan)
    return full if full <= budget else None


def straightforward_take(cost, posts, places, taken, wants_series, *, until_saturated=False):
    """``add`` of one post at a time, whether a request has room counted over every owner."""
    for i in places:
        if (
            until_saturated
            and cost.left <= 0
            and all(n % MAX_IDS["totals"] == 0 for n in cost._totals.values())
        ):
            break
        taken[i] |= cost.add(posts[i], wants_series(posts[i]))


def plan_and_readings(posts, rules):
    records, recent = [], {}
    for n, (account, hours, read, cross, window) in enumerate(posts):
        created = NOW - timedelta(hours=hours)
        pid = str(2000 + n)
        records.append(WatchedPostRecord(pid, account, created, "timeline", created))
        if read is not None:
            at = (NOW - timedelta(minutes=read)).timestamp()
            recent[pid] = Recent(at, {"favorites": 1.0}, cross + NOW.timestamp(), window)
    return plan_fetch(rules, records, NOW), recent


POST = st.tuples(
    st.sampled_from(["brand", "news", None]),
    st.integers(1, 72),  # hours old
    st.one_of(st.none(), st.integers(0, 120)),  # minutes since read, or never read
    st.sampled_from([NEVER, NEVER, 0.0]),  # projected to cross now, or never
    st.booleans(),  # a window's answer could change
)


@settings(max_examples=200, derandomize=True, deadline=None)
@given(
    st.lists(POST, max_size=40),
    st.integers(1, 6),
    st.lists(st.sampled_from(RULES)),
    st.sampled_from([(250, 25), (3, 2), (2, 3)]),  # posts a request names, to fill some up
)
def test_the_choice_is_the_straightforward_one(posts, budget, rules, per_request):
    plan, recent = plan_and_readings(posts, rules)

    def choose():
        return schedule_refresh(
            plan,
            recent,
            budget=budget,
            interval=timedelta(minutes=5),
            max_staleness=timedelta(hours=1),
            now=NOW,
        )

    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(MAX_IDS, "totals", per_request[0])
        patch.setitem(MAX_IDS, "28hr", per_request[1])
        fast = choose()
        patch.setattr(refresh_schedule, "_read_order", straightforward_order)
        patch.setattr(refresh_schedule, "_narrowed", straightforward_narrowed)
        patch.setattr(refresh_schedule._Cost, "take", straightforward_take)
        patch.setattr(refresh_schedule, "_full_cost", straightforward_full_cost)
        slow = choose()
    assert (fast.requests, fast.scheduled) == (slow.requests, slow.scheduled)
    assert list(fast.plan.posts.items()) == list(slow.plan.posts.items())
    assert fast.plan.watched == slow.plan.watched
    assert fast.plan.hourly_posts == slow.plan.hourly_posts
    assert fast.plan.window_posts == slow.plan.window_posts


@settings(max_examples=300, derandomize=True, deadline=None)
@given(
    st.lists(POST, min_size=5, max_size=40),
    st.integers(1, 4),
    st.lists(st.sampled_from(RULES), min_size=1),
    st.sampled_from([(3, 2), (2, 3), (250, 25)]),
    st.sampled_from([0.0, 0.001, 7.5, 300.0]),  # seconds from the choice to the ages
    st.sampled_from(
        [frozenset(), frozenset(), frozenset({"r00"})]
    ),  # a rule that must see every post
)
def test_the_ages_after_a_choice_are_those_of_a_walk_over_every_post(
    posts, budget, rules, per_request, later, complete
):
    """Every post chosen read at the cycle's time and the others as they were: the
    refresh ages from the choice's unread times are those ``refresh_ages`` walks to."""
    plan, recent = plan_and_readings(posts, rules)
    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(MAX_IDS, "totals", per_request[0])
        patch.setitem(MAX_IDS, "28hr", per_request[1])
        chosen = schedule_refresh(
            plan,
            recent,
            budget=budget,
            interval=timedelta(minutes=5),
            max_staleness=timedelta(hours=1),
            now=NOW,
            complete=complete,
        )
    if not chosen.scheduled or complete:
        assert chosen.unread is None
        return
    assert chosen.unread is not None
    at = NOW.timestamp()
    after = {**recent, **{pid: Recent(at, {}) for pid in chosen.plan.posts}}
    then = NOW + timedelta(seconds=later)
    expected = refresh_ages(plan.posts, after, then)
    assert ages_after(chosen.unread, len(chosen.plan.posts), at, then) == expected

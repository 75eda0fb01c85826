"""``outlooks`` projects only the posts read, once per tuple of posts the rules share, and
combines ``all``/``any`` in one loop: the same ``Recent`` of every post, in the same order,
as projecting every (rule, post) pair of the plan and taking the max/min of the known
moments."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from automation.core.evaluate import CompiledRule, compile_rule
from automation.core.facts import RuleState
from automation.core.metric_names import HOURLY_METRICS
from automation.core.records import WatchedPostRecord
from automation.core.refresh_outlook import (
    NEVER,
    Recent,
    _condition,
    _Rate,
    _rate,
    _rule_projection,
    outlooks,
)
from automation.core.rules import AllOf, AnyOf, Condition, Every, Leaf, Not, Rearm, Rule, Watch

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
METRICS = ("favorites", "quote_tweets", "impressions", "url_clicks", "engagement_rate")
OWNED = Watch(accounts=("brand",))

leaves = st.builds(
    Leaf,
    st.sampled_from(METRICS),
    st.sampled_from(("gte", "gt", "lt", "lte", "eq")),
    st.sampled_from((0.0, 5.0, 50.0, 0.08)),
    st.sampled_from((None, None, 1800, 3600)),
)
conditions: st.SearchStrategy[Condition] = st.recursive(
    leaves,
    lambda inner: st.one_of(
        st.builds(AllOf, st.tuples(inner, inner)),
        st.builds(AnyOf, st.tuples(inner, inner, inner)),
        st.builds(Not, inner),
    ),
    max_leaves=4,
)


@st.composite
def rules(draw: st.DrawFn, n: int) -> CompiledRule:
    when = draw(st.one_of(st.none(), conditions))
    fire = draw(
        st.sampled_from((None, Every(10, "favorites"), Rearm(cooldown=600)))
        if when is not None
        else st.just(Every(10, "favorites"))
    )
    rule = Rule(id=f"r{n}", watch=OWNED, when=when, for_=draw(st.sampled_from((0, 300))))
    if fire is not None:
        rule = Rule(id=rule.id, watch=OWNED, when=when, fire=fire, for_=rule.for_)
    return compile_rule(rule)


values = st.dictionaries(
    st.sampled_from(("favorites", "quote_tweets", "impressions", "engagements")),
    st.sampled_from((0.0, 3.0, 40.0, 55.0, 900.0)),
)
states = st.one_of(
    st.none(),
    st.builds(
        RuleState,
        holding_since=st.sampled_from((None, NOW - timedelta(minutes=2))),
        last_truth=st.sampled_from((None, True, False)),
        last_fired_at=st.sampled_from((None, NOW - timedelta(minutes=5))),
        milestone=st.sampled_from((0, 10, 50)),
        done=st.booleans(),
    ),
)


def post(n: int) -> WatchedPostRecord:
    created = NOW - timedelta(hours=n % 3 + 1)
    return WatchedPostRecord(str(100 + n), "brand", created, "timeline", created)


def every_pair(
    watched, totals, states_of: Callable[[str], Mapping[str, RuleState]], recent, now
) -> dict[str, tuple[float, bool]]:
    """The straightforward path: each rule projected alone on each of its posts read."""
    out: dict[str, tuple[float, bool]] = {}
    at = now.timestamp()
    for compiled, posts in watched:
        project = _rule_projection(compiled)
        windowed = bool(compiled.window_metrics & HOURLY_METRICS)
        for p in posts:
            if p.post_id not in totals:
                continue
            rate = _rate(totals[p.post_id], recent.get(p.post_id), at, p.created_at)
            state = states_of(compiled.rule.id).get(p.post_id)
            seconds, opens = project(rate.values, rate, state, at)
            cross, open_ = out.get(p.post_id, (NEVER, False))
            out[p.post_id] = (min(cross, at + seconds), open_ or (windowed and opens))
    assert all(cross >= at for cross, _ in out.values())
    return out


@settings(max_examples=150, derandomize=True, deadline=None)
@given(st.data())
def test_projecting_the_read_posts_once_per_shared_tuple_is_projecting_every_pair(data):
    rules_ = [data.draw(rules(n)) for n in range(data.draw(st.integers(1, 4)))]
    posts = [post(n) for n in range(6)]
    tuples = [tuple(data.draw(st.lists(st.sampled_from(posts), unique=True))) for _ in range(2)]
    watched = [(r, tuples[data.draw(st.integers(0, 1))]) for r in rules_]
    read = data.draw(st.lists(st.sampled_from(posts), unique=True))
    totals = {p.post_id: data.draw(values) for p in read}
    recent = {
        p.post_id: Recent((NOW - timedelta(minutes=5)).timestamp(), data.draw(values))
        for p in data.draw(st.lists(st.sampled_from(posts), unique=True))
    }
    kept = {r.rule.id: {p.post_id: s for p in posts if (s := data.draw(states))} for r in rules_}
    asked: list[str] = []

    def states_of(rule_id: str) -> Mapping[str, RuleState]:
        asked.append(rule_id)
        return kept[rule_id]

    got = outlooks(watched, totals, states_of, recent, NOW)

    expected = every_pair(watched, totals, kept.__getitem__, recent, NOW)
    assert list(got) == list(expected)  # the order the pairs first name the posts in
    assert {p: (r.cross_at, r.window_open) for p, r in got.items()} == expected
    assert all(r.at == NOW.timestamp() and r.values == totals[p] for p, r in got.items())
    # a rule's states are asked for once, and only when one of its posts was read
    assert asked == [r.rule.id for r, ps in watched if any(p.post_id in totals for p in ps)]


@settings(max_examples=200, derandomize=True, deadline=None)
@given(st.lists(conditions, min_size=1, max_size=4), values, values)
def test_all_and_any_project_the_latest_and_the_earliest_known_moment(items, now, before):
    rate = _Rate(now, before, 300.0)
    alone = [_condition(c)(now, rate) for c in items]
    known = [s for s in alone if s is not None]
    assert _condition(AllOf(tuple(items)))(now, rate) == (max(known) if known else None)
    assert _condition(AnyOf(tuple(items)))(now, rate) == (min(known) if known else None)
    assert not any(math.isnan(s) for s in known)

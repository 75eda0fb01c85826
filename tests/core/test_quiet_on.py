"""``CompiledRule.quiet_on``: a rule without a window, tested on a post's totals and its
state alone, is quiet only where the full evaluation gives None, for any condition, firing
policy, ``for`` period, state, totals and age; and it is quiet where the evaluation stops
at its first test (a false condition, a ``once`` that fired)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from automation.core.evaluate import compile_rule
from automation.core.facts import PostFacts, RuleState
from automation.core.rules import AllOf, AnyOf, Every, Leaf, Not, Once, Rearm, Rule, Watch

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
METRICS = ("favorites", "retweets", "impressions", "engagements", "engagement_rate")
OPS = ("gte", "gt", "lte", "lt", "eq")

LEAVES = st.builds(
    Leaf,
    st.sampled_from(METRICS),
    st.sampled_from(OPS),
    st.sampled_from([0.0, 0.5, 1.0, 2.0, 3.0, 10.0]),
)
CONDITIONS = st.recursive(
    LEAVES,
    lambda inner: st.one_of(
        st.builds(Not, inner),
        st.builds(AllOf, st.lists(inner, min_size=1, max_size=3).map(tuple)),
        st.builds(AnyOf, st.lists(inner, min_size=1, max_size=3).map(tuple)),
    ),
    max_leaves=5,
)
POLICIES = st.one_of(
    st.just(Once()),
    st.builds(Every, st.sampled_from([1, 2, 5]), st.sampled_from(METRICS)),
    st.builds(Rearm, st.sampled_from([0, 600, 3600])),
)
TOTALS = st.dictionaries(st.sampled_from(METRICS[:4]), st.integers(0, 12).map(float))
MOMENTS = st.one_of(st.none(), st.integers(0, 7200).map(lambda s: NOW - timedelta(seconds=s)))


@st.composite
def rules(draw: st.DrawFn) -> Rule:
    fire = draw(POLICIES)
    when = draw(st.none() if isinstance(fire, Every) and draw(st.booleans()) else CONDITIONS)
    return Rule(
        id="r",
        watch=Watch(accounts=("brand",), max_age=draw(st.sampled_from([3600, 86400]))),
        when=when,
        fire=fire,
        for_=draw(st.sampled_from([0, 0, 300])),
        enabled=draw(st.booleans()) or draw(st.booleans()),
    )


@st.composite
def states(draw: st.DrawFn, fingerprint: str) -> RuleState | None:
    if draw(st.integers(0, 4)) == 0:
        return None
    return RuleState(
        fingerprint=fingerprint if draw(st.integers(0, 5)) else "an earlier version",
        holding_since=draw(MOMENTS),
        last_truth=draw(st.sampled_from([None, True, False])),
        last_fired_at=draw(MOMENTS),
        milestone=draw(st.sampled_from([0, 2, 5, 10])),
        done=draw(st.booleans()),
        fires=draw(st.integers(0, 2)),
    )


@settings(max_examples=1500, derandomize=True, deadline=None)
@given(st.data())
def test_quiet_on_the_totals_is_an_evaluation_that_gives_none(data):
    rule = data.draw(rules())
    compiled = compile_rule(rule)
    assert compiled.quiet_on is not None  # no window: the totals decide
    state = data.draw(states(compiled.fingerprint))
    totals = data.draw(TOTALS)
    created = NOW - timedelta(hours=data.draw(st.sampled_from([0.5, 2, 30])))
    facts = PostFacts("7", data.draw(st.sampled_from(["brand", None])), created, totals)
    if compiled.quiet_on(totals, state):
        for seeding in (False, True):
            assert compiled.evaluate(facts, state, NOW, seeding=seeding) is None


TEN_K, RATE = Leaf("impressions", "gte", 10000), Leaf("engagement_rate", "gte", 0.5)
QUIET = [  # (condition, done, totals it is quiet on, totals it is not)
    (TEN_K, False, {"impressions": 9999.0}, {"impressions": 10000.0}),
    (TEN_K, True, {"impressions": 20000.0}, None),
    (
        RATE,
        False,
        {"engagements": 1.0, "impressions": 3.0},
        {"engagements": 2.0, "impressions": 3.0},
    ),
    (RATE, False, {"engagements": 1.0}, None),  # unknown
    (RATE, False, {"engagements": 1.0, "impressions": 0.0}, None),  # unknown
]


@pytest.mark.parametrize(("when", "done", "quiet", "loud"), QUIET)
def test_a_false_condition_and_a_once_that_fired_are_quiet_on_the_totals(when, done, quiet, loud):
    compiled = compile_rule(Rule(id="r", watch=Watch(accounts=("brand",)), when=when))
    state = RuleState(fingerprint=compiled.fingerprint, done=done)
    assert compiled.quiet_on(quiet, state)
    if loud is not None:
        assert not compiled.quiet_on(loud, state)

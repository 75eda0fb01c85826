"""The compiled evaluator: operators, aliases, engagement_rate, three-valued logic, the
policies end to end, max_age, enabled, seeding, fingerprints, explain's sentences, and the
hot path's contract that None means nothing happened and nothing changed."""

from __future__ import annotations

import itertools
import json
import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from automation.core.errors import RuleError
from automation.core.evaluate import CompiledRule, compile_rule
from automation.core.facts import (
    EMPTY,
    HourlySeries,
    Outcome,
    PostFacts,
    RuleState,
    Snapshot,
    Truth,
)
from automation.core.firings import firing_record
from automation.core.policies import fresh_state
from automation.core.rules import (
    AllOf,
    AnyOf,
    Every,
    Leaf,
    Not,
    Once,
    Rearm,
    Rule,
    Watch,
    WebhookAction,
)
from automation.core.templates import parse_template

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
MIN = timedelta(minutes=1)
HOUR = timedelta(hours=1)
CREATED = NOW - timedelta(days=1)
ONCE = Once()


def leaf(metric: str, op: str, threshold: float, over: int | None = None, written: str = ""):
    return Leaf(metric, op, threshold, over=over, written=written)


def rule(when, fire=ONCE, for_=0, enabled=True, max_age=7 * 86400, rid="r") -> Rule:
    watch = Watch(accounts=("brand",), max_age=max_age)
    return Rule(id=rid, watch=watch, when=when, fire=fire, for_=for_, enabled=enabled)


def post(totals=None, account="brand", created=CREATED, **kw) -> PostFacts:
    return PostFacts("1", account, created, totals or {}, **kw)


def run(compiled: CompiledRule, facts, state=None, now=NOW, seeding=False):
    return compiled.evaluate(facts, state, now, seeding=seeding)


# --- operators, aliases, engagement_rate ----------------------------------------------------


@pytest.mark.parametrize(
    ("op", "value", "threshold", "truth"),
    [
        ("gte", 100, 100, Truth.TRUE),
        ("gte", 99, 100, Truth.FALSE),
        ("gt", 101, 100, Truth.TRUE),
        ("gt", 100, 100, Truth.FALSE),
        ("lte", 100, 100, Truth.TRUE),
        ("lte", 101, 100, Truth.FALSE),
        ("lt", 99, 100, Truth.TRUE),
        ("lt", 100, 100, Truth.FALSE),
        ("eq", 100, 100, Truth.TRUE),
        ("eq", 100.5, 100, Truth.FALSE),
        ("gte", None, 100, Truth.UNKNOWN),
        ("lt", None, 100, Truth.UNKNOWN),
    ],
)
def test_operators(op, value, threshold, truth):
    compiled = compile_rule(rule(leaf("replies", op, threshold)))
    facts = post({} if value is None else {"replies": value})
    decision = compiled.explain(facts, None, NOW)
    assert decision.truth is truth
    assert decision.trace[0].truth is truth
    assert decision.trace[0].value == value
    fired = run(compiled, facts)
    assert (fired is not None and fired.outcome is Outcome.FIRE) is (truth is Truth.TRUE)


@pytest.mark.parametrize(
    ("metric", "written", "totals"),
    [
        ("favorites", "likes", {"favorites": 130}),
        ("retweets", "reposts", {"retweets": 130}),
        ("quote_tweets", "quotes", {"quote_tweets": 130}),
        ("favorites", "favorites", {"favorites": 130}),
    ],
)
def test_aliases_are_reported_by_the_written_name(metric, written, totals):
    compiled = compile_rule(rule(leaf(metric, "gte", 100, written=written)))
    decision = run(compiled, post(totals))
    assert decision.outcome is Outcome.FIRE
    assert dict(decision.metrics) == {written: 130}
    assert decision.reason == f"fired: {written} >= 100 is true ({written}=130)"
    assert decision.trace[0].metric == written
    assert compiled.totals_metrics == {metric}


@pytest.mark.parametrize(
    ("totals", "value", "truth", "reason"),
    [
        ({"engagements": 60, "impressions": 1000}, 0.06, Truth.TRUE, ""),
        ({"engagements": 40, "impressions": 1000}, 0.04, Truth.FALSE, ""),
        ({"engagements": 5, "impressions": 0}, None, Truth.UNKNOWN, "at least one impression"),
        ({"engagements": 5}, None, Truth.UNKNOWN, "no current value for impressions"),
    ],
)
def test_engagement_rate(totals, value, truth, reason):
    compiled = compile_rule(rule(leaf("engagement_rate", "gte", 0.05)))
    decision = compiled.explain(post(totals), None, NOW)
    assert decision.truth is truth
    assert decision.trace[0].value == (pytest.approx(value) if value else None)
    assert reason in decision.trace[0].reason
    assert compiled.totals_metrics == {"engagements", "impressions"}


def test_public_post_impressions_are_unknown_with_reason():
    compiled = compile_rule(rule(leaf("impressions", "gte", 1000)))
    facts = post({"favorites": 5}, account=None)
    assert run(compiled, facts) is None
    decision = compiled.explain(facts, None, NOW)
    assert decision.truth is Truth.UNKNOWN
    assert decision.trace[0].reason == "impressions are known only for owned posts"
    assert decision.reason == (
        "not fired: impressions >= 1000 is unknown (impressions are known only for owned posts)"
    )


# --- three-valued logic -----------------------------------------------------------------------

T = leaf("favorites", "gte", 1)  # favorites=10: true
F = leaf("favorites", "gte", 100)  # false
U = leaf("replies", "gte", 1)  # replies missing: unknown
LEAVES = {Truth.TRUE: T, Truth.FALSE: F, Truth.UNKNOWN: U}
FACTS = post({"favorites": 10})
TT, FF, UU = Truth.TRUE, Truth.FALSE, Truth.UNKNOWN

ALL = {(TT, TT): TT, (TT, FF): FF, (TT, UU): UU, (FF, UU): FF, (UU, UU): UU, (FF, FF): FF}
ANY = {(TT, TT): TT, (TT, FF): TT, (TT, UU): TT, (FF, UU): UU, (UU, UU): UU, (FF, FF): FF}


@pytest.mark.parametrize(("pair", "expected"), list(ALL.items()))
def test_all_three_valued(pair, expected):
    for a, b in (pair, pair[::-1]):
        compiled = compile_rule(rule(AllOf((LEAVES[a], LEAVES[b]))))
        decision = compiled.explain(FACTS, None, NOW)
        assert decision.truth is expected
        assert [t.truth for t in decision.trace] == [a, b]  # every leaf traced


@pytest.mark.parametrize(("pair", "expected"), list(ANY.items()))
def test_any_three_valued(pair, expected):
    for a, b in (pair, pair[::-1]):
        decision = compile_rule(rule(AnyOf((LEAVES[a], LEAVES[b])))).explain(FACTS, None, NOW)
        assert decision.truth is expected


@pytest.mark.parametrize(("inner", "expected"), [(TT, FF), (FF, TT), (UU, UU)])
def test_not_three_valued(inner, expected):
    assert compile_rule(rule(Not(LEAVES[inner]))).explain(FACTS, None, NOW).truth is expected


def _random_condition(rng: random.Random, depth: int):
    if depth == 0 or rng.random() < 0.3:
        return rng.choice([T, F, U])
    kind = rng.choice(["all", "any", "not"])
    if kind == "not":
        return Not(_random_condition(rng, depth - 1))
    items = tuple(_random_condition(rng, depth - 1) for _ in range(rng.randint(1, 3)))
    return AllOf(items) if kind == "all" else AnyOf(items)


def test_hot_path_and_explain_agree_on_nested_conditions():
    rng = random.Random(20261126)
    seen = set()
    for _ in range(300):
        cond = _random_condition(rng, 3)
        compiled = compile_rule(rule(cond))
        explained = compiled.explain(FACTS, None, NOW)
        decision = run(compiled, FACTS)
        fired = decision is not None and decision.outcome is Outcome.FIRE
        assert fired is (explained.truth is Truth.TRUE)
        seen.add(explained.truth)
    assert seen == {TT, FF, UU}


# --- windows through the evaluator ------------------------------------------------------------


def test_window_leaf_from_hourly_series_and_snapshots():
    compiled = compile_rule(rule(leaf("retweets", "gte", 50, over=3600)))
    top = NOW - HOUR
    hourly = {"retweets": HourlySeries.of(((top, 60.0), (NOW, 25.0)), NOW)}
    owned = post({"retweets": 900}, hourly=hourly)
    assert run(compiled, owned).outcome is Outcome.FIRE
    assert compiled.explain(owned, None, NOW).trace[0].value == 85  # 11:00 bucket + 12:00
    assert run(compiled, replace(owned, totals={})).outcome is Outcome.FIRE  # totals unused
    snaps = (Snapshot(NOW - 2 * HOUR, {"retweets": 800}),)
    public = post({"retweets": 900}, account=None, snapshots=snaps)
    assert run(compiled, public).outcome is Outcome.FIRE
    assert compiled.explain(public, None, NOW).trace[0].value == 100
    assert compiled.window_metrics == {"retweets"}
    assert compiled.totals_metrics == {"retweets"}
    assert compiled.max_window == 3600


def test_a_fired_window_carries_its_value_beside_the_totals_and_not_into_payloads():
    """``metrics`` stay the totals (what templates and payloads see); ``windows`` hold
    each windowed leaf's value by its label, for people to read what decided it."""
    when = AllOf(
        (leaf("retweets", "gte", 50, over=3600, written="reposts"), leaf("favorites", "gte", 1))
    )
    webhook = WebhookAction(url=parse_template("https://hooks.example.com/x"))
    compiled = compile_rule(replace(rule(when), actions=(webhook,)))
    snaps = (Snapshot(NOW - 2 * HOUR, {"retweets": 800}),)
    facts = post({"retweets": 852, "favorites": 3}, account=None, snapshots=snaps)
    fired = run(compiled, facts)
    assert fired.outcome is Outcome.FIRE
    assert dict(fired.metrics) == {"reposts": 852, "favorites": 3}
    assert dict(fired.windows) == {"reposts over 1h": 52}
    assert dict(run(compiled, facts, seeding=True).windows) == {"reposts over 1h": 52}
    assert dict(compiled.explain(facts, None, NOW).windows) == {"reposts over 1h": 52}
    record = firing_record(compiled.rule, facts, fired, NOW, "f1")
    assert dict(record.windows) == {"reposts over 1h": 52}
    assert record.metrics == {"reposts": 852, "favorites": 3}
    without = firing_record(compiled.rule, facts, replace(fired, windows=EMPTY), NOW, "f1")
    assert record.actions == without.actions  # the payload, byte for byte
    assert "over" not in record.actions[0].payload


def test_a_firing_records_only_the_metrics_it_knows():
    when = AnyOf((leaf("favorites", "gte", 10, written="likes"), leaf("retweets", "gte", 5)))
    webhook = WebhookAction(url=parse_template("https://hooks.example.com/x"))
    compiled = compile_rule(replace(rule(when), actions=(webhook,)))
    facts = post({"favorites": 12})  # retweets not read this poll
    fired = run(compiled, facts)
    assert fired.outcome is Outcome.FIRE
    record = firing_record(compiled.rule, facts, fired, NOW, "f1")
    assert record.metrics == {"likes": 12}
    body = json.loads(json.loads(record.actions[0].payload)["body"])
    assert body["metrics"] == {"likes": 12}  # the webhook says no unknown value


def test_a_rule_without_a_window_records_no_windows():
    compiled = compile_rule(rule(leaf("favorites", "gte", 100, written="likes")))
    fired = run(compiled, post({"favorites": 130}))
    assert fired.windows is EMPTY
    assert firing_record(compiled.rule, post({"favorites": 130}), fired, NOW, "f").windows == {}


def test_window_too_short_is_unknown_and_explained():
    compiled = compile_rule(rule(leaf("retweets", "gte", 50, over=3600, written="reposts")))
    facts = post({"retweets": 900}, account=None, snapshots=(Snapshot(NOW - MIN, {"retweets": 1}),))
    assert run(compiled, facts) is None
    decision = compiled.explain(facts, None, NOW)
    assert decision.reason == (
        "not fired: reposts over 1h >= 50 is unknown "
        "(no data before 11:00 for the 1h window: watching started at 11:59)"
    )
    assert dict(decision.metrics) == {"reposts": 900}


def test_engagement_rate_over_a_window_uses_increases():
    compiled = compile_rule(rule(leaf("engagement_rate", "gte", 0.1, over=3600)))
    snaps = (Snapshot(NOW - 2 * HOUR, {"engagements": 100, "impressions": 1000}),)
    facts = post({"engagements": 130, "impressions": 1200}, account=None, snapshots=snaps)
    decision = compiled.explain(facts, None, NOW)
    assert decision.trace[0].value == pytest.approx(30 / 200)
    assert decision.truth is Truth.TRUE
    assert compiled.window_metrics == {"engagements", "impressions"}


# --- policies end to end ------------------------------------------------------------------------


def test_once_fires_then_stays_quiet():
    compiled = compile_rule(rule(leaf("favorites", "gte", 100, written="likes")))
    first = run(compiled, post({"favorites": 130}))
    assert (first.outcome, first.key, first.state.done) == (Outcome.FIRE, "once", True)
    assert run(compiled, post({"favorites": 500}), first.state) is None
    assert compiled.explain(post({"favorites": 500}), first.state, NOW).reason == (
        "already fired once"
    )


def test_every_without_condition_fires_at_milestones_and_jumps():
    compiled = compile_rule(rule(None, fire=Every(1000, "favorites", "likes")))
    state = None
    seen = []
    for likes in (400, 1000, 1500, 4200, 4300, 5000):
        decision = run(compiled, post({"favorites": likes}), state)
        if decision is not None:
            state = decision.state
            seen.append((decision.outcome, decision.key, decision.milestone))
    assert seen == [
        (Outcome.FIRE, "every:favorites:1000", 1000),
        (Outcome.FIRE, "every:favorites:4000", 4000),
        (Outcome.FIRE, "every:favorites:5000", 5000),
    ]
    fired = compiled.explain(post({"favorites": 6100}), state, NOW)
    assert fired.reason == "fired: likes reached 6000 (every 1000)"
    assert dict(fired.metrics) == {"likes": 6100}


def test_every_with_condition_reports_both_metrics():
    compiled = compile_rule(
        rule(leaf("retweets", "gte", 10, written="reposts"), fire=Every(100, "favorites", "likes"))
    )
    decision = run(compiled, post({"favorites": 250, "retweets": 12}))
    assert decision.key == "every:favorites:200"
    assert dict(decision.metrics) == {"reposts": 12, "likes": 250}
    assert decision.reason == (
        "fired: likes reached 200 (every 100); reposts >= 10 is true (reposts=12)"
    )
    assert compiled.totals_metrics == {"retweets", "favorites"}
    assert run(compiled, post({"favorites": 250, "retweets": 2})) is None


def test_rearm_with_for_and_cooldown_over_polls():
    compiled = compile_rule(
        rule(leaf("replies", "gte", 50), fire=Rearm(cooldown=6 * 3600), for_=15 * 60)
    )
    polls = [60, 60, 60, 60, 60, 10, 60, 60, 60, 60]  # every 5 minutes from 12:00
    state, outcomes = None, []
    for i, replies in enumerate(polls):
        decision = run(compiled, post({"replies": replies}), state, NOW + 5 * i * MIN)
        outcomes.append(decision.outcome if decision else None)
        state = decision.state if decision else state
    P, N, FI = Outcome.PENDING, Outcome.NOTHING, Outcome.FIRE
    # held from 12:00, fires 12:15; false at 12:25; held again from 12:30 but at 12:45 the
    # 6h cooldown since 12:15 suppresses it
    assert outcomes == [P, P, P, FI, None, N, P, P, P, N]
    assert state.fires == 1
    assert state.last_truth is True
    assert state.holding_since == NOW + 30 * MIN


def test_rearm_fires_again_after_false_and_cooldown():
    compiled = compile_rule(rule(leaf("replies", "gte", 50), fire=Rearm(cooldown=3600)))
    first = run(compiled, post({"replies": 60}))
    assert first.outcome is Outcome.FIRE
    assert run(compiled, post({"replies": 70}), first.state, NOW + MIN) is None
    low = run(compiled, post({"replies": 10}), first.state, NOW + 2 * MIN)
    assert (low.outcome, low.state.last_truth) == (Outcome.NOTHING, False)
    suppressed = run(compiled, post({"replies": 60}), low.state, NOW + 3 * MIN)
    assert suppressed.outcome is Outcome.NOTHING and suppressed.state.last_truth is True
    explained = compiled.explain(post({"replies": 60}), low.state, NOW + 3 * MIN)
    assert explained.reason.startswith("in cooldown until 13:00")
    low2 = run(compiled, post({"replies": 10}), suppressed.state, NOW + 70 * MIN)
    again = run(compiled, post({"replies": 60}), low2.state, NOW + 75 * MIN)
    assert again.outcome is Outcome.FIRE
    assert again.key == f"rearm:{(NOW + 75 * MIN).isoformat()}"
    assert again.state.fires == 2


def test_for_pending_reason_and_fire():
    compiled = compile_rule(rule(leaf("favorites", "gte", 300, written="likes"), for_=900))
    facts = post({"favorites": 310})
    pending = run(compiled, facts)
    assert pending.outcome is Outcome.PENDING
    assert compiled.explain(facts, pending.state, NOW + 5 * MIN).reason == (
        "pending: holding since 12:00, fires at 12:15"
    )
    fired = run(compiled, facts, pending.state, NOW + 15 * MIN)
    assert fired.outcome is Outcome.FIRE
    assert fired.reason == "fired: likes >= 300 is true for 15m (likes=310)"
    reset = run(compiled, post({"favorites": 10}), pending.state, NOW + 5 * MIN)
    assert reset.outcome is Outcome.NOTHING and reset.state.holding_since is None


# --- enabled, max_age, seeding, fingerprints ---------------------------------------------------


def test_disabled_rule_never_acts_but_explains():
    compiled = compile_rule(rule(leaf("favorites", "gte", 1), enabled=False))
    assert run(compiled, post({"favorites": 10})) is None
    decision = compiled.explain(post({"favorites": 10}), None, NOW)
    assert (decision.outcome, decision.reason, decision.truth) == (
        Outcome.NOTHING,
        "disabled",
        Truth.TRUE,
    )
    assert len(decision.trace) == 1


@pytest.mark.parametrize(
    ("age", "acts"), [(timedelta(days=2), True), (timedelta(days=2, seconds=1), False)]
)
def test_max_age(age, acts):
    compiled = compile_rule(rule(leaf("favorites", "gte", 1), max_age=2 * 86400))
    facts = post({"favorites": 10}, created=NOW - age)
    assert (run(compiled, facts) is not None) is acts
    explained = compiled.explain(facts, None, NOW)
    if not acts:
        assert explained.reason == "older than max_age 2d (created 2026-11-24 11:59:59)"
        assert explained.outcome is Outcome.NOTHING
    else:  # explain agrees with the hot path on the cut-off itself
        assert explained.outcome is Outcome.FIRE


@pytest.mark.parametrize("max_age_set", [False, True])
def test_a_post_named_by_id_ages_out_only_when_the_rule_sets_max_age(max_age_set):
    watch = Watch(accounts=("brand",), posts=("1",), max_age=86400, max_age_set=max_age_set)
    compiled = compile_rule(Rule(id="r", watch=watch, when=leaf("favorites", "gte", 1)))
    old = post({"favorites": 10}, created=NOW - timedelta(days=400))
    assert (run(compiled, old) is None) is max_age_set
    explained = compiled.explain(old, None, NOW)
    assert explained.reason.startswith("older than max_age 1d") is max_age_set
    # a discovered post of the same age (not named) is too old either way
    assert run(compiled, replace(old, post_id="2")) is None


def test_seeding_records_instead_of_firing_and_prevents_later_firing():
    compiled = compile_rule(rule(leaf("favorites", "gte", 100, written="likes")))
    seeded = run(compiled, post({"favorites": 130}), seeding=True)
    assert (seeded.outcome, seeded.key, seeded.state.done) == (Outcome.SEED, "once", True)
    assert seeded.reason.startswith("seeded: likes >= 100 is true (likes=130)")
    assert run(compiled, post({"favorites": 200}), seeded.state, NOW + MIN) is None
    assert run(compiled, post({"favorites": 10}), seeding=True) is None


def test_seeding_every_records_the_milestone():
    compiled = compile_rule(rule(None, fire=Every(1000, "favorites")))
    seeded = run(compiled, post({"favorites": 2500}), seeding=True)
    assert (seeded.outcome, seeded.milestone) == (Outcome.SEED, 2000)
    assert run(compiled, post({"favorites": 2900}), seeded.state) is None
    assert run(compiled, post({"favorites": 3000}), seeded.state).outcome is Outcome.FIRE


def test_changed_fingerprint_starts_fresh():
    old = compile_rule(rule(leaf("favorites", "gte", 100)))
    new = compile_rule(rule(leaf("favorites", "gte", 200)))
    assert old.fingerprint != new.fingerprint
    done = run(old, post({"favorites": 130})).state
    assert run(old, post({"favorites": 300}), done) is None
    again = run(new, post({"favorites": 300}), done)
    assert again.outcome is Outcome.FIRE
    assert again.state.fingerprint == new.fingerprint
    assert again.state.fires == 1


def test_editing_description_keeps_fingerprint():
    a = compile_rule(rule(leaf("favorites", "gte", 100)))
    b = compile_rule(replace(rule(leaf("favorites", "gte", 100)), description="changed"))
    assert a.fingerprint == b.fingerprint


LIKED_100 = rule(leaf("favorites", "gte", 100))


@pytest.mark.parametrize(
    ("edited", "starts_over"),
    [
        (replace(LIKED_100, for_=60), True),
        (replace(LIKED_100, watch=Watch(accounts=("other",), max_age=7 * 86400)), True),
        (replace(LIKED_100, watch=Watch(accounts=("brand",), max_age=86400)), True),
        (rule(leaf("favorites", "gte", 100, written="likes")), False),  # only spelled anew
    ],
)
def test_an_edit_to_watch_or_for_starts_the_rule_over_and_a_spelling_does_not(edited, starts_over):
    done = run(compile_rule(LIKED_100), post({"favorites": 130})).state
    again = run(compile_rule(edited), post({"favorites": 130}), done)
    assert (again is not None) is starts_over


# --- the None fast path ---------------------------------------------------------------------


def _rules_for_contract() -> list[Rule]:
    conds = [leaf("favorites", "gte", 100), AllOf((leaf("favorites", "gte", 100), U))]
    fires = [Once(), Every(100, "favorites"), Rearm(0), Rearm(3600)]
    out = [rule(c, fire=f, for_=d) for c in conds for f in fires for d in (0, 900)]
    out += [rule(None, fire=Every(100, "favorites"), for_=d) for d in (0, 900)]
    out.append(rule(leaf("favorites", "gte", 100), enabled=False))
    out.append(rule(leaf("favorites", "gte", 100), max_age=3600))
    return out


def _states(fingerprint: str) -> list[RuleState | None]:
    base = RuleState(fingerprint=fingerprint)
    variants = [
        {},
        {"done": True, "fires": 1},
        {"holding_since": NOW - 5 * MIN},
        {"holding_since": NOW - 20 * MIN},
        {"last_truth": True, "last_fired_at": NOW - 10 * MIN, "fires": 1},
        {"last_truth": False, "last_fired_at": NOW - 2 * HOUR, "fires": 1},
        {"last_truth": False},
        {"last_truth": True, "holding_since": NOW - 20 * MIN},
        {"milestone": 100},
        {"milestone": 200, "holding_since": NOW - 5 * MIN},
    ]
    states: list[RuleState | None] = [None, RuleState(fingerprint="other", done=True)]
    return states + [replace(base, **v) for v in variants]


def test_none_only_when_nothing_happens_and_state_unchanged():
    facts_list = [
        post({}),
        post({"favorites": 50}),
        post({"favorites": 150}),
        post({"favorites": 250}),
    ]
    checked = {True: 0, False: 0}
    for r in _rules_for_contract():
        compiled = compile_rule(r)
        for state, facts, seeding in itertools.product(
            _states(compiled.fingerprint), facts_list, (False, True)
        ):
            decision = run(compiled, facts, state, seeding=seeding)
            explained = compiled.explain(facts, state, NOW, seeding=seeding)
            start = fresh_state(state, compiled.fingerprint)
            if decision is None:
                assert explained.outcome is Outcome.NOTHING, (r, state, facts)
                assert explained.state == start, (r, state, facts)
            else:
                assert not (decision.outcome is Outcome.NOTHING and decision.state == start)
                got = (decision.outcome, decision.state, decision.key, decision.milestone)
                want = (explained.outcome, explained.state, explained.key, explained.milestone)
                assert got == want, (r, state, facts, seeding)
                assert decision.truth is explained.truth
                assert dict(decision.metrics) == dict(explained.metrics)
            checked[decision is None] += 1
    assert checked[True] > 100 and checked[False] > 100


def test_fast_path_builds_nothing_when_nothing_happens():
    compiled = compile_rule(rule(leaf("favorites", "gte", 100)))
    done = RuleState(fingerprint=compiled.fingerprint, done=True)
    assert run(compiled, post({"favorites": 500}), done) is None
    assert run(compiled, post({"favorites": 5})) is None


def test_hot_decisions_carry_no_trace_unless_firing():
    compiled = compile_rule(rule(leaf("favorites", "gte", 100), for_=600))
    pending = run(compiled, post({"favorites": 150}))
    assert pending.trace == () and pending.reason == ""
    fired = run(compiled, post({"favorites": 150}), pending.state, NOW + 10 * MIN)
    assert len(fired.trace) == 1 and fired.reason.startswith("fired:")


# --- compile ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (rule(None), "only `fire: every` may leave it out"),
        (rule(leaf("likes", "gte", 1)), "unknown metric 'likes'"),
        (rule(leaf("favorites", "ge", 1)), "unknown comparison 'ge'"),
        (rule(None, fire=Every(0, "favorites")), "positive integer"),
    ],
)
def test_compile_refuses_impossible_models(bad, message):
    with pytest.raises(RuleError, match=message):
        compile_rule(bad)


def test_compiled_rule_exposes_its_rule():
    r = rule(leaf("favorites", "gte", 1))
    compiled = compile_rule(r)
    assert compiled.rule is r
    assert compiled.fingerprint == r.fingerprint
    assert "r" in repr(compiled)

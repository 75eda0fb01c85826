"""A cycle's decided states: equal ones are one object (the engine keeps every rule's
states between cycles), each is still the state the rule decided for its post, and what
shares them is the cycle's own, not held from one cycle to the next."""

from __future__ import annotations

import itertools
from dataclasses import astuple
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from automation.core.cycle_decisions import CycleDecisions, decide_cycle, shared_state
from automation.core.evaluate import CompiledRule, compile_rule
from automation.core.facts import PostFacts, RuleState
from automation.core.records import WatchedPostRecord
from automation.core.rules import Leaf, Rearm, Rule, Watch

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
MOMENTS = st.sampled_from([None, NOW, NOW - timedelta(minutes=5)])
STATES = st.builds(
    RuleState,
    fingerprint=st.sampled_from(["a", "b"]),
    holding_since=MOMENTS,
    last_truth=st.sampled_from([None, False, True]),
    last_fired_at=MOMENTS,
    milestone=st.integers(0, 3),
    done=st.booleans(),
    fires=st.integers(0, 3),
)


@settings(derandomize=True, deadline=None)
@given(st.lists(STATES, max_size=30))
def test_a_shared_state_is_an_equal_one_and_equal_states_are_one_object(states):
    held: dict = {}
    shared = [shared_state(s, held) for s in states]
    for state, kept in zip(states, shared, strict=True):
        assert kept == state and astuple(kept) == astuple(state)
    for a, b in itertools.product(shared, repeat=2):
        assert (a is b) == (a == b)


def test_a_seeding_cycle_decides_each_post_s_state_and_holds_equal_ones_once():
    ids = [str(n) for n in range(1, 41)]
    rules = [
        compile_rule(
            Rule(id="big", watch=Watch(posts=tuple(ids)), when=Leaf("favorites", "gte", 3))
        ),
        compile_rule(
            Rule(
                id="rearm",
                watch=Watch(posts=tuple(ids)),
                when=Leaf("favorites", "gte", 3),
                fire=Rearm(600),
                for_=300,
            )
        ),
    ]
    posts = [WatchedPostRecord(pid, None, NOW - timedelta(hours=2), "explicit", NOW) for pid in ids]
    facts = {
        p.post_id: PostFacts(
            p.post_id, None, p.created_at, {"favorites": float(int(p.post_id) % 5)}
        )
        for p in posts
    }
    ids_made = iter(range(1000))
    decided = decide_cycle(
        [(rule, posts) for rule in rules],
        facts,
        {},
        lambda _rule: {},
        NOW,
        lambda: f"f{next(ids_made)}",
    )
    states = decided.write.states
    alone = {
        (rule.rule.id, pid): decision.state
        for rule in rules
        for pid in ids
        if (decision := rule.evaluate(facts[pid], None, NOW, seeding=True)) is not None
    }
    assert {(rule_id, pid): state for rule_id, pid, state in states} == alone
    assert len(states) == len(alone) > len(ids)
    objects = {id(state) for _, _, state in states}
    assert len(objects) == len({astuple(state) for _, _, state in states}) < 8
    # the next cycle shares its own: no table of the states of cycles before is held
    again = decide_cycle(
        [(rule, posts) for rule in rules],
        facts,
        {},
        lambda _rule: {},
        NOW,
        lambda: f"f{next(ids_made)}",
    ).write.states
    assert again == states
    assert objects.isdisjoint(id(state) for _, _, state in again)


def seeding_cycle() -> tuple[CompiledRule, dict[str, PostFacts], CycleDecisions]:
    """A first cycle of one rule over 30 posts past it, their favorites 3, 4 or 5."""
    ids = [str(n) for n in range(1, 31)]
    rule = compile_rule(
        Rule(id="big", watch=Watch(posts=tuple(ids)), when=Leaf("favorites", "gte", 3))
    )
    posts = [WatchedPostRecord(pid, None, NOW - timedelta(hours=2), "explicit", NOW) for pid in ids]
    facts = {
        p.post_id: PostFacts(
            p.post_id, None, p.created_at, {"favorites": float(3 + int(p.post_id) % 3)}
        )
        for p in posts
    }
    ids_made = iter(range(1000))
    decided = decide_cycle(
        [(rule, posts)], facts, {}, lambda _rule: {}, NOW, lambda: f"f{next(ids_made)}"
    )
    return rule, facts, decided


def test_a_seeding_cycle_gives_each_seed_its_reason_and_equal_reasons_once():
    """31,765 seeds of a first cycle say 10,571 distinct reasons: each is held once."""
    rule, facts, decided = seeding_cycle()
    reasons = decided.reasons
    assert len(decided.write.firings) == 30
    for firing in decided.write.firings:
        decision = rule.evaluate(facts[firing.post_id], None, NOW, seeding=True)
        assert decision is not None and reasons[firing.id] == decision.reason
    assert len({id(reason) for reason in reasons.values()}) == len(set(reasons.values())) == 3


def test_a_seeding_cycle_holds_equal_metrics_of_its_firings_once():
    """10,513 distinct metrics among a first cycle's 31,765 seeds: each held once, and each
    firing's are the values its decision used."""
    _rule, facts, decided = seeding_cycle()
    firings = decided.write.firings
    assert len(firings) == 30
    for firing in firings:
        assert firing.metrics == {"favorites": facts[firing.post_id].totals["favorites"]}
    assert len({id(f.metrics) for f in firings}) == 3

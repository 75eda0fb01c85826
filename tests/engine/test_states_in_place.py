"""The rule states kept between cycles: each cycle's decisions are written into the
mappings the last one kept, and the states after any sequence of cycles are those the
store holds (what it read, with every cycle's decisions on top), while what the store
returned is never changed."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from automation.core.facts import RuleState
from automation.core.records import CycleWrite
from automation.engine.refresh import StatesSeen

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
RULES = ("a", "b", "c")
STATES = st.builds(RuleState, milestone=st.integers(0, 3), done=st.booleans())
DECISION = st.tuples(st.sampled_from(RULES), st.sampled_from("12345"), STATES)
# a cycle: the rules its decisions read, what they decided, and whether the store
# changed under the engine (then nothing is kept: every rule is read again)
CYCLE = st.tuples(st.sets(st.sampled_from(RULES)), st.lists(DECISION, max_size=6), st.booleans())


@settings(derandomize=True, deadline=None)
@given(
    st.dictionaries(st.sampled_from(RULES), st.dictionaries(st.sampled_from("12345"), STATES)),
    st.lists(CYCLE, max_size=8),
)
def test_the_states_kept_are_the_store_s_after_every_cycle(stored, cycles):
    held = copy.deepcopy(stored)  # the store: what it read, with each commit on top
    returned: list[tuple[dict[str, RuleState], dict[str, RuleState]]] = []

    def read(rule_id: str) -> dict[str, RuleState]:
        states = dict(held.get(rule_id, {}))
        returned.append((states, dict(states)))
        return states

    kept: dict[str, Mapping[str, RuleState]] = {}
    for rules_read, decisions, changed in cycles:
        states = StatesSeen(read, {} if changed else kept)
        for rule_id in rules_read:
            states(rule_id)
        write = CycleWrite(at=NOW, states=tuple(d for d in decisions if d[0] in rules_read))
        for rule_id, post, state in write.states:
            held.setdefault(rule_id, {})[post] = state
        states.decided(write)
        kept = states.kept()
        for rule_id in RULES:
            assert states.states_after(rule_id) == held.get(rule_id, {})
        for rule_id, mapping in kept.items():
            assert mapping == held.get(rule_id, {})
    for given_out, as_given in returned:
        assert given_out == as_given  # what the store returned is never written into


def test_a_cycle_writes_its_decisions_into_the_states_the_last_one_kept():
    done, held = RuleState(done=True), RuleState(holding_since=NOW)
    first = StatesSeen(lambda rule_id: {"1": done, "2": done})
    first("likes")
    first.decided(CycleWrite(at=NOW, states=(("likes", "2", held),)))
    kept = first.kept()

    second = StatesSeen(lambda rule_id: {}, kept)
    second("likes")
    second.decided(CycleWrite(at=NOW, states=(("likes", "1", held),)))
    assert second.kept()["likes"] is kept["likes"]  # not copied
    assert kept["likes"] == {"1": held, "2": held}

"""A post read as it was keeps its record unprojected by the rules without a window only
while what the record was projected from stays: the keeper starts the records to trust
afresh when the states may have changed otherwise, and unsettles a changed post's."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from automation.core.evaluate import compile_rule
from automation.core.facts import RuleState
from automation.core.fetch_plan import plan_fetch
from automation.core.metric_values import MetricValues
from automation.core.records import CycleWrite, WatchedPostRecord
from automation.core.rules import Leaf, Rule, Watch
from automation.engine.refresh import RefreshKeeper, StatesSeen

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
POST = WatchedPostRecord("1", "brand", NOW - timedelta(hours=1), "timeline", NOW)
RULE = compile_rule(
    Rule(id="held", watch=Watch(accounts=("brand",)), when=Leaf("favorites", "gte", 10), for_=600)
)
VALUES = MetricValues({"favorites": 0.0})  # read as it was every cycle: projected never
HOLDING = RuleState(fingerprint=RULE.fingerprint, holding_since=NOW)  # projected at its end


def cycle(keeper: RefreshKeeper, minutes: int, state: RuleState | None, *, kept: bool = True):
    """One cycle as the engine runs it, the post's state as the store holds it: its cross."""
    now = NOW + timedelta(minutes=minutes)
    plan = plan_fetch([RULE], {POST.post_id: POST}, now)
    keeper.deciding(kept)
    states = StatesSeen(lambda rule_id: {POST.post_id: state} if state else {})
    states.decided(CycleWrite(at=now))
    keeper._projecting = True  # as when the budget chooses
    keeper.remember(plan.watched, plan, {POST.post_id: VALUES}, states, now, all_answered=True)
    return keeper._recent[POST.post_id].cross_at


def test_a_state_changed_outside_the_cycles_is_projected():
    """Settled while its state stays; projected once the store's states changed."""
    keeper = RefreshKeeper()
    assert cycle(keeper, 0, None) == cycle(keeper, 5, None) == float("inf")
    # the store's states changed otherwise (a rearm, a dry run): the record is not trusted
    assert cycle(keeper, 10, HOLDING, kept=False) == (NOW + timedelta(minutes=10)).timestamp()


def test_a_changed_post_is_projected():
    keeper = RefreshKeeper()
    cycle(keeper, 0, None)
    cycle(keeper, 5, None)
    keeper.posts_changed(frozenset({POST.post_id}))
    assert cycle(keeper, 10, HOLDING) == (NOW + timedelta(minutes=10)).timestamp()
    cycle(keeper, 15, None)
    cycle(keeper, 20, None)
    keeper.posts_changed(None)  # every post read again: any may have changed
    assert cycle(keeper, 25, HOLDING) == (NOW + timedelta(minutes=25)).timestamp()


def test_a_cycle_that_decided_and_did_not_remember_trusts_no_record():
    keeper = RefreshKeeper()
    cycle(keeper, 0, None)
    cycle(keeper, 5, None)
    keeper.deciding(True)  # decided (a state written), then failed before remembering
    assert cycle(keeper, 10, HOLDING) == (NOW + timedelta(minutes=10)).timestamp()

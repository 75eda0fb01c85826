"""Firing policies on their own: once, every (with jumps), rearm with cooldown, ``for``
periods with resets, and seeding."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from automation.core.facts import Outcome, RuleState
from automation.core.policies import fresh_state, step
from automation.core.rules import Every, Once, Rearm

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
FP = "f" * 16
S0 = RuleState(fingerprint=FP)
MIN = timedelta(minutes=1)


def run(policy, state=S0, truth=True, *, for_=0, seeding=False, value=None, now=NOW):
    return step(policy, for_, state, truth, now, seeding=seeding, every_value=value)


def test_fresh_state_replaces_missing_or_foreign_state():
    mine = RuleState(fingerprint=FP, done=True)
    assert fresh_state(None, FP) == S0
    assert fresh_state(RuleState(fingerprint="other", done=True), FP) == S0
    assert fresh_state(mine, FP) is mine


# --- once -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("truth", "outcome", "key"),
    [(True, Outcome.FIRE, "once"), (False, Outcome.NOTHING, None), (None, Outcome.NOTHING, None)],
)
def test_once_fires_only_on_true(truth, outcome, key):
    result = run(Once(), truth=truth)
    assert (result.outcome, result.key) == (outcome, key)
    assert result.state.done is (outcome is Outcome.FIRE)


def test_once_fire_counts_and_marks_done():
    result = run(Once(), replace(S0, fires=2))
    assert result.state == replace(S0, done=True, fires=3)


def test_once_after_done_does_nothing_and_keeps_state():
    done = replace(S0, done=True, fires=1)
    result = run(Once(), done)
    assert result.outcome is Outcome.NOTHING
    assert result.state is done
    assert result.note == "already fired once"


@pytest.mark.parametrize("seeding", [False, True])
def test_seeding_turns_fire_into_seed_with_same_key_and_state(seeding):
    fired = run(Once(), seeding=False)
    result = run(Once(), seeding=seeding)
    assert result.outcome is (Outcome.SEED if seeding else Outcome.FIRE)
    assert (result.key, result.state) == (fired.key, fired.state)


# --- for ------------------------------------------------------------------------------------


def test_for_starts_holding_and_is_pending():
    result = run(Once(), for_=900)
    assert result.outcome is Outcome.PENDING
    assert result.state == replace(S0, holding_since=NOW)
    assert result.note == "pending: holding since 12:00, fires at 12:15"


@pytest.mark.parametrize(
    ("held_for", "outcome"),
    [(14, Outcome.PENDING), (15, Outcome.FIRE), (60, Outcome.FIRE)],
)
def test_for_fires_once_held_long_enough(held_for, outcome):
    since = NOW - held_for * MIN
    result = run(Once(), replace(S0, holding_since=since), for_=900)
    assert result.outcome is outcome
    assert result.state.holding_since == since


@pytest.mark.parametrize("truth", [False, None])
def test_for_resets_on_false_or_unknown(truth):
    result = run(Once(), replace(S0, holding_since=NOW - 10 * MIN), truth=truth, for_=900)
    assert result.outcome is Outcome.NOTHING
    assert result.state.holding_since is None


def test_for_zero_holds_at_once_and_never_tracks():
    result = run(Once(), for_=0)
    assert result.outcome is Outcome.FIRE
    assert result.state.holding_since is None


def test_seeding_a_pending_post_seeds_it():
    """A post already true when the rule arrives is seen, even before its period ends."""
    result = run(Once(), for_=900, seeding=True)
    assert result.outcome is Outcome.SEED
    assert result.state.done and result.state.holding_since == NOW


# --- every ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "milestone", "outcome", "reached"),
    [
        (999, 0, Outcome.NOTHING, None),
        (1000, 0, Outcome.FIRE, 1000),
        (1999.5, 1000, Outcome.NOTHING, None),
        (2000, 1000, Outcome.FIRE, 2000),
        (5300, 1000, Outcome.FIRE, 5000),  # a jump fires once, for the highest
        (5300, 5000, Outcome.NOTHING, None),
        (1500, 2000, Outcome.NOTHING, None),  # fell back below: nothing again
        (-5, 0, Outcome.NOTHING, None),
    ],
)
def test_every_fires_at_new_multiples(value, milestone, outcome, reached):
    state = replace(S0, milestone=milestone)
    result = run(Every(1000, "favorites"), state, value=value)
    assert result.outcome is outcome
    assert result.milestone == reached
    assert result.state.milestone == (reached or milestone)
    assert result.key == (f"every:favorites:{reached}" if reached else None)


def test_every_unknown_value_does_nothing():
    result = run(Every(10, "favorites"), value=None)
    assert result.outcome is Outcome.NOTHING
    assert result.state == S0


@pytest.mark.parametrize("truth", [False, None])
def test_every_needs_the_condition(truth):
    assert run(Every(10, "favorites"), truth=truth, value=100).outcome is Outcome.NOTHING


def test_every_with_for_is_pending_then_fires():
    pending = run(Every(10, "favorites"), value=35, for_=600)
    assert (pending.outcome, pending.milestone) == (Outcome.PENDING, 30)
    assert pending.state.milestone == 0
    later = run(Every(10, "favorites"), pending.state, value=47, for_=600, now=NOW + 10 * MIN)
    assert (later.outcome, later.key) == (Outcome.FIRE, "every:favorites:40")


def test_every_seed_records_milestone():
    result = run(Every(100, "retweets"), value=250, seeding=True)
    assert (result.outcome, result.state.milestone) == (Outcome.SEED, 200)


# --- rearm ----------------------------------------------------------------------------------


def test_rearm_sequence_fires_on_each_false_to_true_change():
    policy = Rearm(cooldown=0)
    state, fired = S0, []
    for i, truth in enumerate([True, True, False, None, True, None, True, False, True]):
        result = run(policy, state, truth=truth, now=NOW + i * MIN)
        state = result.state
        fired.append(result.outcome is Outcome.FIRE)
    assert fired == [True, False, False, False, True, False, False, False, True]
    assert state.fires == 3


def test_rearm_key_is_the_firing_time():
    result = run(Rearm(0))
    assert result.key == f"rearm:{NOW.isoformat()}"
    assert result.state == replace(S0, last_truth=True, last_fired_at=NOW, fires=1)


@pytest.mark.parametrize(
    ("fired_ago", "outcome"),
    [(timedelta(hours=5, minutes=59), Outcome.NOTHING), (timedelta(hours=6), Outcome.FIRE)],
)
def test_rearm_cooldown(fired_ago, outcome):
    state = replace(S0, last_truth=False, last_fired_at=NOW - fired_ago, fires=1)
    result = run(Rearm(6 * 3600), state)
    assert result.outcome is outcome
    assert result.state.last_truth is True
    if outcome is Outcome.NOTHING:
        assert result.note.startswith("in cooldown until 12:01")
        assert result.state.fires == 1


def test_rearm_suppressed_in_cooldown_needs_a_new_change():
    state = replace(S0, last_truth=False, last_fired_at=NOW - MIN, fires=1)
    first = run(Rearm(600), state)
    later = run(Rearm(600), first.state, now=NOW + 20 * MIN)
    assert later.outcome is Outcome.NOTHING  # still true since the suppressed change


def test_rearm_unknown_keeps_last_truth():
    for last in (None, True, False):
        result = run(Rearm(0), replace(S0, last_truth=last), truth=None)
        assert result.state.last_truth is last


def test_rearm_false_records_false():
    assert run(Rearm(0), truth=False).state.last_truth is False


def test_rearm_with_for_pending_then_fires():
    pending = run(Rearm(0), replace(S0, last_truth=False), for_=900)
    assert pending.outcome is Outcome.PENDING
    assert pending.state.last_truth is False
    fired = run(Rearm(0), pending.state, for_=900, now=NOW + 15 * MIN)
    assert fired.outcome is Outcome.FIRE


def test_rearm_with_for_does_not_refire_after_an_unknown_blip():
    """An unknown poll restarts the period but is not a change to false."""
    fired = replace(S0, last_truth=True, last_fired_at=NOW - 3 * MIN, fires=1)
    blip = run(Rearm(0), replace(fired, holding_since=NOW - 20 * MIN), truth=None, for_=900)
    assert blip.state == fired
    back = run(Rearm(0), blip.state, for_=900, now=NOW + 30 * MIN)
    assert back.outcome is Outcome.NOTHING
    assert back.state.holding_since == NOW + 30 * MIN
    held = run(Rearm(0), back.state, for_=900, now=NOW + 50 * MIN)
    assert held.outcome is Outcome.NOTHING


def test_rearm_seed_sets_same_state_as_fire():
    fired = run(Rearm(3600))
    seeded = run(Rearm(3600), seeding=True)
    assert seeded.outcome is Outcome.SEED
    assert (seeded.key, seeded.state) == (fired.key, fired.state)

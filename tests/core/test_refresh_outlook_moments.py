"""The moment ``outlooks`` projects a post to meet a rule, which the refresh budget reads
soonest first, and whether a windowed rule's series is worth a request: worked by hand."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

from automation.core.evaluate import compile_rule
from automation.core.facts import RuleState
from automation.core.records import WatchedPostRecord
from automation.core.refresh_outlook import Recent, outlooks
from automation.core.rules import Every, FirePolicy, Leaf, Rearm, Rule, Watch

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
POST = WatchedPostRecord("100", "brand", NOW - timedelta(days=1), "timeline", NOW)


def outlook(
    rule: Rule,
    now: Mapping[str, float],
    before: Mapping[str, float],
    *,
    state: RuleState | None = None,
    seconds_before: int = 100,
) -> tuple[float, bool]:
    """Seconds from the reading until the post is projected to meet ``rule``, and whether
    its window is open, read at NOW after ``before`` ``seconds_before`` earlier."""
    earlier = Recent((NOW - timedelta(seconds=seconds_before)).timestamp(), dict(before))
    (recent,) = outlooks(
        [(compile_rule(rule), (POST,))],
        {POST.post_id: dict(now)},
        lambda rule_id: {} if state is None else {POST.post_id: state},
        {POST.post_id: earlier},
        NOW,
    ).values()
    return recent.cross_at - NOW.timestamp(), recent.window_open


def rule(when: Leaf | None = None, fire: FirePolicy | None = None) -> Rule:
    if fire is None:
        return Rule(id="r", watch=Watch(accounts=("brand",)), when=when)
    return Rule(id="r", watch=Watch(accounts=("brand",)), when=when, fire=fire)


def test_above_a_threshold_is_one_more_than_it_at_least_it_is_it() -> None:
    rising = {"favorites": 8.0}, {"favorites": 7.0}  # one a 100 s
    assert outlook(rule(Leaf("favorites", "gt", 10.0)), *rising) == (300.0, False)
    assert outlook(rule(Leaf("favorites", "gte", 10.0)), *rising) == (200.0, False)


def test_a_rearmed_rule_met_now_waits_out_its_cooldown() -> None:
    fired = RuleState(last_truth=False, last_fired_at=NOW - timedelta(seconds=100))
    met = rule(Leaf("favorites", "gte", 5.0), Rearm(cooldown=600))
    assert outlook(met, {"favorites": 8.0}, {"favorites": 7.0}, state=fired) == (500.0, False)


def test_every_milestone_counts_from_the_highest_already_fired_even_when_done() -> None:
    every = rule(fire=Every(10, "favorites"))
    rising = {"favorites": 9.0}, {"favorites": 8.0}  # one a 100 s
    assert outlook(every, *rising) == (100.0, False)  # to 10
    assert outlook(every, *rising, state=RuleState(milestone=50)) == (5100.0, False)  # to 60
    done = RuleState(milestone=10, done=True)
    assert outlook(every, {"favorites": 15.0}, {"favorites": 14.0}, state=done) == (500.0, False)


def test_a_window_opens_when_its_rate_reaches_half_the_threshold_exactly() -> None:
    windowed = rule(Leaf("impressions", "gte", 100.0, over=3600))
    half = {"impressions": 50.0}, {"impressions": 0.0}
    assert outlook(windowed, *half, seconds_before=3600)[1] is True
    less = {"impressions": 49.0}, {"impressions": 0.0}
    assert outlook(windowed, *less, seconds_before=3600)[1] is False

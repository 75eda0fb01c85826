"""The election's timings and decisions, from plain numbers."""

from __future__ import annotations

import pytest

from automation.core.leadership import (
    LeaderView,
    LeaseTimes,
    lease_times,
    longest_action,
    may_reclaim,
    reclaim_grace,
    still_leading,
)
from automation.core.rules import LogAction, Rule, Watch, WebhookAction
from automation.core.templates import parse_template


@pytest.mark.parametrize("poll", [0.5, 1, 60, 300, 3600])
def test_a_standby_asks_often_enough_to_take_over_within_two_intervals(poll: float) -> None:
    times = lease_times(poll)
    assert times.retry <= poll / 4 or times.retry == 2.0
    assert times.heartbeat < times.trust < times.lease  # acts only while proven alive
    assert 5.0 <= times.lease <= 30.0


@pytest.mark.parametrize(
    ("poll", "times"),
    [
        # docs/high-availability.md: the lease is the poll interval between 5 s and 30 s,
        # a leader acts until lease / 2 after its last answered heartbeat, a standby asks
        # every quarter poll interval, at most 2 s apart; five heartbeats a lease
        (0.2, LeaseTimes(lease=5.0, heartbeat=1.0, trust=2.5, retry=0.1)),
        (1, LeaseTimes(lease=5.0, heartbeat=1.0, trust=2.5, retry=0.25)),
        (10, LeaseTimes(lease=10.0, heartbeat=2.0, trust=5.0, retry=2.0)),
        (300, LeaseTimes(lease=30.0, heartbeat=6.0, trust=15.0, retry=2.0)),
    ],
)
def test_the_timings_the_documentation_gives(poll: float, times: LeaseTimes) -> None:
    assert lease_times(poll) == times


def test_a_leader_acts_only_while_its_last_heartbeat_is_recent() -> None:
    assert still_leading(holds_lock=True, last_answer=100.0, now=101.0, trust=2.5)
    assert not still_leading(holds_lock=True, last_answer=100.0, now=102.5, trust=2.5)
    assert not still_leading(holds_lock=True, last_answer=None, now=100.0, trust=2.5)
    assert not still_leading(holds_lock=False, last_answer=100.0, now=100.0, trust=2.5)


def _rule(*actions: WebhookAction | LogAction) -> Rule:
    return Rule(id="r", watch=Watch(), when=None, actions=actions)


def test_the_longest_action_counts_every_redirect_of_the_slowest_webhook() -> None:
    slow = WebhookAction(url=parse_template("https://a.example/x"), timeout=20.0)
    rules = [_rule(slow), _rule(LogAction(parse_template("m")))]
    assert longest_action(rules, write_timeout=30.0, redirects=3) == 80.0
    assert longest_action([], write_timeout=30.0, redirects=3) == 40.0  # default webhook
    assert longest_action([], write_timeout=60.0, redirects=0) == 60.0


def test_a_predecessors_claims_wait_until_its_last_action_is_over() -> None:
    times = lease_times(60)
    grace = reclaim_grace(times, longest_action=40.0)
    assert grace == times.trust + 40.0
    assert not may_reclaim(led_since=1000.0, now=1000.0 + grace - 0.1, grace=grace)
    assert may_reclaim(led_since=1000.0, now=1000.0 + grace, grace=grace)


def test_what_status_calls_each_state_of_the_engines() -> None:
    view = LeaderView(leader="a:1", epoch=3, since=0.0, connected=("a:1",), standby=("b:2",))
    assert view.state == "leading"
    assert LeaderView("a:1", 3, 0.0, (), ("b:2",)).state == "takeover"
    assert LeaderView("", 0, None, (), ()).state == "no engine"

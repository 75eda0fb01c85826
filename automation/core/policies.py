"""Firing policies: given the condition's truth now and the remembered state, what happens.

This is the one place that decides FIRE, SEED, PENDING or NOTHING, and the new state; the
hot path and ``explain`` both come here, so they cannot disagree. Truth is True, False or
None (unknown). Pure: ``now`` is an argument.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from automation.core.durations import format_duration
from automation.core.facts import Outcome, RuleState
from automation.core.rules import Every, FirePolicy, Once, Rearm
from automation.core.timetext import moment_text

__all__ = ["Step", "fresh_state", "step"]


@dataclass(frozen=True, slots=True)
class Step:
    """What a policy decided; ``note`` explains outcomes the condition alone does not."""

    outcome: Outcome
    state: RuleState
    key: str | None = None
    milestone: int | None = None
    note: str = ""


def fresh_state(state: RuleState | None, fingerprint: str) -> RuleState:
    """The state to start from: a rule whose fingerprint changed starts over."""
    if state is None or state.fingerprint != fingerprint:
        return RuleState(fingerprint=fingerprint)
    return state


def step(
    policy: FirePolicy,
    for_: int,
    state: RuleState,
    truth: bool | None,
    now: datetime,
    *,
    seeding: bool,
    every_value: float | None = None,
    every_name: str = "",
) -> Step:
    """Apply ``for`` and the firing policy. ``state`` must already be ``fresh_state``'d.

    In a seeding cycle a post whose condition is true is seeded even when its ``for``
    period has not run out yet: it already met the rule when the rule arrived, and
    letting it fire once the period ends would be the flood seeding exists to prevent.
    """
    since, holds = _hold(for_, state, truth, now)
    base = state if since == state.holding_since else replace(state, holding_since=since)
    ready = truth is True and (holds or seeding)
    pending = _pending_note(since, for_, now) if truth is True and not holds else ""
    if isinstance(policy, Once):
        return _once(state, base, ready, pending, seeding)
    if isinstance(policy, Every):
        return _every(policy, state, base, truth, ready, pending, seeding, every_value, every_name)
    if isinstance(policy, Rearm):
        return _rearm(policy, state, base, truth, ready, pending, seeding, now)
    raise TypeError(f"unknown firing policy {policy!r}")


def _hold(
    for_: int, state: RuleState, truth: bool | None, now: datetime
) -> tuple[datetime | None, bool]:
    """(holding_since, holds): a ``for`` period starts at the first true poll and any
    false or unknown poll restarts it."""
    if for_ <= 0:
        return state.holding_since, truth is True
    if truth is not True:
        return None, False
    since = state.holding_since or now
    return since, now - since >= timedelta(seconds=for_)


def _pending_note(since: datetime | None, for_: int, now: datetime) -> str:
    if since is None:
        return ""
    fires_at = since + timedelta(seconds=for_)
    return (
        f"pending: holding since {moment_text(since, now)}, fires at {moment_text(fires_at, now)}"
    )


def _fired(seeding: bool) -> Outcome:
    return Outcome.SEED if seeding else Outcome.FIRE


def _once(state: RuleState, base: RuleState, ready: bool, pending: str, seeding: bool) -> Step:
    if state.done:
        return Step(Outcome.NOTHING, state, note="already fired once")
    if ready:
        new = replace(base, done=True, fires=state.fires + 1)
        return Step(_fired(seeding), new, key="once")
    if pending:
        return Step(Outcome.PENDING, base, note=pending)
    return Step(Outcome.NOTHING, base)


def _every(
    policy: Every,
    state: RuleState,
    base: RuleState,
    truth: bool | None,
    ready: bool,
    pending: str,
    seeding: bool,
    value: float | None,
    name: str,
) -> Step:
    """Fire at each new multiple of ``n``; a jump over several fires once, for the highest."""
    if truth is not True:
        return Step(Outcome.NOTHING, base)
    name = name or policy.metric
    if value is None:
        return Step(Outcome.NOTHING, base, note=f"not fired: {name} is unknown")
    reached = int(value // policy.n) * policy.n
    if reached < policy.n or reached <= state.milestone:
        last = f", last milestone {state.milestone}" if state.milestone else ""
        note = f"no new multiple of {policy.n}: {name}={_num(value)}{last}"
        return Step(Outcome.NOTHING, base, note=note)
    if ready:
        new = replace(base, milestone=reached, fires=state.fires + 1)
        key = f"every:{policy.metric}:{reached}"
        return Step(_fired(seeding), new, key=key, milestone=reached)
    return Step(Outcome.PENDING, base, milestone=reached, note=pending)


def _rearm(
    policy: Rearm,
    state: RuleState,
    base: RuleState,
    truth: bool | None,
    ready: bool,
    pending: str,
    seeding: bool,
    now: datetime,
) -> Step:
    """Fire on each false→true change, at most once per cooldown.

    Unknown leaves ``last_truth`` alone (a missed poll is not a change), and so does a
    ``for`` period still running: the condition is not false, only not yet established.
    """
    if truth is None:
        return Step(Outcome.NOTHING, base)
    if truth is False:
        new = base if base.last_truth is False else replace(base, last_truth=False)
        return Step(Outcome.NOTHING, new)
    if state.last_truth is True:
        note = "still true since it last turned true; fires again after it turns false"
        return Step(Outcome.NOTHING, base, note=note)
    if not ready:
        return Step(Outcome.PENDING, base, note=pending)
    last = state.last_fired_at
    if last is not None and now - last < timedelta(seconds=policy.cooldown):
        until = last + timedelta(seconds=policy.cooldown)
        note = (
            f"in cooldown until {moment_text(until, now)} "
            f"(fired at {moment_text(last, now)}, cooldown {format_duration(policy.cooldown)})"
        )
        return Step(Outcome.NOTHING, replace(base, last_truth=True), note=note)
    new = replace(base, last_truth=True, last_fired_at=now, fires=state.fires + 1)
    return Step(_fired(seeding), new, key=f"rearm:{now.isoformat()}")


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.6g}"

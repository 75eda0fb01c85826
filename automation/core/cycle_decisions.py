"""Every enabled rule over the posts it evaluates: what one cycle records.

Pure: the engine passes the plan's (rule, posts) pairs, the assembled facts, the stored
rule versions and a way to read a rule's stored states, plus the source of firing ids;
the result is the one ``CycleWrite`` the store commits, and the reason for each firing.
A rule without a window is first tested on a post's totals and state alone
(``CompiledRule.quiet_on``): most pairs decide nothing, and then the post's facts are
not built for it.

Equal states of a cycle are one object (``shared_state``): a cycle decides states for
tens of thousands of posts, mostly alike (a new rule's seeded posts, conditions still
false), and the engine keeps every rule's states between cycles. What shares them is the
cycle's own: a table kept from cycle to cycle held every distinct state ever decided,
most of them no post's any more, and grew all day.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime
from operator import attrgetter

from automation.core.caps import room, window_start
from automation.core.cycle_facts import Totals, read_totals
from automation.core.evaluate import CompiledRule
from automation.core.facts import Outcome, PostFacts, RuleState
from automation.core.firings import firing_record
from automation.core.pauses import PauseState
from automation.core.records import CycleWrite, FiringRecord, RuleVersion, WatchedPostRecord

__all__ = ["CycleDecisions", "decide_cycle", "seeding_reason", "shared_state"]

_BACKFILL = "; `backfill: true` fires them"

# a state's fields, which hash and compare in C: a third of the dataclass's cost
_fields = attrgetter(*(f.name for f in fields(RuleState)))
SharedStates = dict[tuple[object, ...], RuleState]  # each state decided, by its fields


@dataclass(frozen=True)
class CycleDecisions:
    """What to record, and why each firing (or seed) of ``write`` happened, by firing id.

    ``held``: the firings paused rules would have made (not recorded, not acted on);
    ``resumed``: the resuming rules whose every watched post was evaluated, so their pause
    can be settled.
    """

    write: CycleWrite
    reasons: Mapping[str, str] = field(default_factory=dict)
    held: tuple[FiringRecord, ...] = ()
    resumed: frozenset[str] = frozenset()


def seeding_reason(
    compiled: CompiledRule, known: RuleVersion | None, resuming: Mapping[str, bool]
) -> str:
    """Why a cycle seeds this rule's posts rather than firing them (spec section 5, new
    rules do not flood), or "" when it fires them: the rule is new or changed (its
    fingerprint against the stored version ``known``) and does not backfill, or it
    resumes without catching up (``resuming``: rule id -> whether it catches up)."""
    rule = compiled.rule
    if resuming.get(rule.id) is False:
        return "the rule was resumed without --catch-up, so what meets it now is not fired"
    if rule.backfill:
        return ""
    if known is None:
        return f"the rule is new and posts that already meet it are not fired{_BACKFILL}"
    if known.fingerprint != compiled.fingerprint:
        return f"the rule changed and posts that already meet it are not fired{_BACKFILL}"
    return ""


def decide_cycle(
    watched: Sequence[tuple[CompiledRule, Sequence[WatchedPostRecord]]],
    facts: Mapping[str, PostFacts],
    versions: Mapping[str, RuleVersion],
    states_of: Callable[[str], Mapping[str, RuleState]],
    now: datetime,
    new_id: Callable[[], str],
    pauses: PauseState | None = None,
    fired_since: Callable[[str, datetime], int] | None = None,
) -> CycleDecisions:
    """Evaluate each rule on its posts that have facts.

    A rule that is new or changed (its fingerprint differs from the stored version) seeds
    instead of firing unless it backfills, and its version is recorded once every post it
    watches was evaluated, so a cycle that missed some of them seeds again next time.
    A paused rule is evaluated but records nothing (what it would fire is ``held``); a
    resuming rule seeds, as a new one does, unless its resume asked to catch up.
    A rule with a ``limit`` fires as long as ``fired_since(rule id, window start)`` leaves
    room; its further firings this cycle are recorded as ``capped``, acting on nothing.
    """
    tally = _Tally()
    new_versions: list[tuple[str, str]] = []
    resumed: set[str] = set()
    paused, resuming = (pauses.paused, pauses.resuming) if pauses else ({}, {})
    read = read_totals(facts)
    for compiled, posts in watched:
        rule = compiled.rule
        known = versions.get(rule.id)
        changed = known is None or known.fingerprint != compiled.fingerprint
        holding = rule.id in paused
        present = [p.post_id for p in posts if p.post_id in read]
        if present:
            seeding = bool(seeding_reason(compiled, known, resuming))
            judged = _Judged(compiled, states_of(rule.id), seeding, holding)
            _decide_rule(judged, present, facts, read, now, new_id, fired_since, tally)
        complete = len(present) == len(posts)
        if changed and complete and not holding:
            new_versions.append((rule.id, compiled.fingerprint))
        if rule.id in resuming and complete:
            resumed.add(rule.id)
    write = CycleWrite(
        states=tuple(tally.states),
        firings=tuple(tally.firings),
        rule_versions=tuple(new_versions),
        at=now,
    )
    return CycleDecisions(
        write=write,
        reasons=tally.reasons,
        held=tuple(tally.held),
        resumed=frozenset(resumed),
    )


@dataclass(frozen=True)
class _Judged:
    """One rule in this cycle: its stored states, and how it decides."""

    compiled: CompiledRule
    stored: Mapping[str, RuleState]
    seeding: bool
    holding: bool


@dataclass
class _Tally:
    """What the rules decided so far this cycle."""

    states: list[tuple[str, str, RuleState]] = field(default_factory=list)
    firings: list[FiringRecord] = field(default_factory=list)
    held: list[FiringRecord] = field(default_factory=list)
    reasons: dict[str, str] = field(default_factory=dict)
    # each firing's metrics held once: a first cycle has 10,513 distinct, a dict of 184 bytes each
    values: dict[tuple[tuple[str, float], ...], Mapping[str, float]] = field(default_factory=dict)
    shared: SharedStates = field(default_factory=dict)  # the states decided, each once

    def metrics(self, given: Mapping[str, float]) -> Mapping[str, float]:
        """A copy of ``given``, the same one for equal metrics or windows (none is ever
        changed)."""
        key = tuple(given.items())
        found = self.values.get(key)
        if found is None:
            found = self.values[key] = dict(given)
        return found


def _decide_rule(
    judged: _Judged,
    present: Sequence[str],
    facts: Mapping[str, PostFacts],
    totals: Mapping[str, Totals],
    now: datetime,
    new_id: Callable[[], str],
    fired_since: Callable[[str, datetime], int] | None,
    tally: _Tally,
) -> None:
    """One rule over its posts that have facts (``totals``: theirs), added to ``tally``."""
    compiled, seeding, holding = judged.compiled, judged.seeding, judged.holding
    rule, state_of, evaluate = compiled.rule, judged.stored.get, compiled.evaluate
    quiet_on = compiled.quiet_on
    if quiet_on is not None:  # evaluating the others gives None: nothing happens
        present = [pid for pid in present if not quiet_on(totals[pid], state_of(pid))]
    left: int | None = None  # room under the rule's cap, counted at its first firing
    for pid in present:
        post = facts[pid]
        decision = evaluate(post, state_of(pid), now, seeding=seeding)
        if decision is None:
            continue
        if holding:  # evaluated, but a paused rule records nothing
            if decision.outcome is Outcome.FIRE:
                tally.held.append(firing_record(rule, post, decision, now, new_id()))
            continue
        tally.states.append((rule.id, pid, shared_state(decision.state, tally.shared)))
        capped = False
        if decision.outcome is Outcome.FIRE and rule.limit and fired_since:
            if left is None:
                left = room(rule.limit, fired_since(rule.id, window_start(rule.limit, now)))
            capped, left = left <= 0, left - 1
        if decision.outcome is Outcome.FIRE or decision.outcome is Outcome.SEED:
            metrics = tally.metrics(decision.metrics)
            windows = tally.metrics(decision.windows) if decision.windows else None
            firing = firing_record(
                rule, post, decision, now, new_id(), capped=capped, metrics=metrics, windows=windows
            )
            tally.firings.append(firing)
            # each reason held once: a first cycle's 31,765 seeds give 10,571 distinct ones
            tally.reasons[firing.id] = sys.intern(decision.reason)


def shared_state(state: RuleState, shared: SharedStates) -> RuleState:
    """``state``, or an equal one given before with ``shared`` (a cycle's): the same
    value, held once."""
    return shared.setdefault(_fields(state), state)

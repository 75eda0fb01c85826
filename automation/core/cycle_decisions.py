"""Every enabled rule over the posts it evaluates: what one cycle records.

Pure: the engine passes the plan's (rule, posts) pairs, the assembled facts, the stored
rule versions and a way to read a rule's stored states, plus the source of firing ids;
the result is the one ``CycleWrite`` the store commits, and the reason for each firing.
Given what earlier cycles left ``settled`` (``core.settled``), the pairs whose inputs did
not change are not evaluated again: they would decide nothing, as they did last time.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from automation.core.caps import room, window_start
from automation.core.cycle_facts import Totals, read_totals
from automation.core.evaluate import CompiledRule
from automation.core.facts import Outcome, PostFacts, RuleState
from automation.core.firings import firing_record
from automation.core.pauses import PauseState
from automation.core.records import CycleWrite, FiringRecord, RuleVersion, WatchedPostRecord
from automation.core.settled import NOTHING_SETTLED, Settled, settled_after, settles

__all__ = ["CycleDecisions", "decide_cycle"]


@dataclass(frozen=True)
class CycleDecisions:
    """What to record, and why each firing (or seed) of ``write`` happened, by firing id.

    ``held``: the firings paused rules would have made (not recorded, not acted on);
    ``resumed``: the resuming rules whose every watched post was evaluated, so their pause
    can be settled; ``settled``: what the next cycle need not evaluate again, once
    ``write`` is committed.
    """

    write: CycleWrite
    reasons: Mapping[str, str] = field(default_factory=dict)
    held: tuple[FiringRecord, ...] = ()
    resumed: frozenset[str] = frozenset()
    settled: Settled = NOTHING_SETTLED


def decide_cycle(
    watched: Sequence[tuple[CompiledRule, Sequence[WatchedPostRecord]]],
    facts: Mapping[str, PostFacts],
    versions: Mapping[str, RuleVersion],
    states_of: Callable[[str], Mapping[str, RuleState]],
    now: datetime,
    new_id: Callable[[], str],
    pauses: PauseState | None = None,
    fired_since: Callable[[str, datetime], int] | None = None,
    settled: Settled = NOTHING_SETTLED,
) -> CycleDecisions:
    """Evaluate each rule on its posts that have facts.

    A rule that is new or changed (its fingerprint differs from the stored version) seeds
    instead of firing unless it backfills, and its version is recorded once every post it
    watches was evaluated, so a cycle that missed some of them seeds again next time.
    A paused rule is evaluated but records nothing (what it would fire is ``held``); a
    resuming rule seeds, as a new one does, unless its resume asked to catch up.
    A rule with a ``limit`` fires as long as ``fired_since(rule id, window start)`` leaves
    room; its further firings this cycle are recorded as ``capped``, acting on nothing.
    A pair ``settled`` names is skipped when its post's values of the rule's metrics and
    its rule's states are what they were (see ``core.settled``).
    """
    tally = _Tally()
    new_versions: list[tuple[str, str]] = []
    resumed: set[str] = set()
    paused, resuming = (pauses.paused, pauses.resuming) if pauses else ({}, {})
    read = read_totals(facts)
    same, moved = settled.unchanged(read)
    for compiled, posts in watched:
        rule = compiled.rule
        known = versions.get(rule.id)
        changed = known is None or known.fingerprint != compiled.fingerprint
        holding = rule.id in paused
        present = [p.post_id for p in posts if p.post_id in read]
        if present:
            seeding = (changed and not rule.backfill) or resuming.get(rule.id) is False
            judged = _Judged(compiled, states_of(rule.id), seeding, holding)
            _settle(judged, settled, same, rule.id in resuming)
            _decide_rule(judged, present, facts, read, now, new_id, fired_since, tally)
            tally.judged.append(judged)
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
        settled=_settled(settled, read, same, moved, tally),
    )


@dataclass
class _Judged:
    """One rule in this cycle: its stored states, how it decides, and (for a rule whose
    pairs can settle) the posts it found quiet and the settled pairs it may skip; the
    posts whose states someone else changed since the last cycle (None: maybe any)."""

    compiled: CompiledRule
    stored: Mapping[str, RuleState]
    seeding: bool
    holding: bool
    quiet: list[str] | None = None
    same: Mapping[str, frozenset[CompiledRule]] | None = None
    decided: dict[str, RuleState] = field(default_factory=dict)
    disturbed: frozenset[str] | None = frozenset()


def _settle(
    judged: _Judged,
    settled: Settled,
    same: Mapping[str, frozenset[CompiledRule]],
    resuming: bool,
) -> None:
    """Whether the rule may skip its settled pairs, and record the quiet ones, this cycle:
    only a rule without a window, neither seeding, paused nor resuming, whose states
    are what the last cycle left."""
    compiled = judged.compiled
    trusted = settled.trusted(compiled.rule.id, judged.stored)
    if not trusted:
        judged.disturbed = settled.disturbed(compiled.rule.id, judged.stored)
    if settles(compiled) and not (judged.seeding or judged.holding or resuming):
        judged.quiet = []
        judged.same = same if trusted else None


@dataclass
class _Tally:
    """What the rules decided so far this cycle."""

    states: list[tuple[str, str, RuleState]] = field(default_factory=list)
    firings: list[FiringRecord] = field(default_factory=list)
    held: list[FiringRecord] = field(default_factory=list)
    reasons: dict[str, str] = field(default_factory=dict)
    judged: list[_Judged] = field(default_factory=list)


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
    quiet, same, quiet_on = judged.quiet, judged.same, compiled.quiet_on
    left: int | None = None  # room under the rule's cap, counted at its first firing
    for pid in present:
        if same is not None and compiled in same.get(pid, ()):
            continue  # settled: it would decide nothing again
        state = state_of(pid)
        if quiet_on is not None and quiet_on(totals[pid], state):
            decision = None  # what evaluating gives, without building the post's facts
        else:
            decision = evaluate(facts[pid], state, now, seeding=seeding)
        if decision is None:
            if quiet is not None:
                quiet.append(pid)
            continue
        post = facts[pid]
        if holding:  # evaluated, but a paused rule records nothing
            if decision.outcome is Outcome.FIRE:
                tally.held.append(firing_record(rule, post, decision, now, new_id()))
            continue
        tally.states.append((rule.id, pid, decision.state))
        judged.decided[pid] = decision.state
        capped = False
        if decision.outcome is Outcome.FIRE and rule.limit and fired_since:
            if left is None:
                left = room(rule.limit, fired_since(rule.id, window_start(rule.limit, now)))
            capped, left = left <= 0, left - 1
        if decision.outcome is Outcome.FIRE or decision.outcome is Outcome.SEED:
            firing = firing_record(rule, post, decision, now, new_id(), capped=capped)
            tally.firings.append(firing)
            tally.reasons[firing.id] = decision.reason


def _settled(
    before: Settled,
    read: Mapping[str, Totals],
    same: Mapping[str, frozenset[CompiledRule]],
    moved: set[str],
    tally: _Tally,
) -> Settled:
    """What the next cycle may skip: see ``core.settled.settled_after``."""
    return settled_after(
        before,
        read,
        same,
        quiet=[(j.compiled, j.quiet) for j in tally.judged if j.quiet is not None],
        dropped={j.compiled for j in tally.judged if j.same is None and settles(j.compiled)},
        disturbed=[(j.compiled, j.disturbed) for j in tally.judged if j.disturbed != frozenset()],
        states={
            j.compiled.rule.id: ({**j.stored, **j.decided} if j.decided else j.stored)
            for j in tally.judged
        },
        moved=moved,
    )

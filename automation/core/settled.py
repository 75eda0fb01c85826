"""Which (rule, post) pairs a cycle need not evaluate again: nothing they read has changed.

Pure. A rule without a window decides from the post's totals, its state and whether it
seeds, never from the time: every ``now``-dependent step of a decision (a ``for`` period
running, a cooldown, a rearm's first true poll) either writes the state or reports
PENDING, so it is never the "nothing happens, the state stays" answer the evaluator
gives as None; and of the totals it reads only its own metrics (``totals_metrics``). A
pair whose last evaluation gave that answer therefore gives it again while the rule is
the same compiled rule, the post's values of those metrics are equal (other metrics of
the post may move: impressions move on most posts, most cycles) and the rule's state is
the one it was (the engine's own decisions and anyone else's changes, such as
``rearm``, show in the states the store gives back). Such a pair is *settled*.

When in doubt a pair is evaluated: rules with a window (their answer moves with the
clock), rules that seed, paused and resuming rules, and every rule whose stored states
are not exactly what the last cycle left are evaluated on all their posts, and none of
those evaluations settles a pair.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field

from automation.core.evaluate import CompiledRule
from automation.core.facts import RuleState

__all__ = ["NOTHING_SETTLED", "Settled", "SettledPost", "settled_after", "settles"]

Totals = Mapping[str, float]


@dataclass(frozen=True, slots=True)
class SettledPost:
    """A post as its rules last left it: the totals they were evaluated on, and the rules
    whose evaluation of those totals decided nothing and left the state as it was."""

    values: Totals
    rules: frozenset[CompiledRule]


@dataclass(frozen=True)
class Settled:
    """What the cycles so far leave settled: ``posts`` by post id, and ``states``, each
    rule's states as the last cycle left them (what it read, with what it decided on
    top), against which the next cycle checks the states it reads."""

    posts: Mapping[str, SettledPost] = field(default_factory=dict)
    states: Mapping[str, Mapping[str, RuleState]] = field(default_factory=dict)

    def unchanged(
        self, totals: Mapping[str, Totals]
    ) -> tuple[dict[str, frozenset[CompiledRule]], set[str]]:
        """The settled rules of each post of ``totals`` that read none of its metrics
        whose value changed (all of them when its totals are the same now), and the posts
        among those whose totals changed."""
        posts = self.posts
        same: dict[str, frozenset[CompiledRule]] = {}
        moved: set[str] = set()
        kept: dict[tuple[frozenset[CompiledRule], frozenset[str]], frozenset[CompiledRule]] = {}
        for pid, values in totals.items():
            seen = posts.get(pid)
            if seen is None:
                continue
            before = seen.values
            if before == values:
                same[pid] = seen.rules
                continue
            changed = frozenset(_changed(before, values))
            rules = kept.get((seen.rules, changed))
            if rules is None:
                rules = kept[seen.rules, changed] = frozenset(
                    r for r in seen.rules if r.totals_metrics.isdisjoint(changed)
                )
            if rules:
                same[pid] = rules
                moved.add(pid)
        return same, moved

    def trusted(self, rule_id: str, stored: Mapping[str, RuleState]) -> bool:
        """Whether ``stored``, a rule's states read now, are exactly what the last cycle
        left: nothing outside the engine changed them."""
        before = self.states.get(rule_id)
        return before is not None and (before is stored or before == stored)

    def disturbed(self, rule_id: str, stored: Mapping[str, RuleState]) -> frozenset[str] | None:
        """The posts whose states in ``stored`` (a rule's, read now) differ from what the
        last cycle left; None when nothing was left to compare with."""
        before = self.states.get(rule_id)
        if before is None:
            return None
        return frozenset(p for p in before.keys() | stored.keys() if before.get(p) != stored.get(p))

    def within(self, posts: Collection[str], rules: Collection[str]) -> Settled:
        """Only what concerns ``posts`` and ``rules``: those some rule still watches."""
        return Settled(
            {pid: seen for pid, seen in self.posts.items() if pid in posts},
            {rid: states for rid, states in self.states.items() if rid in rules},
        )


NOTHING_SETTLED = Settled()


def settles(compiled: CompiledRule) -> bool:
    """Whether a rule's pairs can be settled: its answer does not move with the clock."""
    return compiled.max_window == 0


def settled_after(
    before: Settled,
    read: Mapping[str, Totals],
    same: Mapping[str, frozenset[CompiledRule]],
    *,
    quiet: Iterable[tuple[CompiledRule, Iterable[str]]],
    dropped: Collection[CompiledRule],
    disturbed: Iterable[tuple[CompiledRule, frozenset[str] | None]] = (),
    states: Mapping[str, Mapping[str, RuleState]],
    moved: Collection[str] = (),
) -> Settled:
    """``before`` updated with one cycle: for each post of ``read`` (its totals now), the
    rules ``quiet`` found deciding nothing on it, with those it kept settled (``same``:
    the settled rules none of whose metrics changed; ``moved``: the posts of ``same``
    whose totals changed) unless the rule was evaluated anew (``dropped``: the rules that
    could not skip). A rule is no longer
    settled on the posts, read or not, whose states someone else changed (``disturbed``;
    None: on every post). ``states``: each rule's states after the cycle; a rule the cycle
    did not read keeps the ones it had."""
    fresh: dict[str, list[CompiledRule]] = {}
    for compiled, pids in quiet:
        for pid in pids:
            found = fresh.get(pid)
            if found is None:
                fresh[pid] = [compiled]
            else:
                found.append(compiled)
    posts = dict(before.posts)
    for compiled, changed in disturbed:
        _unsettle(posts, compiled, changed)
    shared: dict[frozenset[CompiledRule], frozenset[CompiledRule]] = {}
    for pid in read.keys() - same.keys():  # totals changed: settled anew, or not at all
        if pid not in fresh:
            posts.pop(pid, None)
    for pid, kept in same.items():
        if pid in fresh:
            continue  # settled anew below
        if dropped and not kept.isdisjoint(dropped):
            kept = kept.difference(dropped)
        elif pid not in moved:
            continue  # the entry stands as it was
        if kept:  # on the totals read now: the rules that read what moved are gone
            posts[pid] = SettledPost(read[pid], shared.setdefault(kept, kept))
        else:
            posts.pop(pid, None)
    for pid, new in fresh.items():
        before_rules = same.get(pid)
        if before_rules and dropped:
            before_rules = before_rules.difference(dropped)
        rules = before_rules.union(new) if before_rules else frozenset(new)
        posts[pid] = SettledPost(read[pid], shared.setdefault(rules, rules))
    return Settled(posts, {**before.states, **states})


def _changed(before: Totals, values: Totals) -> list[str]:
    """The metrics whose value differs between two readings (absent counts as a value)."""
    changed = [m for m, v in values.items() if before.get(m) != v]
    if not before.keys() <= values.keys():
        changed.extend(before.keys() - values.keys())
    return changed


def _unsettle(
    posts: dict[str, SettledPost], compiled: CompiledRule, pids: Collection[str] | None
) -> None:
    """``compiled`` no longer settled on ``pids`` (None: on any post)."""
    for pid in list(posts) if pids is None else pids:
        seen = posts.get(pid)
        if seen is not None and compiled in seen.rules:
            rules = seen.rules - {compiled}
            if rules:
                posts[pid] = SettledPost(seen.values, rules)
            else:
                del posts[pid]

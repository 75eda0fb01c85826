"""The backtest's throwaway ledger: what ``Store.commit_cycle`` keeps of a cycle, in dicts.

It holds the rule versions, the per-post rule states and the live firing keys, exactly as
the store's ledger would (a key fires once; a seed blocks its key too; a rule's version
moves only when its fingerprint changes), and when each rule fired, which its cap
(``limit``) counts, as ``Store.fired_count`` does; nothing else: no outbox, no file. The
replay reads a rule's states through ``states_of``, which hands out the live dict instead
of a copy, since it is read for every rule at every poll.
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping
from datetime import datetime

from automation.core.facts import RuleState
from automation.core.records import CycleWrite, RuleVersion

__all__ = ["ThrowawayLedger"]


class ThrowawayLedger:
    def __init__(self) -> None:
        self.versions: dict[str, RuleVersion] = {}
        self._states: dict[str, dict[str, RuleState]] = {}
        self._keys: set[tuple[str, str, str]] = set()
        self._fired: dict[str, list[datetime]] = {}  # per rule, when it fired, in order
        # per rule, the posts whose condition holds, with since when (``for`` counts it)
        self.holding: dict[str, dict[str, datetime]] = {}

    def states_of(self, rule_id: str) -> Mapping[str, RuleState]:
        return self._states.get(rule_id, {})

    def fired_count(self, rule_id: str, since: datetime) -> int:
        """How many firings of the rule acted after ``since`` (what its cap counts)."""
        times = self._fired.get(rule_id, [])
        return len(times) - bisect.bisect_right(times, since)

    def commit(self, write: CycleWrite) -> frozenset[str]:
        """Keep ``write``; returns the ids of its firings that are new."""
        for rule_id, fingerprint in write.rule_versions:
            known = self.versions.get(rule_id)
            if known is None or known.fingerprint != fingerprint:
                self.versions[rule_id] = RuleVersion(fingerprint, write.at)
        for rule_id, post_id, state in write.states:
            self._states.setdefault(rule_id, {})[post_id] = state
            holding = self.holding.setdefault(rule_id, {})
            if state.holding_since is None or state.done:
                holding.pop(post_id, None)
            else:
                holding[post_id] = state.holding_since
        new: list[str] = []
        for firing in write.firings:
            key = (firing.rule_id, firing.post_id, firing.key)
            if key not in self._keys:
                self._keys.add(key)
                new.append(firing.id)
                if firing.kind == "fired":
                    bisect.insort(self._fired.setdefault(firing.rule_id, []), firing.at)
        return frozenset(new)

"""What a dry run found per rule: would fire, would seed, and the posts whose condition it
could not know, with the commonest reason, so a rule that can never know its values (a
private metric on public posts, a window without data) shows at once.

The engine hands the tally each cycle's evaluated posts and recorded decisions; the
unknown ones are explained with the rule's own ``explain``, the same words ``automation
explain`` prints, with their moments left out so that reasons from different posts and
polls count together.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from automation.core.evaluate import CompiledRule
from automation.core.facts import PostFacts, Truth
from automation.core.records import CycleWrite, WatchedPostRecord

__all__ = ["DryRunTally", "RuleTally"]

_MOMENT = re.compile(r"(\d{4}-\d{2}-\d{2} )?\d{2}:\d{2}(:\d{2})?")
NOT_READ = "no values were read for the post"


@dataclass
class RuleTally:
    """One rule over a dry run: ``unknown`` are the posts whose condition was unknown at
    some poll, ``reasons`` how often each reason was given."""

    would_fire: int = 0
    would_seed: int = 0
    unknown: set[str] = field(default_factory=set)
    reasons: Counter[str] = field(default_factory=Counter)

    @property
    def commonest(self) -> str:
        return self.reasons.most_common(1)[0][0] if self.reasons else ""


class DryRunTally:
    def __init__(self) -> None:
        self.rules: dict[str, RuleTally] = {}

    def evaluated(
        self,
        watched: Sequence[tuple[CompiledRule, Sequence[WatchedPostRecord]]],
        facts: Mapping[str, PostFacts],
        now: datetime,
    ) -> None:
        """Count the posts each rule could not judge at this poll, and why."""
        for compiled, posts in watched:
            tally = self.rules.setdefault(compiled.rule.id, RuleTally())
            for post in posts:
                found = facts.get(post.post_id)
                reasons = [NOT_READ] if found is None else _unknown_because(compiled, found, now)
                if reasons:
                    tally.unknown.add(post.post_id)
                    tally.reasons.update(reasons)

    def committed(self, write: CycleWrite) -> None:
        for firing in write.firings:
            tally = self.rules.setdefault(firing.rule_id, RuleTally())
            if firing.kind == "fired":
                tally.would_fire += 1
            elif firing.kind == "seeded":
                tally.would_seed += 1


def _unknown_because(compiled: CompiledRule, facts: PostFacts, now: datetime) -> list[str]:
    decision = compiled.explain(facts, None, now)
    if decision.truth is not Truth.UNKNOWN:
        return []
    reasons = {
        _MOMENT.sub("<time>", t.reason)
        for t in decision.trace
        if t.truth is Truth.UNKNOWN and t.reason
    }
    return sorted(reasons) or ["unknown"]

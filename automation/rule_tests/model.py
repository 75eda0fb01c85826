"""A rule test file as frozen values: what the loader builds and the runner plays.

Everything a test needs is resolved at load time (poll times, edited rules, creation
times), so a test that loads cleanly can only pass or fail, never be malformed halfway.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from automation.core.rules import Position, Rule
from automation.rule_tests.notation import Series

__all__ = [
    "Expectation",
    "ExpectedAction",
    "RuleTest",
    "RuleTestFile",
    "ScriptedPost",
    "Step",
]

ExpectationKind = Literal["fired", "seeded", "capped", "not_fired"]
StepKind = Literal["restart", "advance", "edit"]


@dataclass(frozen=True)
class ScriptedPost:
    """A post and its metric values at each poll (canonical metric names).

    ``account`` is the owned account that wrote it (None: public); ``written`` keeps the
    metric names as the test wrote them, for reports.
    """

    post_id: str
    account: str | None
    created_at: datetime
    series: Mapping[str, Series]
    written: Mapping[str, str] = field(default_factory=dict)

    def value(self, metric: str, poll: int) -> int | None:
        """The value at ``poll`` (1-based); past its end a series keeps its last number."""
        values = self.series.get(metric)
        if not values:
            return None
        if poll <= len(values):
            return values[poll - 1]
        return next((v for v in reversed(values) if v is not None), None)


@dataclass(frozen=True)
class ExpectedAction:
    """The fields of one action to compare, as written (``body`` may be a mapping)."""

    kind: str
    fields: Mapping[str, Any]
    where: Position


@dataclass(frozen=True)
class Expectation:
    kind: ExpectationKind
    rule: str
    post: str | None
    poll: int | None
    where: Position
    key: str | None = None
    milestone: int | None = None
    actions: tuple[ExpectedAction, ...] | None = None
    performed_at: int | None = None  # the poll at which its actions were performed


@dataclass(frozen=True)
class Step:
    """Something that happens after a poll. ``rules`` is the whole rule set after an edit."""

    after_poll: int
    kind: StepKind
    where: Position
    advance: int = 0
    rules: tuple[Rule, ...] = ()
    text: str = ""


@dataclass(frozen=True)
class RuleTest:
    name: str
    where: Position
    times: tuple[datetime, ...]  # of each poll; times[0] is the start
    poll_interval: int
    posts: tuple[ScriptedPost, ...]
    rules: tuple[Rule, ...]
    steps: tuple[Step, ...] = ()
    expectations: tuple[Expectation, ...] = ()

    @property
    def start(self) -> datetime:
        return self.times[0]

    @property
    def polls(self) -> int:
        return len(self.times)


@dataclass(frozen=True)
class RuleTestFile:
    path: str
    tests: tuple[RuleTest, ...]

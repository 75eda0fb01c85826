"""True threshold crossings, read from the sandbox's world, and how late the engine saw them.

A crossing is the first moment a post's true values meet a rule: the world computes any
post's totals at any moment, so the moment is found by bisection (to the second) between
the start and the end of the measured day. Only rules whose condition can only become
true as counts grow are measured: thresholds (``>=``, ``>``) on totals, ``all`` and
``any`` of them, and ``every`` milestones, with a ``for`` period added to the moment it
first held. Rates and windows can flip back and forth, so they have no single crossing
moment; they run in the benchmark but are not measured.

A crossing's detection is the simulated moment the engine emitted the ``fired`` event
for it; for ``every``, a firing at milestone M detects every milestone up to M (a jump
over several fires once, for the highest).
"""

from __future__ import annotations

import sys
from array import array
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from automation.core.evaluate import CompiledRule
from automation.core.metric_names import DERIVED, TOTALS_METRICS
from automation.core.records import WatchedPostRecord
from automation.core.rules import AllOf, AnyOf, Condition, Every, Leaf, Once
from automation.sandbox.world import Post, World

__all__ = ["Crossing", "Detection", "Firings", "crossings", "detect", "measured"]

YOUNG = timedelta(hours=6)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_SECOND = timedelta(seconds=1)


@dataclass(frozen=True)
class Crossing:
    rule: str
    post: str
    at: datetime
    young: bool  # the post was younger than 6 h when it crossed
    milestone: int = 0  # for ``every`` rules


@dataclass(frozen=True)
class Detection:
    crossing: Crossing
    latency: float | None  # seconds; None when never detected


def measured(rule: CompiledRule) -> bool:
    """Whether the rule's crossings have one true moment (see the module docstring)."""
    r = rule.rule
    if isinstance(r.fire, Every):
        return r.when is None and r.fire.metric in TOTALS_METRICS
    return isinstance(r.fire, Once) and r.when is not None and _monotone(r.when)


def _monotone(cond: Condition) -> bool:
    if isinstance(cond, Leaf):
        return (
            cond.op in ("gte", "gt")
            and not cond.over
            and cond.metric not in DERIVED
            and cond.metric in TOTALS_METRICS
        )
    if isinstance(cond, AllOf | AnyOf):
        return all(_monotone(item) for item in cond.items)
    return False


def crossings(
    world: World,
    rules: Sequence[CompiledRule],
    posts: Iterable[WatchedPostRecord],
    start: datetime,
    end: datetime,
) -> list[Crossing]:
    """Every crossing of a measured rule within [start, end) by a post it watches then."""
    records = list(posts)
    timeline: dict[str, list[WatchedPostRecord]] = {}
    for rec in records:
        if rec.source == "timeline" and rec.account is not None:
            timeline.setdefault(rec.account, []).append(rec)
    known = {rec.post_id: rec for rec in records}
    out: list[Crossing] = []
    for compiled in rules:
        if not measured(compiled):
            continue
        rule = compiled.rule
        watched = [rec for a in rule.watch.accounts for rec in timeline.get(a, [])]
        watched += [known[p] for p in rule.watch.posts if p in known]
        age_limit = timedelta(seconds=rule.watch.max_age)
        for rec in watched:
            post = world.find(rec.post_id)
            if post is None:
                continue
            hi = min(end, rec.created_at + age_limit)
            if hi <= start:
                continue
            out += _post_crossings(world, compiled, post, start, hi)
    return out


def _post_crossings(
    world: World, compiled: CompiledRule, post: Post, start: datetime, end: datetime
) -> list[Crossing]:
    rule = compiled.rule
    held = timedelta(seconds=rule.for_)
    found: list[tuple[datetime, int]] = []
    if isinstance(rule.fire, Every):
        n, metric = rule.fire.n, rule.fire.metric
        low = world.value(post, metric, start)
        high = world.value(post, metric, end)
        for k in range(low // n + 1, high // n + 1):
            at = _reach(world, post, metric, k * n, start, end)
            if at is not None:
                found.append((at, k * n))
    else:
        assert rule.when is not None
        at = _when(world, post, rule.when, start, end)
        if at is not None and at > start:
            found.append((at + held, 0))
    return [
        Crossing(rule.id, post.id, at, at - post.created_at < YOUNG, milestone)
        for at, milestone in found
        if at < end
    ]


def _when(
    world: World, post: Post, cond: Condition, start: datetime, end: datetime
) -> datetime | None:
    """The first moment in [start, end] ``cond`` holds (start if it already does)."""
    if isinstance(cond, Leaf):
        threshold = cond.threshold + (1 if cond.op == "gt" else 0)
        return _reach(world, post, cond.metric, threshold, start, end)
    assert isinstance(cond, AllOf | AnyOf)
    moments = [_when(world, post, item, start, end) for item in cond.items]
    if isinstance(cond, AnyOf):
        return min((m for m in moments if m is not None), default=None)
    return None if any(m is None for m in moments) else max(m for m in moments if m)


def _reach(
    world: World, post: Post, metric: str, threshold: float, start: datetime, end: datetime
) -> datetime | None:
    """The first second in [start, end] at which ``metric`` is at least ``threshold``."""
    if world.value(post, metric, end) < threshold:
        return None
    lo, hi = start, end
    if world.value(post, metric, lo) >= threshold:
        return lo
    while hi - lo > _SECOND:
        mid = lo + (hi - lo) / 2
        if world.value(post, metric, mid) >= threshold:
            hi = mid
        else:
            lo = mid
    return hi


class Firings:
    """The engine's firings, as compactly as a day of them allows: in arrays, per firing its
    simulated moment in microseconds, what it covers (0 for ``once``, the milestone for
    ``every``, -1 for any other key), its rule (by number) and the next firing on its post;
    per post its first and last firing. Lists of datetimes and key strings in a dict by
    (rule, post) grew all day in the process whose peak RSS is measured."""

    def __init__(self) -> None:
        self._rules: dict[str, int] = {}
        self._posts: dict[str, int] = {}  # a post's number
        self._first, self._last = array("q"), array("q")  # by post: a firing's number
        self._at, self._covers, self._next = array("q"), array("q"), array("q")  # by firing
        self._rule = array("H")

    def add(self, rule: str, post: str, at: datetime, key: str) -> None:
        """One ``fired`` event: its rule, post, simulated moment and firing key."""
        number = len(self._at)
        self._at.append((at - _EPOCH) // _MICROSECOND)
        self._covers.append(
            0 if key == "once" else int(key.rsplit(":", 1)[1]) if key.startswith("every:") else -1
        )
        self._rule.append(self._rules.setdefault(rule, len(self._rules)))
        self._next.append(-1)
        known = self._posts.setdefault(sys.intern(post), len(self._first))
        if known == len(self._first):
            self._first.append(number)
            self._last.append(number)
        else:
            self._next[self._last[known]] = number
            self._last[known] = number

    def of(self, rule: str, post: str) -> Iterator[tuple[int, int]]:
        """The firings of a rule on a post in order, as (microseconds, what they cover)."""
        known, wanted = self._posts.get(post), self._rules.get(rule)
        number = -1 if known is None or wanted is None else self._first[known]
        while number >= 0:
            if self._rule[number] == wanted:
                yield self._at[number], self._covers[number]
            number = self._next[number]


def detect(found: Sequence[Crossing], fired: Firings) -> list[Detection]:
    """Each crossing with the delay until the first firing that covers it."""
    out = []
    for c in found:
        latency = None
        crossed = (c.at - _EPOCH) // _MICROSECOND
        for at, covers in fired.of(c.rule, c.post):
            if _covers(covers, c.milestone) and at >= crossed - _SECOND // _MICROSECOND:
                latency = max(0.0, (at - crossed) / 1e6)
                break
        out.append(Detection(c, latency))
    return out


def _covers(covers: int, milestone: int) -> bool:
    """A firing covering ``covers`` (see ``Firings``) detects the crossing of ``milestone``
    (0 for a rule that fires once)."""
    return covers == 0 if not milestone else covers >= milestone

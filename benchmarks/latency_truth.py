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

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from automation.core.evaluate import CompiledRule
from automation.core.metric_names import DERIVED, TOTALS_METRICS
from automation.core.records import WatchedPostRecord
from automation.core.rules import AllOf, AnyOf, Condition, Every, Leaf, Once
from automation.sandbox.world import Post, World

__all__ = ["Crossing", "Detection", "crossings", "detect", "measured"]

YOUNG = timedelta(hours=6)
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


def detect(
    found: Sequence[Crossing], fired: Mapping[tuple[str, str], Sequence[tuple[datetime, str]]]
) -> list[Detection]:
    """Each crossing with the delay until the first firing that covers it.

    ``fired`` maps (rule, post) to its firings as (simulated moment, firing key), in order.
    """
    out = []
    for c in found:
        latency = None
        for at, key in fired.get((c.rule, c.post), ()):
            if _covers(key, c.milestone) and at >= c.at - _SECOND:
                latency = max(0.0, (at - c.at).total_seconds())
                break
        out.append(Detection(c, latency))
    return out


def _covers(key: str, milestone: int) -> bool:
    if not milestone:
        return key == "once"
    return key.startswith("every:") and int(key.rsplit(":", 1)[1]) >= milestone

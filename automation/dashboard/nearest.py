"""The watched posts nearest a rule's threshold, and when each would cross at its rate.

A rule's "threshold" is its first leaf that compares a total upward (``likes >= 100``); a
milestone rule's is each post's next multiple. Progress is value / threshold; the rate is
the rise over the last hours of stored snapshots, so "crosses in about 3 h" assumes the
post keeps the pace it had. Windowed leaves (``over 1h``) are shown without an estimate.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from automation.core.conditions import value_getter
from automation.core.facts import PostFacts, Snapshot
from automation.core.records import WatchedPostRecord
from automation.core.rules import Every, Leaf, Rule, condition_metrics
from automation.store.base import Store

__all__ = ["RATE_WINDOW", "Nearby", "Target", "nearest", "rule_target"]

RATE_WINDOW = timedelta(hours=6)
_UPWARD = ("gte", "gt")

Snapshots = Callable[[list[str], datetime], Mapping[str, tuple[Snapshot, ...]]]


@dataclass(frozen=True)
class Target:
    """What "near" means for a rule: a leaf with a threshold, or milestones of ``every``."""

    metric: str
    label: str
    leaf: Leaf | None = None
    every: int | None = None

    def threshold(self, value: float) -> float:
        if self.every is not None:
            return (math.floor(value / self.every) + 1) * self.every
        assert self.leaf is not None
        return self.leaf.threshold


@dataclass(frozen=True)
class Nearby:
    post: WatchedPostRecord
    value: float
    threshold: float
    per_hour: float | None = None

    @property
    def progress(self) -> float:
        return max(0.0, min(1.0, self.value / self.threshold)) if self.threshold > 0 else 0.0

    @property
    def hours_left(self) -> float | None:
        """Hours until the threshold at the current rate; None when not rising."""
        if not self.per_hour or self.per_hour <= 0:
            return None
        return max(0.0, (self.threshold - self.value) / self.per_hour)


def rule_target(rule: Rule) -> Target | None:
    for leaf in condition_metrics(rule.when):
        if leaf.op in _UPWARD:
            return Target(leaf.metric, leaf.describe(), leaf=leaf)
    if isinstance(rule.fire, Every):
        name = rule.fire.written or rule.fire.metric
        return Target(rule.fire.metric, f"every {rule.fire.n} {name}", every=rule.fire.n)
    return None


def watched(rule: Rule, store: Store, now: datetime) -> list[WatchedPostRecord]:
    """The available posts the rule watches now (``max_age`` applied to discovered ones),
    read from the store alone rather than picked out of every watched post."""
    oldest = rule.watch.oldest(now)
    covered = store.covered_posts(rule.watch.accounts, rule.watch.posts, oldest)
    return [p for p in covered if p.source != "timeline" or p.created_at >= oldest]


def nearest(
    target: Target,
    posts: list[WatchedPostRecord],
    totals: Mapping[str, Mapping[str, float]],
    snapshots: Snapshots,
    now: datetime,
    n: int = 15,
) -> tuple[list[Nearby], int]:
    """The ``n`` posts below the threshold with the most progress, and how many are past it."""
    window = target.leaf.over if target.leaf is not None else None
    since = now - (timedelta(seconds=window) if window else RATE_WINDOW)
    recent = snapshots([p.post_id for p in posts], since) if window else {}
    getter = value_getter(target.metric, window)
    below: list[Nearby] = []
    past = 0
    for post in posts:
        facts = PostFacts(
            post.post_id,
            post.account,
            post.created_at,
            totals=totals.get(post.post_id, {}),
            snapshots=recent.get(post.post_id, ()),
        )
        value = getter(facts, now, None)
        if value is None:
            continue
        threshold = target.threshold(value)
        if target.leaf is not None and (
            value > threshold or (value == threshold and target.leaf.op == "gte")
        ):
            past += 1
            continue
        below.append(Nearby(post, value, threshold))
    below.sort(key=lambda item: (-item.progress, item.post.post_id))
    chosen = below[:n]
    if not window:
        chosen = _with_rates(
            chosen, target.metric, snapshots([item.post.post_id for item in chosen], since)
        )
    return chosen, past


def _with_rates(
    items: list[Nearby],
    metric: str,
    history: Mapping[str, tuple[Snapshot, ...]],
) -> list[Nearby]:
    out = []
    for item in items:
        rate = None
        snaps = [s for s in history.get(item.post.post_id, ()) if metric in s.values]
        if len(snaps) >= 2:
            first, last = snaps[0], snaps[-1]
            hours = (last.at - first.at).total_seconds() / 3600
            if hours > 0:
                rate = (last.values[metric] - first.values[metric]) / hours
        out.append(Nearby(item.post, item.value, item.threshold, rate))
    return out

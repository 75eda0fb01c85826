"""What one cycle polls: which posts, which rule evaluates which, and what to fetch for them.

Pure: the engine passes the enabled rules, the watched posts and the time, then turns the
plan into API requests (``x.engagement_plan``) and store reads. Every "which of these
posts does this rule look at now" of a cycle is answered here, once, with the max_age
cut-off from ``Watch.oldest``.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from automation.core.evaluate import CompiledRule
from automation.core.metric_names import HOURLY_METRICS, TOTALS_METRICS
from automation.core.payloads import action_metrics
from automation.core.records import WatchedPostRecord
from automation.core.rules import Watch
from automation.core.watch_index import NOTHING_KEPT, Covers, KeptCovers, WatchIndex

__all__ = ["MAX_IDS", "FetchPlan", "plan_fetch"]

# posts one Engagement API request may name, by endpoint (reference §2, §3, §6)
MAX_IDS: dict[str, int] = {"totals": 250, "28hr": 25, "historical": 25}


@dataclass(frozen=True)
class FetchPlan:
    """One cycle's plan.

    ``posts`` are the posts some enabled rule looks at now, in polling order; ``watched``
    pairs each enabled rule with the posts it evaluates (young enough for it). /totals is
    asked for ``totals_metrics`` of every post, /28hr for ``hourly_metrics`` of
    ``hourly_posts``; snapshots since ``window_start`` are read for ``window_posts`` only,
    the posts a windowed rule evaluates. ``covers``: what the watches covered, for the
    next cycle's plan (``KeptCovers``).
    """

    posts: Mapping[str, WatchedPostRecord]
    watched: tuple[tuple[CompiledRule, tuple[WatchedPostRecord, ...]], ...]
    totals_metrics: frozenset[str] = frozenset()
    hourly_metrics: frozenset[str] = frozenset()
    hourly_posts: frozenset[str] = frozenset()
    window_posts: frozenset[str] = frozenset()
    window_start: datetime | None = None
    covers: Covers = field(default_factory=dict, compare=False, repr=False)

    def snapshot_posts(
        self,
        fetched: Collection[str],
        hourly: Mapping[str, Collection[str]] | None = None,
        forbidden: Collection[str] = frozenset(),
    ) -> list[str]:
        """The posts whose snapshots the windows may read, of those ``fetched`` read: those
        a windowed rule evaluates that are public (or ``forbidden``: fetched as public after
        all) or lack the /28hr series (``hourly``: the metrics read per post) of one of its
        window metrics. A window reads an owned post's series when it has one
        (``core.windows.increase``), so most owned posts need none."""
        hourly = hourly or {}
        wanted: set[str] = set()
        for compiled, posts in self.watched:
            if not compiled.max_window:
                continue
            metrics = compiled.window_metrics
            for post in posts:
                pid = post.post_id
                if pid in wanted or pid not in fetched:
                    continue
                series = hourly.get(pid)
                if (
                    self.posts[pid].account is None
                    or pid in forbidden
                    or series is None
                    or not metrics.issubset(series)
                ):
                    wanted.add(pid)
        return sorted(wanted)


def plan_fetch(
    rules: Sequence[CompiledRule],
    known: Iterable[WatchedPostRecord] | Mapping[str, WatchedPostRecord],
    now: datetime,
    kept: KeptCovers = NOTHING_KEPT,
) -> FetchPlan:
    """Plan a cycle of the enabled ``rules`` over the ``known`` watched posts at ``now``.

    A post is polled when some rule watches it and it is young enough for that rule; an
    unavailable post is never polled. Each rule evaluates its posts in polling order;
    rules with the same watch share one tuple of them. ``kept``: an earlier plan's
    ``covers``, when ``known`` is its posts bar the ones ``kept`` names changed. A mapping
    for ``known`` is every post by id in the store's order, the unavailable too (the
    engine keeps it between cycles; the index skips those), a sequence the posts in that
    order.
    """
    by_id = known if isinstance(known, Mapping) else {p.post_id: p for p in known}
    index = WatchIndex(by_id, kept)
    polled, watched = _polled(rules, index, now)
    totals: set[str] = set()
    window: set[str] = set()
    hourly_posts: set[str] = set()
    window_posts: set[str] = set()
    for r, posts in watched:
        totals |= r.totals_metrics | action_metrics(r.rule)
        window |= r.window_metrics
        if r.window_metrics & HOURLY_METRICS:
            # a /28hr request carries 25 posts against /totals' 250: only the posts it evaluates
            hourly_posts.update(p.post_id for p in posts if p.account is not None)
        if r.max_window:
            window_posts.update(p.post_id for p in posts)
    longest = max((r.max_window for r in rules), default=0)
    return FetchPlan(
        posts=polled,
        watched=watched,
        totals_metrics=frozenset(totals | (window & TOTALS_METRICS)),
        hourly_metrics=frozenset(window & HOURLY_METRICS),
        hourly_posts=frozenset(hourly_posts),
        window_posts=frozenset(window_posts),
        window_start=now - timedelta(seconds=longest) if longest else None,
        covers=index.covers(),
    )


def _polled(
    rules: Sequence[CompiledRule], index: WatchIndex, now: datetime
) -> tuple[
    dict[str, WatchedPostRecord], tuple[tuple[CompiledRule, tuple[WatchedPostRecord, ...]], ...]
]:
    """The posts polled, in polling order, and each rule's posts in that order."""
    young: dict[tuple[object, ...], tuple[WatchedPostRecord, ...]] = {}
    polled: dict[str, WatchedPostRecord] = {}
    in_place = set()  # the watches whose posts all came new to ``polled``, in their order
    for r in rules:
        watch = r.rule.watch
        key = _young_key(watch)
        if key not in young:  # a watch seen before adds no post
            posts = young[key] = _young(index.covered(watch), watch, now)
            before = len(polled)
            polled.update((p.post_id, p) for p in posts)
            if len(polled) == before + len(posts):
                in_place.add(key)
    if len(in_place) < len(young):
        rank = {pid: i for i, pid in enumerate(polled)}
        young.update((k, _in_order(posts, rank)) for k, posts in young.items() if k not in in_place)
    return polled, tuple((r, young[_young_key(r.rule.watch)]) for r in rules)


def _young_key(watch: Watch) -> tuple[object, ...]:
    """What decides which posts a watch covers and which of them are young enough."""
    return watch.accounts, watch.posts, watch.max_age, watch.max_age_set


def _in_order(
    posts: tuple[WatchedPostRecord, ...], rank: Mapping[str, int]
) -> tuple[WatchedPostRecord, ...]:
    """``posts`` in polling order (``rank``: each polled post's place)."""
    ranks = [rank[p.post_id] for p in posts]
    if ranks == sorted(ranks):  # as they come, mostly
        return posts
    return tuple(post for _, post in sorted(zip(ranks, posts, strict=True)))


def _young(
    posts: tuple[WatchedPostRecord, ...], watch: Watch, now: datetime
) -> tuple[WatchedPostRecord, ...]:
    if not watch.accounts and not watch.max_age_set:
        return posts  # named posts only, and max_age does not apply to them: the index's own
    oldest = watch.oldest(now)
    return tuple(p for p in posts if p.created_at >= oldest or not watch.ages_out(p.post_id))

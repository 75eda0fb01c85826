"""What one cycle polls: which posts, which rule evaluates which, and what to fetch for them.

Pure: the engine passes the enabled rules, the watched posts and the time, then turns the
plan into API requests (``x.engagement_plan``) and store reads. Every "which of these
posts does this rule look at now" of a cycle is answered here, once, with the max_age
cut-off from ``Watch.oldest``.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Reversible, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from itertools import chain, compress, islice, repeat
from operator import attrgetter, is_not
from typing import NamedTuple

from automation.core.evaluate import CompiledRule
from automation.core.metric_names import HOURLY_METRICS, TOTALS_METRICS
from automation.core.payloads import action_metrics
from automation.core.records import WatchedPostRecord
from automation.core.rules import Watch
from automation.core.watch_index import NOTHING_KEPT, Covers, KeptCovers, WatchIndex

__all__ = ["MAX_IDS", "FetchPlan", "plan_fetch", "still_watched"]

_POST_ID = attrgetter("post_id")
_ACCOUNT = attrgetter("account")

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
    polled, young = _polled(rules, index, now)
    watched = tuple((r, young[_young_key(r.rule.watch)].posts) for r in rules)
    totals: set[str] = set()
    window: set[str] = set()
    for r in rules:
        totals |= r.totals_metrics | action_metrics(r.rule)
        window |= r.window_metrics
    # a /28hr request carries 25 posts against /totals' 250: only the posts it evaluates
    hourly = _posts_of(young, (r for r in rules if r.window_metrics & HOURLY_METRICS))
    owned = set(
        chain.from_iterable(
            compress(y.ids, map(is_not, map(_ACCOUNT, y.posts), repeat(None))) for y in hourly
        )
    )
    windowed = set(
        chain.from_iterable(y.ids for y in _posts_of(young, (r for r in rules if r.max_window)))
    )
    longest = max((r.max_window for r in rules), default=0)
    return FetchPlan(
        posts=polled,
        watched=watched,
        totals_metrics=frozenset(totals | (window & TOTALS_METRICS)),
        hourly_metrics=frozenset(window & HOURLY_METRICS),
        # copied from sets, sized to their posts: grown from an iterator, the frozenset of
        # 22,000 /28hr posts kept a table twice the size, 1 MB more while the plan is held
        hourly_posts=frozenset(owned),
        window_posts=frozenset(windowed),
        window_start=now - timedelta(seconds=longest) if longest else None,
        covers=index.covers(),
    )


def still_watched(
    rules: Sequence[CompiledRule], gone: Sequence[WatchedPostRecord], now: datetime
) -> list[WatchedPostRecord]:
    """Of the unavailable posts ``gone``, those the enabled ``rules`` still watch at ``now``:
    the ones ``plan_fetch`` would poll were they available (a post past every rule's
    max_age, or whose rules are gone, is missed by no rule). In the order given."""
    plan = plan_fetch(rules, [replace(p, unavailable_at=None) for p in gone], now)
    return [p for p in gone if p.post_id in plan.posts]


def _polled(
    rules: Sequence[CompiledRule], index: WatchIndex, now: datetime
) -> tuple[dict[str, WatchedPostRecord], dict[tuple[object, ...], _Young]]:
    """The posts polled, in polling order, and each watch's young posts in that order.

    A watch's posts, and so the run of them it adds to the polled ones, are in the order
    of the index's posts: a watch adding all its posts is in polling order, and any other
    is its posts ordered by the run that added each (``_by_run``).
    """
    young: dict[tuple[object, ...], _Young] = {}
    polled: dict[str, WatchedPostRecord] = {}
    added: list[int] = []  # how many posts each watch's run added, in turn
    for r in rules:
        watch = r.rule.watch
        key = _young_key(watch)
        if key not in young:  # a watch seen before adds no post
            posts = _young(index.covered(watch), watch, now)
            ids = list(map(_POST_ID, posts))
            young[key] = _Young(posts, ids)
            before = len(polled)
            polled.update(zip(ids, posts, strict=True))
            added.append(len(polled) - before)
    drawing = [k for k, n in zip(young, added, strict=True) if n < len(young[k].posts)]
    if drawing:
        wanted = set(chain.from_iterable(young[k].ids for k in drawing))
        run_of = _runs_of(polled, added, wanted)
        young.update((k, _by_run(young[k], run_of)) for k in drawing)
    return polled, young


def _posts_of(
    young: Mapping[tuple[object, ...], _Young], rules: Iterable[CompiledRule]
) -> list[_Young]:
    """The young posts of the ``rules``' watches, each watch once."""
    return [young[k] for k in dict.fromkeys(_young_key(r.rule.watch) for r in rules)]


class _Young(NamedTuple):
    """A watch's young posts and their IDs, in polling order."""

    posts: tuple[WatchedPostRecord, ...]
    ids: list[str]


def _young_key(watch: Watch) -> tuple[object, ...]:
    """What decides which posts a watch covers and which of them are young enough."""
    return watch.accounts, watch.posts, watch.max_age, watch.max_age_set


def _runs_of(polled: Reversible[str], added: Sequence[int], wanted: set[str]) -> dict[str, int]:
    """The run (``added``: the posts each added to ``polled``, in turn) that added each
    ``wanted`` post, found from the last run back only as far as the wanted posts go."""
    run_of: dict[str, int] = {}
    last_first = reversed(polled)
    for run in reversed(range(len(added))):
        found = wanted.intersection(islice(last_first, added[run]))
        run_of.update(dict.fromkeys(found, run))
        wanted -= found
        if not wanted:
            break
    return run_of


def _by_run(young: _Young, run_of: Mapping[str, int]) -> _Young:
    """A watch's posts in polling order: by the run that added each (``run_of``), each
    run's in the order they come."""
    runs = list(map(run_of.__getitem__, young.ids))
    order = sorted(set(runs))
    if len(order) == 1:  # all added by one run: in its order already
        return young
    picks = [list(map(run.__eq__, runs)) for run in order]
    return _Young(
        tuple(chain.from_iterable(compress(young.posts, pick) for pick in picks)),
        list(chain.from_iterable(compress(young.ids, pick) for pick in picks)),
    )


def _young(
    posts: tuple[WatchedPostRecord, ...], watch: Watch, now: datetime
) -> tuple[WatchedPostRecord, ...]:
    if not watch.accounts and not watch.max_age_set:
        return posts  # named posts only, and max_age does not apply to them: the index's own
    oldest = watch.oldest(now)
    return tuple(p for p in posts if p.created_at >= oldest or not watch.ages_out(p.post_id))

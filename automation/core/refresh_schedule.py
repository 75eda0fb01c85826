"""Which watched posts one cycle refreshes when an interval's request budget cannot read them all.

Pure: the engine passes the cycle's plan (``fetch_plan``), what it read of each post
lately (``refresh_outlook.Recent``), the requests one poll interval allows, the interval,
``max_staleness`` and the time; the answer is the plan narrowed to the posts to read.

When the budget covers every watched post the plan is returned as it is: every post is
read every cycle, with the fewest requests. Otherwise, in this order of claim:

1. every post of a rule that must see all of its posts this cycle (a new or changed rule
   seeds them; a resuming one settles its pause);
2. the /totals of the posts read longest ago, as many as keep each post's age under
   ``max_staleness`` (N x interval / (max_staleness - interval) of them): none starves;
3. posts projected to meet a rule by the time this cycle reads them, or with a ``for`` or
   a window pending, soonest first; then posts never read and young posts;
4. the rest, read longest ago first, while the budget lasts; requests already paid for
   are filled up.

A /28hr series is asked only for the posts whose windowed rules could change their answer;
a windowed rule is not evaluated this cycle on an owned post read without it, so its
state stays as it was. The chosen posts come back in reading order, the likeliest last,
so that they are read just before the cycle evaluates.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from itertools import islice

from automation.core.fetch_plan import MAX_IDS, FetchPlan
from automation.core.metric_names import HOURLY_METRICS, PUBLIC_TOTALS_METRICS, TOTALS_METRICS
from automation.core.records import WatchedPostRecord
from automation.core.refresh_outlook import Recent

__all__ = [
    "YOUNG",
    "Refresh",
    "RefreshAges",
    "ages_after",
    "fewest_requests",
    "plan_cost",
    "refresh_ages",
    "schedule_refresh",
]

YOUNG = timedelta(hours=6)  # most of a post's engagement comes in its first hours


@dataclass(frozen=True)
class Refresh:
    """The plan to fetch, the requests it takes, and whether the budget made it choose
    (``scheduled``) or every watched post is read (False). ``unread``: when it chose, the
    times the posts not chosen were read last (found, for one never read), in order,
    for ``ages_after``; None when a post was forced in from a rule's tuple."""

    plan: FetchPlan
    requests: int
    scheduled: bool = False
    unread: Sequence[float] | None = None

    def whole(self, plan: FetchPlan) -> FetchPlan:
        """``plan``, the whole plan this chose from, as the rest of the cycle uses it (its
        rules' posts, the polled posts): when the budget chose, without the /28hr and
        window sets only the choice reads, which the narrowed plan has its own of (3 MB
        for 100,000 posts, held through the fetch, the store and the evaluation)."""
        if not self.scheduled:
            return plan
        return replace(plan, hourly_posts=frozenset(), window_posts=frozenset())


def plan_cost(plan: FetchPlan) -> int:
    """The requests reading every post of ``plan`` takes (``x.engagement_plan`` builds
    the same ones): per owned account and for the public posts a /totals request per
    250 posts, per owned account a /28hr request per 25 of its series. Counted, not
    chosen post by post: every cycle asks it of every watched post."""
    owned = bool(plan.totals_metrics & TOTALS_METRICS)
    public = bool(plan.totals_metrics & PUBLIC_TOTALS_METRICS)
    hourly = plan.hourly_posts if plan.hourly_metrics & HOURLY_METRICS else frozenset()
    posts = plan.posts
    totals = Counter([p.account for p in posts.values()])
    series = Counter(
        [a for pid in hourly if (p := posts.get(pid)) is not None and (a := p.account) is not None]
    )
    return sum(
        -(-n // MAX_IDS["totals"])
        for owner, n in totals.items()
        if (owned if owner is not None else public)
    ) + sum(-(-n // MAX_IDS["28hr"]) for n in series.values())


def fewest_requests(plan: FetchPlan) -> int:
    """A floor under ``plan_cost``, counted without a pass over the posts: when every post
    takes a /totals request (owned and public metrics both read), they take at least one
    per 250 posts whoever owns them; else none is known, 0."""
    owned = bool(plan.totals_metrics & TOTALS_METRICS)
    public = bool(plan.totals_metrics & PUBLIC_TOTALS_METRICS)
    return -(-len(plan.posts) // MAX_IDS["totals"]) if owned and public else 0


def _full_cost(plan: FetchPlan, budget: int) -> int | None:
    """``plan_cost`` when reading every post fits ``budget``, else None: when even the
    floor does not fit (100,000 posts take at least 400 requests), the posts are not
    counted one by one, which would cost a pass over all of them every cycle."""
    if fewest_requests(plan) > budget:
        return None
    full = plan_cost(plan)
    return full if full <= budget else None


def schedule_refresh(
    plan: FetchPlan,
    recent: Mapping[str, Recent],
    *,
    budget: int,
    interval: timedelta,
    max_staleness: timedelta,
    now: datetime,
    complete: Collection[str] = frozenset(),
) -> Refresh:
    """The posts of ``plan`` one cycle reads with ``budget`` requests (see the module
    docstring); ``complete`` names the rules whose every post must be read."""
    full = _full_cost(plan, budget)
    if full is not None:
        return Refresh(plan, full)
    cost = _Cost(plan, budget)
    likely, unread = _choose(plan, recent, cost, interval, max_staleness, now, complete)
    return Refresh(_narrowed(plan, cost, likely), cost.spent, scheduled=True, unread=unread)


def _choose(
    plan: FetchPlan,
    recent: Mapping[str, Recent],
    cost: _Cost,
    interval: timedelta,
    max_staleness: timedelta,
    now: datetime,
    complete: Collection[str],
) -> tuple[list[WatchedPostRecord], list[float] | None]:
    """Choose into ``cost`` the posts ``schedule_refresh`` reads, in its order of claim:
    the likely posts (to be read last) and, unless a rule's tuple was forced in, the
    times the others were read last. Its own function so that the place and the time
    of every post (about 5 MB for 100,000 posts, most of it the places' ints) are let
    go before the narrowed plan is made, at a cycle's high-water mark."""
    at, step = now.timestamp(), interval.total_seconds()
    for post in _posts_of(plan, complete):
        cost.add(post, post.post_id in plan.hourly_posts, force=True)
    posts = list(plan.posts.values())
    order, read_at, likely = _read_order(posts, recent, at + step, now - YOUNG)
    quota = _staleness_quota(len(order), step, max_staleness.total_seconds())
    taken = bytearray(len(posts))  # by place in ``posts``: chosen
    for i in islice(order, quota):  # no copy of the places, nor below
        cost.add(posts[i], False, force=True)
        taken[i] = 1
    wants = _series_wanted(plan, recent, at + step)
    cost.take(posts, likely, taken, wants)
    cost.take(posts, islice(order, quota, None), taken, wants, until_saturated=True)
    unread = None if complete else _unread(order, read_at, taken)
    return [posts[i] for i in likely], unread


def _unread(order: list[int], read_at: list[float], taken: bytearray) -> list[float]:
    """When the posts not ``taken`` were read last, in ``order``: runs of ascending times,
    which sort in one pass."""
    return [read_at[i] for i in order if not taken[i]]


def _staleness_quota(posts: int, step: float, max_staleness: float) -> int:
    """How many of the posts read longest ago each cycle reads so that none waits longer
    than ``max_staleness``: all of them read in turn within max_staleness - one interval
    (a cycle reads its posts at some moment within its interval)."""
    cycles = max(1.0, (max_staleness - step) / step)
    return min(posts, math.ceil(posts / math.floor(cycles)))


def _read_order(
    posts: list[WatchedPostRecord], recent: Mapping[str, Recent], horizon: float, young: datetime
) -> tuple[list[int], list[float], list[int]]:
    """The places of ``posts`` by when they were read last (ties in their order; a post
    never read counts from when it was found, and comes before every post read since),
    those times, and the places of the likely ones (``_likely``): one pass for all."""
    get = recent.get
    read_at: list[float] = []
    read = read_at.append
    never: list[int] = []
    projected: list[tuple[float, int]] = []
    fresh: list[int] = []
    for post in posts:  # a post's place is how many were read before it (most need none)
        seen = get(post.post_id)
        if seen is None:
            never.append(len(read_at))
            read(post.first_seen.timestamp())
            continue
        read(seen.at)
        if seen.cross_at <= horizon or seen.window_open:
            projected.append((min(seen.cross_at, horizon), len(read_at) - 1))
        elif post.created_at >= young:
            fresh.append(len(read_at) - 1)
    keys = read_at.copy()
    for i in never:
        keys[i] -= 1e12
    order = sorted(range(len(posts)), key=keys.__getitem__)
    return order, read_at, _likely(projected, never + fresh, posts, recent)


@dataclass(frozen=True)
class RefreshAges:
    """Seconds since the watched posts were read last (since found, for one never read)."""

    median: float
    oldest: float


def refresh_ages(
    posts: Mapping[str, WatchedPostRecord], recent: Mapping[str, Recent], now: datetime
) -> RefreshAges | None:
    """The median and the oldest refresh age of ``posts`` at ``now``; None without posts."""
    if not posts:
        return None
    at = now.timestamp()
    ages = sorted(
        at - (seen.at if (seen := recent.get(pid)) is not None else p.first_seen.timestamp())
        for pid, p in posts.items()
    )
    n = len(ages)
    return RefreshAges(median=(ages[(n - 1) // 2] + ages[n // 2]) / 2, oldest=ages[-1])


def ages_after(unread: Sequence[float], read: int, at: float, now: datetime) -> RefreshAges | None:
    """``refresh_ages`` at ``now`` once a cycle read ``read`` posts at ``at`` (epoch
    seconds), the others read last at the times ``unread`` (``Refresh``'s): the same
    figures without a pass over the posts and their readings."""
    times = sorted([*unread, *([at] * read)])
    n = len(times)
    if not n:
        return None
    t = now.timestamp()  # an age is t - time: the oldest age is that of the earliest time
    median = ((t - times[n - 1 - (n - 1) // 2]) + (t - times[n - 1 - n // 2])) / 2
    return RefreshAges(median=median, oldest=t - times[0])


def _posts_of(plan: FetchPlan, rules: Collection[str]) -> Iterable[WatchedPostRecord]:
    if not rules:
        return ()
    return (p for r, posts in plan.watched if r.rule.id in rules for p in posts)


def _likely(
    projected: list[tuple[float, int]],
    fresh: list[int],
    posts: list[WatchedPostRecord],
    recent: Mapping[str, Recent],
) -> list[int]:
    """The places in ``posts`` of the posts projected to meet a rule by the horizon
    (soonest first), then those with a window that could change its answer, then posts
    never read, then young ones (youngest first)."""
    projected.sort(key=lambda item: item[0])
    fresh.sort(key=lambda i: (posts[i].post_id in recent, -posts[i].created_at.timestamp()))
    return [i for _, i in projected] + fresh


def _series_wanted(
    plan: FetchPlan, recent: Mapping[str, Recent], horizon: float
) -> Callable[[WatchedPostRecord], bool]:
    """Whether a post's /28hr series is worth its share of a request: a windowed rule
    evaluates it and its answer could change (or nothing is known of the post yet)."""
    hourly, get = plan.hourly_posts, recent.get

    def wanted(post: WatchedPostRecord) -> bool:
        if post.post_id not in hourly:
            return False
        seen = get(post.post_id)
        return seen is None or seen.window_open or seen.cross_at <= horizon

    return wanted


class _Cost:
    """The posts chosen so far and the requests they take: /totals per owned account and
    for public posts (250 a request), /28hr per owned account (25 a request)."""

    def __init__(self, plan: FetchPlan, budget: int) -> None:
        self.left = budget
        self.spent = 0
        self.chosen: dict[str, WatchedPostRecord] = {}
        self.series: set[str] = set()
        self._totals: dict[str | None, int] = {}
        self._open: set[str | None] = set()  # whose last /totals request has room
        self._hourly: dict[str, int] = {}
        self._owned_totals = bool(plan.totals_metrics & TOTALS_METRICS)
        self._public_totals = bool(plan.totals_metrics & PUBLIC_TOTALS_METRICS)
        self._any_hourly = bool(plan.hourly_metrics & HOURLY_METRICS)

    def take(
        self,
        posts: Sequence[WatchedPostRecord],
        places: Iterable[int],
        taken: bytearray,
        wants_series: Callable[[WatchedPostRecord], bool],
        *,
        until_saturated: bool = False,
    ) -> None:
        """``add`` of the post at each of ``places`` in ``posts`` in turn, with its series if
        ``wants_series(post)``, and ``taken[place]`` set when it chose it; ``until_saturated``:
        stopping once no budget is left and no request has room for another post. ``add``'s
        steps in one loop with the state in locals: a steady 100,000-post cycle offers
        45,000-75,000 posts, and a call or two a post cost about as much as the steps."""
        chosen, series_of, totals, hourly, opened = (
            self.chosen,
            self.series,
            self._totals,
            self._hourly,
            self._open,
        )
        owned, public, any_hourly = self._owned_totals, self._public_totals, self._any_hourly
        per_totals, per_series, left = MAX_IDS["totals"], MAX_IDS["28hr"], self.left
        for place in places:
            if until_saturated and left <= 0 and not opened:
                break
            post = posts[place]
            pid, owner = post.post_id, post.account
            new = pid not in chosen
            series = owner is not None and any_hourly and pid not in series_of
            series = series and wants_series(post)
            paid = new and (owned if owner is not None else public)
            price = (paid and totals.get(owner, 0) % per_totals == 0) + (
                series and hourly.get(owner or "", 0) % per_series == 0
            )
            if price > left:
                continue
            left -= price
            if new:
                chosen[pid] = post
                taken[place] = 1
                if paid:
                    n = totals[owner] = totals.get(owner, 0) + 1
                    if n % per_totals:
                        opened.add(owner)
                    else:
                        opened.discard(owner)
            if series and owner is not None:
                series_of.add(pid)
                hourly[owner] = hourly.get(owner, 0) + 1
        self.spent += self.left - left
        self.left = left

    def add(self, post: WatchedPostRecord, series: bool, *, force: bool = False) -> bool:
        """Choose ``post`` (with its series) if the budget allows it or ``force``; a post
        chosen before may still gain its series. Whether this call chose it."""
        pid, owner = post.post_id, post.account
        series = series and owner is not None and self._any_hourly and pid not in self.series
        new = pid not in self.chosen
        totals = new and (self._owned_totals if owner is not None else self._public_totals)
        price = (totals and self._totals.get(owner, 0) % MAX_IDS["totals"] == 0) + (
            series and self._hourly.get(owner or "", 0) % MAX_IDS["28hr"] == 0
        )
        if price > self.left and not force:
            return False
        self.left -= price
        self.spent += price
        if new:
            self.chosen[pid] = post
            if totals:
                n = self._totals[owner] = self._totals.get(owner, 0) + 1
                if n % MAX_IDS["totals"]:
                    self._open.add(owner)
                else:
                    self._open.discard(owner)
        if series and owner is not None:
            self.series.add(pid)
            self._hourly[owner] = self._hourly.get(owner, 0) + 1
        return new


def _narrowed(plan: FetchPlan, cost: _Cost, likely: list[WatchedPostRecord]) -> FetchPlan:
    """``plan`` over the chosen posts in reading order, the likeliest last; a windowed
    rule evaluates an owned post only with its series."""
    chosen = cost.chosen
    last = {p.post_id: p for p in reversed(likely) if p.post_id in chosen}
    order = {pid: p for pid, p in chosen.items() if pid not in last}
    order.update(last)
    series = frozenset(cost.series)
    kept: dict[tuple[int, bool], tuple[WatchedPostRecord, ...]] = {}  # rules share tuples
    watched = []
    for rule, posts in plan.watched:
        key = (id(posts), bool(rule.window_metrics & HOURLY_METRICS))
        if key not in kept:
            kept[key] = _evaluated(posts, chosen, series if key[1] else None)
        watched.append((rule, kept[key]))
    return replace(
        plan,
        posts=order,
        watched=tuple(watched),
        hourly_posts=series,
        window_posts=frozenset(p for p in plan.window_posts if p in chosen),
    )


def _evaluated(
    posts: tuple[WatchedPostRecord, ...],
    chosen: Mapping[str, WatchedPostRecord],
    series: frozenset[str] | None,
) -> tuple[WatchedPostRecord, ...]:
    """The ``posts`` chosen; with ``series`` (a windowed rule's), an owned post only with
    its series."""
    if series is None:
        return tuple(p for p in posts if p.post_id in chosen)
    return tuple(
        p for p in posts if p.post_id in chosen and (p.account is None or p.post_id in series)
    )

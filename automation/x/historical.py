"""Fill owned posts' hourly history from ``/historical``, asking only for what is missing.

    plan = plan_history(store, owners, metrics, start, end, now=now)
    print(plan.describe(config.engagement_api.requests_per_minute))
    result = fetch_history(plan, client, store, progress=show)
    sums = store.count_sums(owners, metrics, start, end)

``plan_history`` asks the store which hours of ``[start, end)`` it lacks (``missing_hours``)
and plans the fewest requests that cover them: per owned account (a token sees only its
own posts), the range is cut into windows of at most 4 weeks that meet without sharing an
hour, and each window carries up to 25 posts, those lacking hours in it; each request's
window is narrowed to the hours its posts lack. Hours already stored are never asked for
again unless they fall between hours that are asked for in the same request. Hours that
cannot be asked for (before 2014-09-01, or not yet over at ``now``) are left out.

``fetch_history`` sends the requests one by one through an ``EngagementClient``, whose
``RateBudget`` decides when each may go: built with ``StoreLedger(store)``
(``automation.service.runtime``) it shares the per-minute budget with a running engine
through the database. Each answer is stored as it arrives (``record_hourly_counts``), so an
interrupted fetch resumes where it stopped, and an hour the API returns twice (its ``end``
may or may not be inclusive) is stored once.

Reference §1.3 ⚠: /historical reaches "back to September 1, 2014", or, as the overview
says, "Post engagement data is limited to only 365 days in the past". Requests are
planned for the first reading. When X refuses (400) a request starting more than 365
days before the plan was made, the fetch takes it that X reads the second: the request
is sent again once without those hours, and the hours before that reach are not asked
for again in this fetch. ``HistoryFetch.out_of_reach`` says which posts and from when,
and the hours stay missing, never stored as zeros.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Protocol

from automation.core import metric_names as m
from automation.core.errors import ApiError, RequestRejected, UsageError
from automation.core.facts import post_created_at
from automation.core.fetch_plan import MAX_IDS
from automation.core.hours import HOUR, Span, hour_index, hour_start
from automation.core.wording import counted
from automation.x.engagement_client import FetchResult
from automation.x.engagement_plan import (
    EARLIEST_HISTORICAL,
    HOURLY_GROUP_BY,
    HOURLY_GROUPING,
    MAX_HISTORICAL_WINDOW,
    EngagementRequest,
)

__all__ = [
    "HistoryFetch",
    "HistoryPlan",
    "HistoryStore",
    "OutOfReach",
    "fetch_history",
    "plan_history",
    "plan_missing",
    "written_hour",
]

_WINDOW_HOURS = int(MAX_HISTORICAL_WINDOW.total_seconds()) // 3600
_PER_REQUEST = MAX_IDS["historical"]
# The overview's "limited to only 365 days in the past" (reference §1.3 ⚠), and a day
# more, so that X counting in whole days or the fetch taking hours still fits it.
REACH = timedelta(days=365)
_REACH_MARGIN = timedelta(days=1)

Progress = Callable[[int, int], None]


class HistoryStore(Protocol):
    """The part of ``automation.store.base.Store`` this module uses."""

    def missing_hours(
        self, post_ids: Iterable[str], metrics: Iterable[str], start: datetime, end: datetime
    ) -> dict[str, tuple[tuple[datetime, datetime], ...]]: ...

    def record_hourly_counts(
        self,
        start: datetime,
        end: datetime,
        counts: Mapping[str, Mapping[str, Iterable[tuple[datetime, float]]]],
    ) -> None: ...


class HistorySource(Protocol):
    """What is needed of ``EngagementClient``."""

    def fetch(self, requests: Iterable[EngagementRequest]) -> FetchResult: ...


@dataclass(frozen=True)
class HistoryPlan:
    """The requests that fill the missing hours, and what is missing per post."""

    requests: tuple[EngagementRequest, ...]
    missing: Mapping[str, tuple[tuple[datetime, datetime], ...]] = field(default_factory=dict)
    now: datetime | None = None  # when it was made: /historical's reach counts from it

    @property
    def post_hours(self) -> int:
        """Hours lacking, summed over the posts."""
        return sum((b - a) // HOUR for spans in self.missing.values() for a, b in spans)

    def minutes(self, requests_per_minute: int) -> int:
        """Whole minutes of the per-minute budget the requests take (0 when none)."""
        return math.ceil(len(self.requests) / max(1, requests_per_minute))

    def describe(self, requests_per_minute: int) -> str:
        """One line for people: how many requests and how much budget."""
        n = len(self.requests)
        if not n:
            return "all the hourly history needed is stored: no /historical request"
        posts = len({i for r in self.requests for i in r.tweet_ids})
        minutes = self.minutes(requests_per_minute)
        return (
            f"{counted(n, '/historical request')} for {counted(posts, 'owned post')}"
            f" ({self.post_hours:,} post-hours not stored yet): about {counted(minutes, 'minute')}"
            f" of the {requests_per_minute:,} requests/minute budget, shared with a running engine"
        )


@dataclass(frozen=True)
class OutOfReach:
    """X refused /historical hours before ``since`` (``refusal`` is its answer) for
    ``posts``: their hours before then stay unknown."""

    since: datetime
    posts: frozenset[str]
    refusal: str

    def describe(self) -> str:
        """Which part of the period X did not answer, and why, for people."""
        return (
            f"X answered /historical only from {self.since:%Y-%m-%d %H:%M} UTC and refused"
            f" the hours before ({self.refusal}; X's docs say it reaches 365 days back)"
        )


@dataclass(frozen=True)
class HistoryFetch:
    """What a fetch did: requests sent (retries included) and stored, and what failed."""

    requests_sent: int = 0
    stored: int = 0
    unavailable: frozenset[str] = frozenset()
    forbidden: frozenset[str] = frozenset()
    failures: tuple[ApiError, ...] = ()
    stopped: bool = False
    out_of_reach: OutOfReach | None = None


def plan_history(
    store: HistoryStore,
    owners: Mapping[str, str],
    metrics: Iterable[str],
    start: datetime,
    end: datetime,
    *,
    now: datetime,
) -> HistoryPlan:
    """The fewest requests for the hours of ``[start, end)`` the store lacks.

    ``owners`` maps each owned post to its account's short name; ``metrics`` are API names
    (only those ``/historical`` serves are asked for; none of them is a ``UsageError``).
    """
    wanted = _hourly_metrics(metrics)
    missing = store.missing_hours(list(owners), wanted, start, end)
    return HistoryPlan(plan_missing(missing, owners, wanted, now=now), missing, now)


def written_hour(post_id: str) -> datetime:
    """The first hour ``/historical`` can have counts for: the post's own (its ID says
    when it was written), and never before 2014-09-01."""
    return max(EARLIEST_HISTORICAL, hour_start(hour_index(post_created_at(post_id))))


def plan_missing(
    missing: Mapping[str, Sequence[tuple[datetime, datetime]]],
    owners: Mapping[str, str],
    metrics: Sequence[str],
    *,
    now: datetime,
) -> tuple[EngagementRequest, ...]:
    """Requests covering every missing hour that ``/historical`` can serve at ``now``:
    none before 2014-09-01, before the post was written (its ID says when), or in the
    hour still running."""
    highest = hour_index(now)  # complete hours only
    by_account: dict[str, dict[str, list[Span]]] = {}
    for post_id, spans in missing.items():
        account = owners.get(post_id)
        born = hour_index(written_hour(post_id))  # nothing to ask before
        hours = [(max(hour_index(a), born), min(hour_index(b), highest)) for a, b in spans]
        hours = [(a, b) for a, b in hours if a < b]
        if account is not None and hours:
            by_account.setdefault(account, {})[post_id] = hours
    out: list[EngagementRequest] = []
    for account in sorted(by_account):
        out.extend(_account_requests(account, by_account[account], tuple(metrics)))
    return tuple(out)


def _account_requests(
    account: str, posts: Mapping[str, list[Span]], metrics: tuple[str, ...]
) -> list[EngagementRequest]:
    """Windows of 4 weeks from the first missing hour; per window, the posts lacking hours
    in it, 25 a request, each request narrowed to its posts' missing hours."""
    lo = min(a for spans in posts.values() for a, _ in spans)
    hi = max(b for spans in posts.values() for _, b in spans)
    out: list[EngagementRequest] = []
    for w_lo in range(lo, hi, _WINDOW_HOURS):
        w_hi = min(w_lo + _WINDOW_HOURS, hi)
        lacking: list[tuple[int, int, str]] = []
        for post_id, spans in posts.items():
            inside = [(max(a, w_lo), min(b, w_hi)) for a, b in spans if a < w_hi and b > w_lo]
            if inside:
                lacking.append((inside[0][0], inside[-1][1], post_id))
        lacking.sort()
        for i in range(0, len(lacking), _PER_REQUEST):
            chunk = lacking[i : i + _PER_REQUEST]
            r_lo, r_hi = min(a for a, _, _ in chunk), max(b for _, b, _ in chunk)
            out.append(
                EngagementRequest(
                    "historical",
                    account,
                    tuple(p for _, _, p in chunk),
                    metrics,
                    HOURLY_GROUPING,
                    HOURLY_GROUP_BY,
                    hour_start(r_lo),
                    hour_start(r_hi),
                )
            )
    return out


def _hourly_metrics(metrics: Iterable[str]) -> tuple[str, ...]:
    names = list(dict.fromkeys(metrics))
    wanted = tuple(n for n in m.API_METRICS if n in names and n in m.HOURLY_METRICS)
    if not wanted:
        raise UsageError(
            "no metric /historical can read among: " + ", ".join(sorted(names) or ["(none)"])
        )
    return wanted


def fetch_history(
    plan: HistoryPlan,
    client: HistorySource,
    store: HistoryStore,
    *,
    progress: Progress | None = None,
    should_stop: Callable[[], bool] = lambda: False,
) -> HistoryFetch:
    """Send the plan's requests in order, storing each answer before the next request.

    A request that fails for good is reported in ``failures`` and its hours stay missing,
    so the next plan asks for them again; one X refuses for reaching past 365 days is
    sent once more without those hours (``out_of_reach``). ``progress(done, planned)`` is
    called after each request; ``should_stop`` is asked before each and ends the fetch
    early.
    """
    sent = stored = 0
    unavailable: set[str] = set()
    forbidden: set[str] = set()
    failures: list[ApiError] = []
    reach = _Reach(plan.now)
    total = len(plan.requests)
    for done, planned in enumerate(plan.requests, start=1):
        if should_stop():
            return HistoryFetch(
                sent,
                stored,
                frozenset(unavailable),
                frozenset(forbidden),
                tuple(failures),
                True,
                reach.found(),
            )
        asked, request, result = _ask(client, planned, reach)
        sent += asked
        if request is not None and result is not None:
            unavailable |= result.unavailable
            forbidden |= result.forbidden
            failures.extend(result.failures)
            counts = _answered(request, result)
            if counts and request.start is not None and request.end is not None:
                store.record_hourly_counts(request.start, request.end, counts)
                stored += 1
        if progress is not None:
            progress(done, total)
    return HistoryFetch(
        sent,
        stored,
        frozenset(unavailable),
        frozenset(forbidden),
        tuple(failures),
        False,
        reach.found(),
    )


def _ask(
    client: HistorySource, planned: EngagementRequest, reach: _Reach
) -> tuple[int, EngagementRequest | None, FetchResult | None]:
    """Requests sent, and the request X answered with its answer (None: none was sent):
    ``planned`` within X's reach, sent once more without the older hours if X refuses
    it for reaching too far back (that happens once a fetch, so this ends)."""
    sent = 0
    request = reach.within(planned)
    while request is not None:
        result = client.fetch([request])
        sent += result.requests_sent
        if not reach.refuses(request, result):
            return sent, request, result
        request = reach.within(request)
    return sent, None, None


class _Reach:
    """How far back /historical answers in this fetch (reference §1.3 ⚠): to 2014-09-01
    until X refuses a request that starts more than 365 days back, then from ``since``."""

    def __init__(self, now: datetime | None) -> None:
        self.since = None if now is None else hour_start(hour_index(now - REACH + _REACH_MARGIN))
        self.refusal: str | None = None
        self.posts: set[str] = set()

    def within(self, request: EngagementRequest) -> EngagementRequest | None:
        """``request`` without the hours X refused to reach (None: all of them)."""
        since = self.since
        if self.refusal is None or since is None or request.start is None:
            return request
        if request.start >= since:
            return request
        self.posts.update(request.tweet_ids)
        if request.end is None or request.end <= since:
            return None
        return replace(request, start=since)

    def refuses(self, request: EngagementRequest, result: FetchResult) -> bool:
        """Whether ``result`` is X refusing ``request`` for reaching past 365 days: a 400
        (X documents no text for it) to the first request that starts before then."""
        if self.refusal is not None or self.since is None or request.start is None:
            return False
        if request.start >= self.since or not result.failures:
            return False
        if not all(isinstance(f, RequestRejected) and f.status == 400 for f in result.failures):
            return False
        self.refusal = str(result.failures[0])
        return True

    def found(self) -> OutOfReach | None:
        if self.refusal is None or self.since is None:
            return None
        return OutOfReach(self.since, frozenset(self.posts), self.refusal)


def _answered(
    request: EngagementRequest, result: FetchResult
) -> dict[str, dict[str, tuple[tuple[datetime, float], ...]]]:
    """The hourly counts one request settled, per post and metric.

    A post the answer leaves out had no engagement in the window (the API lists idle hours
    as "0", and nothing at all for a post that did not exist yet), unless the request
    failed, when only what did come back counts. Gone, forbidden and unsupported posts
    are left out, so their hours stay missing.
    """
    left_out = result.unavailable | result.forbidden
    if result.failures:
        answered = [p for p in request.tweet_ids if p in result.hourly]
    else:
        answered = [p for p in request.tweet_ids if p not in left_out]
    out: dict[str, dict[str, tuple[tuple[datetime, float], ...]]] = {}
    for post_id in answered:
        series = result.hourly.get(post_id, {})
        for metric in request.engagement_types:
            if post_id in result.unsupported.get(metric, ()):
                continue
            found = series.get(metric)
            out.setdefault(post_id, {})[metric] = found.buckets if found is not None else ()
    return out

"""Sums over a period for owned posts: the hourly history the store holds, after filling
the hours it lacks from ``/historical``.

``automation.x.historical`` plans the fewest requests for the missing hours (per account,
25 posts a request, 4-week windows meeting without sharing an hour) and stores each
answer as it arrives, so hours already held are never asked for again and Ctrl-C loses
at most the request in flight. A metric's sum is shown only when every hour of the
period is counted for the post; a post the API left out (deleted, not the account's,
or a request that failed for good) keeps that metric unknown, never a partial sum.
Where X refuses /historical hours more than 365 days back (reference §1.3 ⚠), the hours
it does answer are stored and the post's problem says from when X answered, and why.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime

from automation.core.periods import Period
from automation.export.tally import UNAVAILABLE, Tally
from automation.store.base import Store
from automation.x.historical import (
    HistorySource,
    OutOfReach,
    fetch_history,
    plan_history,
    written_hour,
)

__all__ = ["FORBIDDEN_HISTORY", "NO_HISTORY", "sum_period"]

NO_HISTORY = (
    "not an owned post, or one deleted: the Engagement API keeps no history for posts you "
    "do not own (leave out --since/--from for current totals, which name deleted posts)"
)
FORBIDDEN_HISTORY = (
    "Forbidden to access tweets with {account}'s token: not its post, and the Engagement "
    "API keeps no history for posts you do not own"
)
_GAPS = "the API gave no history for some hours of the period: {metrics} left unknown"
_OUT_OF_REACH = (
    "{reach}; {metrics} left unknown for the period (the hours from then on are stored:"
    " a --since/--from within the last 365 days sums them)"
)


def sum_period(
    period: Period,
    metrics: frozenset[str],
    *,
    tally: Tally,
    client: HistorySource,
    store: Store,
    now: datetime,
    progress: Callable[[int, int], None],
) -> int:
    """Put each owned post's sums into ``tally`` and say why others have none. Returns
    how many ``/historical`` requests were planned."""
    owned = dict(tally.owner)
    for post_id in tally.table.post_ids:
        if post_id not in owned:
            tally.problems[post_id] = NO_HISTORY
    if not owned:
        return 0
    plan = plan_history(store, owned, metrics, period.start, period.end, now=now)
    progress(0, len(plan.requests))
    fetched = fetch_history(plan, client, store, progress=progress)
    tally.sent += fetched.requests_sent
    gone = fetched.unavailable | fetched.forbidden
    for post_id in fetched.unavailable:
        tally.problems[post_id] = UNAVAILABLE
    for post_id in fetched.forbidden:
        tally.problems[post_id] = FORBIDDEN_HISTORY.format(account=owned[post_id])
    gaps: dict[str, list[str]] = {}
    for metric in sorted(metrics):
        missing = store.missing_hours(owned, [metric], period.start, period.end)
        for post_id, spans in missing.items():
            # the hours before a post was written count nothing, and are never asked for
            if any(end > written_hour(post_id) for _, end in spans):
                gaps.setdefault(post_id, []).append(metric)
    _failures(tally, fetched.failures, gaps, gone)
    sums = store.count_sums(owned, metrics, period.start, period.end)
    for post_id in owned:
        if post_id in gone:
            continue
        lacking = gaps.get(post_id, ())
        known = sums.get(post_id, {})
        values = {m: known.get(m, 0.0) for m in metrics if m not in lacking}
        if values:
            tally.put(post_id, values)
        if lacking:
            tally.problems.setdefault(post_id, _gaps(post_id, lacking, fetched.out_of_reach))
    return len(plan.requests)


def _gaps(post_id: str, lacking: Sequence[str], reach: OutOfReach | None) -> str:
    """Why ``post_id`` has no sum of ``lacking``: X's reach, or hours it gave nothing for."""
    metrics = ", ".join(lacking)
    if reach is not None and post_id in reach.posts:
        return _OUT_OF_REACH.format(reach=reach.describe(), metrics=metrics)
    return _GAPS.format(metrics=metrics)


def _failures(
    tally: Tally,
    failures: Sequence[Exception],
    gaps: Mapping[str, list[str]],
    gone: frozenset[str],
) -> None:
    """Requests that failed for good: the posts still lacking hours were not read."""
    if not failures:
        return
    unread = [pid for pid in gaps if pid not in gone]
    tally.fail(str(failures[0]), unread)
    for failure in failures[1:]:
        tally.errors[str(failure)] = None

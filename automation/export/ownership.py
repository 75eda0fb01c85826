"""Which listed posts are owned, and by which configured account; the rest are public.

Owned posts are read with their owner's user context and every metric, public ones with
the app's bearer token and the public metrics only, so the split decides what an export
can show. It comes from two sources (spec §13):

- the store's watched posts, which already know their account;
- each configured account's timeline, paged back to the oldest listed post not known
  yet. A post's creation time is in its ID, so the pages asked for are only those of
  the period the unknown posts span. X serves an account's newest 3,200 posts only;
  older posts it does not reach are read as public, and a note says so.

``--account NAME`` adds that account's posts of the period (all it can reach without
one), which also tells their owner.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import compress, filterfalse, islice
from operator import not_

from automation.core.errors import ApiError, RateLimited
from automation.core.facts import post_created_at
from automation.core.periods import Period
from automation.x.backoff import backoff_delay
from automation.x.v2_client import EARLIEST_TIMELINE, MAX_TIMELINE, Discovery, XClient

__all__ = ["Owners", "find_owners", "owners_from_column"]

_MARGIN = timedelta(seconds=1)  # timeline bounds are whole seconds, maybe exclusive
_SETTLING = timedelta(minutes=1)  # an end_time this close to now is left out
_ATTEMPTS = 4


@dataclass(frozen=True)
class Owners:
    """``owner``: listed or added post -> its account. ``added``: posts the ``--account``
    timelines contributed that were not listed, newest first. ``notes``: what the user
    should know about the split (a timeline that did not reach far enough).
    ``accounts``: the account of each listed, then each added post, in that order (None:
    public), the column the plan is made from. ``told``: the posts whose owner a
    timeline told (not the store), in the order told: ``owner``'s last keys."""

    owner: Mapping[str, str]
    added: tuple[str, ...]
    notes: tuple[str, ...]
    accounts: Sequence[str | None]
    told: tuple[str, ...] = ()


def find_owners(
    listed: Sequence[str],
    *,
    known: Sequence[str | None],
    accounts: Sequence[str],
    add_accounts: Sequence[str],
    period: Period | None,
    timeline: XClient,
    now: datetime,
    sleep: Callable[[float], None],
) -> Owners:
    """Split ``listed`` (and the posts of ``add_accounts``) into owned and public.

    ``known``: the account of each listed post the store watches, beside it (None: not
    known; ``Store.post_accounts``); the owners, the unknown posts and the plan's column
    are all taken from it, with no second look-up of each listed post. ``accounts`` are
    all configured owned accounts."""
    reader = _Reader(timeline, sleep)
    owner = _owned(listed, known)
    as_known = len(owner)
    added: list[str] = []
    listed_set = set(listed) if add_accounts else frozenset()
    covered: dict[str, Period | None] = {}
    for account in add_accounts:
        lo, hi = (period.start, period.end) if period is not None else (None, None)
        found = reader.read(account, lo, hi, now)
        for pid in found:
            if pid not in owner and pid not in listed_set:
                added.append(pid)  # each once: the plan takes each post once
            owner.setdefault(pid, account)
        covered[account] = period
    unknown = list(compress(listed, map(not_, known)))
    if add_accounts:  # less those the --account timelines found
        unknown = list(filterfalse(owner.__contains__, unknown))
    if unknown:
        oldest, newest = _lowest_and_highest(unknown)
        lo = max(post_created_at(oldest) - _MARGIN, EARLIEST_TIMELINE)  # as it is read
        hi = post_created_at(newest) + _MARGIN
        wanted = set(unknown)
        for account in accounts:
            if account in covered and _covers(covered[account], lo, hi):
                continue  # its --account read reached these posts already
            for pid in reader.read(account, lo, hi, now):
                if pid in wanted:
                    owner.setdefault(pid, account)
    column = _column(listed, known, owner, as_known, added)
    told = tuple(islice(owner, as_known, None))
    return Owners(owner, tuple(added), tuple(reader.notes), column, told)


def owners_from_column(
    ids: Sequence[str],
    accounts: Sequence[str | None],
    *,
    added: tuple[str, ...],
    notes: tuple[str, ...],
    told: Sequence[str],
) -> Owners:
    """The split ``find_owners`` made, from its column (``accounts[i]`` owns ``ids[i]``:
    the listed, then the added posts) and the posts a timeline ``told``: ``owner`` in the
    order it had, the store's owners in listed order, then the told ones as told."""
    owner = _owned(ids, accounts)
    if told:
        owner.update([(pid, owner.pop(pid)) for pid in told])  # each moved to the end
    return Owners(owner, added, notes, accounts, tuple(told))


def _owned(ids: Sequence[str], accounts: Sequence[str | None]) -> dict[str, str]:
    """Each owned post's account, keyed by the given strings: no second copy of 60,000
    IDs (an account is never "")."""
    return dict(zip(compress(ids, accounts), filter(None, accounts), strict=True))


def _column(
    listed: Sequence[str],
    known: Sequence[str | None],
    owner: Mapping[str, str],
    as_known: int,
    added: Sequence[str],
) -> Sequence[str | None]:
    """The account of each listed, then added post: ``known`` itself when no timeline
    told a new owner (the usual case), else read again from ``owner``."""
    listed_accounts = known if len(owner) == as_known else list(map(owner.get, listed))
    return [*listed_accounts, *map(owner.get, added)] if added else listed_accounts


def _lowest_and_highest(post_ids: Sequence[str]) -> tuple[str, str]:
    """The oldest and newest posts: a post's time is in the top bits of its ID, and IDs
    of one length (as nearly all are) compare as numbers in text order, without an
    ``int`` each."""
    if min(map(len, post_ids)) == max(map(len, post_ids)):
        return min(post_ids), max(post_ids)
    return min(post_ids, key=int), max(post_ids, key=int)


def _covers(period: Period | None, lo: datetime, hi: datetime) -> bool:
    """Whether a timeline read over ``period`` (None: all it can reach) saw [lo, hi]."""
    return period is None or (period.start <= lo and hi < period.end)


class _Reader:
    """Reads timelines with a few retries, noting where X's reach ended."""

    def __init__(self, timeline: XClient, sleep: Callable[[float], None]) -> None:
        self._timeline, self._sleep = timeline, sleep
        self.notes: list[str] = []

    def read(
        self, account: str, lo: datetime | None, hi: datetime | None, now: datetime
    ) -> list[str]:
        end = hi if hi is not None and hi < now - _SETTLING else None
        found = self._discover(account, lo, end)
        ids = [p.post_id for p in found.posts]
        if len(ids) >= MAX_TIMELINE:
            oldest = min(found.posts, key=lambda p: int(p.post_id)).created_at
            self.notes.append(
                f"{account}'s timeline reaches back only to {oldest:%Y-%m-%d %H:%M} UTC (X "
                f"serves an account's newest {MAX_TIMELINE:,} posts): its older posts count "
                "as public unless the engine watches them"
            )
        return ids

    def _discover(self, account: str, lo: datetime | None, hi: datetime | None) -> Discovery:
        for attempt in range(1, _ATTEMPTS + 1):
            try:
                return self._timeline.discover(
                    account, since_id=None, start_time=lo, end_time=hi, replies=True
                )
            except ApiError as exc:
                if not exc.retryable or attempt == _ATTEMPTS:
                    raise ApiError(
                        f"cannot learn which posts {account} wrote: {exc}", status=exc.status
                    ) from None
                wait = exc.retry_after if isinstance(exc, RateLimited) else None
                self._sleep(backoff_delay(attempt, first=1.0, cap=60.0, retry_after=wait))
        raise AssertionError("unreachable")  # pragma: no cover

"""Which posts a backtest replays: every post some rule would have watched in the period.

That is each watched account's posts written from the rule's ``max_age`` before the
period's start until its end (found on the timeline, so posts too old to be watched today
count too), and the posts rules name by ID (however old, unless the rule sets
``max_age``). The engine's own watched posts are merged
in, so a timeline that cannot be read still leaves the posts the engine knew.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Protocol

from automation.core.errors import ApiError
from automation.core.evaluate import CompiledRule
from automation.core.hours import hour_index, reading_hour
from automation.core.periods import Period
from automation.core.post_discovery import (
    explicit_posts,
    merge_posts,
    timeline_posts,
    watched_accounts,
)
from automation.core.records import WatchedPostRecord
from automation.core.rules import Watch
from automation.core.watch_index import WatchIndex
from automation.x.v2_client import Discovery

__all__ = ["Timeline", "find_posts", "rule_posts", "watch_hours", "watched_until"]


class Timeline(Protocol):
    """What is needed of ``XClient``."""

    def discover(
        self,
        account: str,
        *,
        since_id: str | None,
        max_pages: int = ...,
        start_time: datetime | None = None,
        end_time: datetime | None = None,
        replies: bool = ...,
    ) -> Discovery: ...


def find_posts(
    rules: Sequence[CompiledRule],
    period: Period,
    *,
    known: Iterable[WatchedPostRecord],
    timeline: Timeline,
    now: datetime,
) -> tuple[list[WatchedPostRecord], list[str]]:
    """The posts to replay, oldest first, and notes on what could not be read."""
    stored = [p for p in known if p.created_at < period.end]
    notes: list[str] = []
    found: list[WatchedPostRecord] = []
    for account in watched_accounts(rules):
        oldest = min(
            period.start - timedelta(seconds=r.rule.watch.max_age)
            for r in rules
            if account in r.rule.watch.accounts
        )
        try:
            listed = timeline.discover(
                account, since_id=None, start_time=oldest, end_time=period.end
            )
        except ApiError as exc:
            notes.append(
                f"the timeline of {account} could not be read ({exc}); only the posts the"
                " engine already watched are replayed for it"
            )
            continue
        pairs = ((p.post_id, p.created_at) for p in listed.posts)
        found += timeline_posts(account, pairs, oldest, now)
    found += explicit_posts(rules, {}, now)
    merged = merge_posts([p for p in stored if p.source == "timeline"], found)
    # gone today is not gone then: the history says what was readable in the period
    available = [replace(p, unavailable_at=None) for p in merged]
    hours = watch_hours(rules, available, period)
    replayed = [p for p in available if p.post_id in hours]
    watched = rule_posts(rules, replayed, period)
    notes += [
        _none_watched(r.rule.id, r.rule.watch, period) for r in rules if not watched[r.rule.id]
    ]
    return replayed, notes


def _none_watched(rule_id: str, watch: Watch, period: Period) -> str:
    """Why a rule replays over no post, and what to do."""
    whose = [f"accounts {', '.join(watch.accounts)}"] if watch.accounts else []
    whose += [f"posts {', '.join(watch.posts)}"] if watch.posts else []
    return (
        f"{rule_id} watches no post in {period.text()}: no post of its watch"
        f" ({'; '.join(whose)}) existed then or was stored; backtest from a later date,"
        " or run the engine first: it stores the posts it watches"
    )


def watch_hours(
    rules: Sequence[CompiledRule], posts: Sequence[WatchedPostRecord], period: Period
) -> dict[str, tuple[int, int]]:
    """For each post some rule watches during the period, the hours ``[from, to)`` of its
    history the replay reads: from the hour it was written (its totals add up from there)
    until the longest ``max_age`` lets it go, or the last hour a poll of the period sees."""
    index = WatchIndex({p.post_id: p for p in posts})
    last = reading_hour(period.end)  # a poll before the end sees the hours before this
    out: dict[str, tuple[int, int]] = {}
    for compiled in rules:
        watch = compiled.rule.watch
        for post in index.covered(watch):
            born = hour_index(post.created_at)
            until = watched_until(watch, post, last)
            if post.created_at < period.end and until > hour_index(period.start):
                lo, hi = out.get(post.post_id, (born, until))
                out[post.post_id] = (min(lo, born), max(hi, until))
    return out


def rule_posts(
    rules: Sequence[CompiledRule], posts: Sequence[WatchedPostRecord], period: Period
) -> dict[str, list[WatchedPostRecord]]:
    """The posts each rule watches at some moment of the period."""
    index = WatchIndex({p.post_id: p for p in posts})
    out: dict[str, list[WatchedPostRecord]] = {}
    for compiled in rules:
        watch = compiled.rule.watch
        oldest = period.start - timedelta(seconds=watch.max_age)
        out[compiled.rule.id] = [
            p
            for p in index.covered(watch)
            if (oldest <= p.created_at or not watch.ages_out(p.post_id))
            and p.created_at < period.end
        ]
    return out


def watched_until(watch: Watch, post: WatchedPostRecord, last: int) -> int:
    """The hour after the last one ``watch`` watches ``post`` in, at most ``last``: until
    ``max_age`` lets it go, which it never does for a post named by ID in a rule that
    did not set ``max_age`` (spec section 5)."""
    if not watch.ages_out(post.post_id):
        return last
    return min(last, hour_index(post.created_at + timedelta(seconds=watch.max_age)) + 1)

"""Which posts a cycle looks for, and how the posts it finds join the watched ones.

Pure: the engine asks X for the timelines and reads the store; these functions say which
accounts to read and how far back, which named posts to add, and what the store holds
once the new records are in, so the next step needs no second read.
"""

from __future__ import annotations

import sys
from bisect import bisect_left
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from itertools import chain, repeat

from automation.core.evaluate import CompiledRule
from automation.core.facts import post_created_at
from automation.core.records import PostSource, WatchedPostRecord

__all__ = [
    "Reach",
    "discovery_start",
    "explicit_posts",
    "insert_posts",
    "merge_posts",
    "post_order",
    "reach",
    "shared_owners",
    "timeline_posts",
    "watched_accounts",
]

# Inserting k new posts one by one into n costs about k * log n keys and k moves; sorting
# them all once about n keys: once the new posts are more than 1 in 20, sorting is cheaper
# (25,000 posts into 75,000: 0.25 s one by one, 0.04 s sorted; 4 into 100,000: 0.1 ms
# against 45 ms).
BULK_SHARE = 20


def watched_accounts(rules: Sequence[CompiledRule]) -> list[str]:
    """The owned accounts whose timelines the rules watch, in a stable order."""
    return sorted({a for r in rules for a in r.rule.watch.accounts})


def discovery_start(rules: Sequence[CompiledRule], account: str, now: datetime) -> datetime:
    """The oldest creation time any rule watching ``account`` still looks at."""
    return min(r.rule.watch.oldest(now) for r in rules if account in r.rule.watch.accounts)


@dataclass(frozen=True)
class Reach:
    """The posts the enabled rules may still watch at a moment: those a rule names (however
    old: ``explicit_posts`` would add them again), and the timeline posts of a watched
    account created at or after its ``discovery_start``. A post out of reach is past every
    rule's max_age, or no rule covers it any more: no plan polls it (``fetch_plan``)."""

    named: tuple[frozenset[str], ...]  # each watch's named posts (``Watch.named``), no copy
    oldest: Mapping[str, datetime]  # by account

    def keeps(self, post: WatchedPostRecord) -> bool:
        """Whether ``post`` is within reach (unavailable or not)."""
        if post.source == "timeline" and post.account is not None:
            oldest = self.oldest.get(post.account)
            if oldest is not None and post.created_at >= oldest:
                return True
        return any(post.post_id in named for named in self.named)

    @property
    def cut(self) -> datetime | None:
        """Of the posts within reach of the same rules a moment before, only those created
        before it can be out of reach now (None: no account is watched, no post ages out
        of reach)."""
        return max(self.oldest.values(), default=None)


def reach(rules: Sequence[CompiledRule], now: datetime) -> Reach:
    """What the enabled ``rules`` may still watch at ``now``."""
    return Reach(
        named=tuple(r.rule.watch.named for r in rules if r.rule.watch.posts),
        oldest={a: discovery_start(rules, a, now) for a in watched_accounts(rules)},
    )


def explicit_posts(
    rules: Sequence[CompiledRule],
    known: Mapping[str, WatchedPostRecord],
    now: datetime,
    owners: Mapping[str, str | None] | None = None,
) -> list[WatchedPostRecord]:
    """The posts rules name by ID that are not watched yet (``known``: the watched posts
    by id), or whose owner changed (``owners``: ``shared_owners(rules)``, if kept), in
    the order first named.

    A named post already watched is left as it is, so a post the API reported gone stays
    unwatched instead of being revived every cycle.
    """
    shared = shared_owners(rules) if owners is None else owners
    return [
        _record(pid, account, post_created_at(pid), "explicit", now)
        for pid, account in _named(rules, shared)
        if (old := known.get(pid)) is None or old.account != account
    ]


def shared_owners(rules: Sequence[CompiledRule]) -> dict[str, str | None]:
    """The posts named more than once (by several rules, or twice by one), each with its
    owner: the first owner a rule naming it gives (None: none does, a public post). Any
    other named post's owner is its rule's, read from the rule: no map of every named
    post (87,000 in the day benchmark, 1.9 MB) is held between cycles."""
    named = Counter(chain.from_iterable(r.rule.watch.posts for r in rules))
    owners: dict[str, str | None] = {}
    for r in rules:
        owner = r.rule.watch.owner
        for pid in r.rule.watch.posts:
            if named[pid] > 1 and owners.get(pid) is None:
                owners[pid] = owner
    return owners


def _named(
    rules: Sequence[CompiledRule], shared: Mapping[str, str | None]
) -> Iterator[tuple[str, str | None]]:
    """Each post the rules name by ID, once, in the order first named, with its owner
    (``shared``: the owners of the posts named more than once)."""
    if not shared:  # each named once: every rule's posts in turn, in C
        return chain.from_iterable(
            zip(r.rule.watch.posts, repeat(r.rule.watch.owner)) for r in rules
        )
    return _named_once(rules, shared)


def _named_once(
    rules: Sequence[CompiledRule], shared: Mapping[str, str | None]
) -> Iterator[tuple[str, str | None]]:
    given: set[str] = set()
    for r in rules:
        owner = r.rule.watch.owner
        for pid in r.rule.watch.posts:
            if pid not in shared:
                yield pid, owner
            elif pid not in given:
                given.add(pid)
                yield pid, shared[pid]


def timeline_posts(
    account: str, found: Iterable[tuple[str, datetime]], oldest: datetime, now: datetime
) -> list[WatchedPostRecord]:
    """Records for the (post id, creation time) pairs found on ``account``'s timeline that
    are young enough to watch."""
    return [
        _record(pid, account, created_at, "timeline", now)
        for pid, created_at in found
        if created_at >= oldest
    ]


def merge_posts(
    known: Sequence[WatchedPostRecord], records: Sequence[WatchedPostRecord]
) -> list[WatchedPostRecord]:
    """What the store holds once ``records`` are upserted into ``known``, in its order
    (oldest first, ties by post id): a post keeps its earliest ``first_seen`` and takes
    every other field from the newer record."""
    if not records:
        return list(known)
    merged = {p.post_id: p for p in known}
    for rec in records:
        old = merged.get(rec.post_id)
        if old is not None and old.first_seen < rec.first_seen:
            rec = replace(rec, first_seen=old.first_seen)
        merged[rec.post_id] = rec
    return sorted(merged.values(), key=post_order)


def insert_posts(posts: list[WatchedPostRecord], records: Sequence[WatchedPostRecord]) -> None:
    """Put ``records`` (posts not in ``posts``) into ``posts``, both in the store's order:
    a few one by one, many with one sort (``BULK_SHARE``)."""
    if len(records) * BULK_SHARE > len(posts):
        posts.extend(records)
        posts.sort(key=post_order)
        return
    for rec in sorted(records, key=post_order):
        posts.insert(bisect_left(posts, post_order(rec), key=post_order), rec)


def post_order(post: WatchedPostRecord) -> tuple[datetime, str]:
    """The store's order of watched posts: oldest first, ties by post id."""
    return post.created_at, post.post_id


def _record(
    post_id: str, account: str | None, created_at: datetime, source: PostSource, now: datetime
) -> WatchedPostRecord:
    return WatchedPostRecord(
        # the process's one string of the ID: the store's maps of 100,000 posts intern
        # theirs (store.rows), which else would each be a second copy of the record's
        post_id=sys.intern(post_id),
        account=account,
        created_at=created_at,
        source=source,
        first_seen=now,
        unavailable_at=None,
    )

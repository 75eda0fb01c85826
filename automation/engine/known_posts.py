"""The watched posts the store holds, kept in the process between cycles.

Reading 100,000 posts back from the store every cycle costs about as much as the rest of
discovery. The engine keeps the posts it read, by post id in the store's order, and
applies its own writes to them; the store's count of post changes (``POSTS_CHANGED``,
moved by one in the transaction of every write) tells whether anyone else wrote since: the
posts are read again whenever the count is not where the engine's own writes left it
(another process, a copy, a failed write). It also tells which posts changed since the
last plan (``take_changed``), so that the plan keeps what the watches naming posts covered
when none of their posts changed. The plan indexes the kept mapping as it is (the
unavailable posts in it are skipped there), so no second mapping or list of every post is
made each cycle or held between cycles.

Only the posts the enabled rules may still watch are kept (``core.post_discovery.Reach``):
a post leaves as it ages past every rule's max_age, and a store of a year's posts is not
held, nor walked by the plan, for the few days' posts watched. The store keeps them all.
New rules (a reload) read the posts again, bringing back those they reach.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from itertools import chain, takewhile

from automation.core.evaluate import CompiledRule
from automation.core.post_discovery import Reach, merge_posts, post_order, reach
from automation.core.records import WatchedPostRecord
from automation.store.base import POSTS_CHANGED, Store

__all__ = ["KnownPosts"]


class KnownPosts:
    """The watched posts within the rules' reach, the unavailable too, by post id in the
    store's order (oldest first, ties by post id), as of the store's count of post changes
    ``_mark``."""

    def __init__(self, store: Store, *, dry: bool = False) -> None:
        self._store = store
        self._dry = dry  # the engine writes nothing: its posts are not the store's
        self._by_id: dict[str, WatchedPostRecord] = {}
        self._mark: str | None = None
        self._kept = False  # whether the posts are the store's as of ``_mark``
        self._changed: set[str] | None = None  # posts written since ``take_changed``; None: any
        self._rules: Sequence[CompiledRule] | None = None  # whose reach the posts are

    def read(self, rules: Sequence[CompiledRule], now: datetime) -> frozenset[str] | None:
        """Take the posts the store holds now within the reach of ``rules`` at ``now``:
        those kept less those out of reach, unless someone else wrote or the rules
        changed. Returns the IDs of the posts let go, or None when the rules changed (any
        post may be back)."""
        scope = reach(rules, now)
        same_rules = self._rules is not None and self._rules == rules
        self._rules = None  # until read: none of the posts held are known to be in reach
        mark = self._store.meta(POSTS_CHANGED)
        if not self._kept or mark != self._mark or not same_rules:
            # the count first: a write between the two reads is read again next time
            self._mark, self._kept = mark, True
            stored = self._store.posts(include_unavailable=True)
            gone = frozenset(p.post_id for p in self._by_id.values() if not scope.keeps(p))
            self._by_id = _by_id(p for p in stored if scope.keeps(p))
            self._changed = None
            self._rules = rules
            return gone if same_rules else None
        self._rules = rules
        return self._leave(scope)

    @property
    def held(self) -> Mapping[str, WatchedPostRecord] | None:
        """The posts of the last ``read``, if it read them (else None): every post a rule
        may watch is among them, whose rule states are worth holding between cycles (in a
        dry run none are held: None)."""
        return self._by_id if self._rules is not None and not self._dry else None

    def _leave(self, scope: Reach) -> frozenset[str]:
        """Let go of the posts out of ``scope``: only older ones than its ``cut`` may be."""
        cut = scope.cut
        if cut is None:
            return frozenset()
        gone = []
        for post in self._by_id.values():
            if post.created_at >= cut:
                break
            if not scope.keeps(post):
                gone.append(post.post_id)
        for pid in gone:
            del self._by_id[pid]
        if self._changed is not None:
            self._changed.update(gone)
        return frozenset(gone)

    @property
    def by_id(self) -> Mapping[str, WatchedPostRecord]:
        """The posts of the last ``read``, with the writes since, by post id in the store's
        order: what the plan indexes (the engine's own: do not change it)."""
        return self._by_id

    def take_changed(self) -> frozenset[str] | None:
        """The IDs of the posts added, changed or gone since the last call (None: the list
        was read again since, so any may have); from now on, none."""
        changed, self._changed = self._changed, set()
        return None if changed is None else frozenset(changed)

    def added(self, records: Sequence[WatchedPostRecord]) -> None:
        """``records`` were upserted (in a dry run, not): the posts take them as the store
        does, and are read again next time unless the store took them alone."""
        self._kept = self._kept and not self._dry and self._moved_once()
        by_id = self._by_id
        ids = {r.post_id for r in records}
        if self._changed is not None:
            self._changed |= ids
        if not records:
            return
        # the keys asked, not the set: a set walks every key of a dict it is asked about
        if len(ids) < len(records) or not by_id.keys().isdisjoint(ids):  # a post changes: sort
            self._by_id = _by_id(merge_posts(list(by_id.values()), records))
            return
        # new posts come after all but a few known ones: those are taken off and put back
        first = min(map(post_order, records))
        tail = list(takewhile(lambda p: post_order(p) > first, reversed(by_id.values())))
        for post in tail:
            del by_id[post.post_id]
        by_id.update(_by_id(sorted(chain(records, tail), key=post_order)))

    def gone(self, post_ids: Collection[str], at: datetime) -> None:
        """The store marked ``post_ids`` unavailable at ``at`` (in a dry run, not)."""
        if self._dry:
            return
        if self._changed is not None:
            self._changed.update(post_ids)
        if not (self._kept and self._moved_once()):
            self._kept = False
            return
        for pid in post_ids:
            old = self._by_id.get(pid)
            if old is not None and old.unavailable_at is None:
                self._by_id[pid] = replace(old, unavailable_at=at)  # its place kept

    def _moved_once(self) -> bool:
        """Whether the store's count moved by exactly one write since ``_mark``."""
        mark = self._store.meta(POSTS_CHANGED)
        if mark != _after(self._mark):
            return False
        self._mark = mark
        return True


def _after(mark: str | None) -> str:
    return str(int(mark or "0") + 1)


def _by_id(posts: Iterable[WatchedPostRecord]) -> dict[str, WatchedPostRecord]:
    return {p.post_id: p for p in posts}

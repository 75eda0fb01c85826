"""The watched posts the store holds, kept in the process between cycles.

Reading 100,000 posts back from the store every cycle costs about as much as the rest of
discovery. The engine keeps the list it read and applies its own writes to it; the store's
count of post changes (``POSTS_CHANGED``, moved by one in the transaction of every write)
tells whether anyone else wrote since: the list is read again whenever the count is not
where the engine's own writes left it (another process, a copy, a failed write). It also
tells which posts changed since the last plan (``take_changed``), so that the plan keeps
what the watches naming posts covered when none of their posts changed.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Collection, Mapping, Sequence
from dataclasses import replace
from datetime import datetime

from automation.core.post_discovery import insert_posts, merge_posts, post_order
from automation.core.records import WatchedPostRecord
from automation.store.base import POSTS_CHANGED, Store

__all__ = ["KnownPosts"]


class KnownPosts:
    """Every watched post, the unavailable too, in the store's order (oldest first, ties
    by post id), as of the store's count of post changes ``_mark``."""

    def __init__(self, store: Store, *, dry: bool = False) -> None:
        self._store = store
        self._dry = dry  # the engine writes nothing: its posts are not the store's
        self._posts: list[WatchedPostRecord] = []
        self._by_id: dict[str, WatchedPostRecord] = {}
        self._mark: str | None = None
        self._kept = False  # whether the list is the store's as of ``_mark``
        self._changed: set[str] | None = None  # posts written since ``take_changed``; None: any

    def read(self) -> None:
        """Take the posts the store holds now: those kept, unless someone else wrote."""
        mark = self._store.meta(POSTS_CHANGED)
        if not self._kept or mark != self._mark:
            # the count first: a write between the two reads is read again next time
            self._mark, self._kept = mark, True
            self._posts = self._store.posts(include_unavailable=True)
            self._by_id = {p.post_id: p for p in self._posts}
            self._changed = None

    @property
    def posts(self) -> list[WatchedPostRecord]:
        """The posts of the last ``read``, with the writes since."""
        return list(self._posts)

    @property
    def by_id(self) -> Mapping[str, WatchedPostRecord]:
        """The posts of the last ``read``, with the writes since, by post id."""
        return self._by_id

    def take_changed(self) -> frozenset[str] | None:
        """The IDs of the posts added, changed or gone since the last call (None: the list
        was read again since, so any may have); from now on, none."""
        changed, self._changed = self._changed, set()
        return None if changed is None else frozenset(changed)

    def added(self, records: Sequence[WatchedPostRecord]) -> None:
        """``records`` were upserted (in a dry run, not): the list takes them as the store
        does, and is read again next time unless the store took them alone."""
        self._kept = self._kept and not self._dry and self._moved_once()
        by_id, posts = self._by_id, self._posts
        ids = {r.post_id for r in records}
        if self._changed is not None:
            self._changed |= ids
        # the keys asked, not the set: a set walks every key of a dict it is asked about
        if len(ids) < len(records) or not by_id.keys().isdisjoint(ids):  # a post changes: sort
            self._posts = merge_posts(posts, records)
            self._by_id = {p.post_id: p for p in self._posts}
            return
        by_id.update((r.post_id, r) for r in records)
        insert_posts(posts, records)

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
            if old is None or old.unavailable_at is not None:
                continue
            new = self._by_id[pid] = replace(old, unavailable_at=at)
            i = bisect_left(self._posts, post_order(old), key=post_order)
            if i == len(self._posts) or self._posts[i] is not old:
                self._kept = False  # not in the order expected: read it all again
                return
            self._posts[i] = new

    def _moved_once(self) -> bool:
        """Whether the store's count moved by exactly one write since ``_mark``."""
        mark = self._store.meta(POSTS_CHANGED)
        if mark != _after(self._mark):
            return False
        self._mark = mark
        return True


def _after(mark: str | None) -> str:
    return str(int(mark or "0") + 1)

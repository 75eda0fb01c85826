"""The store's count of changes to the watched posts: every write of posts moves it by
one, in the same transaction, so an engine that keeps the posts it read sees any change
it did not make itself."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from automation.core.post_discovery import merge_posts
from automation.core.records import WatchedPostRecord
from automation.store import Store
from automation.store.base import POSTS_CHANGED

T0 = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def _post(post_id: str) -> WatchedPostRecord:
    return WatchedPostRecord(post_id, "brand", T0, "timeline", T0)


def test_each_write_of_posts_moves_the_count_by_one(store: Store) -> None:
    counts = [store.meta(POSTS_CHANGED)]
    store.upsert_posts([_post("1"), _post("2")])
    counts.append(store.meta(POSTS_CHANGED))
    store.upsert_posts([_post("2")])  # the same post again
    counts.append(store.meta(POSTS_CHANGED))
    store.mark_unavailable(["1", "404"], T0 + timedelta(minutes=1))
    counts.append(store.meta(POSTS_CHANGED))
    store.mark_unavailable(["1"], T0 + timedelta(minutes=2))  # unavailable already
    counts.append(store.meta(POSTS_CHANGED))
    assert counts == [None, "1", "2", "3", "4"]


def test_writing_no_posts_leaves_the_count(store: Store) -> None:
    store.upsert_posts([_post("1")])
    store.upsert_posts([])
    store.mark_unavailable([], T0)
    assert store.meta(POSTS_CHANGED) == "1"
    assert [p.post_id for p in store.posts()] == ["1"]


def test_a_post_given_twice_in_one_write_is_kept_as_the_engine_keeps_it(store: Store) -> None:
    """A timeline read page by page may list a post twice: one write keeps it once, with
    its earliest ``first_seen`` and the last record's other fields, as ``merge_posts``
    (the posts the engine keeps) says, and moves the count by one."""
    records = [
        WatchedPostRecord("1", "brand", T0, "timeline", T0 + timedelta(minutes=5)),
        _post("2"),
        WatchedPostRecord("1", None, T0, "explicit", T0),
    ]
    store.upsert_posts(records)
    assert store.meta(POSTS_CHANGED) == "1"
    assert store.posts() == merge_posts([], records)

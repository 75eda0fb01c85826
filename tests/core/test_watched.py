from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from automation.core.records import WatchedPostRecord
from automation.core.rules import Watch
from automation.core.watch_index import WatchIndex

T0 = datetime(2026, 11, 20, tzinfo=UTC)


def record(
    pid: str, account: str | None, source: str = "timeline", gone: bool = False
) -> WatchedPostRecord:
    return WatchedPostRecord(
        post_id=pid,
        account=account,
        created_at=T0 + timedelta(minutes=int(pid)),
        source=source,  # type: ignore[arg-type]
        first_seen=T0,
        unavailable_at=T0 if gone else None,
    )


def scan(watch: Watch, posts: dict[str, WatchedPostRecord]) -> tuple[WatchedPostRecord, ...]:
    """The plain definition: every post, checked against the watch."""
    return tuple(
        rec
        for rec in posts.values()
        if not rec.unavailable_at
        and (
            rec.post_id in watch.posts
            or (rec.account in watch.accounts and rec.source == "timeline")
        )
    )


def test_accounts_cover_their_available_timeline_posts_only() -> None:
    posts = {
        r.post_id: r
        for r in (
            record("1", "brand"),
            record("2", "support"),
            record("3", "brand", gone=True),
            record("4", "brand", source="explicit"),
            record("5", None, source="explicit"),
        )
    }
    index = WatchIndex(posts)
    assert [r.post_id for r in index.covered(Watch(accounts=("brand",)))] == ["1"]
    assert [r.post_id for r in index.covered(Watch(posts=("5", "3", "9")))] == ["5"]
    assert [r.post_id for r in index.covered(Watch(accounts=("nobody",)))] == []


def test_a_post_both_named_and_on_a_watched_timeline_is_covered_once_in_order() -> None:
    posts = {r.post_id: r for r in (record("1", "brand"), record("2", "support"))}
    watch = Watch(accounts=("support", "brand"), posts=("1", "1"))
    assert [r.post_id for r in WatchIndex(posts).covered(watch)] == ["1", "2"]


@pytest.mark.parametrize("seed", range(20))
def test_the_index_agrees_with_a_scan_of_every_post(seed: int) -> None:
    rng = random.Random(seed)
    accounts = ["brand", "support", "other"]
    ids = [str(i) for i in rng.sample(range(1, 500), 120)]
    posts = {
        pid: record(
            pid,
            rng.choice([*accounts, None]),
            rng.choice(["timeline", "timeline", "explicit"]),
            gone=rng.random() < 0.1,
        )
        for pid in ids
    }
    index = WatchIndex(posts)
    for _ in range(10):
        watch = Watch(
            accounts=tuple(rng.sample(accounts, rng.randint(0, 3))),
            posts=tuple(rng.sample([*ids, "9999"], rng.randint(0, 30))),
        )
        assert index.covered(watch) == scan(watch, posts)
        assert index.covered(watch) == scan(watch, posts)  # asked again: the same answer

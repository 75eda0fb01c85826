"""The timeline window ``find_owners`` reads for the listed posts the store does not know,
and the split made again from the record a run saves for its next try."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, cast

from hypothesis import given, settings
from hypothesis import strategies as st

from automation.core.facts import post_created_at
from automation.export.job import _saved_split, _split_record
from automation.export.ownership import Owners, find_owners
from automation.x.v2_client import DiscoveredPost, Discovery, XClient

NOW = datetime(2040, 1, 1, tzinfo=UTC)  # after every listed post: no window end is left out


class _Timeline:
    """Answers no post and keeps the window each account's read asked for."""

    def __init__(self) -> None:
        self.asked: list[tuple[str, datetime | None, datetime | None]] = []

    def discover(self, account: str, **query: Any) -> Discovery:
        self.asked.append((account, query["start_time"], query["end_time"]))
        return Discovery((), None)


# snowflake IDs of 2010-2027 (18 and 19 digits), and a few short ones
_ID = st.one_of(st.integers(10**17, 2_100_000_000_000_000_000), st.integers(1, 10**6)).map(str)


@settings(max_examples=150, derandomize=True, deadline=None)
@given(st.lists(_ID, min_size=1, max_size=40, unique=True), st.data())
def test_the_window_spans_the_oldest_and_newest_unknown_post(
    listed: list[str], data: st.DataObject
) -> None:
    known = {pid: "brand" for pid in data.draw(st.sets(st.sampled_from(listed)))}
    timeline = _Timeline()
    find_owners(
        listed,
        known=list(map(known.get, listed)),
        accounts=["brand", "support"],
        add_accounts=[],
        period=None,
        timeline=cast(XClient, timeline),
        now=NOW,
        sleep=lambda seconds: None,
    )
    unknown = [int(pid) for pid in listed if pid not in known]
    if not unknown:
        assert timeline.asked == []
        return
    margin, earliest = timedelta(seconds=1), datetime(2010, 11, 6, 0, 0, 1, tzinfo=UTC)
    lo = max(post_created_at(str(min(unknown))) - margin, earliest)
    hi = post_created_at(str(max(unknown))) + margin
    assert timeline.asked == [("brand", lo, hi), ("support", lo, hi)]


class _Posting:
    """Answers each account's timeline with the posts given for it."""

    def __init__(self, posts: dict[str, list[str]]) -> None:
        self.posts = posts

    def discover(self, account: str, **query: Any) -> Discovery:
        found = self.posts.get(account, [])
        return Discovery(tuple(DiscoveredPost(p, post_created_at(p), "") for p in found), None)


_ACCOUNTS = ["brand", "support", "news"]


@settings(max_examples=200, derandomize=True, deadline=None)
@given(st.lists(_ID, max_size=30, unique=True), st.data())
def test_the_saved_split_gives_back_the_split_found(listed: list[str], data: st.DataObject) -> None:
    """Owners from the saved record equal those found: each account, the added posts,
    the notes, and the owner map in its order (store's owners, then those told)."""
    accounts = st.sampled_from(_ACCOUNTS)
    known = data.draw(st.dictionaries(st.sampled_from(listed), accounts)) if listed else {}
    others = data.draw(st.lists(_ID, max_size=6, unique=True))
    pool = listed + [p for p in others if p not in listed]
    read = st.lists(st.sampled_from(pool), max_size=8, unique=True) if pool else st.just([])
    timelines = {a: data.draw(read) for a in _ACCOUNTS}
    found = find_owners(
        listed,
        known=list(map(known.get, listed)),
        accounts=_ACCOUNTS[:2],
        add_accounts=data.draw(st.lists(st.sampled_from(_ACCOUNTS), max_size=2, unique=True)),
        period=None,
        timeline=cast(XClient, _Posting(timelines)),
        now=NOW,
        sleep=lambda seconds: None,
    )
    again = _saved_split(listed, _split_record(found))
    assert list(again.owner.items()) == list(found.owner.items())
    assert list(again.accounts) == list(found.accounts)
    assert (again.added, again.notes, again.told) == (found.added, found.notes, found.told)


def test_the_saved_split_names_no_listed_id() -> None:
    """The record holds a code a post, not the run's own IDs again."""
    listed = [str(10**18 + n) for n in range(5)]
    owners = Owners(
        {listed[1]: "brand", listed[3]: "support"}, (), (), [None, "brand", None, "support", None]
    )
    record = _split_record(owners)
    assert not any(p in record for p in listed)
    again = _saved_split(listed, record)
    assert again == Owners(dict(owners.owner), (), (), [None, "brand", None, "support", None])

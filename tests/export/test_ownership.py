"""The timeline window ``find_owners`` reads for the listed posts the store does not know."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, cast

from hypothesis import given, settings
from hypothesis import strategies as st

from automation.core.facts import post_created_at
from automation.export.ownership import find_owners
from automation.x.v2_client import Discovery, XClient

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

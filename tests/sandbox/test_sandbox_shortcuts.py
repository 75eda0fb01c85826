"""Checks that skip work on the common case answer what the step-by-step checks answer."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from automation.sandbox.clock import SimClock
from automation.sandbox.engagement_request import MAX_IDS, Query, parse_query
from automation.sandbox.messages import Reply
from automation.sandbox.options import Options
from automation.sandbox.world import World

START = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
BRAND, SUPPORT, NASA = "2244994945", "783214", "11348282"

VALID = st.sampled_from(["1", "20", "2123664196938760192", "007"])
ODD = st.one_of(
    st.sampled_from(["", " 1", "1a", "١٢", "²", "-1", "1.5", True, None, 1.0, [], {}]),
    st.integers(-5, 10**19),
)


@st.composite
def tweet_ids(draw: st.DrawFn) -> list[Any]:
    """Valid IDs, as clients send them, with now and then one or two odd items among them."""
    raw = draw(st.lists(VALID, max_size=6))
    for _ in range(draw(st.integers(0 if raw else 1, 2))):
        raw.insert(draw(st.integers(0, len(raw))), draw(ODD))
    return raw


def checked_one_by_one(raw: list[Any], integer_ids: bool) -> tuple[str, ...] | str:
    """The tweet_ids check as the reference states it: each item in turn, the first bad
    one named; then the limit on distinct IDs."""
    ids: dict[str, None] = {}
    for item in raw:
        if isinstance(item, int) and not isinstance(item, bool) and integer_ids:
            item = str(item)
        if not isinstance(item, str) or not item.isascii() or not item.isdigit():
            return f"Invalid Tweet ID {json.dumps(item)}: Tweet IDs must be strings of digits"
        ids[item] = None
    if len(ids) > MAX_IDS["totals"]:
        return f"Too many Tweet IDs: {len(ids)}. /totals accepts at most 250 per request"
    return tuple(ids)


@settings(max_examples=400, derandomize=True, deadline=None)
@given(
    st.one_of(
        tweet_ids(),
        st.lists(st.integers(0, 300).map(str), min_size=240, max_size=260),
    ),
    st.booleans(),
)
def test_tweet_ids_checked_at_once_answer_as_checked_one_by_one(
    raw: list[Any], integer_ids: bool
) -> None:
    per_post = {"g": {"group_by": ["tweet.id", "engagement.type"]}}
    body = {"tweet_ids": raw, "engagement_types": ["favorites"], "groupings": per_post}
    got = parse_query("totals", json.dumps(body).encode(), START, Options(integer_ids=integer_ids))
    expected = checked_one_by_one(raw, integer_ids)
    if isinstance(expected, str):
        assert isinstance(got, Reply) and got.body == {"errors": [expected]}
    else:
        assert isinstance(got, Query) and got.tweet_ids == expected


@settings(max_examples=100, derandomize=True, deadline=None)
@given(
    st.integers(0, 3),
    st.integers(0, 5 * 86_400),
    st.sampled_from([BRAND, SUPPORT, NASA]),
    st.integers(1, 400),
    st.integers(-1, 1),
    st.floats(0, 1),
)
def test_a_timeline_after_an_id_is_the_timeline_cut_at_that_id(
    seed: int, seconds: int, user: str, limit: int, nudge: int, where: float
) -> None:
    """Reading only posts above ``after`` gives what reading the newest ``limit`` and
    stopping at ``after`` gave (a ``since_id``), deleted posts left out either way."""
    world = World(seed, SimClock(START, speed=0), history_days=20)
    at = START + timedelta(seconds=seconds)
    everything = world.timeline(user, at)
    for post in everything[::7]:
        post.deleted_at = post.created_at + timedelta(hours=1)  # some gone by ``at``
    since = int(everything[int(where * (len(everything) - 1))].id) + nudge
    cut = list(
        itertools.takewhile(lambda p: int(p.id) > since, world.timeline(user, at, limit=limit))
    )
    assert world.timeline(user, at, limit=limit, after=since) == cut

"""The every-cycle answers written as JSON text are byte for byte the general nesting's."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from automation.core.metric_names import HOURLY_METRICS, TOTALS_METRICS
from automation.sandbox.clock import SimClock
from automation.sandbox.engagement import respond
from automation.sandbox.engagement_request import FOUR_ITEM_ORDERS, Query, parse_query
from automation.sandbox.engagement_text import compact
from automation.sandbox.messages import Reply
from automation.sandbox.oauth_verify import Caller
from automation.sandbox.options import Options
from automation.sandbox.world import World

START = datetime(2026, 11, 1, 12, 30, tzinfo=UTC)
BRAND, SUPPORT, NASA, QUIET = "2244994945", "783214", "11348282", "1500000001"
CALLERS = (
    Caller(app="app"),
    Caller(app="app", user_id=BRAND, account="brand"),
    Caller(app="app", user_id=SUPPORT, account="support"),
)
# Names a client may give its groupings, among them fields of the answer itself.
NAMES = ("per_post", "g", "hourly", "a b", "é", "start", "errors", "unavailable_tweet_ids")
PER_POST = ["tweet.id", "engagement.type"]


def candidates(world: World, now: datetime) -> list[str]:
    """Posts of every kind a request may name: recent and old (past the impressions and
    video limits), owned and public, protected, deleted, not yet posted, unknown."""
    ids = [p.id for user in (BRAND, SUPPORT, NASA, QUIET) for p in world.timeline(user, now)]
    recent = ids[:: max(1, len(ids) // 40)]
    deleted = [pid for pid in ids if (p := world.find(pid)) and p.deleted_at]
    return [*recent, *ids[-6:], *deleted[:2], "1", "999999999999999999"]


@st.composite
def asked(draw: st.DrawFn) -> tuple[World, datetime, str, bytes, Caller, Options]:
    world = World(draw(st.integers(0, 3)), SimClock(START, speed=0), history_days=8)
    now = START + timedelta(seconds=draw(st.integers(0, 3 * 86_400)))
    pool = candidates(world, now)
    picks = draw(st.lists(st.integers(0, len(pool) - 1), min_size=1, max_size=25))
    ids = [pool[i] for i in picks]
    for i in draw(st.lists(st.integers(0, len(ids) - 1), max_size=2)):
        if (post := world.get(ids[i], now)) is not None:  # an adjustment before now
            world.set_metric(post.id, "favorites", draw(st.integers(0, 5_000)))
    endpoint = draw(st.sampled_from(["totals", "28hr", "historical"]))
    allowed = sorted(TOTALS_METRICS if endpoint == "totals" else HOURLY_METRICS)
    metrics = draw(st.lists(st.sampled_from(allowed), min_size=1, max_size=7, unique=True))
    names = draw(st.lists(st.sampled_from(NAMES), min_size=1, max_size=3, unique=True))
    if endpoint == "totals":
        groupings = {name: {"group_by": PER_POST} for name in names}
    else:
        order = list(draw(st.sampled_from(FOUR_ITEM_ORDERS)))
        groupings = {names[0]: {"group_by": order}}
    doc: dict[str, Any] = {"tweet_ids": ids, "engagement_types": metrics, "groupings": groupings}
    if endpoint == "historical":
        end = now - timedelta(hours=draw(st.integers(0, 48)))
        doc["start"] = (end - timedelta(hours=draw(st.integers(1, 72)))).isoformat()
        doc["end"] = end.isoformat()
    options = Options(
        numeric_counts=draw(st.booleans()),
        forbidden_text=draw(st.sampled_from(["ids", "author"])),
        unowned=draw(st.sampled_from(["partial", "reject"])),
    )
    caller = draw(st.sampled_from(CALLERS))
    return world, now, endpoint, json.dumps(doc).encode(), caller, options


@settings(max_examples=250, derandomize=True, deadline=None)
@given(asked())
def test_direct_text_is_the_general_answer_byte_for_byte(
    request: tuple[World, datetime, str, bytes, Caller, Options],
) -> None:
    world, now, endpoint, raw, caller, options = request
    query = parse_query(endpoint, raw, now, options)
    assert isinstance(query, Query), query
    direct = respond(query, caller, world, now, options)
    general = respond(query, caller, world, now, options, direct=False)
    assert (direct.status, direct.headers) == (general.status, general.headers)
    assert not isinstance(general.body, bytes)
    if isinstance(direct.body, bytes):
        assert direct.body == compact(general.body).encode()
    else:
        assert direct.body == general.body


def answer(groupings: dict[str, Any], endpoint: str = "totals") -> Reply:
    world = World(1, SimClock(START, speed=0), history_days=8)
    ids = [p.id for p in world.timeline(BRAND, START)][:5]
    doc = {"tweet_ids": ids, "engagement_types": ["favorites"], "groupings": groupings}
    query = parse_query(endpoint, json.dumps(doc).encode(), START, Options())
    assert isinstance(query, Query)
    return respond(query, CALLERS[1], world, START, Options())


def test_the_every_cycle_shapes_come_as_text_and_the_rest_nested() -> None:
    assert isinstance(answer({"p": {"group_by": PER_POST}}).body, bytes)
    hourly = {"h": {"group_by": list(FOUR_ITEM_ORDERS[1])}}
    assert isinstance(answer(hourly, "28hr").body, bytes)
    assert isinstance(answer({"t": {"group_by": ["engagement.type"]}}).body, dict)
    # a grouping named like a field of the answer takes its place: nested in general
    assert isinstance(answer({"errors": {"group_by": PER_POST}}).body, dict)

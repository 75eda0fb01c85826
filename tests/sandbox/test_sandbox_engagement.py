"""The Engagement API endpoints as pure functions: request checks and response shapes."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from automation.sandbox.clock import SimClock
from automation.sandbox.engagement import respond
from automation.sandbox.engagement_request import Query, parse_query
from automation.sandbox.messages import Reply
from automation.sandbox.oauth_verify import Caller
from automation.sandbox.options import Options
from automation.sandbox.world import World

START = datetime(2026, 11, 1, 12, 30, tzinfo=UTC)
BRAND, SUPPORT, NASA, QUIET = "2244994945", "783214", "11348282", "1500000001"
APP = Caller(app="app")
AS_BRAND = Caller(app="app", user_id=BRAND, account="brand")
FOUR = ["tweet.id", "engagement.type", "engagement.day", "engagement.hour"]


@pytest.fixture(scope="module")
def world() -> World:
    return World(3, SimClock(START, speed=0))


def body(ids: list[Any], metrics: list[str], group_by: list[str] | None = None, **extra: Any):
    groupings = {"g": {"group_by": group_by or ["tweet.id", "engagement.type"]}}
    doc = {"tweet_ids": ids, "engagement_types": metrics, "groupings": groupings, **extra}
    return json.dumps(doc).encode()


def ask(world: World, endpoint: str, raw: bytes, caller: Caller = AS_BRAND, **opts: Any) -> Reply:
    """The reply, its body decoded when it came as JSON text already written."""
    options = Options(**opts)
    query = parse_query(endpoint, raw, START, options)
    if isinstance(query, Reply):
        return query
    reply = respond(query, caller, world, START, options)
    if isinstance(reply.body, bytes):
        return Reply(reply.status, json.loads(reply.body), reply.headers)
    return reply


def recent(world: World, user: str, n: int, days: int = 20) -> list[str]:
    cutoff = START - timedelta(days=days)
    return [p.id for p in world.timeline(user, START) if p.created_at > cutoff][:n]


def error_of(reply: Reply) -> str:
    assert reply.status == 400, reply.body
    return reply.body["errors"][0]


# ----- request checks ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("endpoint", "count", "ok"),
    [
        ("totals", 250, True),
        ("totals", 251, False),
        ("28hr", 25, True),
        ("28hr", 26, False),
        ("historical", 25, True),
        ("historical", 26, False),
    ],
)
def test_id_limits_per_endpoint(endpoint: str, count: int, ok: bool) -> None:
    ids = [str(10**15 + i) for i in range(count)]
    result = parse_query(endpoint, body(ids, ["favorites"]), START, Options())
    assert isinstance(result, Query) is ok
    if not ok:
        assert "Too many Tweet IDs" in error_of(result)


def test_tweet_ids_as_integers_accepted_unless_turned_off() -> None:
    raw = body([1260294888811347969, "850006245121695744"], ["favorites"])
    query = parse_query("totals", raw, START, Options())
    assert isinstance(query, Query)
    assert query.tweet_ids == ("1260294888811347969", "850006245121695744")
    assert "Invalid Tweet ID" in error_of(
        parse_query("totals", raw, START, Options(integer_ids=False))
    )


@pytest.mark.parametrize(
    ("endpoint", "raw", "text"),
    [
        ("totals", b"", "No JSON payload"),
        ("totals", b"{not json", "Invalid JSON"),
        ("totals", b"[]", "JSON object"),
        ("totals", body([], ["favorites"]), "tweet_ids is required"),
        ("totals", body(["12a"], ["favorites"]), "Invalid Tweet ID"),
        ("totals", body(["1"], ["media_views"]), "Unsupported engagement type(s) for /totals"),
        ("28hr", body(["1"], ["quote_tweets"]), "Unsupported engagement type(s) for /28hr"),
        ("totals", body(["1"], []), "engagement_types is required"),
        ("totals", body(["1"], ["favorites"], start="2026-10-01"), "Unsupported field(s)"),
        ("28hr", body(["1"], ["favorites"], ["tweet.id", "tweet.id"]), "repeats"),
        (
            "28hr",
            body(
                ["1"],
                ["favorites"],
                ["engagement.type", "tweet.id", "engagement.hour", "engagement.day"],
            ),
            "4-item group_by must be",
        ),
        ("28hr", body(["1"], ["favorites"], ["tweet.id", "tweet.source"]), "not supported"),
    ],
)
def test_bad_requests_are_400_with_a_plain_string_error(endpoint: str, raw: bytes, text: str):
    assert text in error_of(parse_query(endpoint, raw, START, Options()))


def test_time_groupings_on_totals_give_the_documented_error() -> None:
    raw = body(["1"], ["favorites"], ["tweet.id", "engagement.hour"])
    assert error_of(parse_query("totals", raw, START, Options())) == (
        "One or more of the groupBys you have specified are not supported: (engagement.hour). "
        "Please adjust your request and try again."
    )


def test_at_most_three_groupings_and_one_four_item_grouping() -> None:
    groupings = {f"g{i}": {"group_by": ["tweet.id"]} for i in range(4)}
    raw = json.dumps(
        {"tweet_ids": ["1"], "engagement_types": ["favorites"], "groupings": groupings}
    ).encode()
    assert "Too many groupings" in error_of(parse_query("28hr", raw, START, Options()))
    assert isinstance(parse_query("28hr", raw, START, Options(max_groupings=10)), Query)
    two_fours = {"a": {"group_by": FOUR}, "b": {"group_by": FOUR}}
    raw = json.dumps(
        {"tweet_ids": ["1"], "engagement_types": ["favorites"], "groupings": two_fours}
    ).encode()
    assert "Only one grouping with 4" in error_of(parse_query("28hr", raw, START, Options()))
    other_order = ["engagement.type", "tweet.id", "engagement.day", "engagement.hour"]
    assert isinstance(
        parse_query("28hr", body(["1"], ["favorites"], other_order), START, Options()), Query
    )


def test_historical_window_is_widened_to_hours_and_checked() -> None:
    raw = body(["1"], ["favorites"], start="2026-10-10T12:24:00Z", end="2026-10-12T08:37:00Z")
    query = parse_query("historical", raw, START, Options())
    assert isinstance(query, Query)
    assert (query.start, query.end) == (
        datetime(2026, 10, 10, 12, tzinfo=UTC),
        datetime(2026, 10, 12, 9, tzinfo=UTC),
    )
    dated = parse_query(
        "historical",
        body(["1"], ["favorites"], start="2026-10-01", end="2026-10-15"),
        START,
        Options(),
    )
    assert isinstance(dated, Query) and dated.start == datetime(2026, 10, 1, tzinfo=UTC)
    default = parse_query("historical", body(["1"], ["favorites"]), START, Options())
    assert isinstance(default, Query) and default.end - default.start == timedelta(weeks=4)
    for extra, text in [
        ({"start": "2026-09-01", "end": "2026-10-01"}, "at most 4 weeks"),
        ({"start": "2014-08-01", "end": "2014-08-10"}, "2014-09-01"),
        ({"end": "2026-11-20"}, "future"),
        ({"start": "2026-10-05", "end": "2026-10-01"}, "before end"),
        ({"start": "yesterday"}, "Invalid start"),
    ]:
        assert text in error_of(
            parse_query("historical", body(["1"], ["favorites"], **extra), START, Options())
        )


@pytest.mark.parametrize(
    ("start", "end", "error"),
    [
        ("2026-10-01T00:00:00Z", "2026-10-29T00:00:00Z", None),  # 4 weeks exactly
        ("2026-10-01T00:00:00Z", "2026-10-29T01:00:00Z", "at most 4 weeks"),
        # widened to whole hours first: 00:00 .. 00:00 + 4 weeks + 1 hour
        ("2026-10-01T00:30:00Z", "2026-10-29T00:10:00Z", "at most 4 weeks"),
        ("2014-09-01", "2014-09-10", None),
        ("2014-08-31T23:00:00Z", "2014-09-10", "on or after 2014-09-01"),
    ],
)
def test_historical_limits_at_their_edges(start: str, end: str, error: str | None) -> None:
    query = parse_query(
        "historical", body(["1"], ["favorites"], start=start, end=end), START, Options()
    )
    if error is None:
        assert isinstance(query, Query)
    else:
        assert error in error_of(query)


def test_historical_needs_the_owners_user_context(world: World) -> None:
    ids = recent(world, BRAND, 2)
    raw = body(ids, ["favorites"], FOUR, start="2026-10-20", end="2026-10-22")
    assert ask(world, "historical", raw, APP).status == 403
    assert ask(world, "historical", raw).status == 200


# ----- responses -----------------------------------------------------------------------


def test_totals_owned_counts_are_strings_per_post_per_metric(world: World) -> None:
    ids = recent(world, BRAND, 3)
    metrics = [
        "impressions",
        "engagements",
        "favorites",
        "retweets",
        "replies",
        "quote_tweets",
        "video_views",
    ]
    reply = ask(world, "totals", body(ids, metrics))
    assert reply.status == 200
    assert set(reply.body) == {"g"}
    assert list(reply.body["g"]) == ids
    for pid in ids:
        row = reply.body["g"][pid]
        assert list(row) == metrics
        assert all(isinstance(v, str) and v.isdigit() for v in row.values())
        expected = world.values(world.get(pid, START), metrics, START)
        assert {m: int(v) for m, v in row.items()} == expected


def test_grand_totals_sum_over_posts(world: World) -> None:
    ids = recent(world, BRAND, 4)
    reply = ask(world, "totals", body(ids, ["favorites", "replies"], ["engagement.type"]))
    total = sum(world.value(world.get(i, START), "favorites", START) for i in ids)
    assert reply.body["g"]["favorites"] == str(total)


def test_bearer_reads_public_metrics_of_any_public_post(world: World) -> None:
    ids = recent(world, NASA, 2) + recent(world, BRAND, 1)
    reply = ask(world, "totals", body(ids, ["favorites", "quote_tweets"]), APP)
    assert reply.status == 200 and set(reply.body["g"]) == set(ids)
    refused = ask(world, "totals", body(ids, ["impressions", "favorites"]), APP)
    assert refused.status == 403
    assert refused.body == {"errors": ["Forbidden to access metrics: impressions"]}
    hourly = ask(world, "28hr", body(ids[:1], ["favorites"]), APP)
    assert hourly.status == 403


def test_user_context_only_reads_its_own_posts(world: World) -> None:
    mine, theirs = recent(world, BRAND, 2), recent(world, SUPPORT, 1) + recent(world, NASA, 1)
    reply = ask(world, "totals", body(mine + theirs, ["favorites"]))
    assert reply.status == 200
    assert set(reply.body["g"]) == set(mine)
    assert reply.body["errors"] == [f"Forbidden to access tweets: {','.join(theirs)}"]
    by_author = ask(world, "totals", body(mine + theirs, ["favorites"]), forbidden_text="author")
    assert (
        f"Forbidden to access tweets for author id {SUPPORT}: {theirs[0]}"
        in by_author.body["errors"]
    )
    rejected = ask(world, "totals", body(mine + theirs, ["favorites"]), unowned="reject")
    assert rejected.status == 403 and "g" not in rejected.body


def test_deleted_and_unknown_posts_are_unavailable_inside_a_200(world: World) -> None:
    ids = recent(world, BRAND, 2)
    victim = world.add_post(BRAND, text="to delete", created_at=START - timedelta(hours=3))
    world.delete_post(victim.id)
    reply = ask(world, "totals", body([*ids, victim.id, "123"], ["favorites"]))
    assert reply.status == 200
    assert reply.body["unavailable_tweet_ids"] == [victim.id, "123"]
    assert reply.body["errors"] == ["2 Tweet ID(s) are unavailable"]
    assert set(reply.body["g"]) == set(ids)


def test_protected_posts_refuse_the_whole_request(world: World) -> None:
    quiet = world.timeline(QUIET, START)[0].id
    reply = ask(world, "totals", body([quiet], ["favorites"]), APP)
    assert (reply.status, reply.body) == (400, {"errors": ["Tweet ID(s) are unavailable"]})


def test_old_posts_are_listed_as_unsupported_with_zero_values(world: World) -> None:
    brand = world.timeline(BRAND, START)
    old = next(p for p in brand if timedelta(days=90) < START - p.created_at < timedelta(days=1800))
    ancient = next(p for p in brand if START - p.created_at > timedelta(days=1800))
    new = recent(world, BRAND, 1)[0]
    reply = ask(
        world,
        "totals",
        body([new, old.id, ancient.id], ["impressions", "favorites", "video_views"]),
    )
    assert reply.body["unsupported_for_impressions_engagements_tweet_ids"] == [old.id, ancient.id]
    assert reply.body["unsupported_for_video_views_tweet_ids"] == [ancient.id]
    assert reply.body["g"][old.id]["impressions"] == "0"
    assert reply.body["g"][ancient.id]["video_views"] == "0"
    assert int(reply.body["g"][ancient.id]["favorites"]) > 0
    assert reply.body["errors"][0].startswith("Impressions & engagements for tweets older than 90")


def test_28hr_four_levels_with_29_hourly_buckets_and_zeros(world: World) -> None:
    young = world.add_post(BRAND, text="young", created_at=START - timedelta(hours=5))
    ids = [young.id, *recent(world, BRAND, 2, days=2)]
    reply = ask(world, "28hr", body(ids, ["impressions", "url_clicks"], FOUR))
    assert reply.status == 200
    assert reply.body["start"] == "2026-10-31T08:00:00Z"
    assert reply.body["end"] == "2026-11-01T13:00:00Z"
    series = reply.body["g"][young.id]["impressions"]
    assert list(series) == ["2026-10-31", "2026-11-01"]
    buckets = [(d, h) for d, hours in series.items() for h in hours]
    assert len(buckets) == 29
    assert buckets[0] == ("2026-10-31", "08") and buckets[-1] == ("2026-11-01", "12")
    values = [int(v) for hours in series.values() for v in hours.values()]
    assert values[:20] == [0] * 20 and sum(values) > 0
    assert all(isinstance(v, str) for hours in series.values() for v in hours.values())


def test_groupings_nest_in_group_by_order(world: World) -> None:
    ids = recent(world, BRAND, 2, days=2)
    groupings = {
        "by_type": {"group_by": ["engagement.type", "tweet.id"]},
        "daily": {"group_by": ["tweet.id", "engagement.type", "engagement.day"]},
        "hourly": {"group_by": ["tweet.id", "engagement.type", "engagement.hour"]},
    }
    raw = json.dumps(
        {"tweet_ids": ids, "engagement_types": ["favorites"], "groupings": groupings}
    ).encode()
    reply = ask(world, "28hr", raw)
    assert list(reply.body["by_type"]) == ["favorites"]
    assert set(reply.body["by_type"]["favorites"]) == set(ids)
    daily = reply.body["daily"][ids[0]]["favorites"]
    assert set(daily) == {"2026-10-31", "2026-11-01"}
    dated = reply.body["hourly"][ids[0]]["favorites"]
    assert set(dated) == {"2026-10-31", "2026-11-01"}  # the groupings guide's shape
    assert sum(int(v) for v in daily.values()) == sum(
        int(v) for hours in dated.values() for v in hours.values()
    )
    profile = ask(world, "28hr", raw, hour_only_shape="hour_of_day").body["hourly"]
    assert len(profile[ids[0]]["favorites"]) == 24  # the Ruby README's hour-of-day shape


TYPE_FIRST = ["engagement.type", "tweet.id", "engagement.day", "engagement.hour"]


@pytest.mark.parametrize(("order", "numeric"), [(FOUR, False), (TYPE_FIRST, False), (FOUR, True)])
def test_four_level_groupings_answer_as_the_general_nesting(
    order: list[str], numeric: bool
) -> None:
    """A four-level grouping is built per (post, metric); a three-level grouping beside it
    sends every grouping through the general nesting: both answers must agree."""
    world = World(5, SimClock(START, speed=0))
    ids = recent(world, BRAND, 3, days=2)
    world.set_metric(ids[0], "favorites", 500)  # an adjustment inside the window
    old = [p.id for p in world.timeline(BRAND, START) if p.has_video][-1]  # video zeroed
    four = {"four": {"group_by": order}}
    daily = {"daily": {"group_by": ["tweet.id", "engagement.type", "engagement.day"]}}

    def answer(groupings: dict[str, Any]) -> dict[str, Any]:
        doc = {
            "tweet_ids": [*ids, old],
            "engagement_types": ["favorites", "video_views", "impressions"],
            "groupings": groupings,
        }
        reply = ask(world, "28hr", json.dumps(doc).encode(), numeric_counts=numeric)
        assert reply.status == 200, reply.body
        return reply.body

    fast, general = answer(four), answer({**four, **daily})
    assert fast["four"] == general["four"]
    assert json.dumps(fast["four"]) == json.dumps(general["four"])  # the same key order
    by_post = fast["four"] if order == FOUR else fast["four"]["video_views"]
    assert list(by_post) == [*ids, old]
    zeroed = by_post[old] if order == FOUR else {"video_views": by_post[old]}
    assert set(zeroed["video_views"]["2026-11-01"].values()) == {0 if numeric else "0"}


def test_totals_per_post_answer_as_the_general_nesting() -> None:
    """Totals per post are built without cells; a type-first grouping beside them sends
    every grouping through the general nesting: both must agree, adjustments included."""
    world = World(5, SimClock(START, speed=0))
    ids = recent(world, BRAND, 4, days=2)
    world.set_metric(ids[1], "favorites", 900)
    metrics = ["impressions", "favorites", "retweets", "video_views"]
    per_post = {"p": {"group_by": ["tweet.id", "engagement.type"]}}
    by_type = {"t": {"group_by": ["engagement.type", "tweet.id"]}}

    def answer(groupings: dict[str, Any]) -> dict[str, Any]:
        doc = {"tweet_ids": [*ids, "1"], "engagement_types": metrics, "groupings": groupings}
        reply = ask(world, "totals", json.dumps(doc).encode())
        assert reply.status == 200, reply.body
        return reply.body

    fast, general = answer(per_post), answer({**per_post, **by_type})
    assert json.dumps(fast["p"]) == json.dumps(general["p"])  # values and key order
    assert list(fast["p"]) == ids and fast["unavailable_tweet_ids"] == ["1"]
    assert fast["p"][ids[1]]["favorites"] == "900"


def test_historical_hourly_window_matches_world(world: World) -> None:
    post = next(p for p in world.timeline(BRAND, START) if START - p.created_at > timedelta(days=3))
    pid = post.id
    start = post.created_at.replace(minute=0, second=0) - timedelta(hours=1)
    end = start + timedelta(days=2)
    raw = body(
        [pid],
        ["favorites", "detail_expands"],
        FOUR,
        start=start.strftime("%Y-%m-%dT%H:%M:%SZ"),
        end=end.strftime("%Y-%m-%dT%H:%MZ"),
    )
    reply = ask(world, "historical", raw)
    series = reply.body["g"][pid]["favorites"]
    assert sum(len(h) for h in series.values()) == 48
    total = sum(int(v) for hours in series.values() for v in hours.values())
    assert total == world.value(post, "favorites", end) - world.value(post, "favorites", start)


def test_numeric_counts_variant(world: World) -> None:
    ids = recent(world, BRAND, 1)
    reply = ask(world, "totals", body(ids, ["favorites"]), numeric_counts=True)
    assert isinstance(reply.body["g"][ids[0]]["favorites"], int)


def test_per_post_grouping_on_28hr_sums_the_window(world: World) -> None:
    pid = recent(world, BRAND, 1, days=2)[0]
    post = world.get(pid, START)
    reply = ask(world, "28hr", body([pid], ["favorites"]))
    start = datetime.fromisoformat(reply.body["start"])
    end = datetime.fromisoformat(reply.body["end"])
    gained = world.value(post, "favorites", end) - world.value(post, "favorites", start)
    assert reply.body["g"] == {pid: {"favorites": str(gained)}}


def test_likes_replies_and_reposts_read_zero_before_2015_09_15(world: World) -> None:
    """Reference §1.3: favorites, replies and retweets read as zero for queries before
    2015-09-15 (the other metrics do not); a date-only start comes back as a timestamp."""
    written = datetime(2015, 9, 13, tzinfo=UTC)
    post = world.add_post(BRAND, text="2015", created_at=written, tau_hours=48.0)
    metrics = ["favorites", "replies", "retweets", "impressions"]
    raw = body([post.id], metrics, FOUR, start="2015-09-12", end="2015-09-20")
    reply = ask(world, "historical", raw)
    assert (reply.body["start"], reply.body["end"]) == (
        "2015-09-12T00:00:00Z",
        "2015-09-20T00:00:00Z",
    )
    series = reply.body["g"][post.id]

    def before(metric: str) -> set[str]:
        return {
            v for day, hours in series[metric].items() if day < "2015-09-15" for v in hours.values()
        }

    assert all(before(m) == {"0"} for m in metrics[:3])
    assert before("impressions") != {"0"}
    assert any(v != "0" for hours in series["favorites"].values() for v in hours.values())


def test_bearer_quote_tweets_variant(world: World) -> None:
    """Reference §6 ⚠: the auth section lists only favorites, replies, retweets and
    video views for the bearer token; the sandbox can answer that way."""
    ids = [p.id for p in world.timeline(NASA, START)][:2]
    raw = body(ids, ["favorites", "quote_tweets"])
    assert ask(world, "totals", raw, APP).status == 200
    refused = ask(world, "totals", raw, APP, bearer_quote_tweets=False)
    assert (refused.status, refused.body) == (
        403,
        {"errors": ["Forbidden to access metrics: quote_tweets"]},
    )
    assert ask(world, "totals", raw, bearer_quote_tweets=False).status == 200  # user context


def test_impressions_for_90_days_on_every_endpoint_variant(world: World) -> None:
    """Reference §1.3 ⚠: impressions and engagements "are only available for Posts that
    have been posted within the past 90 days", availability "All": the sandbox can say so
    on /historical too."""
    old = next(p for p in world.timeline(BRAND, START) if START - p.created_at > timedelta(days=91))
    start = (START - timedelta(days=2)).strftime("%Y-%m-%d")
    raw = body([old.id], ["impressions", "favorites"], FOUR, start=start, end=start[:8] + "31")
    default = ask(world, "historical", raw)
    assert "unsupported_for_impressions_engagements_tweet_ids" not in default.body
    reply = ask(world, "historical", raw, impressions_days_everywhere=True)
    assert reply.body["unsupported_for_impressions_engagements_tweet_ids"] == [old.id]
    impressions = reply.body["g"][old.id]["impressions"]
    assert {v for hours in impressions.values() for v in hours.values()} == {"0"}
    assert reply.body["g"][old.id]["favorites"] == default.body["g"][old.id]["favorites"]
    assert reply.body["errors"][0].startswith("Impressions & engagements for tweets older than 90")


@pytest.mark.parametrize(
    ("start", "days", "error"),
    [
        ("2025-10-20T00:00:00Z", None, None),  # the reference: back to 2014-09-01
        ("2014-09-01T00:00:00Z", None, None),
        ("2025-11-01T13:00:00Z", 365, None),  # the hour after START's, 365 days back
        ("2025-11-01T12:00:00Z", 365, "limited to only 365 days in the past"),
        ("2025-10-20T00:00:00Z", 365, "limited to only 365 days in the past"),
    ],
)
def test_historical_reach_is_2014_or_365_days_by_option(
    start: str, days: int | None, error: str | None
) -> None:
    """Reference §1.3 ⚠: "back to September 1, 2014" vs. "Post engagement data is limited
    to only 365 days in the past"; the latter refuses the whole request with a 400."""
    end = (datetime.fromisoformat(start) + timedelta(days=10)).isoformat()
    raw = body(["1"], ["favorites"], start=start, end=end)
    query = parse_query("historical", raw, START, Options(historical_days=days))
    if error is None:
        assert isinstance(query, Query)
    else:
        assert isinstance(query, Reply) and query.status == 400
        assert query.body == {"errors": [f"Post engagement data is {error}"]}

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from automation.core.errors import MalformedResponse
from automation.x.engagement_parse import (
    EngagementResult,
    error_messages,
    parse_response,
    split_forbidden,
)
from automation.x.engagement_plan import (
    HOURLY_GROUP_BY,
    HOURLY_GROUP_BY_TYPE_FIRST,
    HOURLY_GROUPING,
    EngagementRequest,
)
from automation.x.http import HttpResponse

READ_AT = datetime(2015, 9, 15, 22, 5, tzinfo=UTC)
TOTALS = EngagementRequest(
    "totals",
    "brand",
    ("1045709644067471360", "479311209565413376", "1397568983931392004"),
    (
        "impressions",
        "engagements",
        "favorites",
        "retweets",
        "quote_tweets",
        "replies",
        "video_views",
    ),
)
HOURLY = EngagementRequest(
    "28hr",
    "brand",
    ("123456789",),
    ("impressions", "engagements"),
    HOURLY_GROUPING,
    HOURLY_GROUP_BY,
)


def totals(data: object) -> EngagementResult:
    return parse_response(data, TOTALS, read_at=READ_AT)


def test_per_post_totals_from_the_reference_example_strings_become_floats() -> None:
    result = totals(
        {
            TOTALS.grouping: {
                "1045709644067471360": {
                    "engagements": "2",
                    "favorites": "0",
                    "impressions": "47",
                    "replies": "0",
                    "retweets": "8",
                    "quote_tweets": "5",
                    "video_views": "0",
                }
            }
        }
    )
    assert dict(result.totals["1045709644067471360"]) == {
        "engagements": 2.0,
        "favorites": 0.0,
        "impressions": 47.0,
        "replies": 0.0,
        "retweets": 8.0,
        "quote_tweets": 5.0,
        "video_views": 0.0,
    }
    assert result.errors == () and result.unavailable == frozenset()


def test_numbers_as_counts_are_accepted() -> None:
    result = totals({TOTALS.grouping: {"479311209565413376": {"favorites": 67, "retweets": 26.0}}})
    assert dict(result.totals["479311209565413376"]) == {"favorites": 67.0, "retweets": 26.0}


def test_type_first_totals_nesting_is_accepted() -> None:
    result = totals({TOTALS.grouping: {"favorites": {"479311209565413376": "3", "1": "4"}}})
    assert result.totals["479311209565413376"]["favorites"] == 3.0
    assert result.totals["1"]["favorites"] == 4.0


def test_unavailable_ids_with_partial_data_and_window() -> None:
    result = totals(
        {
            "start": "2015-11-17T22:00:00Z",
            "end": "2015-11-19T02:00:00Z",
            "errors": ["1 Tweet ID(s) are unavailable"],
            "unavailable_tweet_ids": ["479311209565413376"],
            TOTALS.grouping: {"1045709644067471360": {"favorites": "67", "retweets": 26}},
        }
    )
    assert result.unavailable == {"479311209565413376"}
    assert result.totals["1045709644067471360"]["retweets"] == 26.0
    assert result.start == datetime(2015, 11, 17, 22, tzinfo=UTC)
    assert result.end == datetime(2015, 11, 19, 2, tzinfo=UTC)
    assert result.errors == ("1 Tweet ID(s) are unavailable",)


def test_unsupported_video_views_are_dropped_for_those_posts_only() -> None:
    result = totals(
        {
            "unsupported_for_video_views_tweet_ids": ["479311209565413376"],
            TOTALS.grouping: {
                "479311209565413376": {
                    "favorites": "69",
                    "impressions": "1692",
                    "video_views": "0",
                },
                "1397568983931392004": {"favorites": "268", "video_views": "17902"},
            },
        }
    )
    assert dict(result.totals["479311209565413376"]) == {"favorites": 69.0, "impressions": 1692.0}
    assert result.totals["1397568983931392004"]["video_views"] == 17902.0
    assert dict(result.unsupported) == {"video_views": {"479311209565413376"}}


def test_unsupported_impressions_engagements_drop_both_metrics() -> None:
    result = totals(
        {
            "errors": [
                "Impressions & engagements for tweets older than 90 days (*TIME_PERIOD*) are not "
                "supported"
            ],
            "unsupported_for_impressions_engagements_tweet_ids": [479311209565413376],
            TOTALS.grouping: {
                "479311209565413376": {"impressions": "0", "engagements": "0", "favorites": "9"}
            },
        }
    )
    assert dict(result.totals["479311209565413376"]) == {"favorites": 9.0}
    assert result.unsupported["impressions"] == {"479311209565413376"}
    assert result.unsupported["engagements"] == {"479311209565413376"}


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("Forbidden to access tweets: 1054424731825229824", {"1054424731825229824"}),
        ("Forbidden to access tweets: 1,2, 3", {"1", "2", "3"}),
        (
            "Forbidden to access tweets for author id 1114564404: 640022366307745792",
            {"640022366307745792"},
        ),
        ("forbidden to access tweets for author id 9: 10,11", {"10", "11"}),
    ],
)
def test_forbidden_ids_are_parsed_from_both_texts(message: str, expected: set[str]) -> None:
    result = totals({"errors": [message, "internal server error"]})
    assert result.forbidden == expected
    assert result.errors == ("internal server error",)


def test_forbidden_metrics_is_not_mistaken_for_forbidden_posts() -> None:
    forbidden, rest = split_forbidden(["Forbidden to access metrics: retweets"])
    assert forbidden == frozenset()
    assert rest == ("Forbidden to access metrics: retweets",)


def test_errors_as_objects_and_as_a_single_string_are_accepted() -> None:
    data = {
        "errors": [
            {"message": "Sorry, that page does not exist", "code": 34},
            {"title": "Forbidden", "detail": "Forbidden to access tweets: 77"},
            {"code": 1},
        ]
    }
    messages = error_messages(data)
    assert messages[0] == "Sorry, that page does not exist"
    assert messages[2] == '{"code": 1}'
    assert totals(data).forbidden == {"77"}
    assert error_messages({"errors": "Your account could not be authenticated."}) == (
        "Your account could not be authenticated.",
    )


def test_hourly_series_from_the_4_level_grouping() -> None:
    body = {
        "start": "2015-09-14T17:00:00Z",
        "end": "2015-09-15T22:00:00Z",
        HOURLY_GROUPING: {
            "123456789": {
                "impressions": {
                    "2015-09-15": {"00": "5", "01": "2"},
                    "2015-09-14": {"23": "6", "17": "551", "18": 412},
                },
                "engagements": {"2015-09-14": {"17": "0"}},
            }
        },
    }
    result = parse_response(body, HOURLY, read_at=READ_AT)
    series = result.hourly["123456789"]["impressions"]
    assert series.read_at == READ_AT
    assert series.buckets == (
        (datetime(2015, 9, 14, 17, tzinfo=UTC), 551.0),
        (datetime(2015, 9, 14, 18, tzinfo=UTC), 412.0),
        (datetime(2015, 9, 14, 23, tzinfo=UTC), 6.0),
        (datetime(2015, 9, 15, 0, tzinfo=UTC), 5.0),
        (datetime(2015, 9, 15, 1, tzinfo=UTC), 2.0),
    )
    assert result.hourly["123456789"]["engagements"].buckets == (
        (datetime(2015, 9, 14, 17, tzinfo=UTC), 0.0),
    )
    assert result.totals == {}


def test_hourly_series_in_type_first_order() -> None:
    request = EngagementRequest(
        "28hr", "brand", ("1", "2"), ("favorites",), "g", HOURLY_GROUP_BY_TYPE_FIRST
    )
    body = {"g": {"favorites": {"1": {"2016-02-10": {"17": "3"}}, "2": {"2016-02-10": {"18": 4}}}}}
    result = parse_response(body, request, read_at=READ_AT)
    assert result.hourly["1"]["favorites"].buckets == (
        (datetime(2016, 2, 10, 17, tzinfo=UTC), 3.0),
    )
    assert result.hourly["2"]["favorites"].buckets == (
        (datetime(2016, 2, 10, 18, tzinfo=UTC), 4.0),
    )


def test_equal_hourly_counts_of_an_answer_are_one_tuple() -> None:
    """A first cycle holds 66,000 series at once, about half of them alike (all zeros):
    equal counts are held once, whatever their hours' order in the body."""
    request = EngagementRequest(
        "28hr", "brand", ("1", "2"), ("favorites", "replies"), HOURLY_GROUPING, HOURLY_GROUP_BY
    )
    day = "2016-02-10"
    body = {
        HOURLY_GROUPING: {
            "1": {"favorites": {day: {"17": "0", "18": "2"}}, "replies": {day: {"17": 0, "18": 2}}},
            "2": {
                "favorites": {day: {"18": "2", "17": "0"}},
                "replies": {day: {"17": "1", "18": "2"}},
            },
        }
    }
    hourly = parse_response(body, request, read_at=READ_AT).hourly
    counts = hourly["1"]["favorites"].counts
    assert counts == (0.0, 2.0)
    assert hourly["1"]["replies"].counts is counts
    assert hourly["2"]["favorites"].counts is counts
    assert hourly["2"]["replies"].counts == (1.0, 2.0)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([], "expected a JSON object, got list"),
        ("oops", "expected a JSON object, got str"),
        ({TOTALS.grouping: ["1"]}, "is list, not an object"),
        ({TOTALS.grouping: {"1": {"favorites": "lots"}}}, r"\['1'\]\['favorites'\]: count is not"),
        ({TOTALS.grouping: {"1": {"favorites": None}}}, "count is not a number"),
        ({TOTALS.grouping: {"1": {"favorites": True}}}, "non-negative"),
        ({TOTALS.grouping: {"1": {"favorites": "-3"}}}, "non-negative"),
        ({TOTALS.grouping: {"1": {"favorites": "nan"}}}, "non-negative"),
        ({TOTALS.grouping: {"1": "5"}}, "expected an object of counts"),
        ({"something": {}}, "no grouping 'per_post'"),
        ({"unavailable_tweet_ids": "1"}, "not a list of post IDs"),
        ({"errors": 5}, "'errors' is int"),
        ({"start": 5, TOTALS.grouping: {}}, "'start' is not a timestamp"),
    ],
)
def test_malformed_totals_say_where(data: object, message: str) -> None:
    with pytest.raises(MalformedResponse, match=message):
        totals(data)


@pytest.mark.parametrize(
    ("inner", "message"),
    [
        ({"impressions": {"15-09-2015": {"00": "1"}}}, "day is not YYYY-MM-DD"),
        ({"impressions": {"2015-09-15": {"24": "1"}}}, "hour is not 00-23"),
        ({"impressions": {"2015-09-15": ["1"]}}, "expected an object of hours"),
        ({"impressions": ["2015-09-15"]}, "expected an object of days"),
        ({"impressions": {"2015-09-15": {"00": "x"}}}, "count is not a number"),
    ],
)
def test_malformed_hourly_say_where(inner: dict, message: str) -> None:
    with pytest.raises(MalformedResponse, match=message):
        parse_response({HOURLY_GROUPING: {"123456789": inner}}, HOURLY, read_at=READ_AT)


@pytest.mark.parametrize("first", ["1", 1, 1.0])
@pytest.mark.parametrize("bad", [True, "-1", "nan", "inf", None, [1], {"n": 1}])
def test_a_bad_hourly_count_is_found_after_an_equal_series_was_read(
    first: object, bad: object
) -> None:
    """Each distinct series of an answer is read once: a later series read again from what
    an earlier one gave must still be refused when a count is bad (``True`` equals 1)."""
    request = EngagementRequest(
        "28hr", "brand", ("1", "2"), ("favorites",), HOURLY_GROUPING, HOURLY_GROUP_BY
    )
    day = "2016-02-10"
    body = {
        HOURLY_GROUPING: {
            "1": {"favorites": {day: {"17": "0", "18": first}}},
            "2": {"favorites": {day: {"17": "0", "18": bad}}},
        }
    }
    with pytest.raises(MalformedResponse, match=r"\['2'\]\['favorites'\]\['2016-02-10'\]\['18'\]"):
        parse_response(body, request, read_at=READ_AT)


def test_hours_without_a_leading_zero_are_the_same_hours() -> None:
    """ "0" to "9" as the API may write them; an hour named twice keeps the larger count."""
    day = "2016-02-10"
    body = {HOURLY_GROUPING: {"123456789": {"impressions": {day: {"0": "4", "00": "3", "9": 2}}}}}
    series = parse_response(body, HOURLY, read_at=READ_AT).hourly["123456789"]["impressions"]
    assert series.buckets == (
        (datetime(2016, 2, 10, 0, tzinfo=UTC), 4.0),
        (datetime(2016, 2, 10, 9, tzinfo=UTC), 2.0),
    )


def test_hourly_counts_read_again_in_another_spelling_or_order() -> None:
    """Counts as numbers, texts and texts read before, with the hours in either order,
    all give the same buckets; a post with no series is left out in both orders."""
    ids = ("1", "2", "3", "4", "5")
    request = EngagementRequest(
        "28hr", "brand", ids, ("favorites",), HOURLY_GROUPING, HOURLY_GROUP_BY
    )
    day, next_day = "2016-02-10", "2016-02-11"
    forms = [
        {day: {"23": "7"}, next_day: {"00": "12"}},
        {day: {"23": 7}, next_day: {"00": 12.0}},
        {next_day: {"00": "12"}, day: {"23": "7"}},
        {day: {"23": "7"}, next_day: {"00": "12"}},
    ]
    body: dict = {
        HOURLY_GROUPING: {p: {"favorites": f} for p, f in zip(ids[:4], forms, strict=True)}
    }
    body[HOURLY_GROUPING]["5"] = {}
    hourly = parse_response(body, request, read_at=READ_AT).hourly
    assert set(hourly) == {"1", "2", "3", "4"}
    want = (
        (datetime(2016, 2, 10, 23, tzinfo=UTC), 7.0),
        (datetime(2016, 2, 11, 0, tzinfo=UTC), 12.0),
    )
    assert {p: hourly[p]["favorites"].buckets for p in hourly} == dict.fromkeys(hourly, want)
    first = {"g": {"favorites": {"1": {day: {"23": "7"}}}, "replies": {}}}
    typed = EngagementRequest(
        "28hr", "brand", ("1",), ("favorites", "replies"), "g", HOURLY_GROUP_BY_TYPE_FIRST
    )
    assert set(parse_response(first, typed, read_at=READ_AT).hourly["1"]) == {"favorites"}


@pytest.mark.parametrize("cut", [1, 10, 40])
def test_truncated_bodies_are_malformed(cut: int) -> None:
    body = json.dumps({TOTALS.grouping: {"1": {"favorites": "1", "retweets": "2"}}}).encode()
    with pytest.raises(MalformedResponse, match="not JSON"):
        HttpResponse(200, {}, body[:cut], url="https://data-api.x.com/totals").json()


def test_an_error_only_body_is_a_result_not_a_failure() -> None:
    result = totals({"errors": ["Your account could not be authenticated. Reason: x"]})
    assert result.totals == {}
    assert result.errors == ("Your account could not be authenticated. Reason: x",)


def test_results_are_frozen() -> None:
    result = totals({TOTALS.grouping: {"1": {"favorites": "1"}}})
    with pytest.raises(TypeError):
        result.totals["1"]["favorites"] = 2.0  # type: ignore[index]
    with pytest.raises(AttributeError):
        result.errors = ()  # type: ignore[misc]


@pytest.mark.parametrize("type_first", [False, True])
def test_post_ids_are_the_strings_the_request_holds(type_first: bool) -> None:
    """An answer's post IDs are the request's own strings (the ones the engine holds), not
    the decoded body's copies; an ID the request did not ask for stays as answered."""
    pid, other = (str(1045709644067471360 + n) for n in (0, 1))  # made at run time
    asked = (pid,)
    per_post = {"favorites": {pid: "1", other: "2"}} if type_first else {pid: {"favorites": "1"}}
    totals_request = EngagementRequest("totals", "brand", asked, ("favorites",))
    series = {"2015-09-14": {"17": "3"}}
    hourly = {"impressions": {pid: series}} if type_first else {pid: {"impressions": series}}
    group_by = HOURLY_GROUP_BY_TYPE_FIRST if type_first else HOURLY_GROUP_BY
    hourly_request = EngagementRequest("28hr", "brand", asked, ("impressions",), "g", group_by)
    for request, body in (
        (totals_request, {totals_request.grouping: per_post}),
        (hourly_request, {"g": hourly}),
    ):
        result = parse_response(json.loads(json.dumps(body)), request, read_at=READ_AT)
        found = {k: k for k in (result.totals or result.hourly)}
        assert found[pid] is asked[0]
        if type_first and request is totals_request:
            assert found[other] == other


@pytest.mark.parametrize(
    "count", ["0", "7", "47", "100", "123456789012345"], ids=lambda c: f"plain {c}"
)
def test_plain_counts_are_kept_as_sent_when_texts_are_asked_for(count: str) -> None:
    body = {"per_post": {"479311209565413376": {"favorites": count, "retweets": "3"}}}
    result = parse_response(body, replace(TOTALS, texts=True), read_at=READ_AT)
    assert result.totals == {}
    assert result.texts == {"479311209565413376": {"favorites": count, "retweets": "3"}}
    assert f"{float(count):.15g}" == count  # what the numbers' path would print


@pytest.mark.parametrize(
    "count",
    [
        *(26, 0, 2.5, "047", "00", "1e3", "2.5", "1234567890123456", " 5", "5 ", "+5", "-0"),
        *("1,234", "", "\u0665", "\u00b2", "0x1F", "inf", "nan", True, None, [], {}),
    ],
    ids=repr,
)
def test_any_other_count_goes_the_numbers_way_even_when_texts_are_asked_for(count: object) -> None:
    body = {"per_post": {"479311209565413376": {"favorites": "1", "retweets": count}}}
    as_numbers = _parsed_or_fault(json.loads(json.dumps(body)), TOTALS)
    got = _parsed_or_fault(json.loads(json.dumps(body)), replace(TOTALS, texts=True))
    assert got == as_numbers
    assert isinstance(got, str) or got.texts == {}


def _plain(count: object) -> bool:
    """The texts that are kept as sent, one at a time: ASCII digits, no leading 0 (but
    "0"), at most 15 digits."""
    return (
        isinstance(count, str)
        and count.isascii()
        and count.isdigit()
        and len(count) <= 15
        and (count == "0" or not count.startswith("0"))
    )


_COUNTS = st.one_of(
    st.sampled_from(["0", "7", "47", "100", "123456789012345", "1234567890123456", "047"]),
    st.text(alphabet="0123456789,. e+-\n\u0665\u00b2", max_size=17),
    st.integers(min_value=0, max_value=10**16),
    st.floats(min_value=0, max_value=1e6),
    st.none(),
)


@settings(derandomize=True, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(TOTALS.tweet_ids),
        st.one_of(
            st.dictionaries(st.sampled_from(TOTALS.engagement_types), _COUNTS, max_size=7),
            st.lists(_COUNTS, max_size=2),
        ),
    )
)
def test_counts_are_kept_as_sent_exactly_when_every_one_is_plain(per_post: dict) -> None:
    """Whole answers checked at once keep their texts exactly when each count, checked
    alone, is plain; otherwise they go the numbers' way (or are refused) as without
    texts."""
    body = {"per_post": per_post}
    got = _parsed_or_fault(json.loads(json.dumps(body)), replace(TOTALS, texts=True))
    counts = [c for v in per_post.values() for c in (v.values() if isinstance(v, dict) else [v])]
    plain = all(isinstance(v, dict) for v in per_post.values()) and all(map(_plain, counts))
    if plain:  # a post without counts too
        assert not isinstance(got, str)
        assert got.texts == per_post and got.totals == {}
    else:
        assert got == _parsed_or_fault(json.loads(json.dumps(body)), TOTALS)
        assert isinstance(got, str) or got.texts == {}


_PLAIN_COUNT = st.sampled_from(["0", "7", "47", "100", "123456789012345"])


@settings(derandomize=True, deadline=None)
@given(
    st.lists(st.sampled_from(TOTALS.engagement_types), min_size=1, max_size=3, unique=True),
    st.dictionaries(
        st.sampled_from(TOTALS.tweet_ids),
        st.dictionaries(st.sampled_from(TOTALS.engagement_types), _PLAIN_COUNT, max_size=4),
    ),
    st.booleans(),
)
def test_kept_texts_come_joined_exactly_when_each_post_holds_the_metrics_asked_for(
    asked: list[str], per_post: dict[str, dict[str, str]], unsupported: bool
) -> None:
    """The joined counts a saved answer keeps and a CSV line holds: each post's counts of
    the asked metrics joined in their order, post after post as ``texts`` holds them;
    None when a post lacks one of them or holds another, or when an unsupported metric
    was taken out."""
    request = replace(TOTALS, engagement_types=tuple(asked), texts=True)
    body: dict[str, object] = {"per_post": per_post}
    if unsupported:
        body["unsupported_for_video_views_tweet_ids"] = [TOTALS.tweet_ids[0]]
    result = parse_response(json.loads(json.dumps(body)), request, read_at=READ_AT)
    exact = all(v.keys() == set(asked) for v in per_post.values())
    if per_post and exact and not unsupported:
        counts = tuple(",".join(map(v.__getitem__, asked)) for v in result.texts.values())
        assert result.joined == (tuple(asked), counts)
    else:
        assert result.joined is None
    assert result.texts == per_post or unsupported  # kept as sent either way


def test_counts_read_as_numbers_come_without_joined_texts() -> None:
    body = {"per_post": {"479311209565413376": {"favorites": "04"}}}
    request = replace(TOTALS, engagement_types=("favorites",), texts=True)
    result = parse_response(body, request, read_at=READ_AT)
    assert result.totals and result.joined is None
    plain = {"per_post": {"479311209565413376": {"favorites": "4"}}}
    assert parse_response(plain, request, read_at=READ_AT).joined == (("favorites",), ("4",))


def test_counts_nested_metric_first_go_the_numbers_way_when_texts_are_asked_for() -> None:
    body = {"per_post": {"favorites": {"479311209565413376": "4"}}}
    result = parse_response(body, replace(TOTALS, texts=True), read_at=READ_AT)
    assert result.texts == {} and result.totals == {"479311209565413376": {"favorites": 4.0}}


def test_unsupported_metrics_are_dropped_from_counts_kept_as_texts() -> None:
    body = {
        "per_post": {"479311209565413376": {"impressions": "9", "favorites": "4"}},
        "unsupported_for_impressions_engagements_tweet_ids": ["479311209565413376"],
    }
    asked = ("impressions", "favorites")
    result = parse_response(
        body, replace(TOTALS, engagement_types=asked, texts=True), read_at=READ_AT
    )
    assert result.texts == {"479311209565413376": {"favorites": "4"}}
    assert result.joined is None  # joined before impressions were taken out: not the texts


def _parsed_or_fault(body: object, request: EngagementRequest) -> EngagementResult | str:
    try:
        return parse_response(body, request, read_at=READ_AT)
    except MalformedResponse as exc:
        return str(exc)


@pytest.mark.parametrize("endpoint", ["28hr", "historical"])
def test_unsupported_impressions_in_an_hourly_answer_are_dropped(endpoint: str) -> None:
    """Reference §1.3 ⚠: impressions and engagements "only available for Posts that have
    been posted within the past 90 days" with availability "All": an hourly answer that
    lists a post as unsupported has those series dropped and the others kept."""
    window = {}
    if endpoint == "historical":
        window = {"start": datetime(2015, 9, 14, 17, tzinfo=UTC), "end": READ_AT}
    request = replace(HOURLY, endpoint=endpoint, tweet_ids=("1", "2"), **window)
    request = replace(request, engagement_types=("impressions", "engagements", "favorites"))
    hours = {"2015-09-14": {"17": "3"}}
    body = {
        "unsupported_for_impressions_engagements_tweet_ids": ["1"],
        HOURLY_GROUPING: {
            pid: {m: hours for m in request.engagement_types} for pid in request.tweet_ids
        },
    }
    result = parse_response(body, request, read_at=READ_AT)
    assert set(result.hourly["1"]) == {"favorites"}
    assert set(result.hourly["2"]) == {"impressions", "engagements", "favorites"}
    assert result.unsupported == {"impressions": {"1"}, "engagements": {"1"}}

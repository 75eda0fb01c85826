"""A /totals answer read in one pass (``PackedTotals``) gives what reading it count by
count gives: the same totals, in the same order, to the bit, and the same fault."""

from __future__ import annotations

import json
import struct
from collections.abc import Mapping
from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from automation.core.errors import MalformedResponse
from automation.core.metric_values import PackedTotals
from automation.x.engagement_parse import EngagementResult, parse_response
from automation.x.engagement_plan import EngagementRequest

READ_AT = datetime(2015, 9, 15, 22, 5, tzinfo=UTC)
METRICS = ("favorites", "retweets", "replies", "video_views")
TOTALS = EngagementRequest("totals", None, ("1045709644067471360", "479311209565413376"), METRICS)
_VALID = st.sampled_from(["0", "7", "123456789012345", "1e3", " 5", "047", "2.5", "\u0665"]) | (
    st.integers(min_value=0, max_value=10**20) | st.floats(min_value=0.0, max_value=1e300)
)
_ODD = st.one_of(
    st.sampled_from(["-0", "-3", "nan", "inf", "1e400", "", "x", "\u00b2", -0.0, -1, 1e308]),
    st.sampled_from([10**400, True, False, None, [1], {"n": 1}]),
)
_ORDERS = st.permutations(METRICS)
_POST = st.dictionaries(st.sampled_from(METRICS), _VALID | _ODD, max_size=4)


@st.composite
def _answers(draw: st.DrawFn) -> dict[str, object]:
    """Mostly posts alike (the same metrics in the same order, as the engine's answers
    are), with now and then a post in another order, of other metrics, a count that is
    not one, or not an object at all."""
    order = draw(_ORDERS)
    ids = draw(st.lists(st.sampled_from([*TOTALS.tweet_ids, "12", "13"]), max_size=4, unique=True))
    answer: dict[str, object] = {}
    for pid in ids:
        kind = draw(st.sampled_from(["alike"] * 6 + ["odd count", "order", "post", "not"]))
        counts = draw(st.lists(_VALID, min_size=4, max_size=4))
        if kind == "odd count":
            counts[draw(st.integers(0, 3))] = draw(_ODD)
        names = draw(_ORDERS) if kind == "order" else order
        answer[pid] = {
            "alike": dict(zip(names, counts, strict=True)),
            "odd count": dict(zip(names, counts, strict=True)),
            "order": dict(zip(names, counts, strict=True)),
            "post": draw(_POST),
            "not": draw(st.sampled_from(["5", None, [1]])),
        }[kind]
    return answer


def _read(per_post: object, unsupported: bool) -> EngagementResult | str:
    """The answer parsed; with ``unsupported``, naming a post it lacks, which makes the
    parse read it count by count without changing its totals."""
    body: dict[str, object] = {TOTALS.grouping: per_post}
    if unsupported:
        body["unsupported_for_video_views_tweet_ids"] = ["1"]
    try:
        return parse_response(json.loads(json.dumps(body)), TOTALS, read_at=READ_AT)
    except MalformedResponse as exc:
        return str(exc)


def _bits(totals: Mapping[str, Mapping[str, float]]) -> list[tuple[str, list[tuple[str, bytes]]]]:
    """Each post's values in order, each number by its bits (a zero's sign too)."""
    return [
        (pid, [(m, struct.pack("d", v)) for m, v in values.items()])
        for pid, values in totals.items()
    ]


@settings(derandomize=True, deadline=None, max_examples=400)
@given(_answers())
def test_an_answer_read_in_one_pass_is_the_answer_read_count_by_count(per_post: dict) -> None:
    packed, by_count = _read(per_post, False), _read(per_post, True)
    if isinstance(by_count, str):
        assert packed == by_count
        return
    assert isinstance(packed, EngagementResult)
    assert _bits(packed.totals) == _bits(by_count.totals)
    for pid, values in packed.totals.items():
        assert type(values) is type(by_count.totals[pid])  # read-only either way
        assert list(values) == list(by_count.totals[pid])
    posts = list(per_post.values())
    alike = bool(posts) and all(list(p) == list(posts[0]) for p in posts) and bool(posts[0])
    assert (type(packed.totals) is PackedTotals) is alike


def test_the_engine_s_answers_are_read_in_one_pass() -> None:
    request = EngagementRequest("totals", None, ("1", "2"), ("favorites", "replies"))
    body = {
        "per_post": {
            "1": {"favorites": "3", "replies": "0"},
            "2": {"favorites": "1", "replies": "7"},
        }
    }
    result = parse_response(body, request, read_at=READ_AT)
    assert type(result.totals) is PackedTotals
    assert result.totals == {
        "1": {"favorites": 3.0, "replies": 0.0},
        "2": {"favorites": 1.0, "replies": 7.0},
    }

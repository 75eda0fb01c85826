"""Generators of Engagement API response bodies: near-valid /totals and hourly bodies in
both nesting orders, mutated, any JSON, and bytes that are not JSON at all."""

from __future__ import annotations

import json
from typing import Any

from fuzz.strategies import mutated_data
from hypothesis import strategies as st

# ------------------------------------------------------------------ Engagement API bodies

POST_IDS = ["1260294888811347969", "1460323737035677698", "20"]
_API_METRICS = ["impressions", "engagements", "favorites", "retweets", "replies", "video_views"]


def _count() -> st.SearchStrategy[Any]:
    return st.one_of(
        st.integers(0, 10**6),
        st.integers(0, 10**6).map(str),
        st.sampled_from([0, "0", 1.5, "12", -1, "-1", "x", None, True, 10**400, "1e400", "nan"]),
        st.floats(),
        st.integers(),
    )


def _totals_body(type_first: bool) -> st.SearchStrategy[dict[str, Any]]:
    per_post = st.dictionaries(
        st.sampled_from(POST_IDS),
        st.dictionaries(st.sampled_from(_API_METRICS), _count(), max_size=3),
        min_size=1,
        max_size=3,
    )

    def flip(grouping: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for pid, per in grouping.items():
            for metric, value in per.items():
                out.setdefault(metric, {})[pid] = value
        return out

    return per_post.map(lambda g: {"per_post": flip(g) if type_first else g})


_DAYS = ["2026-03-01", "2026-03-02", "2026-02-29", "2026-3-1", "20260301", "x", ""]
_HOURS = ["0", "00", "9", "09", "13", "23", "24", "-1", "1.0", " 1", "x"]


def _hourly_body(type_first: bool) -> st.SearchStrategy[dict[str, Any]]:
    series = st.dictionaries(
        st.sampled_from(_DAYS),
        st.dictionaries(st.sampled_from(_HOURS), _count(), max_size=4),
        max_size=3,
    )
    outer = st.sampled_from(_API_METRICS if type_first else POST_IDS)
    inner = st.sampled_from(POST_IDS if type_first else _API_METRICS)
    return st.dictionaries(outer, st.dictionaries(inner, series, max_size=2), max_size=2).map(
        lambda g: {"hourly": g}
    )


json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=8)),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(
            st.one_of(st.sampled_from(POST_IDS + _API_METRICS), st.text(max_size=5)),
            inner,
            max_size=3,
        ),
    ),
    max_leaves=8,
)

_EXTRA_KEYS = {
    "errors": st.one_of(
        st.sampled_from(
            [
                ["Forbidden to access tweets: 20, 1260294888811347969"],
                ["Forbidden to access tweets for author id 12: 20"],
                [{"message": "boom"}],
                {"detail": "x"},
                "plain",
                7,
                [7, None],
            ]
        ),
        json_values,
    ),
    "unavailable_tweet_ids": st.one_of(
        st.lists(st.sampled_from(POST_IDS), max_size=2), json_values
    ),
    "unsupported_for_impressions_engagements_tweet_ids": st.one_of(
        st.lists(st.sampled_from(POST_IDS), max_size=2), json_values
    ),
    "unsupported_for_video_views_tweet_ids": st.lists(
        st.sampled_from([*POST_IDS, 3, True]), max_size=2
    ),
    "start": st.one_of(
        st.sampled_from(["2026-03-01T00:00:00Z", "2026-03-01", "yesterday", 5]), json_values
    ),
    "end": st.sampled_from(["2026-03-01T10:00:00+02:00", "", None]),
}


@st.composite
def engagement_body(draw: st.DrawFn, hourly: bool) -> Any:
    """A /totals or hourly body in either nesting order, with extra keys, often mutated."""
    type_first = draw(st.booleans())
    body = draw(_hourly_body(type_first) if hourly else _totals_body(type_first))
    for key in draw(st.lists(st.sampled_from(sorted(_EXTRA_KEYS)), max_size=3, unique=True)):
        body[key] = draw(_EXTRA_KEYS[key])
    if draw(st.booleans()):
        body = draw(mutated_data(body))
    return body


def engagement_bytes(hourly: bool) -> st.SearchStrategy[bytes]:
    """A response body as sent: JSON of a near-valid body, JSON of anything, or junk."""

    def encode(value: Any) -> bytes:
        return json.dumps(value).encode()

    return st.one_of(
        engagement_body(hourly).map(encode),
        json_values.map(encode),
        st.sampled_from([b"[" * 3000, b'{"a":' * 3000, b"1" * 5000, b"\xff\xfe", b""]),
        st.binary(max_size=40),
    )

"""The Engagement API response parser on generated bodies, from the bytes on the wire:
an EngagementResult, or a MalformedResponse that says where in the body the problem is;
never a traceback."""

from __future__ import annotations

from datetime import UTC, datetime

from fuzz.api_strategies import POST_IDS, engagement_bytes
from fuzz.strategies import INPUTS, fuzz_settings
from hypothesis import example, given

from automation.core.errors import MalformedResponse
from automation.x.engagement_parse import parse_response
from automation.x.engagement_plan import (
    HOURLY_GROUP_BY,
    HOURLY_GROUPING,
    EngagementRequest,
)
from automation.x.http import HttpResponse

EXAMPLES = 1500  # response bodies per endpoint kind per run
READ_AT = datetime(2026, 3, 2, 12, tzinfo=UTC)
URL = "https://data-api.x.com/insights/engagement/totals"

TOTALS = EngagementRequest("totals", None, tuple(POST_IDS), ("favorites", "impressions"))
HOURLY = EngagementRequest(
    "28hr",
    "brand",
    tuple(POST_IDS),
    ("favorites", "impressions"),
    grouping=HOURLY_GROUPING,
    group_by=HOURLY_GROUP_BY,
)


def parse_and_check(body: bytes, request: EngagementRequest) -> None:
    response = HttpResponse(200, {}, body, URL)
    try:
        result = parse_response(response.json(), request, read_at=READ_AT)
    except MalformedResponse as exc:
        where = (URL, f"/{request.endpoint} response")
        assert str(exc).startswith(where), str(exc)
        assert exc.retryable
        return
    for metrics in result.totals.values():
        assert all(0 <= value < float("inf") for value in metrics.values())
    for series in result.hourly.values():
        for hourly in series.values():
            moments = [moment for moment, _ in hourly.buckets]
            assert moments == sorted(set(moments))


@fuzz_settings(EXAMPLES)
@given(body=engagement_bytes(hourly=False))
@example(body=b"[" * 3000)  # once a RecursionError out of the JSON decoder
@example(body=b'{"per_post": {"20": {"favorites": 1%s}}}' % (b"0" * 400))  # OverflowError
def test_generated_totals_bodies_parse_or_say_where(body: bytes) -> None:
    INPUTS["engagement /totals bodies"] += 1
    parse_and_check(body, TOTALS)


@fuzz_settings(EXAMPLES)
@given(body=engagement_bytes(hourly=True))
@example(body=b'{"hourly": {"20": {"favorites": {"2026-03-01": {"1": 1%s}}}}}' % (b"0" * 400))
def test_generated_hourly_bodies_parse_or_say_where(body: bytes) -> None:
    INPUTS["engagement hourly bodies"] += 1
    parse_and_check(body, HOURLY)

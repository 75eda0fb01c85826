from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import httpx
import pytest
import respx
from clock import Clock

from automation.config.model import Account, ApiSettings, AppCredentials
from automation.config.secret import Secret
from automation.core.errors import (
    ApiError,
    AuthFailed,
    ConfigError,
    MalformedResponse,
    RateLimited,
    RequestRejected,
    ServerFailed,
    TransportFailed,
)
from automation.core.facts import post_created_at
from automation.x.http import HttpClient
from automation.x.v2_client import MAX_TIMELINE, Discovery, WriteResult, XClient
from automation.x.write_limits import WriteLimits

BASE = "https://api.x.com"
NOW = 1_800_000_000.0
BRAND_ID, SUPPORT_ID = "2244994945", "783214"
POST = "1260294888811347969"

APP = AppCredentials(
    consumer_key=Secret("ck-Consumer-Key-1", "${X_CONSUMER_KEY}"),
    consumer_secret=Secret("cs-Consumer-Secret-2", "${X_CONSUMER_SECRET}"),
    bearer_token=Secret("AAAA-Bearer-Token-3", "${X_BEARER_TOKEN}"),
)
ACCOUNTS = {
    "brand": Account(
        "brand",
        BRAND_ID,
        Secret("111-brand-access-token", "${BRAND_ACCESS_TOKEN}"),
        Secret("brand-token-secret-4", "${BRAND_ACCESS_TOKEN_SECRET}"),
    ),
    "support": Account(
        "support",
        SUPPORT_ID,
        Secret("222-support-access-token", "${SUPPORT_ACCESS_TOKEN}"),
        Secret("support-token-secret-5", "${SUPPORT_ACCESS_TOKEN_SECRET}"),
    ),
}
SECRET_VALUES = [
    APP.consumer_key.reveal(),
    APP.consumer_secret.reveal(),
    APP.bearer_token.reveal(),
    *(a.access_token.reveal() for a in ACCOUNTS.values()),
    *(a.access_token_secret.reveal() for a in ACCOUNTS.values()),
]


@pytest.fixture
def clock() -> Clock:
    return Clock(NOW)


@pytest.fixture
def limits() -> WriteLimits:
    return WriteLimits()


@pytest.fixture
def client(clock: Clock, limits: WriteLimits) -> Iterator[XClient]:
    with HttpClient() as http:
        yield XClient(
            http,
            settings=ApiSettings(base_url=BASE + "/", timeout=5.0),
            app=APP,
            accounts=ACCOUNTS,
            limits=limits,
            clock=clock,
        )


@pytest.fixture
def api() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=BASE, assert_all_called=True, assert_all_mocked=True) as router:
        yield router


def assert_no_secret(exc: BaseException) -> None:
    for text in (str(exc), repr(exc)):
        for value in SECRET_VALUES:
            assert value not in text


def problem(status: int, title: str, detail: str, type_: str = "about:blank") -> dict:
    return {"title": title, "detail": detail, "type": type_, "status": status}


def timeline_page(ids: list[str], next_token: str | None = None) -> dict:
    meta: dict = {"result_count": len(ids)}
    if ids:
        meta |= {"newest_id": ids[0], "oldest_id": ids[-1]}
    if next_token:
        meta["next_token"] = next_token
    data = [{"id": i, "text": f"post {i}", "created_at": "2026-11-25T09:30:00.000Z"} for i in ids]
    return {"data": data, "meta": meta} if ids else {"meta": meta}


# --- discovery ------------------------------------------------------------------------------


def test_discover_one_page_with_bearer_and_documented_params(
    client: XClient, api: respx.MockRouter
) -> None:
    ids = ["1860000000000000003", "1860000000000000002"]
    route = api.get(f"/2/users/{BRAND_ID}/tweets").respond(200, json=timeline_page(ids))
    found = client.discover("brand", since_id=None)
    assert isinstance(found, Discovery)
    assert [p.post_id for p in found.posts] == ids
    assert found.posts[0].created_at == datetime(2026, 11, 25, 9, 30, tzinfo=UTC)
    assert found.posts[0].text == f"post {ids[0]}"
    assert found.newest_id == ids[0]
    request = route.calls.last.request
    assert request.headers["Authorization"] == f"Bearer {APP.bearer_token.reveal()}"
    params = dict(request.url.params)
    assert params == {
        "max_results": "100",
        "exclude": "replies,retweets",
        "tweet.fields": "created_at",
    }


def test_discover_passes_since_id_and_start_time(client: XClient, api: respx.MockRouter) -> None:
    route = api.get(f"/2/users/{BRAND_ID}/tweets").respond(200, json=timeline_page([]))
    client.discover(
        "brand", since_id="1850000000000000000", start_time=datetime(2026, 11, 19, tzinfo=UTC)
    )
    params = route.calls.last.request.url.params
    assert params["since_id"] == "1850000000000000000"
    assert params["start_time"] == "2026-11-19T00:00:00Z"


def test_discover_asks_from_the_timelines_first_day_for_an_earlier_start(
    client: XClient, api: respx.MockRouter
) -> None:
    """X answers 400 to a start_time before 2010-11-06: an early period reads the posts
    there are (``automation metrics --account brand --from 2009-01-01``)."""
    route = api.get(f"/2/users/{BRAND_ID}/tweets").respond(200, json=timeline_page([]))
    client.discover(
        "brand",
        since_id=None,
        start_time=datetime(2009, 1, 1, tzinfo=UTC),
        end_time=datetime(2026, 11, 1, tzinfo=UTC),
    )
    params = route.calls.last.request.url.params
    assert params["start_time"] == "2010-11-06T00:00:01Z"
    assert params["end_time"] == "2026-11-01T00:00:00Z"


def test_discover_of_a_period_that_ends_before_the_timelines_first_day_sends_nothing(
    client: XClient, api: respx.MockRouter
) -> None:
    """``automation metrics --ids`` of old short IDs only looks their owners up in a period
    that ends before 2010-11-06: X would answer 400 to a start after the end."""
    found = client.discover(  # the api fixture fails on any request it was not told of
        "brand",
        since_id=None,
        start_time=datetime(2006, 3, 1, tzinfo=UTC),
        end_time=datetime(2010, 11, 5, tzinfo=UTC),
    )
    assert found.posts == () and found.newest_id is None
    assert not api.calls


@pytest.mark.parametrize(
    "body",
    [{"meta": {"result_count": 0}}, {"data": [], "meta": {"result_count": 0}}, {}],
)
def test_discover_empty_results(client: XClient, api: respx.MockRouter, body: dict) -> None:
    api.get(f"/2/users/{BRAND_ID}/tweets").respond(200, json=body)
    assert client.discover("brand", since_id="1850000000000000000") == Discovery((), None)


def test_discover_follows_next_token_across_pages(client: XClient, api: respx.MockRouter) -> None:
    pages = [
        timeline_page(["1860000000000000009", "1860000000000000008"], next_token="tok-2"),
        timeline_page(["1860000000000000007"], next_token="tok-3"),
        timeline_page(["1860000000000000006"]),
    ]
    route = api.get(f"/2/users/{BRAND_ID}/tweets").mock(
        side_effect=[httpx.Response(200, json=p) for p in pages]
    )
    found = client.discover("brand", since_id="1860000000000000001")
    assert [p.post_id for p in found.posts] == [
        "1860000000000000009",
        "1860000000000000008",
        "1860000000000000007",
        "1860000000000000006",
    ]
    assert found.newest_id == "1860000000000000009"
    tokens = [c.request.url.params.get("pagination_token") for c in route.calls]
    assert tokens == [None, "tok-2", "tok-3"]
    assert all(c.request.url.params["since_id"] == "1860000000000000001" for c in route.calls)


def test_discover_stops_at_the_3200_posts_the_api_serves(
    client: XClient, api: respx.MockRouter
) -> None:
    counter = iter(range(10**6))

    def endless(request: httpx.Request) -> httpx.Response:
        ids = [str(1_870_000_000_000_000_000 - next(counter)) for _ in range(100)]
        return httpx.Response(200, json=timeline_page(ids, next_token="more"))

    route = api.get(f"/2/users/{BRAND_ID}/tweets").mock(side_effect=endless)
    found = client.discover("brand", since_id=None, max_pages=50)
    assert len(found.posts) == MAX_TIMELINE == 3200
    assert route.call_count == 32
    assert found.newest_id == "1870000000000000000"


def test_discover_respects_max_pages(client: XClient, api: respx.MockRouter) -> None:
    route = api.get(f"/2/users/{BRAND_ID}/tweets").mock(
        side_effect=[
            httpx.Response(200, json=timeline_page(["1860000000000000005"], next_token="a")),
            httpx.Response(200, json=timeline_page(["1860000000000000004"], next_token="b")),
        ]
    )
    found = client.discover("brand", since_id=None, max_pages=2)
    assert len(found.posts) == 2
    assert route.call_count == 2


def test_discover_accepts_missing_created_at_and_integer_ids(
    client: XClient, api: respx.MockRouter
) -> None:
    body = {
        "data": [
            {"id": "1860000000000000003", "text": "no date"},
            {"id": 1860000000000000002, "text": "int id", "created_at": "garbage"},
        ],
        "meta": {"result_count": 2},
    }
    api.get(f"/2/users/{BRAND_ID}/tweets").respond(200, json=body)
    found = client.discover("brand", since_id=None)
    assert [p.post_id for p in found.posts] == ["1860000000000000003", "1860000000000000002"]
    assert found.posts[0].created_at == post_created_at("1860000000000000003")
    assert found.posts[1].created_at == post_created_at("1860000000000000002")


def test_discover_errors_only_200_is_rejected(client: XClient, api: respx.MockRouter) -> None:
    body = {
        "errors": [
            {
                "value": BRAND_ID,
                "detail": f"Could not find user with id: [{BRAND_ID}].",
                "title": "Not Found Error",
                "resource_type": "user",
                "type": "https://api.twitter.com/2/problems/resource-not-found",
            }
        ]
    }
    api.get(f"/2/users/{BRAND_ID}/tweets").respond(200, json=body)
    with pytest.raises(RequestRejected, match="Could not find user") as info:
        client.discover("brand", since_id=None)
    assert "brand" in str(info.value)
    assert info.value.retryable is False


@pytest.mark.parametrize(
    ("response", "match"),
    [
        (httpx.Response(200, text="<html>oops</html>"), "not JSON"),
        (httpx.Response(200, text="[" * 5000), "nested too deeply"),
        (httpx.Response(200, json=["not", "an", "object"]), "not a JSON object"),
        (httpx.Response(200, json={"data": {"id": "1"}}), "'data' is not a list"),
        (httpx.Response(200, json={"data": [{"text": "no id"}]}), "without a valid 'id'"),
        (httpx.Response(200, json={"data": [{"id": "12ab"}]}), "without a valid 'id'"),
    ],
)
def test_discover_malformed_bodies(
    client: XClient, api: respx.MockRouter, response: httpx.Response, match: str
) -> None:
    api.get(f"/2/users/{BRAND_ID}/tweets").mock(return_value=response)
    with pytest.raises(MalformedResponse, match=match) as info:
        client.discover("brand", since_id=None)
    assert str(info.value).startswith("timeline of brand: ")
    assert info.value.retryable is True


def test_discover_failures_are_typed(client: XClient, api: respx.MockRouter) -> None:
    url = f"/2/users/{BRAND_ID}/tweets"
    api.get(url).mock(
        side_effect=[
            httpx.Response(401, json=problem(401, "Unauthorized", "Unauthorized")),
            httpx.Response(503, text="over capacity"),
            httpx.Response(429, headers={"x-rate-limit-reset": str(int(NOW) + 90)}),
        ]
    )
    with pytest.raises(AuthFailed, match="timeline of brand: X answered 401"):
        client.discover("brand", since_id=None)
    with pytest.raises(ServerFailed, match="503"):
        client.discover("brand", since_id=None)
    with pytest.raises(RateLimited) as info:
        client.discover("brand", since_id=None)
    assert info.value.retry_after == pytest.approx(90)


def unknown_parameter(name: str) -> httpx.Response:
    """X's answer to a query parameter it does not know."""
    error = {"parameters": {name: ["created_at"]}, "message": f"The query parameter [{name}] is"}
    return httpx.Response(400, json={"errors": [error], "title": "Invalid Request", "type": "x"})


def test_discover_asks_once_more_only_for_the_other_name_of_the_fields_parameter(
    client: XClient, api: respx.MockRouter
) -> None:
    route = api.get(f"/2/users/{BRAND_ID}/tweets").mock(
        side_effect=[
            unknown_parameter("tweet.fields"),
            unknown_parameter("post.fields"),
            unknown_parameter("since_id"),
            unknown_parameter("post.fields"),
            httpx.Response(200, json=timeline_page([POST])),
        ]
    )
    with pytest.raises(RequestRejected, match="400"):  # neither name: no third try
        client.discover("brand", since_id=None)
    with pytest.raises(RequestRejected, match="400"):  # another parameter: no retry
        client.discover("brand", since_id=None)
    assert [p.post_id for p in client.discover("brand", since_id=None).posts] == [POST]
    sent = [k for c in route.calls for k in c.request.url.params if k.endswith(".fields")]
    assert sent == ["tweet.fields", "post.fields", "post.fields", "post.fields", "tweet.fields"]


def test_an_error_body_nested_too_deeply_is_shown_as_text(
    client: XClient, api: respx.MockRouter
) -> None:
    api.get(f"/2/users/{BRAND_ID}/tweets").respond(503, text="[" * 5000)
    with pytest.raises(ServerFailed, match=r"503.*\[\[\["):
        client.discover("brand", since_id=None)


def test_discover_unknown_account_and_bad_since_id(client: XClient) -> None:
    with pytest.raises(AuthFailed, match="no account 'nobody' in the config"):
        client.discover("nobody", since_id=None)
    with pytest.raises(RequestRejected, match="not a post ID"):
        client.discover("brand", since_id="latest")


# --- writes: success shapes -----------------------------------------------------------------


def oauth_params(request: httpx.Request) -> dict[str, str]:
    header = request.headers["Authorization"]
    assert header.startswith("OAuth ")
    pairs = [p.strip().split("=", 1) for p in header[len("OAuth ") :].split(",")]
    return {k: v.strip('"') for k, v in pairs}


def test_repost_signs_as_the_acting_account(client: XClient, api: respx.MockRouter) -> None:
    route = api.post(f"/2/users/{SUPPORT_ID}/retweets").respond(
        200, json={"data": {"retweeted": True}}
    )
    result = client.repost("support", POST)
    assert result == WriteResult(done=True, already=False, detail="reposted", post_id=None)
    request = route.calls.last.request
    assert json.loads(request.content) == {"tweet_id": POST}
    assert request.headers["Content-Type"] == "application/json"
    header = request.headers["Authorization"]
    assert 'oauth_token="222-support-access-token"' in header
    params = oauth_params(request)
    assert params["oauth_consumer_key"] == APP.consumer_key.reveal()
    assert params["oauth_signature_method"] == "HMAC-SHA1"
    assert params["oauth_signature"]
    # The secrets sign the request; they are never sent.
    for secret in (APP.consumer_secret, *(a.access_token_secret for a in ACCOUNTS.values())):
        assert secret.reveal() not in header
    assert APP.bearer_token.reveal() not in header


def test_an_account_whose_tokens_are_not_set_here_fails_only_when_it_acts(
    clock: Clock, limits: WriteLimits, api: respx.MockRouter
) -> None:
    unset = Secret.unset("${SUPPORT_TOKEN}", "${SUPPORT_TOKEN} is not set")
    accounts = {**ACCOUNTS, "support": Account("support", SUPPORT_ID, unset, unset)}
    api.post(f"/2/users/{BRAND_ID}/retweets").respond(200, json={"data": {"retweeted": True}})
    with HttpClient() as http:
        client = XClient(
            http,
            settings=ApiSettings(base_url=BASE, timeout=5.0),
            app=APP,
            accounts=accounts,
            limits=limits,
            clock=clock,
        )
        assert client.repost("brand", POST).done
        with pytest.raises(ConfigError, match="SUPPORT_TOKEN"):
            client.repost("support", POST)


def test_repost_with_rest_id(client: XClient, api: respx.MockRouter) -> None:
    api.post(f"/2/users/{BRAND_ID}/retweets").respond(
        200, json={"data": {"retweeted": True, "rest_id": "1870000000000000001"}}
    )
    result = client.repost("brand", POST)
    assert result.done and not result.already
    assert result.post_id == "1870000000000000001"


def test_like_success(client: XClient, api: respx.MockRouter) -> None:
    route = api.post(f"/2/users/{BRAND_ID}/likes").respond(200, json={"data": {"liked": True}})
    assert client.like("brand", POST) == WriteResult(True, False, "liked", None)
    assert json.loads(route.calls.last.request.content) == {"tweet_id": POST}
    assert (
        'oauth_token="111-brand-access-token"' in route.calls.last.request.headers["Authorization"]
    )


@pytest.mark.parametrize(
    ("method", "expected_body"),
    [
        ("reply", {"text": "Thanks!", "reply": {"in_reply_to_tweet_id": POST}}),
        ("quote", {"text": "Thanks!", "quote_tweet_id": POST}),
    ],
)
def test_reply_and_quote_create_a_post(
    client: XClient, api: respx.MockRouter, method: str, expected_body: dict
) -> None:
    route = api.post("/2/tweets").respond(
        201, json={"data": {"id": "1870000000000000002", "text": "Thanks!"}}
    )
    result = getattr(client, method)("support", POST, "Thanks!")
    assert result.done and not result.already
    assert result.post_id == "1870000000000000002"
    request = route.calls.last.request
    assert json.loads(request.content) == expected_body
    assert 'oauth_token="222-support-access-token"' in request.headers["Authorization"]


# --- writes: already done -------------------------------------------------------------------


def test_repost_already_done_both_ways(client: XClient, api: respx.MockRouter) -> None:
    route = api.post(f"/2/users/{BRAND_ID}/retweets").mock(
        side_effect=[
            httpx.Response(200, json={"data": {"retweeted": True}}),
            httpx.Response(200, json={"data": {"retweeted": True}}),
            httpx.Response(
                403,
                json=problem(403, "Forbidden", "You have already retweeted this Tweet."),
                headers={"content-type": "application/problem+json"},
            ),
            httpx.Response(
                403, json={"errors": [{"code": 327, "message": "You have already retweeted"}]}
            ),
            httpx.Response(403, json={"errors": [{"code": 327, "message": "(no text)"}]}),
        ]
    )
    first, second, third, fourth, fifth = (client.repost("brand", POST) for _ in range(5))
    assert first.done and second.done
    assert third.done and third.already and "already retweeted" in third.detail
    assert fourth.done and fourth.already
    assert fifth.done and fifth.already
    assert route.call_count == 5


def test_like_already_done_v1_code(client: XClient, api: respx.MockRouter) -> None:
    api.post(f"/2/users/{BRAND_ID}/likes").respond(
        403, json={"errors": [{"code": 139, "message": "You have already favorited this status."}]}
    )
    result = client.like("brand", POST)
    assert result.done and result.already


def test_already_done_is_read_in_any_case(client: XClient, api: respx.MockRouter) -> None:
    api.post(f"/2/users/{BRAND_ID}/likes").respond(
        403, json=problem(403, "Forbidden", "You have Already Liked this post.")
    )
    result = client.like("brand", POST)
    assert result.done and result.already


@pytest.mark.parametrize("method", ["reply", "quote"])
def test_duplicate_content_counts_as_done(
    client: XClient, api: respx.MockRouter, method: str
) -> None:
    api.post("/2/tweets").respond(
        403,
        json={
            "detail": "You are not allowed to create a Tweet with duplicate content.",
            "type": "about:blank",
            "title": "Forbidden",
            "status": 403,
        },
    )
    result = getattr(client, method)("brand", POST, "same text")
    assert result.done and result.already
    assert result.post_id is None
    assert "duplicate content" in result.detail


# --- writes: failures -----------------------------------------------------------------------


FAILURES = [
    pytest.param(
        httpx.Response(401, json=problem(401, "Unauthorized", "Unauthorized")),
        AuthFailed,
        "X answered 401 (Unauthorized: Unauthorized)",
        id="401-problem",
    ),
    pytest.param(
        httpx.Response(
            403,
            json=problem(
                403,
                "Client Forbidden",
                "This request must be made using an approved developer account.",
                "https://api.twitter.com/2/problems/client-forbidden",
            ),
        ),
        AuthFailed,
        "approved developer account",
        id="403-client-forbidden",
    ),
    pytest.param(
        httpx.Response(
            403, json={"errors": [{"code": 89, "message": "Invalid or expired token."}]}
        ),
        AuthFailed,
        "403 (Invalid or expired token.); check the credentials",
        id="403-v1-expired-token",
    ),
    pytest.param(
        httpx.Response(
            403, json=problem(403, "Forbidden", "You are not permitted to perform this action.")
        ),
        RequestRejected,
        "403 (Forbidden: You are not permitted to perform this action.)",
        id="403-other",
    ),
    pytest.param(
        httpx.Response(
            404,
            json=problem(
                404,
                "Not Found Error",
                "Could not find tweet with id: [1].",
                "https://api.twitter.com/2/problems/resource-not-found",
            ),
        ),
        RequestRejected,
        "404 (Not Found Error: Could not find tweet",
        id="404-problem",
    ),
    pytest.param(
        httpx.Response(400, json={"errors": [{"message": "bad"}], "title": "Invalid Request"}),
        RequestRejected,
        "400 (Invalid Request: bad)",
        id="400-v2-errors",
    ),
    pytest.param(
        httpx.Response(500, text="Internal Server Error"),
        ServerFailed,
        "500 (Internal Server Error)",
        id="500",
    ),
    pytest.param(
        httpx.Response(503, json=problem(503, "Service Unavailable", "Over capacity")),
        ServerFailed,
        "503",
        id="503-problem",
    ),
    pytest.param(
        httpx.Response(200, text="{truncated"), MalformedResponse, "not JSON", id="200-not-json"
    ),
    pytest.param(
        httpx.Response(200, json={"data": {"retweeted": False}}),
        MalformedResponse,
        "without retweeted=true",
        id="200-retweeted-false",
    ),
    pytest.param(
        httpx.Response(200, json={"errors": [{"message": "?"}]}),
        MalformedResponse,
        "without a 'data' object",
        id="200-no-data",
    ),
    pytest.param(
        httpx.Response(302, headers={"location": "https://x.com/"}),
        MalformedResponse,
        "unexpected status",
        id="302",
    ),
]


@pytest.mark.parametrize(("response", "error", "match"), FAILURES)
def test_repost_failures_are_typed_and_name_the_account(
    client: XClient,
    api: respx.MockRouter,
    response: httpx.Response,
    error: type[ApiError],
    match: str,
) -> None:
    api.post(f"/2/users/{SUPPORT_ID}/retweets").mock(return_value=response)
    with pytest.raises(error) as info:
        client.repost("support", POST)
    exc = info.value
    assert type(exc) is error
    assert match in str(exc)
    assert str(exc).startswith(f"repost of {POST} as support: ")
    assert exc.retryable is error.retryable
    assert_no_secret(exc)


def test_reply_without_new_id_is_malformed(client: XClient, api: respx.MockRouter) -> None:
    api.post("/2/tweets").respond(201, json={"data": {"text": "hi"}})
    with pytest.raises(MalformedResponse, match="without the new post's id"):
        client.reply("brand", POST, "hi")


def test_like_liked_false_is_malformed(client: XClient, api: respx.MockRouter) -> None:
    api.post(f"/2/users/{BRAND_ID}/likes").respond(200, json={"data": {"liked": False}})
    with pytest.raises(MalformedResponse, match="without liked=true"):
        client.like("brand", POST)


def test_v1_style_429_without_headers_waits_a_minute(
    client: XClient, api: respx.MockRouter, clock: Clock
) -> None:
    route = api.post(f"/2/users/{BRAND_ID}/likes").respond(
        429, json={"errors": [{"code": 88, "message": "Rate limit exceeded"}]}
    )
    with pytest.raises(RateLimited, match="Rate limit exceeded") as info:
        client.like("brand", POST)
    assert info.value.retry_after == pytest.approx(60)
    assert info.value.status == 429
    assert "like of" in str(info.value) and "as brand" in str(info.value)
    assert_no_secret(info.value)
    # The endpoint is blocked locally until then: no request is spent on a known 429.
    with pytest.raises(RateLimited):
        client.like("brand", POST)
    assert route.call_count == 1
    clock.now += 61
    with pytest.raises(RateLimited):
        client.like("brand", POST)
    assert route.call_count == 2


def test_429_honours_x_rate_limit_reset(
    client: XClient, api: respx.MockRouter, clock: Clock
) -> None:
    reset = int(NOW) + 600
    route = api.post("/2/tweets").respond(
        429,
        json=problem(429, "Too Many Requests", "Too Many Requests"),
        headers={"x-rate-limit-remaining": "0", "x-rate-limit-reset": str(reset)},
    )
    with pytest.raises(RateLimited) as info:
        client.quote("brand", POST, "wow")
    assert info.value.retry_after == pytest.approx(600)
    with pytest.raises(RateLimited) as local:
        client.reply("brand", POST, "wow")
    assert local.value.retry_after == pytest.approx(600)
    assert local.value.status is None
    assert route.call_count == 1


def test_429_honours_retry_after_seconds(client: XClient, api: respx.MockRouter) -> None:
    api.post(f"/2/users/{BRAND_ID}/retweets").respond(429, headers={"retry-after": "42"})
    with pytest.raises(RateLimited) as info:
        client.repost("brand", POST)
    assert info.value.retry_after == pytest.approx(42)


def test_remaining_zero_on_success_blocks_until_reset(
    client: XClient, api: respx.MockRouter, clock: Clock
) -> None:
    route = api.post(f"/2/users/{BRAND_ID}/retweets").respond(
        200,
        json={"data": {"retweeted": True}},
        headers={"x-rate-limit-remaining": "0", "x-rate-limit-reset": str(int(NOW) + 300)},
    )
    assert client.repost("brand", POST).done
    with pytest.raises(RateLimited, match="server") as info:
        client.repost("brand", "1260294888811347970")
    assert info.value.retry_after == pytest.approx(300)
    assert route.call_count == 1


def test_local_write_limit_stops_the_51st_repost(
    client: XClient, api: respx.MockRouter, clock: Clock
) -> None:
    route = api.post(f"/2/users/{BRAND_ID}/retweets").respond(
        200, json={"data": {"retweeted": True}}
    )
    for i in range(50):
        assert client.repost("brand", str(1_260_294_888_811_347_969 + i)).done
        clock.now += 1
    with pytest.raises(RateLimited, match="50 per 15m") as info:
        client.repost("brand", POST)
    assert info.value.retry_after == pytest.approx(NOW + 900 - clock.now)
    assert route.call_count == 50
    # Another account has its own window.
    api.post(f"/2/users/{SUPPORT_ID}/retweets").respond(200, json={"data": {"retweeted": True}})
    assert client.repost("support", POST).done


@pytest.mark.parametrize(
    "exc", [httpx.ReadTimeout("read timed out"), httpx.ConnectError("connection refused")]
)
def test_transport_errors_are_retryable_and_name_the_account(
    client: XClient, api: respx.MockRouter, exc: Exception
) -> None:
    api.post("/2/tweets").mock(side_effect=exc)
    with pytest.raises(TransportFailed) as info:
        client.reply("support", POST, "hello")
    assert info.value.retryable is True
    assert str(info.value).startswith(f"reply to {POST} as support: POST {BASE}/2/tweets")
    assert_no_secret(info.value)


def test_write_rejects_bad_input_without_sending(client: XClient, api: respx.MockRouter) -> None:
    route = api.post(f"/2/users/{BRAND_ID}/retweets")
    with pytest.raises(RequestRejected, match="'12x' is not a post ID"):
        client.repost("brand", "12x")
    with pytest.raises(AuthFailed, match="no account 'ghost' in the config") as info:
        client.like("ghost", POST)
    assert "brand, support" in str(info.value)
    assert not route.called
    route.respond(200, json={"data": {"retweeted": True}})
    client.repost("brand", POST)  # keeps assert_all_called honest


@pytest.mark.parametrize(
    "answer",
    [
        lambda header: httpx.Response(403, text=f"denied: {header}"),
        lambda header: httpx.Response(400, json={"title": "Invalid Request", "detail": header}),
        lambda header: httpx.Response(502, text=f"proxy error for {header}"),
        lambda header: httpx.Response(
            200, json={"data": {"retweeted": False, "a": header.partition("oauth_consumer")[2]}}
        ),
    ],
    ids=["403 text", "400 problem", "502 proxy", "200 malformed"],
)
def test_an_answer_quoting_the_request_back_names_no_credential(
    client: XClient, api: respx.MockRouter, answer: Callable[[str], httpx.Response]
) -> None:
    """A proxy or an API error quoting the OAuth header (consumer key, access token)
    reaches outbox.last_error, logs and the dashboard through the error: it says ***."""
    route = api.post(f"/2/users/{SUPPORT_ID}/retweets").mock(
        side_effect=lambda request: answer(request.headers["Authorization"])
    )
    with pytest.raises(ApiError) as info:
        client.repost("support", POST)
    assert "222-support-access-token" in route.calls.last.request.headers["Authorization"]
    assert "***" in str(info.value)
    assert_no_secret(info.value)

"""EngagementClient tests.

Two kinds:

- contract tests take the ``api`` fixture: a base URL, credentials, which posts exist and
  who owns them, an optional in-process transport, and the log of requests the API saw.
  They run twice: against ``FakeEngagementApi`` served through respx, and against the
  sandbox on 127.0.0.1 (``sandbox_api``), so the client and the sandbox agree;
- canned tests use respx routes with the exact bodies and statuses of reference §4.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import hmac
import json
import random
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, unquote, urlsplit

import httpx
import pytest
import respx
from clock import Clock
from hypothesis import given, settings
from hypothesis import strategies as st
from sandbox_api import START, SandboxTarget, public_user_id

from automation.config.model import Account, ApiSettings, AppCredentials
from automation.config.secret import Secret
from automation.core import metric_names as m
from automation.core.errors import (
    AuthFailed,
    MalformedResponse,
    RateLimited,
    RequestRejected,
    ServerFailed,
    TransportFailed,
)
from automation.core.metric_values import MetricValues, compact_totals
from automation.sandbox import credentials as sandbox_credentials
from automation.sandbox.app import SandboxApp
from automation.sandbox.clock import SimClock
from automation.sandbox.messages import Request
from automation.sandbox.options import Options
from automation.sandbox.transport import SandboxTransport
from automation.sandbox.world import World
from automation.x.engagement_client import Compact, EngagementClient, FetchResult
from automation.x.engagement_plan import (
    HOURLY_GROUP_BY,
    TOTALS_GROUPING,
    EngagementRequest,
    WatchedPost,
    plan_public_totals,
    plan_requests,
    request_json,
)
from automation.x.http import HttpClient
from automation.x.rate_budget import MemoryLedger, RateBudget

BASE = "https://data-api.x.com"
T0 = 1_700_000_000.0  # 2023-11-14T22:13:20Z
BIG = 1_700_000_000_000_000_000
ALL = frozenset(m.API_METRICS)

APP = AppCredentials(
    consumer_key=Secret("ck-3f9a1c77e2d04b58", "${X_CONSUMER_KEY}"),
    consumer_secret=Secret("cs-9d2e6a41b8c35f07d1e2", "${X_CONSUMER_SECRET}"),
    bearer_token=Secret("AAAAbearer-5e1d9c0b7a3f", "${X_BEARER_TOKEN}"),
)
ACCOUNTS = {
    "brand": Account(
        "brand", "111", Secret("111-tok-a8f3e2d1", "${BRAND_T}"), Secret("ts-b7c6d5e4f3", "${BT}")
    ),
    "support": Account(
        "support", "222", Secret("222-tok-c1d2e3f4", "${SUP_T}"), Secret("ts-a1b2c3d4e5", "${ST}")
    ),
}
SECRETS = [
    s.reveal()
    for s in (
        APP.consumer_key,
        APP.consumer_secret,
        APP.bearer_token,
        *(t for a in ACCOUNTS.values() for t in (a.access_token, a.access_token_secret)),
    )
]


@dataclass(frozen=True)
class Seen:
    """One request as the API received it."""

    at: float
    endpoint: str
    scheme: str  # "OAuth" or "Bearer"
    headers: dict[str, str]
    body: Any


@dataclass
class ApiTarget:
    base_url: str
    app: AppCredentials
    accounts: dict[str, Account]
    owned: dict[str, list[str]]
    public: list[str]
    seen: Callable[[], list[Seen]]  # requests received so far, oldest first
    value: Callable[[str, str], float]  # what the API reports for (post, metric) now
    transport: httpx.BaseTransport | None = None  # None: the base URL is mocked or real
    clients: list[HttpClient] = field(default_factory=list)  # closed when the test ends


def value(post_id: str, metric: str) -> float:
    """What the fake API reports: deterministic per post and metric."""
    return float(int(post_id) % 997 + len(metric))


# -- a small faithful fake of the Engagement API ---------------------------------------------


def oauth_signature(method: str, url: str, params: dict[str, str], cs: str, ts: str) -> str:
    parts = urlsplit(url)
    pairs = sorted(
        (quote(k, safe="~"), quote(v, safe="~"))
        for k, v in params.items()
        if k != "oauth_signature"
    )
    base_uri = f"{parts.scheme}://{parts.netloc}{parts.path}"
    normalized = "&".join(f"{k}={v}" for k, v in pairs)
    base = "&".join(quote(x, safe="~") for x in (method, base_uri, normalized))
    key = f"{quote(cs, safe='~')}&{quote(ts, safe='~')}"
    return base64.b64encode(hmac.new(key.encode(), base.encode(), hashlib.sha1).digest()).decode()


@dataclass
class FakeEngagementApi:
    clock: Clock
    owner: dict[str, str | None]  # post id -> account name (None: public)
    limit_per_minute: int = 1000
    log: list[Seen] = field(default_factory=list)

    def handle(self, request: httpx.Request) -> httpx.Response:
        endpoint = request.url.path.rsplit("/", 1)[-1]
        if "gzip" not in request.headers.get("Accept-Encoding", ""):
            return self._json(406, {"errors": ["This request requires gzip compression."]})
        account, error = self._authenticate(request)
        self.log.append(
            Seen(
                self.clock(),
                endpoint,
                request.headers.get("Authorization", "").split(" ")[0],
                dict(request.headers),
                json.loads(request.content or b"null"),
            )
        )
        if error:
            return self._json(401, {"errors": [error]})
        recent = [s for s in self.log if s.at > self.clock() - 60]
        if len(recent) > self.limit_per_minute:
            return self._json(429, {"errors": ["rate limit"]}, {"Retry-After": "60"})
        body = self.log[-1].body
        problem = self._check(endpoint, account, body)
        if problem:
            return self._json(400, {"errors": [problem]})
        out = self._answer(endpoint, account, body)
        headers = {
            "x-per-minute-limit": str(self.limit_per_minute),
            "x-per-minute-remaining": str(max(0, self.limit_per_minute - len(recent))),
        }
        return self._json(200, out, headers)

    def _authenticate(self, request: httpx.Request) -> tuple[str | None, str]:
        header = request.headers.get("Authorization", "")
        if header == f"Bearer {APP.bearer_token.reveal()}":
            return None, ""
        if not header.startswith("OAuth "):
            return (
                None,
                "Your account could not be authenticated. Reason: Unknown Authorization Type",
            )
        params = {k: unquote(v) for k, v in re.findall(r'(\w+)="([^"]*)"', header)}
        account = next(
            (a for a in ACCOUNTS.values() if a.access_token.reveal() == params.get("oauth_token")),
            None,
        )
        if account is None or params.get("oauth_consumer_key") != APP.consumer_key.reveal():
            return None, "Your account could not be authenticated. Reason: Access token not found"
        expected = oauth_signature(
            request.method,
            str(request.url),
            params,
            APP.consumer_secret.reveal(),
            account.access_token_secret.reveal(),
        )
        if params.get("oauth_signature") != expected:
            return None, "Your account could not be authenticated. Reason: bad signature"
        return account.name, ""

    def _check(self, endpoint: str, account: str | None, body: Any) -> str:
        ids = body.get("tweet_ids") if isinstance(body, dict) else None
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            return "tweet_ids must be an array of strings"
        if len(ids) > {"totals": 250, "28hr": 25, "historical": 25}[endpoint]:
            return "too many tweet_ids"
        allowed = m.TOTALS_METRICS if endpoint == "totals" else m.HOURLY_METRICS
        if account is None:
            allowed = m.PUBLIC_TOTALS_METRICS if endpoint == "totals" else frozenset()
        bad = [x for x in body["engagement_types"] if x not in allowed]
        return f"Forbidden to access metrics: {', '.join(bad)}" if bad else ""

    def _answer(self, endpoint: str, account: str | None, body: dict[str, Any]) -> dict[str, Any]:
        ((name, grouping),) = body["groupings"].items()
        ids, metrics = body["tweet_ids"], body["engagement_types"]
        gone = [i for i in ids if i not in self.owner]
        forbidden = [i for i in ids if i in self.owner and account and self.owner[i] != account]
        ok = [i for i in ids if i not in gone and i not in forbidden]
        out: dict[str, Any] = {}
        errors = []
        if gone:
            out["unavailable_tweet_ids"] = gone
            errors.append(f"{len(gone)} Tweet ID(s) are unavailable")
        if forbidden:
            errors.append(f"Forbidden to access tweets: {','.join(forbidden)}")
        if errors:
            out["errors"] = errors
        if len(grouping["group_by"]) == 2:
            out[name] = {i: {x: str(int(value(i, x))) for x in metrics} for i in ok}
            return out
        end = datetime.fromtimestamp(self.clock(), UTC).replace(minute=0, second=0, microsecond=0)
        hours = [end - timedelta(hours=h) for h in range(28, -1, -1)]
        out[name] = {i: {x: _days(hours, _counter(int(value(i, x)))) for x in metrics} for i in ok}
        return out

    @staticmethod
    def _json(status: int, data: Any, headers: dict[str, str] | None = None) -> httpx.Response:
        return httpx.Response(
            status,
            stream=httpx.ByteStream(gzip.compress(json.dumps(data).encode())),
            headers={
                "Content-Type": "application/json",
                "Content-Encoding": "gzip",
                **(headers or {}),
            },
        )


def _counter(base: int) -> Callable[[datetime], str]:
    return lambda h: str(base + h.hour)


def _days(hours: Sequence[datetime], count: Callable[[datetime], str]) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    for h in hours:
        out.setdefault(h.strftime("%Y-%m-%d"), {})[h.strftime("%H")] = count(h)
    return out


# -- fixtures ----------------------------------------------------------------------------------


@pytest.fixture
def clock() -> Clock:
    return Clock(T0)


OWNED = {
    "brand": [str(BIG + i) for i in range(260)],
    "support": [str(BIG + 10_000 + i) for i in range(3)],
}
PUBLIC = [str(BIG + 50_000 + i) for i in range(4)]


@pytest.fixture(params=["respx", "sandbox"])
def api(request: pytest.FixtureRequest, clock: Clock) -> Iterator[ApiTarget]:
    if request.param == "sandbox":
        yield from sandbox_api(clock)
        return
    owner: dict[str, str | None] = {i: a for a, ids in OWNED.items() for i in ids}
    owner.update(dict.fromkeys(PUBLIC))
    fake = FakeEngagementApi(clock, owner)
    with respx.mock(assert_all_called=False) as mock:
        mock.post(url__regex=rf"^{re.escape(BASE)}/insights/engagement/").mock(
            side_effect=fake.handle
        )
        yield ApiTarget(BASE, APP, dict(ACCOUNTS), OWNED, PUBLIC, lambda: list(fake.log), value)


SANDBOX_APP = AppCredentials(
    consumer_key=Secret(sandbox_credentials.CONSUMER_KEY, "${X_CONSUMER_KEY}"),
    consumer_secret=Secret(sandbox_credentials.CONSUMER_SECRET, "${X_CONSUMER_SECRET}"),
    bearer_token=Secret(sandbox_credentials.BEARER_TOKEN, "${X_BEARER_TOKEN}"),
)
SANDBOX_ACCOUNTS = {
    a.name: Account(
        a.name,
        a.user_id,
        Secret(a.access_token, f"${{{a.name.upper()}_T}}"),
        Secret(a.access_token_secret, f"${{{a.name.upper()}_TS}}"),
    )
    for a in sandbox_credentials.ACCOUNTS
}
SECRETS += [
    sandbox_credentials.CONSUMER_SECRET,
    *(a.access_token_secret for a in sandbox_credentials.ACCOUNTS),
]


def sandbox_api(clock: Clock) -> Iterator[ApiTarget]:
    """The same posts as the fake's (260 brand, 3 support, 4 public), in a real sandbox."""
    target = SandboxTarget(clock).start()
    try:
        age = timedelta(hours=3)
        owned = {
            name: target.add_posts(SANDBOX_ACCOUNTS[name].user_id, len(ids), age=age)
            for name, ids in OWNED.items()
        }
        public = target.add_posts(public_user_id(), len(PUBLIC), age=age)

        def seen() -> list[Seen]:
            return [
                Seen(r.at, r.path.rsplit("/", 1)[-1], r.scheme, r.headers, r.body)
                for r in target.received
                if r.path.startswith("/insights/engagement/")
            ]

        api = ApiTarget(
            target.base_url, SANDBOX_APP, dict(SANDBOX_ACCOUNTS), owned, public, seen, target.value
        )
        yield api
        for http in api.clients:  # real sockets: close them before the server goes
            http.close()
    finally:
        target.stop()


def make_client(
    target: ApiTarget | None,
    clock: Clock,
    *,
    limit: int = 60,
    ledger: MemoryLedger | None = None,
    accounts: dict[str, Account] | None = None,
    max_attempts: int = 4,
    on_wait: Callable[[float, str], None] | None = None,
) -> EngagementClient:
    http = HttpClient(transport=target.transport if target else None)
    if target is not None:
        target.clients.append(http)
    return EngagementClient(
        http,
        settings=ApiSettings(
            base_url=target.base_url if target else BASE, requests_per_minute=limit
        ),
        app=target.app if target else APP,
        accounts=accounts if accounts is not None else (target.accounts if target else ACCOUNTS),
        budget=RateBudget(limit, clock=clock, ledger=ledger),
        sleep=clock.sleep,
        max_attempts=max_attempts,
        rng=random.Random(1),
        on_wait=on_wait,
    )


def watched(target: ApiTarget, *, public: bool = True) -> list[WatchedPost]:
    posts = [WatchedPost(i, a) for a, ids in target.owned.items() for i in ids]
    return posts + ([WatchedPost(i, None) for i in target.public] if public else [])


def assert_no_secret(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text


# -- contract tests --------------------------------------------------------------------------


def test_owned_and_public_totals_with_the_fewest_requests(api: ApiTarget, clock: Clock) -> None:
    plan = plan_requests(
        watched(api), totals_metrics=ALL, hourly_posts=(), hourly_metrics=frozenset()
    )
    result = make_client(api, clock).fetch(plan)
    assert result.failures == ()
    seen = api.seen()
    assert len(seen) == len(plan) == 4  # brand 250 + 10, support 3, public 4
    assert result.requests_sent == 4
    for post in watched(api):
        got = result.totals[post.post_id]
        wanted = m.TOTALS_METRICS if post.account else m.PUBLIC_TOTALS_METRICS
        assert dict(got) == {x: api.value(post.post_id, x) for x in wanted}
    assert result.forbidden == frozenset() and result.unavailable == frozenset()


def test_owned_requests_sign_with_oauth_and_public_ones_use_bearer(
    api: ApiTarget, clock: Clock
) -> None:
    plan = plan_requests(
        watched(api), totals_metrics=ALL, hourly_posts=(), hourly_metrics=frozenset()
    )
    make_client(api, clock).fetch(plan)
    schemes = [(s.scheme, set(s.body["tweet_ids"]) <= set(api.public)) for s in api.seen()]
    assert schemes == [("OAuth", False), ("OAuth", False), ("OAuth", False), ("Bearer", True)]
    for seen in api.seen():
        assert seen.headers["accept-encoding"] == "gzip"
        assert seen.headers["content-type"] == "application/json"
        assert all(isinstance(i, str) for i in seen.body["tweet_ids"])


def test_hourly_series_for_owned_posts(api: ApiTarget, clock: Clock) -> None:
    posts = api.owned["support"]
    plan = plan_requests(
        [WatchedPost(i, "support") for i in posts],
        totals_metrics=frozenset(),
        hourly_posts=posts,
        hourly_metrics=frozenset({"impressions", "url_clicks"}),
    )
    result = make_client(api, clock).fetch(plan)
    assert [s.endpoint for s in api.seen()] == ["28hr"]
    series = result.hourly[posts[0]]["url_clicks"]
    assert len(series.buckets) == 29
    times = [t for t, _ in series.buckets]
    assert times == sorted(times) and times[-1] - times[0] == timedelta(hours=28)
    assert series.read_at == datetime.fromtimestamp(clock(), UTC)


def test_posts_not_owned_by_the_account_are_reread_as_public(api: ApiTarget, clock: Clock) -> None:
    mine, theirs = api.owned["brand"][:2], api.public[:2]
    other = api.owned["support"][0]
    posts = [WatchedPost(i, "brand") for i in [*mine, *theirs, other]]
    plan = plan_requests(posts, totals_metrics=ALL, hourly_posts=(), hourly_metrics=frozenset())
    result = make_client(api, clock).fetch(plan)
    assert result.failures == ()
    assert result.forbidden == {*theirs, other}
    for i in [*theirs, other]:
        assert dict(result.totals[i]) == {x: api.value(i, x) for x in m.PUBLIC_TOTALS_METRICS}
    assert set(result.totals[mine[0]]) == m.TOTALS_METRICS
    assert [s.scheme for s in api.seen()] == ["OAuth", "Bearer"]
    assert sorted(api.seen()[1].body["tweet_ids"]) == sorted([*theirs, other])


def test_deleted_posts_come_back_unavailable(api: ApiTarget, clock: Clock) -> None:
    posts = [WatchedPost(api.owned["brand"][0], "brand"), WatchedPost("999", "brand")]
    plan = plan_requests(posts, totals_metrics=ALL, hourly_posts=(), hourly_metrics=frozenset())
    result = make_client(api, clock).fetch(plan)
    assert result.unavailable == {"999"}
    assert api.owned["brand"][0] in result.totals


def test_budget_is_never_exceeded(api: ApiTarget, clock: Clock) -> None:
    posts = [WatchedPost(i, "brand") for i in api.owned["brand"]]
    plan = plan_requests(posts, totals_metrics=ALL, hourly_posts=(), hourly_metrics=frozenset())
    ledger = MemoryLedger()
    client = make_client(api, clock, limit=3, ledger=ledger)
    waits = []
    for _ in range(4):  # 4 polls of 2 requests against a budget of 3 a minute
        result = client.fetch(plan)
        assert result.failures == ()
        waits.append(result.budget_wait)
    times = [s.at for s in api.seen()]
    assert len(times) == 8
    assert max(sum(1 for u in times if t <= u < t + 60) for t in times) == 3
    # each fetch says how long it waited for the budget, and only that fetch's waits
    assert waits[0] == 0 and sum(waits) > 0
    assert sum(waits) == pytest.approx(sum(clock.sleeps))
    # A second process sharing the ledger waits for the same minute.
    later = make_client(api, clock, limit=3, ledger=ledger)
    later.fetch(plan[:1])
    assert api.seen()[-1].at >= times[-3] + 60


def test_wrong_tokens_fail_without_leaking_them(api: ApiTarget, clock: Clock) -> None:
    bad = {
        "brand": Account(
            "brand", "111", Secret("111-wrong-99887766", "${BRAND_T}"), Secret("x" * 12, "${BT}")
        )
    }
    plan = plan_requests(
        [WatchedPost(api.owned["brand"][0], "brand"), WatchedPost(api.public[0], None)],
        totals_metrics=ALL,
        hourly_posts=(),
        hourly_metrics=frozenset(),
    )
    result = make_client(api, clock, accounts=bad).fetch(plan)
    (failure,) = result.failures
    assert isinstance(failure, AuthFailed) and not failure.retryable
    assert "brand" in str(failure)
    assert_no_secret(str(failure))
    assert "111-wrong-99887766" not in str(failure)
    assert api.public[0] in result.totals  # the other request still counts
    assert len(api.seen()) == 2  # not retried


# -- canned responses (reference §4) ----------------------------------------------------------


TOTALS_URL = f"{BASE}/insights/engagement/totals"
REQ = EngagementRequest("totals", "brand", ("1", "2", "3"), ("impressions", "favorites"))
PUB = EngagementRequest("totals", None, ("1", "2", "3"), ("favorites",))


def respond(status: int, data: Any = None, headers: dict[str, str] | None = None) -> httpx.Response:
    if isinstance(data, bytes):  # a stream, so that a Content-Encoding reaches the client
        return httpx.Response(status, stream=httpx.ByteStream(data), headers=headers)
    return httpx.Response(status, json=data if data is not None else {}, headers=headers)


def canned(
    clock: Clock,
    responses: Sequence[Any],
    requests: Sequence[EngagementRequest] = (REQ,),
    compact: Compact | None = None,
    on_wait: Callable[[float, str], None] | None = None,
) -> tuple[FetchResult, respx.Route]:
    with respx.mock(assert_all_called=True) as mock:
        route = mock.post(TOTALS_URL).mock(side_effect=list(responses))
        result = make_client(None, clock, on_wait=on_wait).fetch(requests, compact)
    return result, route


def per(data: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return {TOTALS_GROUPING: data}


def test_errors_inside_a_200_are_part_of_the_result(clock: Clock) -> None:
    body = {
        "errors": ["Your account could not be authenticated. Reason: Access token not found"],
        **per({"1": {"favorites": "4"}}),
    }
    result, route = canned(clock, [respond(200, body)])
    assert result.failures == ()
    assert result.errors == tuple(body["errors"]) and result.totals["1"]["favorites"] == 4.0
    assert route.call_count == 1


def test_numbers_as_counts_and_unavailable_ids(clock: Clock) -> None:
    body = {
        "errors": ["1 Tweet ID(s) are unavailable"],
        "unavailable_tweet_ids": ["3"],
        **per({"1": {"favorites": 67, "impressions": "5"}, "2": {"favorites": 26}}),
    }
    result, _ = canned(clock, [respond(200, body)])
    assert result.unavailable == {"3"}
    assert dict(result.totals["1"]) == {"favorites": 67.0, "impressions": 5.0}


def test_both_unsupported_lists_drop_the_unknowable_metrics(clock: Clock) -> None:
    body = {
        "unsupported_for_impressions_engagements_tweet_ids": ["1"],
        "unsupported_for_video_views_tweet_ids": ["2"],
        **per({"1": {"favorites": "1", "impressions": "0"}, "2": {"video_views": "0"}}),
    }
    result, _ = canned(clock, [respond(200, body)])
    assert dict(result.totals["1"]) == {"favorites": 1.0}
    assert dict(result.totals["2"]) == {}
    assert result.unsupported["impressions"] == {"1"} == result.unsupported["engagements"]
    assert result.unsupported["video_views"] == {"2"}


def test_a_post_answered_by_two_requests_keeps_both_answers_read_only(clock: Clock) -> None:
    first = EngagementRequest("totals", "brand", ("1", "2"), ("impressions", "favorites"))
    second = EngagementRequest("totals", "brand", ("2", "3"), ("impressions", "favorites"))
    answers = [
        respond(200, per({"1": {"favorites": "1"}, "2": {"favorites": "2", "impressions": "9"}})),
        respond(200, per({"2": {"impressions": "20"}, "3": {"favorites": "3"}})),
    ]
    result, route = canned(clock, answers, [first, second])
    assert route.call_count == 2
    assert {pid: dict(v) for pid, v in result.totals.items()} == {
        "1": {"favorites": 1.0},
        "2": {"favorites": 2.0, "impressions": 20.0},  # the later answer wins a metric
        "3": {"favorites": 3.0},
    }
    for values in result.totals.values():
        with pytest.raises(TypeError):
            values["favorites"] = 0.0  # type: ignore[index]
    with pytest.raises(TypeError):
        result.totals["4"] = {}  # type: ignore[index]


def test_answers_compacted_as_they_arrive_read_as_the_answers_themselves(clock: Clock) -> None:
    requests = [
        EngagementRequest("totals", "brand", ("1", "2"), ("impressions", "favorites")),
        EngagementRequest("totals", "brand", ("2", "3"), ("impressions", "favorites")),
        EngagementRequest("totals", None, ("4", "5"), ("favorites",)),
    ]
    answers = [
        {"1": {"favorites": "1", "impressions": "7"}, "2": {"favorites": "2", "impressions": "9"}},
        {"2": {"impressions": "20"}, "3": {"favorites": "3"}},
        {"4": {"favorites": "0"}, "5": {"favorites": "12345678901"}},
    ]
    plain, _ = canned(clock, [respond(200, per(a)) for a in answers], requests)
    given: list[list[str]] = []

    def compact(totals: Mapping[str, Mapping[str, float]]) -> Mapping[str, Mapping[str, float]]:
        given.append(list(totals))
        return compact_totals(totals)

    kept, _ = canned(clock, [respond(200, per(a)) for a in answers], requests, compact)
    assert given == [list(a) for a in answers]  # each answer once, as it arrived
    assert list(kept.totals) == list(plain.totals)
    for pid, values in plain.totals.items():
        assert list(kept.totals[pid].items()) == list(values.items())
    # what a post answered twice keeps is merged from both, and compacted once more
    assert {p for p, v in kept.totals.items() if type(v) is not MetricValues} == {"2"}
    last = compact_totals(kept.totals)
    assert all(type(v) is MetricValues for v in last.values())
    assert all(last[p] is v for p, v in kept.totals.items() if type(v) is MetricValues)
    assert {p: list(v.items()) for p, v in last.items()} == {
        p: list(v.items()) for p, v in plain.totals.items()
    }


@pytest.mark.parametrize(
    "message",
    ["Forbidden to access tweets: 2,3", "Forbidden to access tweets for author id 9876: 2,3"],
)
@pytest.mark.parametrize("status", [200, 403])
def test_forbidden_posts_are_fetched_again_as_public(
    clock: Clock, message: str, status: int
) -> None:
    refused = {"errors": [message], **(per({"1": {"favorites": "1"}}) if status == 200 else {})}
    responses = [respond(status, refused)]
    if status == 403:  # whole request rejected: the owned post is asked again alone
        responses.append(respond(200, per({"1": {"favorites": "1", "impressions": "9"}})))
    responses.append(respond(200, per({"2": {"favorites": "20"}, "3": {"favorites": "30"}})))
    result, route = canned(clock, responses)
    assert result.failures == ()
    assert result.forbidden == {"2", "3"}
    assert result.totals["2"]["favorites"] == 20.0 and result.totals["1"]["favorites"] == 1.0
    calls = route.calls
    public_call = calls.last.request
    assert public_call.headers["Authorization"].startswith("Bearer ")
    assert json.loads(public_call.content)["tweet_ids"] == ["2", "3"]
    assert json.loads(public_call.content)["engagement_types"] == ["favorites"]
    assert all(c.request.headers["Authorization"].startswith("OAuth ") for c in calls[:-1])
    if status == 403:
        assert json.loads(calls[1].request.content)["tweet_ids"] == ["1"]


@pytest.mark.parametrize("status", [200, 403])
def test_posts_refused_to_the_bearer_token_are_unavailable(clock: Clock, status: int) -> None:
    message = "Forbidden to access tweets: 2"
    responses = [respond(status, {"errors": [message], **per({"1": {"favorites": "1"}})})]
    if status == 403:  # whole request rejected: the others are asked again
        responses = [
            respond(403, {"errors": [message]}),
            respond(200, per({"1": {"favorites": "1"}, "3": {"favorites": "3"}})),
        ]
    result, route = canned(clock, responses, (PUB,))
    assert result.failures == ()
    assert (result.unavailable, result.forbidden) == ({"2"}, frozenset())
    assert "2" not in result.totals and result.totals["1"]["favorites"] == 1.0
    assert route.call_count == len(responses)


def test_protected_posts_named_in_a_400_are_unavailable_and_the_rest_asked_again(
    clock: Clock,
) -> None:
    first = respond(
        400, {"errors": ["Tweet ID(s) are unavailable"], "unavailable_tweet_ids": ["2"]}
    )
    second = respond(200, per({"1": {"favorites": "1"}, "3": {"favorites": "3"}}))
    result, route = canned(clock, [first, second])
    assert result.unavailable == {"2"} and set(result.totals) == {"1", "3"}
    assert json.loads(route.calls.last.request.content)["tweet_ids"] == ["1", "3"]
    assert result.failures == ()


def test_protected_posts_not_named_are_found_by_halving(clock: Clock) -> None:
    protected = {"3"}

    def server(request: httpx.Request) -> httpx.Response:
        ids = json.loads(request.content)["tweet_ids"]
        if protected & set(ids):
            return respond(400, {"errors": ["Tweet ID(s) are unavailable"]})
        return respond(200, per({i: {"favorites": "1"} for i in ids}))

    request = EngagementRequest("totals", "brand", tuple("12345"), ("favorites",))
    with respx.mock(assert_all_called=True) as mock:
        route = mock.post(TOTALS_URL).mock(side_effect=server)
        result = make_client(None, clock).fetch([request])
    assert result.unavailable == {"3"}
    assert set(result.totals) == {"1", "2", "4", "5"}
    assert route.call_count <= 2 * 3 + 1


@pytest.mark.parametrize("status", [401, 403])
def test_auth_failures_are_not_retried_and_name_the_account(clock: Clock, status: int) -> None:
    body = {"errors": ["Your account could not be authenticated. Reason: Access token not found"]}
    result, route = canned(clock, [respond(status, body), respond(200, per({}))], [REQ, PUB])
    (failure,) = result.failures
    assert isinstance(failure, AuthFailed) and failure.status == status
    assert "account 'brand'" in str(failure) and "Access token not found" in str(failure)
    assert_no_secret(str(failure))
    assert route.call_count == 2  # the failing one once, the other one still sent


def test_a_secret_echoed_by_the_server_is_redacted(clock: Clock) -> None:
    echoed = f"bad token {ACCOUNTS['brand'].access_token.reveal()} / {APP.consumer_key.reveal()}"
    result, _ = canned(clock, [respond(401, {"errors": [echoed]})])
    assert "***" in str(result.failures[0])
    assert_no_secret(str(result.failures[0]))


def test_a_secret_at_the_end_of_an_excerpt_is_not_shown_in_part(clock: Clock) -> None:
    """A body that is not JSON is shown by its first 120 bytes: a token quoted across
    that cut is hidden before it is cut, not shown by its first characters."""
    bearer = APP.bearer_token.reveal()
    body = b"proxy: " + b"x" * 83 + f"Authorization: Bearer {bearer}".encode()
    result, _ = canned(clock, [respond(401, body)])
    text = str(result.failures[0])
    assert "Authorization: Bearer ***" in text and bearer[:6] not in text
    assert_no_secret(text)


def test_a_secret_that_contains_another_is_redacted_whole(clock: Clock) -> None:
    short = Secret("tok-1234", "${SHORT}")
    long = Secret("tok-1234-and-the-rest-5678", "${LONG}")
    accounts = {"brand": Account("brand", "111", short, long)}
    with respx.mock(assert_all_called=True) as mock:
        mock.post(TOTALS_URL).mock(return_value=respond(401, {"errors": [f"bad {long.reveal()}"]}))
        result = make_client(None, clock, accounts=accounts).fetch([REQ])
    text = str(result.failures[0])
    assert "and-the-rest" not in text and "5678" not in text
    assert "bad ***" in text


def test_406_says_gzip_and_is_not_retried(clock: Clock) -> None:
    body = {"errors": ["This request requires gzip compression. Retry the request after setting"]}
    result, route = canned(clock, [respond(406, body)])
    (failure,) = result.failures
    assert isinstance(failure, RequestRejected) and "Accept-Encoding: gzip" in str(failure)
    assert route.call_count == 1


def test_other_400s_are_rejected_once(clock: Clock) -> None:
    result, route = canned(clock, [respond(400, b"not json at all")])
    (failure,) = result.failures
    assert isinstance(failure, RequestRejected) and "not json at all" in str(failure)
    assert route.call_count == 1


@pytest.mark.parametrize("retry_after", ["7", "Tue, 14 Nov 2023 22:14:02 GMT"])
def test_429_waits_for_retry_after_then_succeeds(clock: Clock, retry_after: str) -> None:
    start = clock()
    result, route = canned(
        clock,
        [
            respond(429, {"errors": ["rate limit"]}, {"Retry-After": retry_after}),
            respond(200, per({"1": {"favorites": "1"}})),
        ],
    )
    assert result.failures == () and route.call_count == 2
    wanted = 7.0 if retry_after == "7" else 42.0  # T0 is 22:13:20 GMT
    assert clock() - start >= wanted
    assert max(clock.sleeps) >= wanted
    assert result.budget_wait == sum(clock.sleeps)  # all of it the API's budget


def test_429_without_retry_after_waits_a_minute_and_gives_up_after_max_attempts(
    clock: Clock,
) -> None:
    start = clock()
    result, route = canned(clock, [respond(429)] * 4)
    (failure,) = result.failures
    assert isinstance(failure, RateLimited) and failure.retry_after == 60
    assert route.call_count == 4
    assert clock() - start >= 3 * 60


@pytest.mark.parametrize("status", [500, 502, 503])
def test_server_errors_are_retried_with_backoff(clock: Clock, status: int) -> None:
    result, route = canned(
        clock, [respond(status, {"errors": ["internal server error"]}), respond(200, per({}))]
    )
    assert result.failures == () and route.call_count == 2
    assert len(clock.sleeps) == 1 and 0.5 <= clock.sleeps[0] <= 1.0
    assert result.budget_wait == 0  # a server fault, not the budget


def test_persistent_server_errors_become_a_failure(clock: Clock) -> None:
    result, route = canned(clock, [respond(503, b"")] * 4)
    (failure,) = result.failures
    assert isinstance(failure, ServerFailed) and failure.status == 503 and failure.retryable
    assert route.call_count == 4
    assert clock.sleeps == sorted(clock.sleeps)  # growing backoff


@pytest.mark.parametrize("exc", [httpx.ReadTimeout, httpx.ConnectTimeout, httpx.ConnectError])
def test_timeouts_and_network_errors_are_retried(clock: Clock, exc: type[Exception]) -> None:
    result, route = canned(clock, [exc("boom"), respond(200, per({"1": {"favorites": "2"}}))])
    assert result.failures == () and result.totals["1"]["favorites"] == 2.0
    assert route.call_count == 2
    result, _ = canned(clock, [exc("boom")] * 4)
    assert isinstance(result.failures[0], TransportFailed)


@pytest.mark.parametrize(
    "body",
    [
        b"<html>Bad gateway</html>",
        b'{"per_post": {"1": {"favorites": "1"',  # truncated
        b'["not", "an", "object"]',
        b'{"per_post": {"1": {"favorites": "many"}}}',
        b'{"per_post": []}',
    ],
)
def test_malformed_bodies_are_retried_then_reported(clock: Clock, body: bytes) -> None:
    result, route = canned(clock, [respond(200, body)] * 4)
    (failure,) = result.failures
    assert isinstance(failure, MalformedResponse)
    assert route.call_count == 4
    result, _ = canned(clock, [respond(200, body), respond(200, per({"1": {"favorites": "1"}}))])
    assert result.failures == () and result.totals["1"]["favorites"] == 1.0


def test_gzip_encoded_bodies_are_decoded(clock: Clock) -> None:
    raw = gzip.compress(json.dumps(per({"1": {"favorites": "12"}})).encode())
    result, route = canned(clock, [respond(200, raw, {"Content-Encoding": "gzip"})])
    assert result.totals["1"]["favorites"] == 12.0
    assert route.calls.last.request.headers["Accept-Encoding"] == "gzip"


def test_a_corrupt_gzip_body_is_malformed(clock: Clock) -> None:
    result, _ = canned(clock, [respond(200, b"\x1f\x8bnope", {"Content-Encoding": "gzip"})] * 4)
    assert isinstance(result.failures[0], MalformedResponse)


def test_body_and_headers_of_each_request(clock: Clock) -> None:
    big = EngagementRequest("totals", "brand", (str(BIG), str(BIG + 1)), ("favorites",))
    _, route = canned(clock, [respond(200, per({}))], [big])
    request = route.calls.last.request
    assert json.loads(request.content)["tweet_ids"] == [str(BIG), str(BIG + 1)]
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["Accept-Encoding"] == "gzip"
    assert request.url == TOTALS_URL
    assert request.content == json.dumps(big.body(), separators=(",", ":")).encode()


_HOURS = st.datetimes(min_value=datetime(2015, 1, 1), max_value=datetime(2030, 1, 1)).map(
    lambda t: t.replace(minute=0, second=0, microsecond=0, tzinfo=UTC)
)


@st.composite
def requests(draw: st.DrawFn) -> EngagementRequest:
    """Any request the planner may make: every endpoint, owned or public, any IDs."""
    endpoint = draw(st.sampled_from(["totals", "28hr", "historical"]))
    ids = draw(st.lists(st.integers(0, 2**64).map(str), min_size=1, max_size=25))
    metrics = draw(st.lists(st.sampled_from(m.API_METRICS), min_size=1, unique=True))
    account = draw(st.sampled_from(["brand", "sup-port_2"]))
    if endpoint == "totals":
        return EngagementRequest(
            "totals",
            draw(st.none() | st.just(account)),
            tuple(ids),
            tuple(metrics),
            texts=draw(st.booleans()),
        )
    if endpoint == "28hr":
        return EngagementRequest(
            "28hr", account, tuple(ids), tuple(metrics), grouping="hourly", group_by=HOURLY_GROUP_BY
        )
    start = draw(_HOURS)
    end = start + timedelta(hours=draw(st.integers(1, 24 * 28)))
    return EngagementRequest(
        "historical",
        account,
        tuple(ids),
        tuple(metrics),
        grouping="hourly",
        group_by=HOURLY_GROUP_BY,
        start=start,
        end=end,
    )


@settings(derandomize=True, deadline=None)
@given(requests())
def test_a_request_body_is_the_json_of_its_fields_byte_for_byte(request: EngagementRequest) -> None:
    assert request_json(request) == json.dumps(request.body(), separators=(",", ":")).encode()


def test_a_cookie_one_answer_sets_never_rides_on_another_accounts_request(clock: Clock) -> None:
    cookie = {"Set-Cookie": "session=brand-only; Domain=data-api.x.com; Path=/"}
    _, route = canned(
        clock,
        [respond(200, per({"1": {"favorites": "1"}}), cookie), respond(200, per({}))],
        [REQ, PUB],
    )
    assert route.call_count == 2
    assert "cookie" not in route.calls.last.request.headers


def test_an_unknown_account_fails_without_sending(clock: Clock) -> None:
    stranger = EngagementRequest("totals", "nobody", ("1",), ("favorites",))
    result, route = canned(clock, [respond(200, per({"2": {"favorites": "1"}}))], [stranger, PUB])
    (failure,) = result.failures
    assert isinstance(failure, AuthFailed) and "'nobody'" in str(failure)
    assert route.call_count == 1


def test_remaining_zero_makes_the_next_request_wait(clock: Clock) -> None:
    headers = {"x-per-minute-limit": "60", "x-per-minute-remaining": "0"}
    start = clock()
    result, _ = canned(clock, [respond(200, per({}), headers), respond(200, per({}))], [REQ, PUB])
    assert clock.sleeps == [60.0] and clock() - start == 60
    assert result.budget_wait == 60


def test_a_wrong_token_secret_breaks_the_signature_and_fails(api: ApiTarget, clock: Clock) -> None:
    real = api.accounts["support"]
    wrong = Account(real.name, real.user_id, real.access_token, Secret("not-the-secret", "${X}"))
    plan = plan_requests(
        [WatchedPost(api.owned["support"][0], "support")],
        totals_metrics=frozenset({"impressions"}),
        hourly_posts=(),
        hourly_metrics=frozenset(),
    )
    result = make_client(api, clock, accounts={"support": wrong}).fetch(plan)
    (failure,) = result.failures
    assert isinstance(failure, AuthFailed) and "account 'support'" in str(failure)
    assert_no_secret(str(failure))
    assert result.totals == {}


def test_long_waits_for_a_429_or_the_budget_are_told_before_they_begin(clock: Clock) -> None:
    told: list[tuple[float, str, int]] = []

    def on_wait(seconds: float, why: str) -> None:
        told.append((seconds, why, len(clock.sleeps)))  # before the sleep, not after

    headers = {"x-per-minute-limit": "60", "x-per-minute-remaining": "0"}
    responses = [
        respond(429, {"errors": ["rate limit"]}, {"Retry-After": "7"}),
        respond(200, per({}), headers),
        respond(500, b""),  # a fault's short backoff is not a rate limit: not told
        respond(200, per({})),
    ]
    result, _ = canned(clock, responses, [REQ, PUB], on_wait=on_wait)
    assert result.failures == ()
    assert told == [(7.0, "429", 0), (60.0, "budget", 1)]


def test_a_wait_of_five_seconds_is_told_and_a_shorter_one_is_not(clock: Clock) -> None:
    told: list[tuple[float, str]] = []
    responses = [
        respond(429, {"errors": ["rate limit"]}, {"Retry-After": "4"}),
        respond(429, {"errors": ["rate limit"]}, {"Retry-After": "5"}),
        respond(200, per({})),
    ]
    result, _ = canned(clock, responses, on_wait=lambda s, why: told.append((s, why)))
    assert result.failures == ()
    assert told == [(5.0, "429")]
    assert clock.sleeps == [4.0, 5.0]


def test_a_post_forbidden_to_two_accounts_is_read_as_public_once(clock: Clock) -> None:
    requests = (
        EngagementRequest("totals", "brand", ("1", "2"), ("favorites",)),
        EngagementRequest("totals", "support", ("2",), ("favorites",)),
    )
    refused = {"errors": ["Forbidden to access tweets: 2"]}
    responses = [
        respond(200, {**refused, **per({"1": {"favorites": "1"}})}),
        respond(200, refused),
        respond(200, per({"2": {"favorites": "20"}})),
    ]
    result, route = canned(clock, responses, requests)
    assert result.totals["2"]["favorites"] == 20.0 and route.call_count == 3
    assert json.loads(route.calls.last.request.content)["tweet_ids"] == ["2"]


def test_a_post_forbidden_on_28hr_is_not_asked_for_as_public_totals(clock: Clock) -> None:
    hourly = EngagementRequest("28hr", "brand", ("2",), ("favorites",), "hourly", HOURLY_GROUP_BY)
    refused = respond(200, {"errors": ["Forbidden to access tweets: 2"]})
    with respx.mock(assert_all_called=False) as mock:
        asked = mock.post(TOTALS_URL.replace("/totals", "/28hr")).mock(side_effect=[refused])
        totals = mock.post(TOTALS_URL).mock(side_effect=[respond(200, per({}))])
        result = make_client(None, clock).fetch([hourly])
    assert result.forbidden == {"2"} and result.totals == {}
    assert (asked.call_count, totals.call_count) == (1, 0)  # no bearer /totals


# -- a whole request refused inside a 200 (reference §4.2: "Plan for both") -------------------


def test_a_200_refusing_the_whole_request_for_forbidden_posts_asks_the_others_again(
    clock: Clock,
) -> None:
    """No grouping in the answer: the owned posts are asked again, the forbidden one as
    public, none is lost."""
    responses = [
        respond(200, {"errors": ["Forbidden to access tweets: 2"]}),
        respond(200, per({"1": {"favorites": "1"}, "3": {"favorites": "3"}})),
        respond(200, per({"2": {"favorites": "20"}})),
    ]
    result, route = canned(clock, responses)
    assert result.failures == ()
    assert result.forbidden == {"2"}
    assert {p: v["favorites"] for p, v in result.totals.items()} == {"1": 1.0, "3": 3.0, "2": 20.0}
    sent = [json.loads(c.request.content)["tweet_ids"] for c in route.calls]
    assert sent == [["1", "2", "3"], ["1", "3"], ["2"]]
    schemes = [c.request.headers["Authorization"].split(" ")[0] for c in route.calls]
    assert schemes == ["OAuth", "OAuth", "Bearer"]


def test_a_200_refusing_the_whole_request_for_gone_posts_asks_the_others_again(
    clock: Clock,
) -> None:
    gone = {"errors": ["1 Tweet ID(s) are unavailable"], "unavailable_tweet_ids": ["2"]}
    responses = [respond(200, gone), respond(200, per({"1": {"favorites": "1"}}))]
    result, route = canned(clock, responses, (PUB,))
    assert result.failures == () and result.unavailable == {"2"}
    assert json.loads(route.calls.last.request.content)["tweet_ids"] == ["1", "3"]
    assert set(result.totals) == {"1"}


def test_a_200_with_only_an_authentication_error_is_an_auth_failure(clock: Clock) -> None:
    body = {"errors": ["Your account could not be authenticated. Reason: Access token not found"]}
    result, route = canned(clock, [respond(200, body)])
    (failure,) = result.failures
    assert isinstance(failure, AuthFailed) and route.call_count == 1
    assert "account 'brand'" in str(failure) and "Access token not found" in str(failure)


def test_a_200_with_only_a_server_error_is_retried(clock: Clock) -> None:
    body = {"errors": ["internal server error"]}
    result, route = canned(clock, [respond(200, body), respond(200, per({"1": {"x": "1"}}))])
    assert result.failures == () and result.totals["1"]["x"] == 1.0
    assert route.call_count == 2


def test_a_200_with_only_another_error_is_rejected_once(clock: Clock) -> None:
    body = {"errors": ["Forbidden to access metrics: retweets"]}
    result, route = canned(clock, [respond(200, body)])
    (failure,) = result.failures
    assert isinstance(failure, RequestRejected) and route.call_count == 1
    assert "Forbidden to access metrics: retweets" in str(failure)


@pytest.mark.parametrize("status", [200, 401, 403])
def test_an_app_not_allow_listed_is_told_so(clock: Clock, status: int) -> None:
    """Reference §4.2 "App not enabled" (matched lower-cased) and §6: the App ID must be
    allow-listed by the X account manager before any call works."""
    body = {"errors": ["Your application ID is not authorized."]}
    result, route = canned(clock, [respond(status, body)])
    (failure,) = result.failures
    assert isinstance(failure, AuthFailed) and route.call_count == 1
    assert "allow-listed" in str(failure) and "account manager" in str(failure)


PUB_QUOTES = EngagementRequest("totals", None, ("1", "2"), ("favorites", "quote_tweets"))


@pytest.mark.parametrize("status", [200, 400, 403])
def test_a_metric_refused_to_the_bearer_token_is_left_out_and_the_rest_read(
    clock: Clock, status: int
) -> None:
    """Reference §6 ⚠: the auth section lists only "Favorites, Replies, Retweets, or
    Video Views" for the bearer token. Refused quote_tweets, the other metrics are still
    read, and later requests leave it out from the start."""
    refused = respond(status, {"errors": ["Forbidden to access metrics: quote_tweets"]})
    answer = per({"1": {"favorites": "1"}, "2": {"favorites": "2"}})
    answers = [refused, respond(200, answer), respond(200, answer)]
    with respx.mock(assert_all_called=True) as mock:
        route = mock.post(TOTALS_URL).mock(side_effect=answers)
        client = make_client(None, clock)
        result = client.fetch([PUB_QUOTES])
        again = client.fetch([PUB_QUOTES])
    for got in (result, again):
        assert got.failures == ()
        assert {p: dict(v) for p, v in got.totals.items()} == {
            "1": {"favorites": 1.0},
            "2": {"favorites": 2.0},
        }
        assert got.unsupported == {"quote_tweets": {"1", "2"}}
    metrics = [json.loads(c.request.content)["engagement_types"] for c in route.calls]
    assert metrics == [["favorites", "quote_tweets"], ["favorites"], ["favorites"]]
    assert "Forbidden to access metrics: quote_tweets" in result.errors


def test_a_request_of_refused_metrics_alone_is_not_sent(clock: Clock) -> None:
    refused = respond(403, {"errors": ["Forbidden to access metrics: quote_tweets"]})
    only = EngagementRequest("totals", None, ("1",), ("quote_tweets",))
    with respx.mock(assert_all_called=True) as mock:
        route = mock.post(TOTALS_URL).mock(side_effect=[refused])
        client = make_client(None, clock)
        first, second = client.fetch([only]), client.fetch([only])
    assert route.call_count == 1
    assert first.failures == second.failures == ()
    assert first.unsupported == second.unsupported == {"quote_tweets": {"1"}}


def test_a_wrong_url_is_rejected_once_and_says_so(clock: Clock) -> None:
    """Reference §1.1 and §4.3: the wrong host answers 404 with error objects, code 34."""
    body = {"errors": [{"message": "Sorry, that page does not exist", "code": 34}]}
    result, route = canned(clock, [respond(404, body)])
    (failure,) = result.failures
    assert isinstance(failure, RequestRejected) and failure.status == 404
    assert "HTTP 404: Sorry, that page does not exist" in str(failure)
    assert route.call_count == 1


def test_the_sandbox_refusing_quote_tweets_to_the_bearer_token(clock: Clock) -> None:
    """Reference §6 ⚠, end to end: the public posts' other metrics are still read."""
    target = SandboxTarget(
        clock, options=Options(per_minute_limit=10_000, bearer_quote_tweets=False)
    ).start()
    try:
        ids = target.add_posts(public_user_id(), 3, age=timedelta(hours=3))
        http = HttpClient()
        client = EngagementClient(
            http,
            settings=ApiSettings(base_url=target.base_url, requests_per_minute=10_000),
            app=SANDBOX_APP,
            accounts=SANDBOX_ACCOUNTS,
            budget=RateBudget(10_000, clock=clock),
            sleep=clock.sleep,
        )
        requests = plan_public_totals(ids, {"favorites", "quote_tweets", "replies"})
        result, again = client.fetch(requests), client.fetch(requests)
        http.close()
    finally:
        target.stop()
    for got in (result, again):
        assert got.failures == () and got.unsupported == {"quote_tweets": set(ids)}
        assert {p: dict(v) for p, v in got.totals.items()} == {
            p: {x: target.value(p, x) for x in ("favorites", "replies")} for p in ids
        }
    assert len(target.received) == 3  # refused once, then never asked again


def test_nothing_is_sent_over_plain_http_but_to_this_machine(clock: Clock) -> None:
    """Reference §1.1: "It is HTTPS only." A bearer token or a signed request never goes
    out in the clear; http:// reaches only a sandbox on this machine."""
    with respx.mock(assert_all_called=False) as mock:
        route = mock.post(url__regex=r"/insights/engagement/").mock(
            return_value=respond(200, per({"1": {"favorites": "1"}}))
        )
        for base, sent in [("http://data-api.x.com", 0), ("http://127.0.0.1:9", 2)]:
            client = EngagementClient(
                HttpClient(),
                settings=ApiSettings(base_url=base),
                app=APP,
                accounts=ACCOUNTS,
                budget=RateBudget(60, clock=clock),
                sleep=clock.sleep,
            )
            result = client.fetch([PUB, REQ])
            assert route.call_count == sent
            if not sent:
                assert len(result.failures) == 2
                for failure in result.failures:
                    assert isinstance(failure, RequestRejected)
                    assert "not sent" in str(failure) and "HTTPS only" in str(failure)


@pytest.mark.parametrize("per_second", [None, 2])
def test_the_sandbox_per_second_headers_pace_the_client(
    clock: Clock, per_second: int | None
) -> None:
    """Reference §5 and open question 8: where the API sends ``x-per-second-limit`` /
    ``-remaining`` / ``-reset`` the client never sends faster than they allow (no 429);
    where it sends none, the per-minute budget alone paces it, as before."""
    world = World(3, SimClock(START, speed=0))
    options = Options(per_minute_limit=10_000, per_second_limit=per_second)
    app = SandboxApp(world, options, limits_now=clock)
    ids = [p.id for p in world.timeline(public_user_id())[:9]]
    seen: list[tuple[float, int, Mapping[str, str]]] = []

    def observe(_: Request, answer: Any, __: float) -> None:
        seen.append((clock.now, answer.status, answer.headers))

    with HttpClient(transport=SandboxTransport(app, observe=observe)) as http:
        client = EngagementClient(
            http,
            settings=ApiSettings(base_url="https://127.0.0.1", requests_per_minute=10_000),
            app=SANDBOX_APP,
            accounts=SANDBOX_ACCOUNTS,
            budget=RateBudget(10_000, clock=clock),
            sleep=clock.sleep,
        )
        result = client.fetch([plan_public_totals([i], {"favorites"})[0] for i in ids])
    assert result.failures == () and set(result.totals) == set(ids)
    assert [status for _, status, _ in seen] == [200] * 9  # none refused
    times = [at for at, _, _ in seen]
    if per_second is None:
        assert times == [T0] * 9
        assert not any(k.startswith("x-per-second") for _, _, h in seen for k in h)
    else:
        assert max(sum(1 for u in times if t <= u < t + 1) for t in times) == per_second
        assert times[-1] - times[0] <= 9 / per_second

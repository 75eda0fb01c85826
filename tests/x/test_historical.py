"""Filling the hourly history from /historical: the fewest requests, only missing hours,
each hour stored once, within the shared budget."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import respx
from clock import Clock
from export_helpers import BRAND, engagement_requests, export_config
from sandbox_api import START as SANDBOX_NOW
from sandbox_api import SandboxTarget

from automation.config.model import Account, ApiSettings, AppCredentials
from automation.config.secret import Secret
from automation.core.errors import UsageError
from automation.sandbox.options import Options
from automation.store import MemoryStore
from automation.x.engagement_client import EngagementClient
from automation.x.engagement_plan import HOURLY_GROUPING
from automation.x.historical import fetch_history, plan_history, plan_missing
from automation.x.http import HttpClient
from automation.x.rate_budget import MemoryLedger, RateBudget

BASE = "https://data-api.x.com"
URL = f"{BASE}/insights/engagement/historical"
NOW = datetime(2026, 11, 26, 12, 40, tzinfo=UTC)
START = datetime(2026, 10, 15, 12, tzinfo=UTC)  # six weeks before 12:00 today
END = datetime(2026, 11, 26, 12, tzinfo=UTC)
HOUR = timedelta(hours=1)
GONE = "1860000000000009999"
_S = Secret("s3cr3t-value", "${X}")
APP = AppCredentials(_S, _S, _S)
ACCOUNTS = {n: Account(n, str(i), _S, _S) for i, n in enumerate(("brand", "support"), 1)}


def ids(n: int, first: int = 0) -> list[str]:
    return [str(1_860_000_000_000_000_000 + i) for i in range(first, first + n)]


def post_id_at(moment: datetime) -> str:
    """A post ID that says it was written at ``moment`` (a snowflake's time bits)."""
    return str((int(moment.timestamp() * 1000) - 1288834974657) << 22)


class KeepingLedger(MemoryLedger):
    """The budget's ledger, remembering every send for the test to read."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[float] = []

    def record(self, api: str, at: float) -> None:
        super().record(api, at)
        self.sent.append(at)


def client(
    clock: Clock, ledger: MemoryLedger | None = None, limit: int = 60, attempts: int = 1
) -> EngagementClient:
    return EngagementClient(
        HttpClient(),
        settings=ApiSettings(base_url=BASE, requests_per_minute=limit),
        app=APP,
        accounts=ACCOUNTS,
        budget=RateBudget(limit, clock=clock, ledger=ledger),
        sleep=clock.sleep,
        max_attempts=attempts,
        rng=random.Random(1),
    )


def sandbox_client(http: HttpClient, target: SandboxTarget, clock: Clock) -> EngagementClient:
    """The client as ``automation metrics`` makes it for the sandbox ``target``."""
    config = export_config(target.base_url, Path("unused.db"))
    return EngagementClient(
        http,
        settings=config.engagement_api,
        app=config.app,
        accounts={a.name: a for a in config.accounts},
        budget=RateBudget(6000, clock=clock),
        sleep=clock.sleep,
    )


def answer(request: httpx.Request) -> httpx.Response:
    """One engagement an hour per post and metric, the ``end`` hour included (as an
    inclusive reading of ``end`` would answer); ``GONE`` is unavailable."""
    body = json.loads(request.content)
    lo, hi = (datetime.fromisoformat(body[k]) for k in ("start", "end"))
    hours = [lo + h * HOUR for h in range((hi - lo) // HOUR + 1)]
    data: dict[str, dict[str, dict[str, dict[str, str]]]] = {}
    gone = [i for i in body["tweet_ids"] if i == GONE]
    for post_id in body["tweet_ids"]:
        if post_id in gone:
            continue
        for metric in body["engagement_types"]:
            days = data.setdefault(post_id, {}).setdefault(metric, {})
            for h in hours:
                days.setdefault(h.strftime("%Y-%m-%d"), {})[h.strftime("%H")] = "1"
    out: dict[str, object] = {"start": body["start"], "end": body["end"], HOURLY_GROUPING: data}
    if gone:
        out |= {
            "unavailable_tweet_ids": gone,
            "errors": [f"{len(gone)} Tweet ID(s) are unavailable"],
        }
    return httpx.Response(200, json=out)


@pytest.fixture
def api() -> Iterator[respx.Route]:
    with respx.mock(assert_all_called=False) as mock:
        yield mock.post(URL).mock(side_effect=answer)


def windows(route: respx.Route) -> list[tuple[str, str, int]]:
    bodies = [json.loads(c.request.content) for c in route.calls]
    return [(b["start"], b["end"], len(b["tweet_ids"])) for b in bodies]


def test_six_weeks_make_two_ranges_per_25_posts_and_count_no_hour_twice(api) -> None:
    store, clock = MemoryStore(), Clock(NOW.timestamp())
    owners = dict.fromkeys(ids(60), "brand")
    plan = plan_history(store, owners, ["impressions", "quote_tweets"], START, END, now=NOW)
    assert [(r.start, r.end, len(r.tweet_ids)) for r in plan.requests] == [
        (START, START + timedelta(weeks=4), 25),
        (START, START + timedelta(weeks=4), 25),
        (START, START + timedelta(weeks=4), 10),
        (START + timedelta(weeks=4), END, 25),
        (START + timedelta(weeks=4), END, 25),
        (START + timedelta(weeks=4), END, 10),
    ]
    assert all(r.engagement_types == ("impressions",) for r in plan.requests)
    assert plan.minutes(60) == 1 and "6 /historical requests for 60 owned posts" in plan.describe(
        60
    )
    done = fetch_history(plan, client(clock), store)
    assert done.requests_sent == 6 and done.stored == 6 and not done.failures
    hours = (END - START) // HOUR
    sums = store.count_sums(list(owners), ["impressions"], START, END)
    assert sums == {p: {"impressions": float(hours)} for p in owners}
    # the API's extra end hour was not kept either
    assert store.count_sums(list(owners), ["impressions"], END, END + HOUR) == {}


def test_the_plan_groups_its_numbers_as_the_commands_do() -> None:
    owners = dict.fromkeys(ids(60), "brand")
    plan = plan_history(MemoryStore(), owners, ["impressions"], START, END, now=NOW)
    text = plan.describe(6000)
    assert "of the 6,000 requests/minute budget" in text
    assert "6 /historical requests for 60 owned posts" in text


def test_a_second_plan_of_the_same_period_sends_nothing(api) -> None:
    store, clock = MemoryStore(), Clock(NOW.timestamp())
    owners = dict.fromkeys(ids(30), "brand")
    fetch_history(
        plan_history(store, owners, ["favorites"], START, END, now=NOW), client(clock), store
    )
    sent = api.call_count
    again = plan_history(store, owners, ["favorites"], START, END, now=NOW)
    assert again.requests == () and again.missing == {}
    assert fetch_history(again, client(clock), store).requests_sent == 0
    assert api.call_count == sent
    assert "no /historical request" in again.describe(60)


def test_only_the_hours_not_stored_are_asked_for(api) -> None:
    store, clock = MemoryStore(), Clock(NOW.timestamp())
    owners = dict.fromkeys(ids(3), "brand")
    week = START + timedelta(weeks=1)
    fetch_history(
        plan_history(store, owners, ["favorites"], START, week, now=NOW), client(clock), store
    )
    # the engine's /28hr already brought the last day of one post
    store.record_hourly_counts(END - timedelta(days=1), END, {ids(1)[0]: {"favorites": []}})
    before = len(windows(api))
    plan = plan_history(store, owners, ["favorites"], START, END, now=NOW)
    fetch_history(plan, client(clock), store)
    assert windows(api)[before:] == [
        ("2026-10-22T12:00:00Z", "2026-11-19T12:00:00Z", 3),
        ("2026-11-19T12:00:00Z", "2026-11-26T12:00:00Z", 3),
    ]
    assert plan.missing[ids(1)[0]] == ((week, END - timedelta(days=1)),)


def test_each_account_asks_for_its_own_posts_and_the_rest_are_not_asked(api) -> None:
    store = MemoryStore()
    owners = {**dict.fromkeys(ids(2), "brand"), **dict.fromkeys(ids(2, 10), "support")}
    requests = plan_missing(
        {p: ((START, END),) for p in [*owners, *ids(1, 50)]}, owners, ["favorites"], now=NOW
    )
    assert [(r.account, r.tweet_ids) for r in requests] == [
        ("brand", tuple(ids(2))),
        ("brand", tuple(ids(2))),
        ("support", tuple(ids(2, 10))),
        ("support", tuple(ids(2, 10))),
    ]
    assert store.missing_hours(["x"], ["favorites"], START, END)  # nothing fetched by planning


def test_hours_the_api_cannot_serve_are_left_out() -> None:
    early = datetime(2014, 8, 30, tzinfo=UTC)
    requests = plan_missing(
        {"1": ((early, datetime(2014, 9, 2, tzinfo=UTC)),), "2": ((NOW - HOUR, NOW + HOUR),)},
        {"1": "brand", "2": "brand"},
        ["favorites"],
        now=NOW,
    )
    assert [(r.start, r.end) for r in requests] == [
        (datetime(2014, 9, 1, tzinfo=UTC), datetime(2014, 9, 2, tzinfo=UTC)),
        (NOW.replace(minute=0) - HOUR, NOW.replace(minute=0)),
    ]


def test_gone_posts_and_failed_requests_stay_missing(api) -> None:
    store, clock = MemoryStore(), Clock(NOW.timestamp())
    owners = dict.fromkeys([*ids(2), GONE], "brand")
    fetch_history(
        plan_history(store, owners, ["favorites"], START, END, now=NOW), client(clock), store
    )
    assert set(store.missing_hours(list(owners), ["favorites"], START, END)) == {GONE}
    api.side_effect = lambda request: httpx.Response(503, json={"errors": ["busy"]})
    later = dict.fromkeys(ids(2, 20), "brand")
    done = fetch_history(
        plan_history(store, later, ["favorites"], START, END, now=NOW), client(clock), store
    )
    assert len(done.failures) == 2 and done.stored == 0
    assert set(store.missing_hours(list(later), ["favorites"], START, END)) == set(later)


def test_requests_wait_for_the_shared_budget_and_report_progress(api) -> None:
    store, clock = MemoryStore(), Clock(NOW.timestamp())
    ledger = KeepingLedger()
    ledger.record("engagement", clock())  # a running engine's request, just now
    owners = dict.fromkeys(ids(75), "brand")
    plan = plan_history(store, owners, ["favorites"], START, END, now=NOW)
    seen: list[tuple[int, int]] = []
    started = clock()
    fetch_history(
        plan, client(clock, ledger, limit=2), store, progress=lambda d, t: seen.append((d, t))
    )
    assert seen == [(i, 6) for i in range(1, 7)]
    sent = ledger.sent
    assert len(sent) == 7 and sent[0] == started
    assert all(sent[i + 2] - sent[i] >= 60 for i in range(len(sent) - 2))


def test_a_stopped_fetch_keeps_what_it_stored_and_resumes(api) -> None:
    store, clock = MemoryStore(), Clock(NOW.timestamp())
    owners = dict.fromkeys(ids(50), "brand")
    plan = plan_history(store, owners, ["favorites"], START, END, now=NOW)
    asked = iter([False, False, True])
    done = fetch_history(plan, client(clock), store, should_stop=lambda: next(asked))
    assert done.stopped and done.stored == 2
    rest = plan_history(store, owners, ["favorites"], START, END, now=NOW)
    assert len(rest.requests) == len(plan.requests) - 2


def test_a_plan_needs_a_metric_historical_serves() -> None:
    with pytest.raises(UsageError, match="no metric /historical can read among: quote_tweets"):
        plan_history(MemoryStore(), {"1": "brand"}, ["quote_tweets"], START, END, now=NOW)


def test_45_days_from_the_sandbox_sum_to_its_world_in_two_ranges_per_25_posts() -> None:
    target = SandboxTarget(lambda: 0.0).start()
    try:
        owned = target.add_posts(BRAND, 30, age=timedelta(days=50))
        start, end = SANDBOX_NOW - timedelta(days=45), SANDBOX_NOW
        store, clock = MemoryStore(), Clock(NOW.timestamp())
        with HttpClient(timeout=10.0) as http:
            sandbox = sandbox_client(http, target, clock)
            metrics = ["impressions", "favorites"]
            owners = dict.fromkeys(owned, "brand")
            plan = plan_history(store, owners, metrics, start, end, now=SANDBOX_NOW)
            assert [(r.end - r.start, len(r.tweet_ids)) for r in plan.requests] == [
                (timedelta(weeks=4), 25),
                (timedelta(weeks=4), 5),
                (end - start - timedelta(weeks=4), 25),
                (end - start - timedelta(weeks=4), 5),
            ]
            assert not fetch_history(plan, sandbox, store).failures
            again = plan_history(store, owners, metrics, start, end, now=SANDBOX_NOW)
            assert fetch_history(again, sandbox, store).requests_sent == 0
        assert len(engagement_requests(target)) == 4
        hours = (end - start) // HOUR
        sums = store.count_sums(owned, metrics, start, end)
        for post_id in owned:
            post = target.world.find(post_id)
            truth = target.world.series(post, metrics, start, hours)
            assert sums[post_id] == {m: float(sum(truth[m])) for m in metrics}
    finally:
        target.stop()


def test_windows_that_meet_at_an_hour_ask_each_post_only_in_its_own() -> None:
    early, late = ids(2)
    edge = START + timedelta(weeks=4)  # where the first 4-week window ends
    requests = plan_missing(
        {early: ((START, edge),), late: ((edge, edge + 5 * HOUR),)},
        dict.fromkeys((early, late), "brand"),
        ["favorites"],
        now=NOW,
    )
    assert [(r.start, r.end, r.tweet_ids) for r in requests] == [
        (START, edge, (early,)),
        (edge, edge + 5 * HOUR, (late,)),
    ]


def test_a_post_lacking_only_hours_before_it_was_written_is_not_asked_for() -> None:
    born = START + timedelta(days=10)
    young, old = post_id_at(born), ids(1)[0]
    requests = plan_missing(
        {young: ((START, born),), old: ((START, END),)},
        {young: "brand", old: "brand"},
        ["favorites"],
        now=NOW,
    )
    assert [(r.start, r.end, r.tweet_ids) for r in requests] == [
        (START, START + timedelta(weeks=4), (old,)),
        (START + timedelta(weeks=4), END, (old,)),
    ]


def test_posts_lacking_the_same_hours_share_a_request_whatever_their_order() -> None:
    late, *early = ids(26)
    later = START + timedelta(days=20)
    missing = {late: ((later, later + 10 * HOUR),)} | {
        p: ((START, START + 10 * HOUR),) for p in early
    }
    requests = plan_missing(missing, dict.fromkeys(missing, "brand"), ["favorites"], now=NOW)
    assert [(r.start, r.end, r.tweet_ids) for r in requests] == [
        (START, START + 10 * HOUR, tuple(early)),
        (later, later + 10 * HOUR, (late,)),
    ]


def test_a_retried_request_counts_each_send(api) -> None:
    store, clock = MemoryStore(), Clock(NOW.timestamp())
    answers = iter([httpx.Response(503, json={"errors": ["busy"]})])
    api.side_effect = lambda request: next(answers, None) or answer(request)
    retrying = client(clock, attempts=2)
    plan = plan_history(store, {ids(1)[0]: "brand"}, ["favorites"], END - 3 * HOUR, END, now=NOW)
    done = fetch_history(plan, retrying, store)
    assert (done.requests_sent, done.stored, done.failures) == (2, 1, ())
    assert api.call_count == 2


def test_a_request_reaches_the_last_hour_any_of_its_posts_lacks() -> None:
    gappy, short = ids(2)
    missing = {
        gappy: ((START, START + 2 * HOUR), (START + 10 * HOUR, START + 12 * HOUR)),
        short: ((START + HOUR, START + 3 * HOUR),),
    }
    requests = plan_missing(missing, dict.fromkeys(missing, "brand"), ["favorites"], now=NOW)
    assert [(r.start, r.end, r.tweet_ids) for r in requests] == [
        (START, START + 12 * HOUR, (gappy, short))
    ]


def test_impressions_a_post_is_too_old_for_stay_missing_and_its_other_metrics_are_stored(
    api,
) -> None:
    """Reference §1.3 ⚠: impressions and engagements only for posts of the past 90 days,
    availability "All": /historical may list a post in
    ``unsupported_for_impressions_engagements_tweet_ids``."""
    old = ids(2)[0]

    def too_old(request: httpx.Request) -> httpx.Response:
        data = json.loads(answer(request).content)
        data["unsupported_for_impressions_engagements_tweet_ids"] = [old]
        return httpx.Response(200, json=data)

    api.side_effect = too_old
    store, clock = MemoryStore(), Clock(NOW.timestamp())
    owners = dict.fromkeys(ids(2), "brand")
    metrics = ["impressions", "favorites"]
    done = fetch_history(
        plan_history(store, owners, metrics, START, END, now=NOW), client(clock), store
    )
    assert done.failures == () and done.stored == 2
    assert set(store.missing_hours(list(owners), ["impressions"], START, END)) == {old}
    assert store.missing_hours(list(owners), ["favorites"], START, END) == {}


@pytest.mark.parametrize("days", [None, 365])
def test_a_period_past_365_days_keeps_what_x_answers_and_says_what_it_refused(
    days: int | None,
) -> None:
    """Reference §1.3 ⚠: "back to September 1, 2014" vs. "Post engagement data is limited
    to only 365 days in the past". Against either sandbox the hours X answers are stored
    and sum to its world; refusing the older ones costs one request a fetch, never more,
    and leaves them missing (not zeros), named in ``out_of_reach``."""
    target = SandboxTarget(
        lambda: 0.0, options=Options(per_minute_limit=10_000, historical_days=days)
    ).start()
    try:
        owned = target.add_posts(BRAND, 3, age=timedelta(days=460))
        start, end = SANDBOX_NOW - timedelta(days=450), SANDBOX_NOW
        since = SANDBOX_NOW - timedelta(days=364)  # a day within the 365 days
        store, clock = MemoryStore(), Clock(NOW.timestamp())
        metrics = ["impressions", "favorites"]
        owners = dict.fromkeys(owned, "brand")
        with HttpClient(timeout=10.0) as http:
            sandbox = sandbox_client(http, target, clock)
            plan = plan_history(store, owners, metrics, start, end, now=SANDBOX_NOW)
            assert len(plan.requests) == 17  # 450 days in 4-week windows
            done = fetch_history(plan, sandbox, store)
            again = plan_history(store, owners, metrics, start, end, now=SANDBOX_NOW)
            second = fetch_history(again, sandbox, store)
    finally:
        target.stop()
    assert not done.failures and not second.failures
    answered = start if days is None else since
    hours = (end - answered) // HOUR
    sums = store.count_sums(owned, metrics, answered, end)
    for post_id in owned:
        truth = target.world.series(target.world.find(post_id), metrics, answered, hours)
        assert sums[post_id] == {m: float(sum(truth[m])) for m in metrics}
    if days is None:
        assert done.out_of_reach is None and done.requests_sent == 17
        assert again.requests == () and not store.missing_hours(owned, metrics, start, end)
        return
    for fetched in (done, second):
        assert fetched.out_of_reach is not None
        assert fetched.out_of_reach.since == since
        assert fetched.out_of_reach.posts == set(owned)
        assert "limited to only 365 days in the past" in fetched.out_of_reach.describe()
        assert "HTTP 400" in fetched.out_of_reach.refusal
    # the first window (450 to 422 days back) refused, the next two (to 366) not sent, the
    # fourth (366 to 338) sent from 364 days back, the 13 newer as planned; the next fetch
    # asks only for the hours before: refused once, nothing else asked
    assert (done.requests_sent, done.stored, second.requests_sent) == (15, 14, 1)
    missing = store.missing_hours(owned, metrics, start, end)
    assert missing == dict.fromkeys(owned, ((start, since),))

"""Exports against the sandbox over loopback, on a clock the test moves: the owned/public
split, the fewest requests each with its own token, unknown values, the shared budget,
resuming after Ctrl-C, and requests that fail for good."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from clock import Clock
from export_helpers import (
    BRAND,
    NASA,
    SUPPORT,
    Recorder,
    engagement_requests,
    export,
    values,
)
from sandbox_api import START, SandboxTarget

from automation.core.errors import UsageError
from automation.core.metric_columns import choose_columns
from automation.core.metric_names import PUBLIC_TOTALS_METRICS, TOTALS_METRICS
from automation.core.periods import Period
from automation.core.records import WatchedPostRecord
from automation.export.job import ExportResult, Interrupted
from automation.export.period_sums import NO_HISTORY
from automation.export.tally import FORBIDDEN, UNAVAILABLE
from automation.sandbox import Options
from automation.sandbox.app import Encoded
from automation.sandbox.messages import Request
from automation.store.sqlite import SqliteStore


def test_owned_and_public_posts_are_read_in_the_fewest_requests_each_with_its_token(
    target: SandboxTarget, store: SqliteStore
) -> None:
    brand = target.add_posts(BRAND, 30, age=timedelta(days=3))
    support = target.add_posts(SUPPORT, 20, age=timedelta(days=2))
    public = target.add_posts(NASA, 40, age=timedelta(days=2))
    # the engine already watches the ten oldest brand posts: no timeline is read for them
    store.upsert_posts(WatchedPostRecord(p, "brand", START, "timeline", START) for p in brand[:10])
    trios = zip(brand, support + brand[20:], public, strict=False)
    listed = list(dict.fromkeys(p for trio in trios for p in trio))  # each once, as read
    listed += [p for p in public + brand + support if p not in listed]

    result = export(target, store, listed)

    assert result.owner == {**dict.fromkeys(brand, "brand"), **dict.fromkeys(support, "support")}
    sent = engagement_requests(target)
    by_kind = sorted((r.scheme, len(r.body["tweet_ids"])) for r in sent)
    assert by_kind == [("Bearer", 40), ("OAuth", 20), ("OAuth", 30)]
    for request in sent:
        owned = {result.owner.get(i) for i in request.body["tweet_ids"]}
        assert len(owned) == 1, "a request never mixes owners, or owned and public posts"
        wanted = PUBLIC_TOTALS_METRICS if owned == {None} else TOTALS_METRICS
        assert set(request.body["engagement_types"]) == wanted
    oldest_unknown = min(brand[10:] + support, key=int)
    for user in (BRAND, SUPPORT):
        (query,) = [dict(r.query) for r in target.received if r.path == f"/2/users/{user}/tweets"]
        assert (
            query["start_time"]
            <= f"{target.world.find(oldest_unknown).created_at:%Y-%m-%dT%H:%M:%SZ}"
        )
        assert query["exclude"] == "retweets"  # an account's replies are its posts too
    likes, impressions = values(result, "favorites"), values(result, "impressions")
    for post_id in listed:
        assert likes[post_id] == target.value(post_id, "favorites")
    assert all(impressions[p] == target.value(p, "impressions") for p in brand + support)
    assert all(impressions[p] is None for p in public), "unknown, not 0"
    assert result.complete and not result.problems


def test_a_metric_a_post_cannot_have_is_unknown_not_zero(
    target: SandboxTarget, store: SqliteStore
) -> None:
    old = next(p.id for p in target.world.timeline(BRAND) if "(100 days)" in p.text)
    (young,) = target.add_posts(BRAND, 1, age=timedelta(hours=5))
    result = export(target, store, [old, young])
    impressions, likes = values(result, "impressions"), values(result, "favorites")
    assert impressions[old] is None  # older than 90 days: the API does not say
    assert impressions[young] == target.value(young, "impressions")
    assert likes[old] == target.value(old, "favorites")
    assert values(result, "engagement_rate")[old] is None


@pytest.mark.parametrize(
    "options",
    [
        Options(per_minute_limit=10_000),
        Options(per_minute_limit=10_000, unowned="reject", forbidden_text="author"),
    ],
    ids=["partial answer", "whole request refused"],
)
def test_an_account_adds_its_posts_and_a_post_not_owned_after_all_is_read_as_public(
    options: Options, store: SqliteStore
) -> None:
    target = SandboxTarget(lambda: 0.0, options=options).start()
    try:
        _account_and_forbidden(target, store)
    finally:
        target.stop()


def _account_and_forbidden(target: SandboxTarget, store: SqliteStore) -> None:
    public = target.add_posts(NASA, 3, age=timedelta(hours=3))
    store.upsert_posts([WatchedPostRecord(public[0], "brand", START, "explicit", START)])

    result = export(target, store, public, accounts=["support"])

    support = [p.id for p in target.world.timeline(SUPPORT) if p.kind != "repost"]
    assert list(result.table.post_ids) == public + support  # listed first, then added
    assert all(result.owner[p] == "support" for p in support)
    assert public[0] not in result.owner
    assert result.problems == {public[0]: FORBIDDEN.format(account="brand")}
    assert values(result, "favorites")[public[0]] == target.value(public[0], "favorites")


def _public_reread(target: SandboxTarget, post_id: str, then: Callable[[], Encoded | None]) -> None:
    """Run ``then`` when ``post_id`` is read with the bearer token: its answer, if any,
    stands for the sandbox's."""
    answer = target.sandbox.app.handle

    def reread(request: Request) -> Encoded:
        bearer = request.headers.get("authorization", "").startswith("Bearer ")
        if bearer and post_id.encode() in request.body:
            return then() or answer(request)
        return answer(request)

    target.sandbox.app.handle = reread  # type: ignore[method-assign]


def test_a_post_refused_to_its_account_then_found_deleted_is_listed_as_unavailable(
    target: SandboxTarget, store: SqliteStore
) -> None:
    public = target.add_posts(NASA, 3, age=timedelta(hours=3))
    store.upsert_posts([WatchedPostRecord(public[0], "brand", START, "explicit", START)])
    _public_reread(target, public[0], lambda: target.world.delete_post(public[0]))

    result = export(target, store, public)

    assert result.complete and result.problems == {public[0]: UNAVAILABLE}
    assert values(result, "favorites")[public[0]] is None


def test_a_post_refused_to_its_account_whose_public_read_fails_says_it_was_refused(
    target: SandboxTarget, store: SqliteStore
) -> None:
    public = target.add_posts(NASA, 3, age=timedelta(hours=3))
    store.upsert_posts([WatchedPostRecord(public[0], "brand", START, "explicit", START)])
    busy = Encoded(503, {"content-type": "application/json"}, b'{"errors":["busy"]}')
    _public_reread(target, public[0], lambda: busy)

    result = export(target, store, public)

    ((message, posts),) = result.failed
    assert posts == 1 and "HTTP 503" in message
    assert result.problems == {public[0]: FORBIDDEN.format(account="brand")}
    assert values(result, "favorites")[public[0]] is None
    assert values(result, "favorites")[public[1]] == target.value(public[1], "favorites")


def test_the_per_minute_budget_is_shared_with_the_engine_through_the_database(
    target: SandboxTarget, store: SqliteStore
) -> None:
    public = target.add_posts(NASA, 1250, age=timedelta(days=1))  # five requests
    engine_sent = START.timestamp() - 30
    store.budget_record("engagement", engine_sent)
    store.budget_record("engagement", engine_sent)
    clock, progress = Clock(START), Recorder()

    result = export(target, store, public, clock=clock, rpm=4, progress=progress)

    assert result.complete and len(engagement_requests(target)) == 5 == result.sent
    times = store.budget_load("engagement", 0)
    assert len(times) == 7
    assert all(sum(1 for s in times if t - 60 < s <= t) <= 4 for t in times)
    assert progress.waits and clock.sleeps
    assert progress.updates[0] == (0, 5, 60.0)  # 2 may go now, then 3 in the next minute


def test_an_interrupted_export_resumes_without_fetching_twice(
    target: SandboxTarget, store: SqliteStore
) -> None:
    brand = target.add_posts(BRAND, 600, age=timedelta(days=1))
    public = target.add_posts(NASA, 300, age=timedelta(days=1))
    listed = brand + public
    with pytest.raises(Interrupted) as stopped:
        export(target, store, listed, progress=Recorder(interrupt_at=2))
    assert (stopped.value.done, stopped.value.planned) == (2, 5)
    first = engagement_requests(target)
    paged = len(target.received) - len(first)
    target.received.clear()

    progress = Recorder()
    result = export(target, store, listed, progress=progress)

    assert progress.resumed == [(2, 5, "interrupted")]
    again = engagement_requests(target)
    assert len(again) == 3 and len(target.received) == 3, "no timeline paged again either"
    assert not {tuple(r.body["tweet_ids"]) for r in first} & {
        tuple(r.body["tweet_ids"]) for r in again
    }
    assert result.resumed == 2 and result.complete and paged > 0
    assert result.earlier == "interrupted"
    assert values(result, "favorites") == {p: target.value(p, "favorites") for p in listed}
    target.received.clear()
    export(target, store, listed)  # a finished run forgot its parts: fresh numbers
    assert len(engagement_requests(target)) == 5


def test_what_an_interrupted_run_fetched_is_kept_for_a_day_only(
    target: SandboxTarget, store: SqliteStore
) -> None:
    listed = target.add_posts(NASA, 500, age=timedelta(days=1))
    with pytest.raises(Interrupted):
        export(target, store, listed, progress=Recorder(interrupt_at=1))
    target.received.clear()
    later = Clock(START + timedelta(hours=25))
    result = export(target, store, listed, clock=later)
    assert result.resumed == 0 and len(engagement_requests(target)) == 2


def test_deleted_posts_and_requests_that_fail_for_good_are_listed_and_retried_by_a_rerun(
    target: SandboxTarget, store: SqliteStore
) -> None:
    public = target.add_posts(NASA, 260, age=timedelta(days=1))
    target.world.delete_post(public[5])
    failing = {"on": True}
    answer = target.sandbox.app.handle

    def second_chunk_down(request: Request) -> Encoded:
        if failing["on"] and public[-1].encode() in request.body:
            return Encoded(503, {"content-type": "application/json"}, b'{"errors":["busy"]}')
        return answer(request)

    target.sandbox.app.handle = second_chunk_down  # type: ignore[method-assign]
    result = export(target, store, public)

    assert not result.complete
    ((message, posts),) = result.failed
    assert posts == 10 and "HTTP 503" in message
    assert result.problems[public[5]] == UNAVAILABLE
    assert all(result.problems[p].startswith("not read: ") for p in public[250:])
    assert result.errors == ()  # the count of unavailable posts is not repeated
    failing["on"] = False
    target.received.clear()
    result = export(target, store, public)
    assert result.complete and result.resumed == 1 and result.earlier == "incomplete"
    (request,) = engagement_requests(target)
    assert request.body["tweet_ids"] == public[250:]
    assert values(result, "favorites")[public[-1]] == target.value(public[-1], "favorites")


SUMMED = choose_columns(None, by=None, period=True)


def test_a_45_day_period_sends_2_ranges_per_25_owned_posts_and_sums_to_the_worlds_own(
    target: SandboxTarget, store: SqliteStore
) -> None:
    owned = target.add_posts(BRAND, 50, age=timedelta(days=60))
    public = target.add_posts(NASA, 3, age=timedelta(days=60))
    period = Period(START - timedelta(days=50), START - timedelta(days=5))

    result = export(target, store, owned + public, columns=SUMMED, period=period)

    sent = engagement_requests(target)
    assert [(len(r.body["tweet_ids"]), r.body["start"], r.body["end"]) for r in sent] == [
        (25, "2026-10-01T12:00:00Z", "2026-10-29T12:00:00Z"),
        (25, "2026-10-01T12:00:00Z", "2026-10-29T12:00:00Z"),
        (25, "2026-10-29T12:00:00Z", "2026-11-15T12:00:00Z"),
        (25, "2026-10-29T12:00:00Z", "2026-11-15T12:00:00Z"),
    ]
    assert all(r.path.endswith("/historical") and r.scheme == "OAuth" for r in sent)
    world = target.world
    for post_id in owned:
        post = world.find(post_id)
        for column in SUMMED:
            if column.metric == "engagement_rate":
                continue
            own = world.value(post, column.metric, period.end) - world.value(
                post, column.metric, period.start
            )
            assert values(result, column.metric)[post_id] == own, (post_id, column.metric)
    assert result.problems == dict.fromkeys(public, NO_HISTORY)
    assert all(result.table.value(r, "favorites") is None for r in range(50, 53))
    target.received.clear()
    again = export(target, store, owned, columns=SUMMED, period=period)
    assert engagement_requests(target) == [], "hours the store holds are not asked again"
    assert {p: values(again, "impressions")[p] for p in owned} == {
        p: values(result, "impressions")[p] for p in owned
    }


def test_an_interrupted_period_resumes_from_the_hours_already_stored(
    target: SandboxTarget, store: SqliteStore
) -> None:
    owned = target.add_posts(SUPPORT, 30, age=timedelta(days=40))
    period = Period(START - timedelta(days=35), START - timedelta(days=1))
    with pytest.raises(Interrupted) as stopped:
        export(target, store, owned, columns=SUMMED, period=period, progress=Recorder(2))
    assert (stopped.value.done, stopped.value.planned) == (2, 4)
    target.received.clear()
    result = export(target, store, owned, columns=SUMMED, period=period)
    assert len(engagement_requests(target)) == 2 and result.complete
    post = target.world.find(owned[0])
    expected = target.world.value(post, "retweets", period.end) - target.world.value(
        post, "retweets", period.start
    )
    assert values(result, "retweets")[owned[0]] == expected


def test_a_period_over_public_posts_only_is_refused_saying_why(
    target: SandboxTarget, store: SqliteStore
) -> None:
    public = target.add_posts(NASA, 2, age=timedelta(days=3))
    with pytest.raises(UsageError, match="keeps history only for owned posts"):
        export(
            target,
            store,
            public,
            columns=SUMMED,
            period=Period(START - timedelta(days=2), START - timedelta(days=1)),
        )
    assert engagement_requests(target) == []


def test_an_account_adds_its_posts_of_the_period(target: SandboxTarget, store: SqliteStore) -> None:
    target.add_posts(BRAND, 3, age=timedelta(days=40))
    recent = target.add_posts(BRAND, 3, age=timedelta(days=10))
    period = Period(START - timedelta(days=20), START - timedelta(days=2))

    result = export(target, store, [], accounts=["brand"], columns=SUMMED, period=period)

    in_period = [
        p.id
        for p in target.world.timeline(BRAND)
        if period.start <= p.created_at < period.end and p.kind != "repost"
    ]
    assert set(recent) <= set(in_period)
    assert sorted(result.table.post_ids) == sorted(in_period)
    (timeline,) = [dict(r.query) for r in target.received if r.path == f"/2/users/{BRAND}/tweets"]
    assert (timeline["start_time"], timeline["end_time"]) == (
        "2026-10-31T12:00:00Z",
        "2026-11-18T12:00:00Z",
    )
    post = target.world.find(recent[0])
    assert values(result, "favorites")[recent[0]] == target.world.value(
        post, "favorites", period.end
    ) - target.world.value(post, "favorites", period.start)


def test_a_rerun_after_the_output_could_not_be_written_knows_why_it_resumes(
    target: SandboxTarget, store: SqliteStore
) -> None:
    listed = target.add_posts(NASA, 300, age=timedelta(days=1))

    def unwritable(result: ExportResult) -> None:
        raise UsageError("--output out.csv: cannot write it: Read-only file system")

    with pytest.raises(UsageError):
        export(target, store, listed, deliver=unwritable)
    target.received.clear()
    result = export(target, store, listed)

    assert result.complete and result.resumed == 2 and result.earlier == "unwritten"
    assert engagement_requests(target) == []
    target.received.clear()
    assert export(target, store, listed).resumed == 0  # delivered: its parts are forgotten

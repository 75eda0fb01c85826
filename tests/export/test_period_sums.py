"""Sums over a period as the export writes them: posts written during or after the
period, posts deleted since some hours were stored, and requests that fail for good."""

from __future__ import annotations

from datetime import timedelta

from export_helpers import BRAND, export, values
from sandbox_api import START, SandboxTarget

from automation.core.metric_columns import choose_columns
from automation.core.periods import Period
from automation.export.tally import UNAVAILABLE
from automation.sandbox.app import Encoded
from automation.sandbox.messages import Request
from automation.store.sqlite import SqliteStore

SUMMED = choose_columns(None, by=None, period=True)
PERIOD = Period(START - timedelta(days=30), START - timedelta(days=10))


def test_a_post_written_during_the_period_sums_from_its_first_hour_one_written_after_is_zero(
    target: SandboxTarget, store: SqliteStore
) -> None:
    (during,) = target.add_posts(BRAND, 1, age=timedelta(days=20))  # on an hour's edge
    (after,) = target.add_posts(BRAND, 1, age=timedelta(days=5))

    result = export(target, store, [during, after], columns=SUMMED, period=PERIOD)

    assert result.complete and result.problems == {}
    post = target.world.find(during)
    assert post is not None
    summed = [c.metric for c in SUMMED if c.metric != "engagement_rate"]
    own = {m: float(target.world.value(post, m, PERIOD.end)) for m in summed}
    assert own["impressions"] > 0
    assert {m: values(result, m)[during] for m in summed} == own
    assert {m: values(result, m)[after] for m in summed} == dict.fromkeys(summed, 0.0)


def test_a_post_deleted_after_some_metrics_were_stored_shows_none_of_them(
    target: SandboxTarget, store: SqliteStore
) -> None:
    owned = target.add_posts(BRAND, 2, age=timedelta(days=40))
    first = export(
        target,
        store,
        owned,
        columns=choose_columns("impressions", by=None, period=True),
        period=PERIOD,
    )
    assert all(v is not None for v in values(first, "impressions").values())
    answer = target.sandbox.app.handle

    def deleted_once_owned(request: Request) -> Encoded:
        if request.path.endswith("/historical"):
            target.world.delete_post(owned[0])  # after its owner was settled
        return answer(request)

    target.sandbox.app.handle = deleted_once_owned  # type: ignore[method-assign]
    result = export(
        target,
        store,
        owned,
        columns=choose_columns("impressions,favorites", by=None, period=True),
        period=PERIOD,
    )

    assert result.problems == {owned[0]: UNAVAILABLE}
    assert values(result, "impressions") == {
        owned[0]: None,
        owned[1]: values(first, "impressions")[owned[1]],
    }
    assert values(result, "favorites")[owned[0]] is None


def test_requests_failing_for_good_say_not_read_and_every_failure_is_listed(
    target: SandboxTarget, store: SqliteStore
) -> None:
    owned = target.add_posts(BRAND, 30, age=timedelta(days=40))  # 2 requests: 25 and 5
    answer = target.sandbox.app.handle

    def down(request: Request) -> Encoded:
        if not request.path.endswith("/historical"):
            return answer(request)
        said = b"first busy" if owned[0].encode() in request.body else b"second busy"
        return Encoded(503, {"content-type": "application/json"}, b'{"errors":["' + said + b'"]}')

    target.sandbox.app.handle = down  # type: ignore[method-assign]
    result = export(target, store, owned, columns=SUMMED, period=PERIOD)

    assert not result.complete
    ((message, posts),) = result.failed
    assert posts == 30
    assert all(result.problems[p] == f"not read: {message}" for p in owned)
    assert len(result.errors) == 1 and result.errors[0] != message
    assert {"first busy", "second busy"} == {
        said for said in ("first busy", "second busy") if said in message + result.errors[0]
    }
    assert all(values(result, "impressions")[p] is None for p in owned)

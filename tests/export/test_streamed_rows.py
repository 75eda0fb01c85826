"""Rows written straight from the answers (``StreamedRows``, counts kept as the API wrote
them) equal the general path (numbers into a ``MetricTable``, then ``write_rows``) byte
for byte: over generated /totals answers with counts in every form the reference allows
(texts, numbers, "047", "1e3", "2.5", 16 digits, spaces) and both nestings, missing
metrics, unavailable, unsupported and forbidden posts, posts answered twice, answers
naming posts not asked for, answers read back after a Ctrl-C, and counts that are not
numbers at all."""

from __future__ import annotations

import copy
import io
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from automation.cli.metrics_output import StreamedRows, write_rows
from automation.core.errors import MalformedResponse
from automation.core.metric_columns import CURRENT_DEFAULT, choose_columns
from automation.core.metric_table import MetricTable
from automation.core.periods import Period
from automation.export.saved_parts import SavedParts
from automation.export.tally import TableRows, Tally
from automation.store.memory import MemoryStore
from automation.x.engagement_client import FetchResult, _Merged
from automation.x.engagement_parse import parse_response
from automation.x.engagement_plan import EngagementRequest, plan_totals

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
PERIOD = Period(datetime(2026, 9, 1, tzinfo=UTC), datetime(2026, 10, 1, tzinfo=UTC))
IDS = [str(1_800_000_000_000_000_000 + 7919 * i) for i in range(12)]
PLAIN = st.sampled_from(["0", "1", "47", "9", "100", "123456789012345", "50000"])
ODD = st.sampled_from(
    [26, 0, 2.5, "047", "00", "1e3", "2.5", "1234567890123456", " 5", "1,234", "-0", "", True]
)
COUNT = st.one_of(PLAIN, PLAIN, PLAIN, ODD, st.just("lots"))  # "lots": not a number


@st.composite
def answer(draw: st.DrawFn, request: EngagementRequest) -> dict[str, Any]:
    """A decoded /totals body for ``request``."""
    ids = list(request.tweet_ids)
    given = draw(st.lists(st.sampled_from(ids), unique=True, max_size=len(ids)))
    given += draw(st.lists(st.sampled_from(IDS), max_size=1))  # perhaps one not asked for
    metrics = list(request.engagement_types)
    uniform = draw(st.booleans())
    per_post = {}
    for pid in given:
        names = metrics if uniform else draw(st.lists(st.sampled_from(metrics), unique=True))
        per_post[pid] = {m: draw(COUNT if not uniform else PLAIN) for m in names}
    body: dict[str, Any] = {request.grouping: per_post}
    if per_post and draw(st.booleans()):  # the other nesting: {metric: {post: count}}
        by_metric: dict[str, dict[str, Any]] = {}
        for pid, counts in per_post.items():
            for metric, count in counts.items():
                by_metric.setdefault(metric, {})[pid] = count
        body[request.grouping] = by_metric
    gone = [i for i in ids if i not in per_post]
    if gone and draw(st.booleans()):
        body["unavailable_tweet_ids"] = gone
    if draw(st.booleans()):
        old = draw(st.lists(st.sampled_from(ids), max_size=2))
        body["unsupported_for_impressions_engagements_tweet_ids"] = old
    if request.account is not None and draw(st.booleans()):  # asked for or not
        body["errors"] = [f"Forbidden to access tweets: {draw(st.sampled_from(IDS))}"]
    return body


def parsed(body: dict[str, Any], request: EngagementRequest) -> Any:
    try:
        return parse_response(copy.deepcopy(body), request, read_at=NOW)
    except MalformedResponse as exc:
        return str(exc)


def fetched(parts: Sequence[Any]) -> FetchResult:
    """One fetch's answers merged as the client merges them."""
    merged = _Merged()
    for part in parts:
        merged.add(part)
    return merged.build(len(parts), 0.0)


def resumed(result: FetchResult, request: EngagementRequest) -> FetchResult:
    """``result`` saved for a rerun and read back."""
    store = MemoryStore()
    saved = SavedParts(store, "run", NOW)
    saved.save_result("part", result, request.engagement_types, NOW)
    saved.flush()
    back = SavedParts(store, "run", NOW).result("part")
    assert back is not None
    return back


@settings(max_examples=200, derandomize=True, deadline=None)
@given(st.data())
def test_rows_made_from_each_answer_equal_the_table_path_byte_for_byte(data: st.DataObject) -> None:
    names = data.draw(st.lists(st.sampled_from(CURRENT_DEFAULT), min_size=1, unique=True))
    columns = choose_columns(",".join(names), by=None, period=False)
    fmt = data.draw(st.sampled_from(["csv", "json"]))
    period = data.draw(st.sampled_from([None, PERIOD]))
    owned = data.draw(st.lists(st.sampled_from(IDS), unique=True))
    # two accounts: each answer's lines must carry the account of the request's posts
    owner = {pid: data.draw(st.sampled_from(["brand", "support"])) for pid in owned}
    metrics = frozenset(m for c in columns for m in _api(c.metric))
    requests = [
        small for r in plan_totals(IDS, list(map(owner.get, IDS)), metrics) for small in _small(r)
    ]

    table = MetricTable(IDS)
    general = Tally(table, dict(owner), TableRows(table))
    streamed_rows = StreamedRows(fmt, columns, period)
    streamed = Tally(MetricTable(IDS), dict(owner), streamed_rows)
    for request in requests:
        bodies = [data.draw(answer(request))]
        if data.draw(st.booleans()):  # a follow-up answer within the same fetch
            bodies.append(data.draw(answer(request)))
        numbers = [parsed(body, request) for body in bodies]
        texts = [parsed(body, replace(request, texts=True)) for body in bodies]
        faults = [p for p in numbers if isinstance(p, str)]
        assert faults == [p for p in texts if isinstance(p, str)]  # a fault is found alike
        if faults:
            continue
        again = data.draw(st.booleans())
        for tally, parts in ((general, numbers), (streamed, texts)):
            result = fetched(parts)
            if again:
                result = resumed(result, request)
            tally.add(result, request.account, request.tweet_ids)

    assert general.problems == streamed.problems and general.owner == streamed.owner
    expected = io.StringIO()
    rows = list(table.rows_read())
    write_rows(expected, fmt, table, rows, columns, general.owner, period)
    got, in_turns = io.StringIO(), io.StringIO()
    streamed_rows.write(got, IDS)
    streamed_rows.write(in_turns, IDS, list(map(owner.get, IDS)))  # the accounts planned
    assert got.getvalue() == in_turns.getvalue() == expected.getvalue()
    assert len(streamed_rows) == len(rows)


def _api(metric: str) -> tuple[str, ...]:
    return ("engagements", "impressions") if metric == "engagement_rate" else (metric,)


def _small(request: EngagementRequest) -> list[EngagementRequest]:
    """The request split in requests of at most 5 posts: more answers per example."""
    ids = request.tweet_ids
    return [request.with_ids(ids[i : i + 5]) for i in range(0, len(ids), 5)]


def test_many_rows_are_written_in_the_listed_order_as_the_table_path_writes_them() -> None:
    """More lines than one write takes, some posts not answered, written in an order
    unlike the answers'."""
    listed = [str(1_800_000_000_000_000_000 + 7919 * i) for i in range(10_000)]
    owner = {pid: "brand" for pid in listed[::3]}
    columns = choose_columns(None, by=None, period=False)
    metrics = frozenset(m for c in columns for m in _api(c.metric))
    table = MetricTable(listed)
    general = Tally(table, dict(owner), TableRows(table))
    streamed_rows = StreamedRows("csv", columns, None)
    streamed = Tally(MetricTable(listed), dict(owner), streamed_rows)
    for n, request in enumerate(plan_totals(listed, list(map(owner.get, listed)), metrics)):
        asked = request.tweet_ids[n % 7 :]  # a few posts of each request not answered
        per_post = {
            pid: {m: str(i % 1000) for m in request.engagement_types} for i, pid in enumerate(asked)
        }
        for tally, texts in ((general, False), (streamed, True)):
            body = {request.grouping: copy.deepcopy(per_post)}
            result = parse_response(body, replace(request, texts=texts), read_at=NOW)
            tally.add(fetched([result]), request.account, request.tweet_ids)
    order = listed[::-1]
    expected, got = io.StringIO(), io.StringIO()
    rows = sorted(table.rows_read(), reverse=True)
    write_rows(expected, "csv", table, rows, columns, general.owner, None)
    streamed_rows.write(got, order)
    assert got.getvalue() == expected.getvalue()
    assert got.getvalue().count("\n") == len(rows) + 1 < len(listed)
    in_turns = io.StringIO()
    streamed_rows.write(in_turns, order, list(map(owner.get, order)))
    assert in_turns.getvalue() == expected.getvalue()


@pytest.mark.parametrize("forbidden", [False, True], ids=["as planned", "one post refused"])
def test_lines_taken_in_the_accounts_turns_equal_the_table_paths(forbidden: bool) -> None:
    """Every post answered as planned, the accounts' posts interleaved in the list: the
    lines are taken from each account's answers in turn; a post refused to its account
    (then public) is written as the table path writes it too."""
    listed = [str(1_800_000_000_000_000_000 + 7919 * i) for i in range(1_000)]
    owner = {pid: ("brand", "support")[i % 2] for i, pid in enumerate(listed) if i % 3}
    columns = choose_columns(None, by=None, period=False)
    metrics = frozenset(m for c in columns for m in _api(c.metric))
    accounts = list(map(owner.get, listed))
    table = MetricTable(listed)
    general = Tally(table, dict(owner), TableRows(table))
    streamed_rows = StreamedRows("json", columns, None)
    streamed = Tally(MetricTable(listed), dict(owner), streamed_rows)
    for request in plan_totals(listed, accounts, metrics):
        per_post = {
            pid: {m: str(i % 1000) for m in request.engagement_types}
            for i, pid in enumerate(request.tweet_ids)
        }
        for tally, texts in ((general, False), (streamed, True)):
            body = {request.grouping: copy.deepcopy(per_post)}
            result = parse_response(body, replace(request, texts=texts), read_at=NOW)
            if forbidden and request.account == "support":
                result = replace(result, forbidden=frozenset(request.tweet_ids[3:4]))
            tally.add(fetched([result]), request.account, request.tweet_ids)
    expected, got = io.StringIO(), io.StringIO()
    write_rows(expected, "json", table, list(table.rows_read()), columns, general.owner, None)
    streamed_rows.write(got, listed, accounts)
    assert got.getvalue() == expected.getvalue()
    assert got.getvalue().count("\n") == len(listed) == len(streamed_rows)


@pytest.mark.parametrize("missing", [None, 1, 5_001, 9_991])  # owned posts
def test_lines_taken_in_turns_block_by_block_equal_the_table_paths(missing: int | None) -> None:
    """More lines than one write takes, in the accounts' turns: each block is written
    once its posts are checked; a post its account's answer left out, in a later block,
    makes that block and the rest go by the table, the blocks before staying as
    written, so every line is written once, in the listed order."""
    listed = [str(1_800_000_000_000_000_000 + 7919 * i) for i in range(10_000)]
    owner = {pid: ("brand", "support")[i % 2] for i, pid in enumerate(listed) if i % 5}
    left_out = listed[missing] if missing is not None else None
    columns = choose_columns(None, by=None, period=False)
    metrics = frozenset(m for c in columns for m in _api(c.metric))
    accounts = list(map(owner.get, listed))
    table = MetricTable(listed)
    general = Tally(table, dict(owner), TableRows(table))
    streamed_rows = StreamedRows("csv", columns, None)
    streamed = Tally(MetricTable(listed), dict(owner), streamed_rows)
    for request in plan_totals(listed, accounts, metrics):
        per_post = {
            pid: {m: str(i % 997) for m in request.engagement_types}
            for i, pid in enumerate(request.tweet_ids, start=1)
            if pid != left_out
        }
        for tally, texts in ((general, False), (streamed, True)):
            body = {request.grouping: copy.deepcopy(per_post)}
            result = parse_response(body, replace(request, texts=texts), read_at=NOW)
            tally.add(fetched([result]), request.account, request.tweet_ids)
    expected, got = io.StringIO(), io.StringIO()
    write_rows(expected, "csv", table, list(table.rows_read()), columns, general.owner, None)
    streamed_rows.write(got, listed, accounts)
    assert got.getvalue() == expected.getvalue()
    assert got.getvalue().count("\n") == len(listed) + (missing is None)


def test_posts_holding_as_many_metrics_as_the_first_but_others_are_written_as_theirs() -> None:
    """An answer's posts are read by its first post's plan only when they hold its
    metrics: a later post holding as many, but one of them another (or one the columns
    do not show), is written with its own gaps, whichever post comes first."""
    columns = choose_columns(None, by=None, period=False)
    ids = IDS[:4]
    owner = dict.fromkeys(ids, "brand")
    metrics = frozenset(m for c in columns for m in _api(c.metric))
    [request] = plan_totals(ids, list(map(owner.get, ids)), metrics)
    both = {"impressions": "10", "engagements": "4"}
    for first, later in (
        (both, {"impressions": "7", "favorites": "3"}),  # no engagements: no rate either
        (both, {"impressions": "7", "bookmarks": "3"}),  # a metric no column shows
        (both, {"retweets": "7", "favorites": "3"}),
        ({"impressions": "7", "bookmarks": "3"}, both),  # the first holds one not shown
        ({"favorites": "7"}, {"retweets": "2"}),
    ):
        per_post = dict(zip(ids, (first, first, later, first), strict=True))
        table = MetricTable(ids)
        general = Tally(table, dict(owner), TableRows(table))
        streamed_rows = StreamedRows("csv", columns, None)
        streamed = Tally(MetricTable(ids), dict(owner), streamed_rows)
        for tally, texts in ((general, False), (streamed, True)):
            body = {request.grouping: copy.deepcopy(per_post)}
            result = parse_response(body, replace(request, texts=texts), read_at=NOW)
            tally.add(fetched([result]), request.account, request.tweet_ids)
        expected, got = io.StringIO(), io.StringIO()
        write_rows(expected, "csv", table, list(table.rows_read()), columns, owner, None)
        streamed_rows.write(got, ids)
        assert got.getvalue() == expected.getvalue()


@settings(max_examples=100, derandomize=True, deadline=None)
@given(
    st.lists(st.sampled_from(CURRENT_DEFAULT), min_size=1, unique=True),
    st.sampled_from(["csv", "json"]),
    st.sampled_from([None, "brand"]),
    st.lists(PLAIN, min_size=7, max_size=7),
)
def test_lines_from_the_parses_joined_counts_equal_those_picked_from_the_answer(
    names: list[str], fmt: str, account: str | None, counts: list[str]
) -> None:
    """Given the parse's joined counts, the lines are those made by picking each count
    from the answer, whatever the columns' order, format, rate or account."""
    columns = choose_columns(",".join(names), by=None, period=False)
    metrics = frozenset(m for c in columns for m in _api(c.metric))
    owner = dict.fromkeys(IDS, account) if account else {}
    requests = plan_totals(IDS, list(map(owner.get, IDS)), metrics, texts=True)
    picked, joined = StreamedRows(fmt, columns, None), StreamedRows(fmt, columns, None)
    for request in requests:
        asked = request.engagement_types
        per_post = {
            pid: {m: counts[(i + j) % 7] for j, m in enumerate(asked)}
            for i, pid in enumerate(request.tweet_ids)
        }
        result = parse_response({request.grouping: per_post}, request, read_at=NOW)
        assert result.joined is not None
        picked.put_texts(result.texts, request.account)
        joined.put_texts(result.texts, request.account, result.joined)
    expected, got = io.StringIO(), io.StringIO()
    picked.write(expected, IDS)
    joined.write(got, IDS)
    assert got.getvalue() == expected.getvalue()
    assert len(joined) == sum(len(r.tweet_ids) for r in requests)


def test_csv_lines_hold_the_joined_counts_as_they_are_where_they_fit() -> None:
    """Under the default columns each CSV line holds its post's joined counts as the parse
    gave them (an owned post's split where its rate goes in, the rate read from them);
    with the columns in another order, or the rate before one of its counts, the counts
    are picked from the answer."""
    ids = IDS[:2]
    public = ("favorites", "retweets", "quote_tweets", "replies", "video_views")
    owned = ("impressions", "engagements", *public)
    rate_first = "engagement_rate,impressions,engagements,favorites"
    for names, metrics, tail in (
        (None, public, ",,,,6,7,8,9,10"),
        (None, owned, ",6,7,1.16667,8,9,10,11,12"),  # engagements / impressions: 7 / 6
        ("retweets,favorites,quote_tweets,replies,video_views", public, ",1,1,1,1,1"),
        (rate_first, owned, ",1,1,1,1"),
        ("impressions,engagement_rate,engagements,favorites", owned[:3], ",1,1,1,1"),
    ):
        answer = {pid: dict.fromkeys(metrics, "1") for pid in ids}
        marked = ",".join(map(str, range(6, 6 + len(metrics))))  # not the answer's counts
        rows = StreamedRows("csv", choose_columns(names, by=None, period=False), None)
        account = "brand" if "impressions" in metrics else ""
        rows.put_texts(answer, account or None, (metrics, (marked, marked)))
        out = io.StringIO()
        rows.write(out, ids)
        first = out.getvalue().splitlines()[1]
        assert first.endswith(f"/{ids[0]},{account}{tail}"), (names, metrics, first)

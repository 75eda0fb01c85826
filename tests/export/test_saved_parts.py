"""What an export keeps for a rerun: answers written in batches, read back as given."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from types import MappingProxyType

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from automation.export.saved_parts import SavedParts, part_name
from automation.store.memory import MemoryStore
from automation.x.engagement_client import FetchResult, _Merged
from automation.x.engagement_parse import parse_response
from automation.x.engagement_plan import HOURLY_GROUP_BY, EngagementRequest

T0 = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
METRICS = ("impressions", "favorites", "retweets")


class CountingStore(MemoryStore):
    """Remembers how many parts each write held."""

    def __init__(self) -> None:
        super().__init__()
        self.batches: list[int] = []

    def save_export_parts(self, run: str, parts: Iterable[tuple[str, datetime, str]]) -> None:
        parts = list(parts)
        self.batches.append(len(parts))
        super().save_export_parts(run, parts)


def answer(n: int) -> FetchResult:
    return FetchResult(
        totals=MappingProxyType(
            {
                f"{n}01": {"impressions": 1500.0 + n, "favorites": 3.0, "retweets": 0.0},
                f"{n}02": {"favorites": 7.0, "retweets": 2.5},  # no impressions: unknown
            }
        ),
        hourly=MappingProxyType({}),
        unavailable=frozenset({f"{n}03"}),
        unsupported=MappingProxyType({}),
        forbidden=frozenset({f"{n}04"}),
        errors=("the API also said this",),
        failures=(),
    )


def test_answers_arriving_within_a_second_are_written_together_and_read_back_as_given() -> None:
    store = CountingStore()
    saved = SavedParts(store, "run", T0)
    for n in range(5):  # one answer every 0.4 s
        saved.save_result(f"part{n}", answer(n), METRICS, T0 + timedelta(seconds=0.4 * n))
    assert store.batches == [4]  # the first waiting one was 1.2 s old
    saved.flush()
    saved.flush()  # nothing left to write
    assert store.batches == [4, 1]

    again = SavedParts(store, "run", T0 + timedelta(minutes=5))
    assert len(again) == 5
    for n in range(5):
        kept, given = again.result(f"part{n}"), answer(n)
        assert kept is not None
        assert {k: dict(v) for k, v in kept.totals.items()} == given.totals
        assert (kept.unavailable, kept.forbidden, kept.errors) == (
            given.unavailable,
            given.forbidden,
            given.errors,
        )


@pytest.mark.parametrize("metrics", [METRICS, ("favorites",)])
def test_an_answer_with_every_metric_asked_for_is_read_back_as_given(
    metrics: tuple[str, ...],
) -> None:
    given = FetchResult(
        totals=MappingProxyType(
            {
                f"{n}": MappingProxyType({m: n * 10.0 + i for i, m in enumerate(metrics)})
                for n in (7, 8, 9)
            }
        ),
        hourly=MappingProxyType({}),
        unavailable=frozenset(),
        unsupported=MappingProxyType({}),
        forbidden=frozenset(),
        errors=(),
        failures=(),
    )
    kept = _kept(given, metrics)
    assert {k: dict(v) for k, v in kept.totals.items()} == given.totals


def test_text_is_written_at_once_with_the_answers_waiting() -> None:
    store = CountingStore()
    saved = SavedParts(store, "run", T0)
    saved.save_result("part", answer(1), METRICS, T0)
    saved.save_text("owners", "{}", T0)
    assert store.batches == [2]
    assert set(store.export_parts("run", T0)) == {"part", "owners"}


def test_a_finished_run_forgets_its_parts_written_or_waiting() -> None:
    store = CountingStore()
    saved = SavedParts(store, "run", T0)
    saved.save_text("owners", "{}", T0)
    saved.save_result("part", answer(1), METRICS, T0)
    saved.finish()
    saved.flush()
    assert store.export_parts("run", T0) == {} and store.batches == [1]


def test_an_answer_asked_for_one_metric_reads_back_as_given() -> None:
    store = CountingStore()
    saved = SavedParts(store, "run", T0)
    one = FetchResult(
        totals=MappingProxyType({"101": {"favorites": 4.0}, "102": {}}),
        hourly=MappingProxyType({}),
        unavailable=frozenset(),
        unsupported=MappingProxyType({}),
        forbidden=frozenset(),
        errors=(),
        failures=(),
    )
    saved.save_result("part", one, ("favorites",), T0)
    saved.flush()
    kept = SavedParts(store, "run", T0).result("part")
    assert kept is not None
    assert {k: dict(v) for k, v in kept.totals.items()} == {"101": {"favorites": 4.0}, "102": {}}


@settings(max_examples=100, derandomize=True, deadline=None)
@given(
    values=st.lists(
        st.tuples(st.integers(1, 10**19), st.lists(st.floats(0, 1e18), min_size=3, max_size=3)),
        max_size=30,
        unique_by=lambda item: item[0],
    ),
    gone=st.frozensets(st.integers(1, 10**19).map(str), max_size=3),
    errors=st.lists(st.text(max_size=40), max_size=3),
)
def test_a_saved_answer_is_the_json_object_of_its_fields_and_reads_back_as_given(
    values: list[tuple[int, list[float]]], gone: frozenset[str], errors: list[str]
) -> None:
    """The text written is what ``json.dumps`` makes of the answer's fields (errors with
    quotes, backslashes and any character included), and reads back as given."""
    given = FetchResult(
        totals=MappingProxyType(
            {str(pid): dict(zip(METRICS, counts, strict=True)) for pid, counts in values}
        ),
        hourly=MappingProxyType({}),
        unavailable=gone,
        unsupported=MappingProxyType({}),
        forbidden=frozenset(),
        errors=tuple(errors),
        failures=(),
    )
    store = MemoryStore()
    saved = SavedParts(store, "run", T0)
    saved.save_result("part", given, METRICS, T0)
    saved.flush()
    text = store.export_parts("run", T0)["part"]
    assert json.loads(text) == {
        "m": list(METRICS),
        "i": ",".join(given.totals),
        "v": json.loads(text)["v"],
        "u": sorted(gone),
        "f": [],
        "e": errors,
    }
    kept = SavedParts(store, "run", T0).result("part")
    assert kept is not None
    assert {k: dict(v) for k, v in kept.totals.items()} == given.totals
    assert (kept.unavailable, kept.errors) == (gone, tuple(errors))


def test_a_part_is_named_by_its_request_and_by_nothing_else() -> None:
    at = datetime(2026, 11, 1, tzinfo=UTC)
    base = EngagementRequest("totals", "brand", ("11", "12"), ("impressions", "favorites"))
    others = [
        replace(base, account=None),
        replace(base, account="support"),
        replace(base, tweet_ids=("12", "11")),
        replace(base, tweet_ids=("11",)),
        replace(base, engagement_types=("favorites", "impressions")),
        replace(base, endpoint="28hr", grouping="hourly", group_by=HOURLY_GROUP_BY),
        EngagementRequest(
            "historical",
            "brand",
            ("11", "12"),
            ("impressions", "favorites"),
            grouping="hourly",
            group_by=HOURLY_GROUP_BY,
            start=at,
            end=at + timedelta(hours=1),
        ),
    ]
    names = [part_name(r) for r in [base, *others]]
    assert len(set(names)) == len(names)
    assert part_name(replace(base, tweet_ids=("11", "12"))) == names[0]
    assert part_name(replace(base, texts=True)) == names[0]  # the same answer, kept as sent


def _kept(result: FetchResult, metrics: tuple[str, ...]) -> FetchResult:
    store = MemoryStore()
    saved = SavedParts(store, "run", T0)
    saved.save_result("part", result, metrics, T0)
    saved.flush()
    kept = SavedParts(store, "run", T0).result("part")
    assert kept is not None
    return kept


@given(
    st.lists(st.sampled_from(METRICS), min_size=1, unique=True),
    st.lists(st.sampled_from(["0", "5", "47", "123456789012345"]), min_size=3, max_size=3),
    st.integers(min_value=1, max_value=2),
)
@settings(max_examples=50, derandomize=True, deadline=None)
def test_texts_a_fetch_kept_read_back_as_given_from_one_answer_or_more(
    asked: list[str], counts: list[str], answers: int
) -> None:
    """Whether the part is made from the parse's joined counts (one answer holding just
    the metrics asked for) or from the texts (two answers merged), it reads back as the
    fetch's texts."""
    metrics = tuple(asked)
    request = EngagementRequest("totals", "brand", ("101", "102"), metrics, texts=True)
    merged = _Merged()
    for n in range(answers):
        ids = request.tweet_ids[n : n + 1] if answers > 1 else request.tweet_ids
        body = {"per_post": {pid: dict(zip(metrics, counts, strict=False)) for pid in ids}}
        merged.add(parse_response(body, request, read_at=T0))
    result = merged.build(answers, 0.0)
    assert (result.joined is not None) == (answers == 1)
    assert {k: dict(v) for k, v in _kept(result, metrics).texts.items()} == result.texts


def test_joined_counts_of_other_metrics_are_not_what_is_kept() -> None:
    texts = {"101": {"favorites": "4", "retweets": "1"}}
    result = FetchResult(
        totals=MappingProxyType({}),
        texts=MappingProxyType(texts),
        hourly=MappingProxyType({}),
        unavailable=frozenset(),
        unsupported=MappingProxyType({}),
        forbidden=frozenset(),
        errors=(),
        failures=(),
        joined=(("retweets", "favorites"), ("1,4",)),
    )
    kept = _kept(result, ("favorites", "retweets"))
    assert {k: dict(v) for k, v in kept.texts.items()} == texts

"""``merged_spans`` rewrites only the stored spans a new one meets, and the spans stored
afterwards are the ones ``add_span`` gives, whether it was given every stored span or
only those ``span_reach`` selects (as the SQLite and PostgreSQL stores read them)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from automation.core.hours import Span, add_span
from automation.store.hourly_rows import Key, merged_spans, span_reach

_span = st.tuples(st.integers(0, 40), st.integers(0, 6)).map(lambda s: (s[0], s[0] + s[1]))
_key = st.tuples(st.integers(1, 3), st.integers(1, 2))


def _stored(spans: list[Span]) -> list[Span]:
    out: list[Span] = []
    for span in spans:
        out = add_span(out, span)
    return out


def _applied(
    stored: dict[Key, list[Span]],
    gone: list[tuple[int, int, int]],
    rows: list[tuple[int, int, int, int]],
) -> dict[Key, list[Span]]:
    """``stored`` after the deletes and inserts, as the primary key allows them."""
    out = {key: set(spans) for key, spans in stored.items()}
    for p, m, lo in gone:
        (found,) = [s for s in out[(p, m)] if s[0] == lo]
        out[(p, m)].discard(found)
    for p, m, a, b in rows:
        assert not any(lo == a for lo, _ in out.setdefault((p, m), set()))
        out[(p, m)].add((a, b))
    return {key: sorted(spans) for key, spans in out.items() if spans}


@settings(derandomize=True, deadline=None)
@given(
    st.dictionaries(_key, st.lists(_span, max_size=6)),
    st.dictionaries(_key, _span, min_size=1),
    st.booleans(),
)
def test_merged_as_add_span_merges(
    history: dict[Key, list[Span]], new: dict[Key, Span], all_read: bool
) -> None:
    stored = {key: s for key, spans in history.items() if (s := _stored(spans))}
    lo, hi = span_reach(new.values())
    read = {
        key: spans if all_read else [(a, b) for a, b in spans if b >= lo and a <= hi]
        for key, spans in stored.items()
    }
    gone, rows = merged_spans(read, new)
    merged = {key: add_span(stored.get(key, []), new[key]) for key in new}
    expected = {key: spans for key, spans in {**stored, **merged}.items() if spans}
    assert _applied(stored, gone, rows) == expected


def test_a_span_apart_leaves_the_others_alone() -> None:
    stored = {(1, 1): [(0, 2), (4, 5), (7, 9)]}
    assert merged_spans(stored, {(1, 1): (11, 12)}) == ([], [(1, 1, 11, 12)])
    assert merged_spans(stored, {(1, 1): (9, 10)}) == ([(1, 1, 7)], [(1, 1, 7, 10)])
    assert merged_spans(stored, {(1, 1): (4, 5)}) == ([], [])

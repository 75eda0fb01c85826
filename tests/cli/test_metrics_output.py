"""How ``metrics`` writes rows: every answer shape gives exactly the cells that
``MetricTable.value`` says, formatted as documented (counts ``%.15g``, rates ``%.6g``,
unknown as an empty cell or null, never 0)."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from automation.cli.metrics_output import write_rows
from automation.core.metric_columns import Column
from automation.core.metric_table import MetricTable
from automation.core.periods import Period

METRICS = ("impressions", "engagements", "favorites", "retweets", "video_views")
COLUMNS = (*METRICS, "engagement_rate")
# counts as the API sends them (whole numbers, 0, a negative zero, beyond 15 digits)
# and as a resumed run reads them back (doubles)
VALUE = st.sampled_from([0.0, -0.0, 1.0, 47.0, 1e15, 1e16, 123456789012345678.0, 2.5, 1e-7])
ANSWER = st.one_of(st.none(), st.dictionaries(st.sampled_from(METRICS), VALUE))
PERIOD = Period(datetime(2026, 9, 1, tzinfo=UTC), datetime(2026, 10, 1, tzinfo=UTC))


def cell(table: MetricTable, row: int, metric: str, unknown: str) -> str:
    value = table.value(row, metric)
    if value is None:
        return unknown
    return ("%.6g" if metric == "engagement_rate" else "%.15g") % value


@settings(max_examples=150, derandomize=True, deadline=None)
@given(
    st.lists(ANSWER, min_size=1, max_size=12),
    st.lists(st.sampled_from(COLUMNS), min_size=1, max_size=6, unique=True),
    st.lists(st.sampled_from(["brand", "support", None]), min_size=12, max_size=12),
    st.booleans(),
)
def test_every_answer_shape_gives_the_cells_the_table_holds(
    answers: list[dict[str, float] | None],
    metrics: list[str],
    owners: list[str | None],
    with_period: bool,
) -> None:
    ids = [str(10**18 + i) for i in range(len(answers))]
    table = MetricTable(ids)
    for pid, answer in zip(ids, answers, strict=True):
        if answer is not None:
            table.put(pid, answer)
    owner = {pid: a for pid, a in zip(ids, owners, strict=False) if a is not None}
    columns = [Column(f"c_{m}", m) for m in metrics]
    rows = list(range(len(ids)))[::-1]  # any order, unread rows included
    period = PERIOD if with_period else None

    out = io.StringIO()
    write_rows(out, "csv", table, rows, columns, owner, period)
    lines = out.getvalue().splitlines()
    assert lines[0] == ",".join(["id", "url", "account", *(c.name for c in columns)])
    for row, line in zip(rows, lines[1:], strict=True):
        pid = ids[row]
        cells = [cell(table, row, m, "") for m in metrics]
        assert line == ",".join(
            [f'"=""{pid}"""', f"https://x.com/i/status/{pid}", owner.get(pid, ""), *cells]
        )

    out = io.StringIO()
    write_rows(out, "json", table, rows, columns, owner, period)
    for row, line in zip(rows, out.getvalue().splitlines(), strict=True):
        got = json.loads(line)
        pid = ids[row]
        assert list(got)[:2] == ["id", "account"]
        assert (got["id"], got["account"]) == (pid, owner.get(pid))
        if with_period:
            assert (got["from"], got["to"]) == ("2026-09-01T00:00:00Z", "2026-10-01T00:00:00Z")
        texts = line[line.index('"c_') :].rstrip("}")
        expected = ", ".join(f'"c_{m}": {cell(table, row, m, "null")}' for m in metrics)
        assert texts == expected


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_table_wider_than_the_terminal_comes_in_blocks_that_each_fit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    ids = ["2128903658664886272", "2128722661864374272"]
    table = MetricTable(ids)
    table.put(ids[0], {m: 24544.0 for m in METRICS})
    table.put(ids[1], {"favorites": 255.0})
    columns = [Column(m, m) for m in (*METRICS, "engagement_rate", "replies", "quote_tweets")]
    args = (table, [0, 1], columns, {ids[0]: "brand"}, None)

    out = _Terminal()
    write_rows(out, "table", *args)
    blocks = [b.splitlines() for b in out.getvalue().split("\n\n")]
    assert len(blocks) > 1
    assert max(len(line) for block in blocks for line in block) <= 80
    for block in blocks:  # each block names its posts and gives every row
        assert block[0].split()[:2] == ["post", "account"] and len(block) == 4
        assert [line.split()[:2] for line in block[2:]] == [[ids[0], "brand"], [ids[1], "public"]]
    shown = [name for block in blocks for name in block[0].split()[2:]]
    assert shown == [c.name for c in columns]

    plain = io.StringIO()  # not a terminal (a pipe, a file): one block, as wide as it takes
    write_rows(plain, "table", *args)
    assert "\n\n" not in plain.getvalue() and max(map(len, plain.getvalue().splitlines())) > 80


def test_a_column_of_unknown_values_aligns_as_its_numbers_would() -> None:
    # public posts: their impressions are unknown, every one of them
    ids = ["2128903658664886272", "2128722661864374272"]
    table = MetricTable(ids)
    table.put(ids[0], {"favorites": 24544.0})
    table.put(ids[1], {"favorites": 255.0})
    columns = [Column(m, m) for m in ("favorites", "impressions", "engagement_rate")]
    out = io.StringIO()
    write_rows(out, "table", table, [0, 1], columns, {}, None)
    header, _, *rows = out.getvalue().splitlines()
    assert header.split() == ["post", "account", "favorites", "impressions", "engagement_rate"]
    for row in rows:  # "-" under the right end of its header, as a number is
        for name in ("impressions", "engagement_rate"):
            assert row[header.index(name) + len(name) - 1] == "-"
        assert row[header.index("favorites") + len("favorites") - 1] in "45"

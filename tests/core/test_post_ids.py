"""Reading post IDs from a list or a spreadsheet export: what is read, what is skipped."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from automation.core.errors import UsageError
from automation.core.post_ids import (
    SkippedLine,
    ascii_digits,
    is_post_id,
    read_post_ids,
    rounded_by_spreadsheet,
)

BIG = "1260294888811347969"


def test_one_id_a_line_ignores_blank_lines_and_duplicates_and_reports_bad_lines() -> None:
    got = read_post_ids([BIG, "", "  ", "850006245121695744", BIG, "12x", "  42  "])
    assert got.ids == (BIG, "850006245121695744", "42")
    assert got.duplicates == 1
    assert got.column is None
    assert got.skipped == (SkippedLine(6, "12x", "not a post ID (digits, or a link to a post)"),)


def test_a_csv_header_names_the_column_in_any_case_and_the_line_numbers_count_it() -> None:
    lines = ["\ufeffdate,Tweet ID,likes", "2026-07-01,1001,3", "", "2026-07-02,,4", "x,1002"]
    got = read_post_ids(lines)
    assert got.column == "Tweet ID"
    assert got.ids == ("1001", "1002")
    assert [(s.line, s.reason) for s in got.skipped] == [(4, "the ID cell is empty")]


@pytest.mark.parametrize(
    ("header", "row", "column"),
    [
        ("id;text", "1001;hello, world", "id"),
        ("text\tpost_id", "a\t1001", "post_id"),
        ("id,tweet_id", "7,1001", "tweet_id"),  # tweet_id wins over a row number
        ("tweet_id", "1001", "tweet_id"),
    ],
)
def test_header_forms(header: str, row: str, column: str) -> None:
    got = read_post_ids([header, row])
    assert (got.column, got.ids) == (column, ("1001",))


def test_a_short_csv_row_and_a_quoted_multiline_cell_keep_true_line_numbers() -> None:
    lines = ["note,tweet_id\n", '"two\n', 'lines",1001\n', "only-a-note\n", "x,abc\n"]
    got = read_post_ids(lines)
    assert got.ids == ("1001",)
    assert [(s.line, s.reason) for s in got.skipped] == [
        (4, "no tweet_id value"),
        (5, "not a post ID (digits, or a link to a post)"),
    ]


def test_links_to_posts_count_as_their_ids() -> None:
    got = read_post_ids(
        [
            f"https://x.com/brand/status/{BIG}?s=20",
            "https://twitter.com/i/web/status/1001",
            '"1002"',
        ]
    )
    assert got.ids == (BIG, "1001", "1002")


def test_a_link_copied_without_its_scheme_counts_as_its_id() -> None:
    """A link copied from an address bar, or typed, often lacks ``https://``: it was
    skipped as "not a post ID (digits, or a link to a post)", though it is a link to a
    post."""
    got = read_post_ids([f"x.com/brand/status/{BIG}", "www.twitter.com/i/web/status/1001"])
    assert (got.ids, got.skipped) == ((BIG, "1001"), ())


def test_a_link_that_is_not_to_a_post_says_what_a_post_s_link_reads() -> None:
    got = read_post_ids(["1", "https://x.com/brand", "https://example.com/status/1001"])
    assert got.ids == ("1",)
    assert [(s.line, s.reason) for s in got.skipped] == [
        (n, "a link, but not to a post: a post's link reads https://x.com/NAME/status/ID")
        for n in (2, 3)
    ]


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("1.26029E+18", "a number a spreadsheet rounded: its last digits are lost; copy"),
        ("1.23E+18", "into a column formatted as Text, or give the posts' links"),
        ("0123", "does not start with 0"),
        ("99999999999999999999", "too long"),
        ("9223372036854775808", "too long"),  # 2^63: 19 digits, still too big
        ("1001,1002", "expected one post ID a line"),
    ],
)
def test_malformed_ids_say_why(text: str, reason: str) -> None:
    got = read_post_ids(["1", text])
    assert got.ids == ("1",)
    assert len(got.skipped) == 1 and reason in got.skipped[0].reason
    assert got.skipped[0].line == 2


def test_a_header_without_an_id_column_is_refused_saying_what_to_do() -> None:
    with pytest.raises(UsageError, match=r"\(date, likes\).*tweet_id.*url"):
        read_post_ids(["date,likes", "2026-07-01,3"])


LINK = f"https://x.com/brand/status/{BIG}"


@pytest.mark.parametrize(
    ("header", "row", "column"),
    [
        ("Date,URL,Impressions", f"2026-11-30,{LINK},100", "URL"),
        ("URL", LINK, "URL"),  # one column: its name is the header, not a line skipped
        ("date;Post URL;likes", f"2026-11-30;{LINK};7", "Post URL"),
        ("Tweet permalink,likes", f"{LINK},7", "Tweet permalink"),
        ("link", f'"{LINK}"', "link"),
        ("Tweet id,Tweet permalink", f"{BIG},https://x.com/brand/status/1001", "Tweet id"),
        ("url,id", f"https://x.com/brand/status/1001,{BIG}", "id"),  # an ID column wins
    ],
)
def test_a_column_of_post_links_is_read_when_no_id_column_is_named(
    header: str, row: str, column: str
) -> None:
    got = read_post_ids([f"\ufeff{header}\r\n", f"{row}\r\n", "\r\n"])
    assert (got.column, got.ids, got.skipped) == (column, (BIG,), ())


def test_nothing_listed() -> None:
    assert read_post_ids(["", " "]).ids == ()


def test_is_post_id_bounds() -> None:
    assert is_post_id("9223372036854775807")
    assert not is_post_id("") and not is_post_id("0") and not is_post_id("١٢")


@settings(max_examples=300, derandomize=True, deadline=None)
@given(st.text(st.sampled_from("0123456789١٢\u00b2 x\n")) | st.text())
def test_ascii_digits_is_isdigit_over_ascii_text(text: str) -> None:
    assert ascii_digits(text) == (text.isascii() and text.isdigit())


# Lists read in bulk (every line an ID) and lists with one bad line read line by line
# must agree: the same IDs in the same order, duplicates counted, the bad line named.
_ID = st.integers(1, 2**63 - 1).map(str)
_BAD = st.sampled_from(
    ["0123", "12x", "9223372036854775808", "1.26029E+18", "", " ", "١٢", "12\u00b2"]
)


@settings(max_examples=200, derandomize=True, deadline=None)
@given(
    st.lists(st.one_of(_ID, st.sampled_from(["", "  "])), max_size=30),
    st.booleans(),
    st.one_of(st.none(), st.tuples(st.integers(0, 30), _BAD)),
)
def test_bulk_and_line_by_line_reading_agree(
    cells: list[str], as_csv: bool, bad: tuple[int, str] | None
) -> None:
    cells = list(cells)
    if bad is not None:
        cells.insert(min(bad[0], len(cells)), bad[1])
    if as_csv:
        lines = ["date,tweet_id,text\n", *(f"2026-11-01, {c} ,x\n" for c in cells)]
    else:
        lines = [f" {c}\n" for c in cells]
    got = read_post_ids(lines)
    listed = [c for c in cells if is_post_id(c)]
    assert got.ids == tuple(dict.fromkeys(listed))
    assert got.duplicates == len(listed) - len(set(listed))
    blank_ok = not as_csv  # a blank line is nothing; a row with an empty ID cell is skipped
    expected = [
        i + 1 + as_csv
        for i, c in enumerate(cells)
        if not is_post_id(c) and (c.strip() or not blank_ok)
    ]
    if not as_csv:
        assert got.column is None
    assert [s.line for s in got.skipped] == expected


# Excel's optional first line naming the delimiter (it writes one when saving a CSV
# for a locale whose list separator is not a comma); the header is on the next line.
@pytest.mark.parametrize("sep", [";", ",", "\t"])
@pytest.mark.parametrize("newline", ["\n", "\r\n"])
@pytest.mark.parametrize("bom", ["", "\ufeff"])
def test_a_sep_line_names_the_delimiter_and_the_header_follows(
    sep: str, newline: str, bom: str
) -> None:
    rows = [f"date{sep}Tweet id{sep}text", f"2026-11-01{sep}1001{sep}a", f"x{sep}12x{sep}b"]
    rows += [f"2026-11-02{sep}1002{sep}c"]
    lines = [f"{bom}sep={sep}{newline}", *(f"{row}{newline}" for row in rows)]
    got = read_post_ids(lines)
    assert got.column == "Tweet id"
    assert got.ids == ("1001", "1002")
    assert got.skipped == (SkippedLine(4, "12x", "not a post ID (digits, or a link to a post)"),)
    # every row an ID: read in bulk, to the same answer
    assert read_post_ids([*lines[:3], *lines[4:]]).ids == ("1001", "1002")


def test_a_sep_line_before_one_id_a_line_or_a_header_naming_no_id_column() -> None:
    assert read_post_ids(["sep=;", "tweet_id", "1001", "1002"]).ids == ("1001", "1002")
    assert read_post_ids(["SEP=;\r\n", "1001\r\n", "1002\r\n"]).ids == ("1001", "1002")
    with pytest.raises(UsageError, match=r"\(date, views\).*tweet_id"):
        read_post_ids(["sep=;", "date;views", "2026-11-01;12"])


def test_bytes_not_utf8_replaced_lose_nothing_in_the_id_column() -> None:
    # Windows-1252 read as UTF-8 with decoding errors replaced: "é" becomes U+FFFD
    rows = [
        "date;Tweet id;text",
        "2026-11-01;1001;caf\xe9",
        "x;12\xe9;b",
        "2026-11-02;1002;\xe9t\xe9",
    ]
    text = "".join(f"{row}\r\n" for row in rows)
    lines = text.encode("cp1252").decode("utf-8", errors="replace").splitlines(keepends=True)
    got = read_post_ids(lines)
    assert got.ids == ("1001", "1002")
    assert got.skipped == (
        SkippedLine(3, "12\ufffd", "not a post ID (digits, or a link to a post)"),
    )


def test_utf16_text_is_refused_saying_how_to_save_it() -> None:
    lines = "tweet_id\n1001\n".encode("utf-16").decode("utf-8", errors="replace").splitlines()
    with pytest.raises(UsageError, match=r"UTF-16.*CSV UTF-8"):
        read_post_ids(lines)


def test_an_id_a_spreadsheet_rounded_to_15_digits_is_told_by_its_zeros() -> None:
    assert rounded_by_spreadsheet("2129016602882990000")  # 19 digits: 15 kept, 4 zeros
    assert rounded_by_spreadsheet("850006245121695000")  # 18 digits: 3 zeros
    assert not rounded_by_spreadsheet("2129016602882998272")
    assert not rounded_by_spreadsheet("2129016602882999000")  # 16 digits kept
    assert not rounded_by_spreadsheet("10000000")  # short IDs are written whole

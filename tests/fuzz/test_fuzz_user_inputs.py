"""The parsers of what a user types or hands over besides rule files and the config (those
have their own targets): rule-test files, the post-ID lists of ``metrics --ids``,
durations (``--since``, ``--for``) and the ``--from``/``--to`` dates. Each either gives
its answer or raises an ``AutomationError`` whose message the command line prints; any
other exception would reach the user as "internal error"."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from io import StringIO
from pathlib import Path

import pytest
from fuzz.strategies import INPUTS, REPO, file_bytes, fuzz_settings
from hypothesis import given
from hypothesis import strategies as st

from automation.core.durations import duration_hint, format_duration, parse_duration
from automation.core.errors import AutomationError, UsageError
from automation.core.periods import Period, parse_period
from automation.core.post_ids import PostIdList, read_post_ids
from automation.rule_tests.runner import run_files

NOW = datetime(2026, 11, 20, 12, 34, tzinfo=UTC)
TEST_FILES = 150  # each generated rule-test file is loaded and its tests played
ID_LISTS = 1000
TEXTS = 1000

# ------------------------------------------------------------------ rule-test files


@pytest.fixture(scope="module")
def test_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where each generated file is written: beside a copy of the starter rules it
    names (``rules: [../rules/]``)."""
    root = tmp_path_factory.mktemp("fuzz")
    shutil.copytree(REPO / "rules", root / "rules")
    (root / "rule-tests").mkdir()
    return root / "rule-tests" / "fuzzed.test.yaml"


def starter_test_text() -> str:
    """The shipped tests, their start quoted: the generator copies data through JSON."""
    text = (REPO / "rule-tests" / "starter.test.yaml").read_text("utf-8")
    return text.replace("start: 2026-01-05T12:00:00Z", 'start: "2026-01-05T12:00:00Z"')


def test_the_starter_tests_pass(test_file: Path) -> None:
    """The generator's starting point runs and passes: mutations start from a good file."""
    test_file.write_text(starter_test_text(), "utf-8")
    assert run_files([test_file], out=StringIO(), err=StringIO()) == 0


@fuzz_settings(TEST_FILES)
@given(raw=file_bytes([starter_test_text()]))
def test_generated_rule_test_files_run_or_say_why(test_file: Path, raw: bytes) -> None:
    INPUTS["rule-test files"] += 1
    test_file.write_bytes(raw)
    out, err = StringIO(), StringIO()
    try:
        code = run_files([test_file], out=out, err=err)
    except AutomationError as exc:
        assert str(exc)
        return
    assert code in (0, 1, 2)
    if code == 2:
        assert err.getvalue().strip()


# ------------------------------------------------------------------ post-ID lists

_ID_PIECES = st.one_of(
    st.sampled_from(
        [
            "1260294888811347969",
            "9223372036854775807",
            "9223372036854775808",
            "0",
            "007",
            "-5",
            "1e18",
            "1,26E+18",
            '="1260294888811347969"',
            "https://x.com/brand/status/1260294888811347969",
            "https://twitter.com/i/web/status/12?s=20",
            "id",
            "tweet_id",
            "Post URL",
            "sep=;",
            "sep=",
            "\ufeff",
            "PK\x03\x04",
            '"',
            ",",
            ";",
            "\t",
            "\n",
            "\r\n",
            "\r",
            " ",
        ]
    ),
    st.text(max_size=6),
)
id_texts = st.one_of(
    st.lists(_ID_PIECES, max_size=30).map("".join),
    st.binary(max_size=64).map(lambda b: b.decode("utf-8", "replace")),
)


@fuzz_settings(ID_LISTS)
@given(text=id_texts)
def test_generated_id_lists_read_or_say_why(text: str) -> None:
    INPUTS["post-ID lists"] += 1
    try:
        listed = read_post_ids(text.splitlines(keepends=True))
    except UsageError as exc:
        assert str(exc)
        return
    assert isinstance(listed, PostIdList)
    for post_id in listed.ids:
        assert post_id.isdigit() and 0 < int(post_id) < 2**63, post_id


# ------------------------------------------------------------------ durations and dates

_NUMBER = st.one_of(st.integers(-5, 10**6), st.integers(10**6, 10**30)).map(str)
duration_texts = st.one_of(
    st.tuples(
        _NUMBER,
        st.sampled_from(["", " ", "."]),
        st.sampled_from(["s", "m", "h", "d", "w", "y", "days", "min", "hours", "h30m", "x"]),
    ).map("".join),
    st.text(max_size=12),
)


@fuzz_settings(TEXTS)
@given(text=duration_texts)
def test_generated_durations_parse_or_hint(text: str) -> None:
    INPUTS["durations"] += 1
    seconds = parse_duration(text)
    assert isinstance(duration_hint(text), str)
    if seconds is not None:
        assert seconds >= 0 and format_duration(seconds)
    try:
        period = parse_period(since=text, start=None, end=None, now=NOW)
    except UsageError as exc:
        assert str(exc)
        return
    assert isinstance(period, Period) and period.start < period.end


_MOMENTS = st.datetimes(
    min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31, 23, 59, 59)
).map(lambda t: t.replace(microsecond=0))
_OFFSETS = st.sampled_from(["", "Z", "+00:00", "+14:00", "-14:00", "+05:30", "+2400", "-99:99"])
date_texts = st.one_of(
    _MOMENTS.map(lambda t: t.date().isoformat()),
    st.tuples(_MOMENTS, _OFFSETS).map(lambda p: p[0].isoformat() + p[1]),
    st.tuples(
        st.integers(-1, 10000), st.integers(-1, 14), st.integers(-1, 33), st.integers(-1, 25)
    ).map(lambda p: f"{p[0]:04d}-{p[1]:02d}-{p[2]:02d}T{p[3]:02d}:00"),
    st.text(max_size=25),
)


@fuzz_settings(TEXTS)
@given(start=date_texts, end=st.none() | date_texts)
def test_generated_dates_make_a_period_or_say_why(start: str, end: str | None) -> None:
    INPUTS["--from/--to dates"] += 1
    try:
        period = parse_period(since=None, start=start, end=end, now=NOW)
    except UsageError as exc:
        assert str(exc)
        return
    assert isinstance(period, Period)
    assert period.start < period.end <= NOW.replace(minute=0) + timedelta(hours=1)

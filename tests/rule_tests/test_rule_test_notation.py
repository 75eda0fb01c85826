"""The compact notation for metric values per poll: every form, and every mistake at its
exact character."""

from __future__ import annotations

import pytest

from automation.rule_tests.notation import MAX_POLLS, NotationProblem, parse_series


@pytest.mark.parametrize(
    ("text", "values"),
    [
        ("80", (80,)),
        (80, (80,)),
        (0, (0,)),
        ("80+5x6", (80, 85, 90, 95, 100, 105, 110)),
        ("80+5x6 _ 115", (80, 85, 90, 95, 100, 105, 110, None, 115)),
        ("120x3", (120, 120, 120)),
        ("120-10x2", (120, 110, 100)),
        ("10-5x2", (10, 5, 0)),
        ("_", (None,)),
        ("_x3 7", (None, None, None, 7)),
        ("1 2, 3,4", (1, 2, 3, 4)),
        ("  5\t6  ", (5, 6)),
        ("0+1x2 9x1", (0, 1, 2, 9)),
    ],
)
def test_values(text: str | int, values: tuple[int | None, ...]) -> None:
    assert parse_series(text) == values


@pytest.mark.parametrize(
    ("text", "offset", "words"),
    [
        ("", 0, "no values"),
        ("   ", 3, "no values"),
        ("80+5", 4, "a step needs a count: '80+5x6' is 80 then 6 steps of +5"),
        ("80+", 3, "expected the step after '+'"),
        ("80 90-", 6, "expected the step after '-'"),
        ("80x", 3, "expected how many polls after 'x'"),
        ("80x0", 3, "at least 1"),
        ("1 80+0x3", 5, "the step must be more than 0 (for a repeated value write '80x3')"),
        ("5 10-5x3", 2, "'10-5x3' goes below 0 (to -5)"),
        ("-5", 0, "cannot be negative"),
        ("1.5", 1, "whole numbers"),
        ("80 85_", 5, "unexpected '_': separate values with spaces"),
        ("80 abc", 3, "unexpected 'a': expected a number or '_'"),
        ("_+5x3", 1, "a missed poll '_' has no value to step from"),
        ("1 2 3y", 5, "unexpected 'y'"),
        ("9" * 16, 0, "at most 15 digits"),
        ("1 5+" + "1" * 16 + "x2", 4, "at most 15 digits"),
        (f"1x{MAX_POLLS + 1}", 2, f"more than {MAX_POLLS:,} polls"),
        (f"1x{MAX_POLLS} 2", 8, f"more than {MAX_POLLS:,} polls"),
    ],
)
def test_mistakes_point_at_their_character(text: str, offset: int, words: str) -> None:
    problem = parse_series(text)
    assert isinstance(problem, NotationProblem)
    assert problem.offset == offset
    assert words in problem.message


@pytest.mark.parametrize(("value", "words"), [(-1, "negative"), (10**15, "digits"), (True, "")])
def test_numbers_written_without_quotes_are_checked_too(value: int, words: str) -> None:
    problem = parse_series(value)
    assert isinstance(problem, NotationProblem)
    assert words in problem.message

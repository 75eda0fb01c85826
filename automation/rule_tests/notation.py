"""The compact notation for a metric's value at each poll: ``80+5x6 _ 115``.

Marketers describe a post's life in one line instead of a column of numbers. Items are
separated by spaces (or commas) and each yields one or more polls, in order:

==============  ==========================================  ===========================
item            meaning                                     values
==============  ==========================================  ===========================
``80``          the value at one poll                       80
``80x3``        the same value at 3 polls                   80, 80, 80
``80+5x6``      80, then 6 steps of +5 (7 polls)            80, 85, 90, 95, 100, 105, 110
``120-10x2``    120, then 2 steps of -10 (3 polls)          120, 110, 100
``_``           a missed poll: no value is read             (none)
``_x3``         3 missed polls                              (none), (none), (none)
==============  ==========================================  ===========================

Values are whole numbers, never negative (they are counts). Parsing is pure and never
raises: a mistake comes back as a ``NotationProblem`` with the character offset of the bad
token, which the test-file loader turns into a column.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["MAX_POLLS", "NotationProblem", "Series", "format_value", "parse_series"]

MAX_POLLS = 10_000
MAX_DIGITS = 15  # exact as a float, far beyond any real count
_SEPARATORS = " \t,"
_EXAMPLE = "e.g. '80+5x6 _ 115'"

# One value per poll; None is a missed poll.
Series = tuple[int | None, ...]


@dataclass(frozen=True)
class NotationProblem:
    """What is wrong, and at which character of the text (0-based)."""

    message: str
    offset: int


def format_value(value: int | None) -> str:
    return "_" if value is None else str(value)


def parse_series(text: str | int) -> Series | NotationProblem:
    """The values at each poll, or the first problem found."""
    if isinstance(text, bool):
        return NotationProblem(f"expected metric values, {_EXAMPLE}", 0)
    if isinstance(text, int):
        if text < 0:
            return NotationProblem("metric values are counts and cannot be negative", 0)
        if text >= 10**MAX_DIGITS:
            return NotationProblem(f"numbers have at most {MAX_DIGITS} digits here", 0)
        return (text,)
    return _Parser(text).parse()


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.values: list[int | None] = []

    def parse(self) -> Series | NotationProblem:
        self.skip_separators()
        if self.pos >= len(self.text):
            return NotationProblem(f"no values: write one per poll, {_EXAMPLE}", self.pos)
        while self.pos < len(self.text):
            start = self.pos
            problem = self.item()
            if problem is not None:
                return problem
            if len(self.values) > MAX_POLLS:
                return NotationProblem(f"more than {MAX_POLLS:,} polls", start)
            if self.pos < len(self.text) and self.text[self.pos] not in _SEPARATORS:
                return self.unexpected("separate values with spaces")
            self.skip_separators()
        return tuple(self.values)

    # --- items ----------------------------------------------------------------------------

    def item(self) -> NotationProblem | None:
        start = self.pos
        if self.peek() == "_":
            self.pos += 1
            if self.peek() in ("+", "-"):
                return NotationProblem(
                    "a missed poll '_' has no value to step from: start with a number",
                    self.pos,
                )
            count = self.count() if self.peek() == "x" else 1
            if isinstance(count, NotationProblem):
                return count
            self.values.extend([None] * count)
            return None
        if self.peek() == "-":
            return NotationProblem("metric values are counts and cannot be negative", self.pos)
        if not self.peek().isdigit():
            return self.unexpected(f"expected a number or '_' (a missed poll), {_EXAMPLE}")
        value = self.number()
        if isinstance(value, NotationProblem):
            return value
        sign = self.peek()
        if sign in ("+", "-"):
            return self.run(start, value, sign)
        if sign == "x":
            count = self.count()
            if isinstance(count, NotationProblem):
                return count
            self.values.extend([value] * count)
            return None
        self.values.append(value)
        return None

    def run(self, start: int, value: int, sign: str) -> NotationProblem | None:
        """``80+5x6``: the value, then ``count`` steps of ``step``."""
        self.pos += 1
        if not self.peek().isdigit():
            return NotationProblem(
                f"expected the step after '{sign}', e.g. '{value}{sign}5x6' is {value} then "
                f"6 steps of {sign}5",
                self.pos,
            )
        step_at = self.pos
        step = self.number()
        if isinstance(step, NotationProblem):
            return step
        if step == 0:
            return NotationProblem(
                f"the step must be more than 0 (for a repeated value write '{value}x3')", step_at
            )
        if self.peek() != "x":
            return NotationProblem(
                f"a step needs a count: '{value}{sign}{step}x6' is {value} then 6 steps "
                f"of {sign}{step}",
                self.pos,
            )
        count = self.count()
        if isinstance(count, NotationProblem):
            return count
        delta = step if sign == "+" else -step
        last = value + delta * count
        if last < 0:
            return NotationProblem(
                f"'{self.text[start : self.pos]}' goes below 0 (to {last}): metric values "
                "are counts",
                start,
            )
        self.values.extend(value + delta * i for i in range(count + 1))
        return None

    # --- tokens ---------------------------------------------------------------------------

    def count(self) -> int | NotationProblem:
        self.pos += 1  # the 'x'
        if not self.peek().isdigit():
            return NotationProblem(
                "expected how many polls after 'x', e.g. '80x3' is 80 at three polls", self.pos
            )
        at = self.pos
        count = self.number()
        if isinstance(count, NotationProblem):
            return count
        if count < 1:
            return NotationProblem("the count after 'x' must be at least 1", at)
        if count > MAX_POLLS:
            return NotationProblem(f"more than {MAX_POLLS:,} polls", at)
        return count

    def number(self) -> int | NotationProblem:
        start = self.pos
        while self.peek().isdigit():
            self.pos += 1
        if self.pos - start > MAX_DIGITS:
            return NotationProblem(f"numbers have at most {MAX_DIGITS} digits here", start)
        return int(self.text[start : self.pos])

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def skip_separators(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos] in _SEPARATORS:
            self.pos += 1

    def unexpected(self, hint: str) -> NotationProblem:
        char = self.peek()
        if char == ".":
            return NotationProblem("metric values are whole numbers", self.pos)
        return NotationProblem(f"unexpected '{char}': {hint}", self.pos)

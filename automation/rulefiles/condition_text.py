"""The one-line condition form, ``"likes >= 100"`` or ``"retweets over 1h >= 50"``.

Parsing is pure and never raises: it returns a Leaf or a ``SyntaxProblem`` carrying the
character offset of the bad token, which the rule parser turns into a column. The checks
shared with the mapping form (metric names, windows, thresholds) live here too, so both
forms say the same thing about the same mistake.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import yaml

from automation.core.durations import duration_hint, format_duration, parse_duration
from automation.core.metric_names import canonical, suggest
from automation.core.rules import OPERATOR_SYMBOLS, OPERATORS, Leaf
from automation.rulefiles.yaml_loader import PathPart

__all__ = [
    "MAX_WINDOW",
    "SyntaxProblem",
    "check_threshold",
    "check_window",
    "metric_problem",
    "number_hint",
    "parse_condition",
    "read_condition_exponents",
    "read_exponents",
    "rule_file_text",
]

MAX_WINDOW = 28 * 3600  # the /28hr series and the snapshots kept reach this far back
_INT64_MAX = 2**63 - 1
_OPS = {symbol: op for op, symbol in OPERATOR_SYMBOLS.items()}
_TOKEN = re.compile(r"\s*(?:(?P<op>=>|=<|[<>=!]=?)|(?P<word>[^\s<>=!]+))")
_NUMBER = re.compile(r"^[-+]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][-+]?[0-9]+)?$")
_EXPONENT = re.compile(r"^[-+]?([0-9]+(\.[0-9]*)?|\.[0-9]+)[eE][-+]?[0-9]+$")
_SUFFIXED = re.compile(r"^([0-9]+(?:\.[0-9]+)?)\s*([kKmM])$")
_SUFFIXES = {"k": 1000, "m": 1_000_000}
_EXAMPLE = "write e.g. 'likes >= 100' or 'retweets over 1h >= 50'"


@dataclass(frozen=True)
class SyntaxProblem:
    """What is wrong, and at which character of the condition text."""

    message: str
    offset: int


def metric_problem(name: str) -> str | None:
    """Why ``name`` is not a metric (with a suggestion), or None when it is one."""
    if canonical(name) is not None:
        return None
    close = suggest(name)
    hint = f" (did you mean '{close}'?)" if close else " (run 'automation schema' for the list)"
    return f"unknown metric '{name}'{hint}"


def check_window(seconds: int) -> str | None:
    """Why an ``over`` window is unusable, or None."""
    if seconds <= 0:
        return "'over' must be longer than 0s"
    if seconds > MAX_WINDOW:
        return (
            f"'over' can look back at most 28h, got {format_duration(seconds)}: write 28h or less"
        )
    return None


def check_threshold(value: object, written: str = "") -> str | None:
    """Why ``value`` cannot be compared with, or None. Booleans are not numbers here."""
    shown = written or repr(value)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None  # a wrong type is the schema's to report
    if isinstance(value, float) and not math.isfinite(value):
        return f"the number must be finite, got {shown}"
    if abs(value) > _INT64_MAX:
        return f"the number must fit in 64 bits (at most {_INT64_MAX}), got {shown}"
    return None


def parse_condition(text: str) -> Leaf | SyntaxProblem:
    """``METRIC [over DURATION] OP NUMBER``, as a Leaf without a position."""
    tokens = [
        (m.group("op") or m.group("word"), m.start("op") if m.group("op") else m.start("word"))
        for m in _TOKEN.finditer(text)
        if m.group("op") or m.group("word")
    ]
    if not tokens:
        return SyntaxProblem(f"empty condition: {_EXAMPLE}", 0)
    (name, start), rest = tokens[0], tokens[1:]
    if name in _OPS or name in ("=", "!=", "=>", "=<", "!"):
        return SyntaxProblem(f"a condition starts with a metric name: {_EXAMPLE}", start)
    problem = metric_problem(name)
    if problem:
        return SyntaxProblem(problem, start)
    over: int | None = None
    if rest and rest[0][0] == "over":
        window = _window(rest[1:], rest[0][1] + len("over"))
        if isinstance(window, SyntaxProblem):
            return window
        over, rest = window, rest[2:]
    if not rest:
        return SyntaxProblem(
            f"expected a comparison (>=, >, <=, <, ==) after '{name}'", len(text.rstrip())
        )
    op = _operator(*rest[0])
    if isinstance(op, SyntaxProblem):
        return op
    threshold = _threshold(rest[1:], rest[0], len(text.rstrip()))
    if isinstance(threshold, SyntaxProblem):
        return threshold
    if len(rest) > 2:
        return _trailing(*rest[2])
    return Leaf(canonical(name) or name, op, threshold, over, written=name)


def _window(rest: list[tuple[str, int]], end: int) -> int | SyntaxProblem:
    if not rest:
        return SyntaxProblem("expected a duration after 'over', like 1h", end)
    word, start = rest[0]
    seconds = parse_duration(word)
    if seconds is None:
        # 'over 1 hour' splits into '1' and 'hour': the hint reads them together
        spelled = duration_hint(word + rest[1][0]) if len(rest) > 1 else ""
        return SyntaxProblem(
            f"expected a duration like 30s, 15m, 1h or 7d after 'over', got '{word}'"
            + (spelled or duration_hint(word)),
            start,
        )
    problem = check_window(seconds)
    return SyntaxProblem(problem, start) if problem else seconds


def _operator(token: str, start: int) -> str | SyntaxProblem:
    if token in _OPS:
        return _OPS[token]
    if token == "=":
        return SyntaxProblem("use '==' to compare for equality", start)
    if token in ("=>", "=<"):
        return SyntaxProblem(f"write '{token[::-1]}', not '{token}'", start)
    if token in ("!=", "!"):
        return SyntaxProblem("'!=' is not supported: use not: {metric: ..., eq: ...}", start)
    return SyntaxProblem(f"expected a comparison (>=, >, <=, <, ==), got '{token}'", start)


def read_exponents(data: Any, style: Callable[[Sequence[PathPart]], str | None]) -> None:
    """Make each comparison's plain (unquoted) ``1e5`` the number it is in a condition's
    text and to editors (YAML 1.2), in place: YAML 1.1 reads it as text unless written
    ``1.0e+5``. ``style`` gives the scalar style at a path; a quoted ``'1e5'`` stays text."""
    rules = data.get("rules") if isinstance(data, dict) else None
    for index, rule in enumerate(rules if isinstance(rules, list) else ()):
        if isinstance(rule, dict):
            read_condition_exponents(rule.get("when"), ["rules", index, "when"], style)


def read_condition_exponents(
    node: Any, path: list[PathPart], style: Callable[[Sequence[PathPart]], str | None]
) -> None:
    """``read_exponents`` for one condition, written at ``path`` of its document."""
    if not isinstance(node, dict | list):
        return
    for key, value in node.items() if isinstance(node, dict) else enumerate(node):
        written = isinstance(value, str) and _EXPONENT.match(value)
        if key in OPERATORS and written and style([*path, key]) is None:
            node[key] = float(value)
        else:
            read_condition_exponents(value, [*path, key], style)


class _RuleFileDumper(yaml.SafeDumper):
    """Quotes a text that the rule loader would read as a number (``'1e5'``)."""


_RuleFileDumper.add_implicit_resolver("tag:yaml.org,2002:float", _EXPONENT, list("-+.0123456789"))


def rule_file_text(data: Any) -> str:
    """``data`` (read from a rule file, exponents read) as a rule file that loads back to
    the same values: numbers stay numbers and texts stay texts."""
    return yaml.dump(data, Dumper=_RuleFileDumper, sort_keys=False)


def number_hint(text: str) -> str:
    """How to write ``text`` as a number where it nearly is one ('1,000', a quoted '100',
    '1k'), for the end of a message; else nothing."""
    plain = text.strip()
    if plain[:1] in ("'", '"') and plain[-1:] == plain[:1]:
        plain = plain[1:-1].strip()
    if _NUMBER.match(plain):
        return f": write {plain} without quotes"
    if suffixed := _SUFFIXED.match(plain):
        whole = f"{Decimal(suffixed.group(1)) * _SUFFIXES[suffixed.group(2).lower()]:f}"
        whole = whole.rstrip("0").rstrip(".") if "." in whole else whole
        return f": write {whole} (numbers take no k or m)"
    bare = re.sub(r"[,_ ]", "", plain)
    return f": write {bare}, without separators or quotes" if bare and _NUMBER.match(bare) else ""


def _threshold(rest: list[tuple[str, int]], op: tuple[str, int], end: int) -> float | SyntaxProblem:
    if not rest:
        return SyntaxProblem(f"expected a number after '{op[0]}'", end)
    word, start = rest[0]
    if word in ("=", "==") and op[0] in ("<", ">"):
        return SyntaxProblem(f"write '{op[0]}=' without a space between '{op[0]}' and '='", op[1])
    if not _NUMBER.match(word):
        hint = number_hint(word)
        return SyntaxProblem(f"expected a number after '{op[0]}', got '{word}'{hint}", start)
    value = float(word)
    problem = check_threshold(value, word)
    return SyntaxProblem(problem, start) if problem else value


def _trailing(word: str, start: int) -> SyntaxProblem:
    if word.lower() in ("and", "or", "&&", "||"):
        return SyntaxProblem(
            f"'{word}' cannot join conditions here: list them under all: or any:", start
        )
    return SyntaxProblem(f"unexpected '{word}' after the condition", start)

"""Durations as people write them in YAML: ``30s``, ``15m``, ``1h``, ``7d``."""

from __future__ import annotations

import re
from fractions import Fraction

__all__ = ["DURATION_PATTERN", "duration_hint", "format_duration", "parse_duration"]

DURATION_PATTERN = r"^[0-9]+(s|m|h|d)$"
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_RE = re.compile(DURATION_PATTERN)
# units as people spell them, for a hint: how many of our units one is
_SPELLED = {
    **dict.fromkeys(("sec", "secs", "second", "seconds"), (1, "s")),
    **dict.fromkeys(("min", "mins", "minute", "minutes"), (1, "m")),
    **dict.fromkeys(("hr", "hrs", "hour", "hours"), (1, "h")),
    **dict.fromkeys(("day", "days"), (1, "d")),
    **dict.fromkeys(("w", "wk", "wks", "week", "weeks"), (7, "d")),
    **dict.fromkeys(("y", "yr", "yrs", "year", "years"), (365, "d")),
}
_UNIT_WORDS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}
_SPELLED_RE = re.compile(r"^([0-9]+)\s*([a-z]+)$")
# several units or a fraction of one (1h30m, 1.5h), for a hint in one unit
_PART_RE = re.compile(r"([0-9]+(?:\.[0-9]+)?)([smhd])")
_PARTS_RE = re.compile(r"^(?:[0-9]+(?:\.[0-9]+)?[smhd])+$")


def parse_duration(text: object) -> int | None:
    """Seconds for ``text``, or None when it is not a duration (the caller words the error)."""
    if not isinstance(text, str):
        return None
    match = _RE.match(text.strip())
    if not match:
        return None
    return int(text.strip()[:-1]) * _UNITS[match.group(1)]


def duration_hint(text: object, likely: str = "m") -> str:
    """How to write ``text`` as a duration where it nearly is one (``15`` with no unit,
    ``15 minutes``, ``1w``), for the end of a message; else nothing. A bare number is
    shown with the ``likely`` unit; zero is never a duration, whatever its unit."""
    raw = str(text).strip().lower() if isinstance(text, int | str) else ""
    if not raw.isascii():  # no hint for ², ٣ and the like, which isdigit() also takes
        return ""
    match = _SPELLED_RE.match(raw)
    number, word = (match.group(1), match.group(2)) if match else (raw, "")
    if number.isdigit() and int(number) == 0 and (word in _SPELLED or word in _UNITS or not word):
        return ": a duration must be more than zero"  # so 0m, 0 or 0 minutes never hint 0m
    if raw.isdigit():
        return f": {raw} what? write {raw}{likely} for {_UNIT_WORDS[likely]} (units: s, m, h, d)"
    if match is None or word not in _SPELLED:
        return _one_unit_hint(raw)
    times, unit = _SPELLED[match.group(2)]
    return f": write {int(match.group(1)) * times}{unit}"


def _one_unit_hint(raw: str) -> str:
    """``1h30m`` or ``1.5h`` written in one unit (``90m``), when that is a whole number of
    seconds and ``raw`` is not already a duration; else nothing."""
    if parse_duration(raw) is not None or not _PARTS_RE.match(raw):
        return ""
    seconds = sum(Fraction(number) * _UNITS[unit] for number, unit in _PART_RE.findall(raw))
    if seconds == 0 or seconds.denominator != 1:
        return ""
    return f": write {format_duration(int(seconds))}"


def format_duration(seconds: float) -> str:
    """The shortest exact spelling, for messages and ``explain``."""
    seconds = int(seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"

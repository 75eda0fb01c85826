"""Durations as people write them in YAML: ``30s``, ``15m``, ``1h``, ``7d``."""

from __future__ import annotations

import re

__all__ = ["DURATION_PATTERN", "format_duration", "parse_duration"]

DURATION_PATTERN = r"^[0-9]+(s|m|h|d)$"
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_RE = re.compile(DURATION_PATTERN)


def parse_duration(text: object) -> int | None:
    """Seconds for ``text``, or None when it is not a duration (the caller words the error)."""
    if not isinstance(text, str):
        return None
    match = _RE.match(text.strip())
    if not match:
        return None
    return int(text.strip()[:-1]) * _UNITS[match.group(1)]


def format_duration(seconds: float) -> str:
    """The shortest exact spelling, for messages and ``explain``."""
    seconds = int(seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"

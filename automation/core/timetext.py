"""How moments read in explanations: short, in UTC, with the date only when it differs."""

from __future__ import annotations

from datetime import UTC, datetime

__all__ = ["moment_text"]


def moment_text(at: datetime, now: datetime) -> str:
    """``12:15`` for today, ``2026-11-25 12:15`` otherwise; seconds only when present.

    Explanations are read next to the poll that produced them, so the time of day is
    usually enough and a full timestamp would only add noise.
    """
    at = at.astimezone(UTC)
    clock = "%H:%M:%S" if at.second or at.microsecond else "%H:%M"
    if at.date() == now.astimezone(UTC).date():
        return at.strftime(clock)
    return at.strftime(f"%Y-%m-%d {clock}")

"""How pages write times, numbers and durations: short, for people."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from markupsafe import Markup, escape

from automation.core.pauses import PauseRecord, describe_pause
from automation.core.payloads import iso
from automation.core.window_text import window_value

__all__ = ["ago", "eta", "moment", "number", "pause_text", "when", "window"]


def when(moment: datetime | None) -> str:
    """``2026-03-02 09:05 UTC``: pages show UTC, as the engine's logs and events do."""
    if moment is None:
        return "-"
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def ago(moment: datetime | None, now: datetime) -> str:
    if moment is None:
        return "never"
    seconds = (now - moment).total_seconds()
    if seconds < 0:
        return "in " + _span(-seconds)
    if seconds < 60:
        return "just now"
    return _span(seconds) + " ago"


def moment(at: datetime, now: datetime) -> Markup:
    """A time as people say it (``3 h ago``), the date and hour on hover: the ``moment``
    macro of every page."""
    return Markup('<time datetime="{}" title="{}">{}</time>').format(
        stamp(at), when(at), ago(at, now)
    )


def pause_text(record: PauseRecord, now: datetime) -> Markup:
    """A pause in words as the commands say it, its times written as pages write times;
    who and why (typed by people) escaped."""
    typed = replace(
        record,
        paused_by=str(escape(record.paused_by)),
        reason=str(escape(record.reason)),
        resumed_by=None if record.resumed_by is None else str(escape(record.resumed_by)),
    )
    return Markup(describe_pause(typed, now, lambda at: str(moment(at, now))))


def eta(hours: float | None) -> str:
    if hours is None:
        return "not rising"
    if hours < 1:
        return "within the hour"
    return "in about " + _span(hours * 3600)


def _span(seconds: float) -> str:
    minutes = seconds / 60
    if minutes < 60:
        return f"{max(1, round(minutes))} min"
    hours = minutes / 60
    if hours < 48:
        return f"{round(hours)} h"
    return f"{round(hours / 24)} days"


def number(value: float | None) -> str:
    if value is None:
        return "-"
    if float(value).is_integer():
        return f"{int(value):,}"
    if abs(value) < 1:
        return f"{value:.3g}"
    return f"{value:,.1f}"


def window(value: float, label: str) -> str:
    """A firing's window as the commands show it (``≈ 2,600.005`` between two whole
    numbers), whole numbers and rates as ``number`` writes them."""
    return window_value(label, value, number, grouping=",")


def stamp(moment: datetime | None) -> str:
    return iso(moment) if moment is not None else ""

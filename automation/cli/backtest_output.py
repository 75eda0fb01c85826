"""How ``automation backtest`` shows a result: a page per rule for people, JSON lines for
machines (one ``would_fire`` / ``would_seed`` / ``would_cap`` event per line, as a dry run
names them, then a ``summary``)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import date
from typing import TYPE_CHECKING, Any, TextIO

from automation.cli.tables import table
from automation.core.durations import format_duration
from automation.core.payloads import iso, number
from automation.core.records import FiringRecord
from automation.core.window_text import windows_json, windows_text

if TYPE_CHECKING:  # only named here: ``automation --help`` should not load the backtest
    from automation.backtest import BacktestResult, RuleResult, WouldFire

__all__ = ["print_json", "print_table", "sparkline"]

_BARS = "▁▂▃▄▅▆▇█"
_EVENTS = {"fired": "would_fire", "seeded": "would_seed", "capped": "would_cap"}


def print_json(result: BacktestResult, out: TextIO) -> None:
    for event in result.events:
        out.write(json.dumps(_event(event)) + "\n")
    summary = {
        "event": "summary",
        "from": iso(result.period.start),
        "to": iso(result.period.end),
        "poll_interval": result.poll_interval,
        "requests": {"planned": result.requests_planned, "sent": result.requests_sent},
        "rules": [_rule_json(r) for r in result.rules],
        "notes": list(result.notes),
    }
    out.write(json.dumps(summary) + "\n")


def _event(event: WouldFire) -> dict[str, Any]:
    return {
        "event": _EVENTS[event.kind],
        "rule": event.rule,
        "post": event.post,
        "key": event.key,
        "at": iso(event.at),
        "metrics": {k: number(v) for k, v in event.metrics.items()},
        **windows_json(event.windows),
    }


def _rule_json(rule: RuleResult) -> dict[str, Any]:
    return {
        "rule": rule.rule,
        "posts": rule.posts,
        "would_fire": rule.would_fire,
        "would_seed": rule.would_seed,
        "would_cap": rule.would_cap,
        "per_day": {d.isoformat(): n for d, n in rule.per_day},
        "live_fired": rule.live_fired,
        "unknown": list(rule.unknown),
    }


def print_table(result: BacktestResult, out: TextIO) -> None:
    period = result.period
    out.write(
        f"backtest {period.text()} ({_length(period.hours)}), a poll every"
        f" {format_duration(result.poll_interval)}; each poll sees the values of the last whole"
        " hour (the history is hourly)\n"
    )
    for note in result.notes:
        out.write(f"note: {note}\n")
    for rule in result.rules:
        out.write("\n" + "\n".join(_rule_lines(rule)) + "\n")


def _rule_lines(rule: RuleResult) -> list[str]:
    live = _difference(rule.would_fire, rule.live_fired)
    capped = f", {rule.would_cap} capped by its limit" if rule.would_cap else ""
    lines = [
        f"{rule.rule}: would fire {rule.would_fire}, would seed {rule.would_seed}{capped}"
        f" ({rule.posts} post{'s' * (rule.posts != 1)} watched); the live engine fired"
        f" {rule.live_fired}{live}",
    ]
    if rule.would_fire:
        lines.append(_per_day(rule.per_day))
    if rule.first:
        shown = len(rule.first)
        lines.append(
            f"  first {shown} firing{'s' * (shown != 1)}:"
            if shown < rule.would_fire
            else "  firings:"
        )
        lines += _indent(table(["when", "post", "values"], [_row(e) for e in rule.first]))
    if rule.live:
        lines.append("  the live engine fired:")
        lines += _indent(table(["when", "post", "values"], [_live_row(f) for f in rule.live]))
    lines += [f"  cannot know: {text}" for text in rule.unknown]
    return lines


def _difference(backtest: int, live: int) -> str:
    if backtest == live:
        return ""
    return f" ({backtest - live:+d} in the backtest)"


def _row(event: WouldFire) -> list[object]:
    return [iso(event.at), event.post, _values(event.metrics, event.windows)]


def _live_row(firing: FiringRecord) -> list[object]:
    return [iso(firing.at), firing.post_id, _values(firing.metrics, firing.windows)]


def _values(metrics: Mapping[str, float], windows: Mapping[str, float]) -> str:
    """``retweets over 1h = 52, retweets=35``: the windows that decided it, then the totals."""
    totals = " ".join(f"{k}={number(v)}" for k, v in metrics.items())
    return ", ".join(text for text in (windows_text(windows), totals) if text) or "-"


def _indent(text: str) -> list[str]:
    return ["    " + line for line in text.splitlines()]


def _length(hours: int) -> str:
    """``28 days``, ``33 days 19 hours``: a period is whole hours."""
    days, rest = divmod(hours, 24)
    parts = [f"{n} {unit}{'s' * (n != 1)}" for n, unit in ((days, "day"), (rest, "hour")) if n]
    return " ".join(parts) or "0 hours"


_MOST_DAYS = 62  # a longer period is shown a week a bar: a bar a day would fill lines


def _per_day(per_day: Sequence[tuple[date, int]]) -> str:
    counts = [n for _, n in per_day]
    unit, days = "day", 1
    average = sum(counts) / max(1, len(counts))
    if len(counts) > _MOST_DAYS:  # the average over whole days: the last week may be short
        unit, days = "week", 7
        counts = [sum(counts[i : i + days]) for i in range(0, len(counts), days)]
    busiest = max(counts, default=0)
    first, last = per_day[0][0], per_day[-1][0]
    return (
        f"  per {unit}  {first:%b %d} {sparkline(counts)} {last:%b %d}  (at most {busiest} a"
        f" {unit}, {average * days:.1f} on average)"
    )


def sparkline(counts: Sequence[int]) -> str:
    """One bar per value, the highest full; a zero is the lowest bar."""
    top = max(counts, default=0)
    if top <= 0:
        return _BARS[0] * len(counts)
    return "".join(
        _BARS[0 if n <= 0 else max(1, round(n / top * (len(_BARS) - 1)))] for n in counts
    )

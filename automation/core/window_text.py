"""How the commands show a firing's windows: the value of each windowed leaf when it fired
or seeded (``retweets over 1h = 52``), beside its ``metrics``, which are totals.

A window whose start falls inside an hour of the /28hr series counts that hour by the part
of it inside the window, so a count can come out between two whole numbers (10.0045).
People read such a count as an estimate, ``likes over 1h ≈ 10.005``: rounded to the fewest
decimals that keep it off every whole number, so beside a whole threshold it reads on the
side the rule compared it (``10.0`` beside ``> 10`` would contradict a rule that fired). The
JSON keeps the value as payloads write it (``windows_json``)."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from automation.core.metric_names import DERIVED
from automation.core.payloads import number

__all__ = ["beside_windows", "window_entry", "window_value", "windows_json", "windows_text"]

APPROX = "≈ "
_MOST_DECIMALS = 15  # past this a float's own shortest text says it exactly


def _as_payload(value: float) -> str:
    return str(number(value))


def window_value(
    label: str, value: float, plain: Callable[[float], str] = _as_payload, grouping: str = ""
) -> str:
    """How one window's value reads: ``≈ 10.005`` for a count between two whole numbers
    (thousands set apart by ``grouping``, as ``plain`` does); a whole count, or a rate
    (``engagement_rate over 1h``: a fraction by nature), as ``plain`` writes numbers where
    it is shown (as payloads do, unless told)."""
    if float(value).is_integer() or label.split(" over ", 1)[0] in DERIVED:
        return plain(value)
    for places in range(1, _MOST_DECIMALS + 1):
        text = f"{value:{grouping}.{places}f}"
        if not float(text.replace(grouping, "") if grouping else text).is_integer():
            return APPROX + text
    return APPROX + repr(float(value))


def window_entry(
    label: str, value: float, equals: str = " = ", plain: Callable[[float], str] = _as_payload
) -> str:
    """``retweets over 1h = 52`` (``equals`` between them), or ``likes over 1h ≈ 10.005``."""
    shown = window_value(label, value, plain)
    return f"{label} {shown}" if shown.startswith(APPROX) else f"{label}{equals}{shown}"


def windows_text(windows: Mapping[str, float]) -> str:
    """``retweets over 1h = 52, likes over 30m ≈ 31.4``; empty for none."""
    return ", ".join(window_entry(label, value) for label, value in windows.items())


def beside_windows(values: str, windows: Mapping[str, float] | None) -> str:
    """A firing's ``values`` (its totals as a line shows them) and then its windows,
    ``likes=90; likes over 1h = 70``; either alone when the other is empty."""
    return "; ".join(text for text in (values, windows_text(windows or {})) if text)


def windows_json(windows: Mapping[str, float]) -> dict[str, object]:
    """``{"windows": {"retweets over 1h": 52}}`` to add to a firing's JSON; nothing for a
    firing without windows (a rule without one, or recorded before they were), whose JSON
    stays as it was."""
    if not windows:
        return {}
    return {"windows": {label: number(value) for label, value in windows.items()}}

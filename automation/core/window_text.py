"""How the commands show a firing's windows: the value of each windowed leaf when it fired
or seeded (``retweets over 1h = 52``), beside its ``metrics``, which are totals."""

from __future__ import annotations

from collections.abc import Mapping

from automation.core.payloads import number

__all__ = ["beside_windows", "windows_json", "windows_text"]


def windows_text(windows: Mapping[str, float]) -> str:
    """``retweets over 1h = 52, likes over 30m = 31``; empty for none."""
    return ", ".join(f"{label} = {number(value)}" for label, value in windows.items())


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

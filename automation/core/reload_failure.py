"""A failed reload as the engine keeps it (the store's ``reload_error`` meta value) and as
every reader shows it: ``status``, the dashboard's overview, the alerts.

The engine writes JSON (``{"at", "errors"}``); a value written before the failure was
dated is plain text, and is read as errors with no time. Pure.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from automation.core.payloads import iso

__all__ = ["ReloadFailure", "decode", "encode"]


@dataclass(frozen=True)
class ReloadFailure:
    """The problems that made a reload fail (one a line), and when it failed if known."""

    errors: str
    at: datetime | None = None

    def first_line(self, width: int = 120) -> str:
        return (self.errors.strip().splitlines() or [""])[0][:width]


def encode(failure: ReloadFailure) -> str:
    return json.dumps({"at": iso(failure.at) if failure.at else None, "errors": failure.errors})


def decode(raw: str | None) -> ReloadFailure | None:
    """The failure stored as ``raw``; None when no reload failure stands (empty)."""
    if not raw:
        return None
    try:
        data = json.loads(raw)
    except ValueError:
        data = None
    if isinstance(data, dict) and isinstance(data.get("errors"), str):
        return ReloadFailure(data["errors"], _moment(data.get("at")))
    return ReloadFailure(raw)


def _moment(text: object) -> datetime | None:
    if not isinstance(text, str):
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None

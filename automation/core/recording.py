"""Whether the engine is still recording, in the words ``status`` and the dashboard share:
how long ago it recorded its last cycle, and whether the disk that holds the database has
room left.

Pure: the caller passes the time and what the file system said. An engine on a full disk
keeps running but records nothing, so its last recorded cycle only grows older; these say
so, with the likely causes and the fix.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from automation.core.durations import format_duration
from automation.core.payloads import iso
from automation.core.wording import shown_path, size_text

__all__ = [
    "STALE_AFTER_INTERVALS",
    "WAITING_KEY",
    "DiskSpace",
    "Waiting",
    "age_text",
    "disk_text",
    "explains_silence",
    "is_stale",
    "recorded_at",
    "silence_text",
    "waiting_now",
]

# No cycle within three poll intervals: the engine is not keeping up (/healthz, the
# dashboard and the AutomationEngineStale alert use the same window).
STALE_AFTER_INTERVALS = 3
GIB = 1024**3
# the ``meta`` key where the engine says, as a long rate-limit wait begins, until when
WAITING_KEY = "waiting"


@dataclass(frozen=True)
class DiskSpace:
    """What the file system that holds a SQLite database said of ``directory``: its size
    and the bytes this user may still write there."""

    directory: str
    total: int
    free: int

    @property
    def almost_full(self) -> bool:
        """Less than 1 % of the file system free, and less than 1 GiB."""
        return self.free < min(self.total // 100, GIB)


@dataclass(frozen=True)
class Waiting:
    """The engine sleeping out a rate limit within a cycle: since ``at``, until ``until``,
    for ``why``: the API's status (``429``) or ``budget`` (the per-minute request budget)."""

    at: datetime
    until: datetime
    why: str

    def to_json(self) -> str:
        return json.dumps({"at": iso(self.at), "until": iso(self.until), "why": self.why})

    def text(self) -> str:
        """``waiting for the API's rate limit until 14:05:12 UTC (429)``."""
        until = f"until {self.until:%H:%M:%S} UTC"
        if self.why == "budget":
            return f"waiting for the request budget {until} (engagement_api: requests_per_minute)"
        return f"waiting for the API's rate limit {until} ({self.why})"


def waiting_now(
    raw: str | None, last_at: datetime | None, now: datetime, poll_interval: float
) -> Waiting | None:
    """The wait recorded under ``WAITING_KEY`` while it still explains a silence since
    the last recorded cycle (``last_at``, see ``explains_silence``)."""
    try:
        data = json.loads(raw or "null")
        wait = Waiting(
            datetime.fromisoformat(data["at"]), datetime.fromisoformat(data["until"]), data["why"]
        )
    except (ValueError, TypeError, KeyError):
        return None
    return wait if explains_silence(wait, last_at, now, poll_interval) else None


def explains_silence(
    wait: Waiting, last_at: datetime | None, now: datetime, poll_interval: float
) -> bool:
    """Whether ``wait`` still explains that no cycle was recorded since ``last_at``: it
    began after that cycle and ended less than the stale window ago (an engine that died
    while waiting is stale again once that has passed)."""
    if last_at is not None and wait.at <= last_at:
        return False
    late = (now - wait.until).total_seconds()
    return late <= STALE_AFTER_INTERVALS * poll_interval


def recorded_at(last_cycle: Any) -> datetime | None:
    """When the cycle of the ``last_cycle`` value (decoded JSON) was recorded, if it says."""
    at = last_cycle.get("at") if isinstance(last_cycle, dict) else None
    if not isinstance(at, str):
        return None
    try:
        return datetime.fromisoformat(at)
    except ValueError:
        return None


def is_stale(age: float | None, poll_interval: float) -> bool:
    """Whether the last cycle, recorded ``age`` seconds ago (None: never), is too old."""
    return age is not None and age > STALE_AFTER_INTERVALS * poll_interval


def age_text(seconds: float) -> str:
    """``12s`` under a minute, else whole minutes as a duration reads: ``3m``, ``1h``."""
    if seconds < 60:
        return f"{int(seconds)}s"
    return format_duration(round(seconds / 60) * 60)


def silence_text(
    age: float | None,
    poll_interval: float,
    disk: DiskSpace | None,
    waiting: Waiting | None = None,
) -> str | None:
    """Why no cycle was recorded for ``age`` seconds, the likely causes first; None while
    the last one is recent enough (or there was none). ``disk``: the database's disk, None
    where it cannot be seen (PostgreSQL's is the server's). ``waiting``: the rate-limit
    wait the engine recorded (``waiting_now``), which is then the cause."""
    if age is None or not is_stale(age, poll_interval):
        return None
    causes = ["is the engine running? systemctl status automation"]
    if waiting is not None:
        causes = [waiting.text()]
    elif disk is None:
        causes.append("is the database's disk full? journalctl -u automation says")
    elif disk.almost_full:
        causes.append(f"the disk that holds {disk.directory} is full, see below")
    else:
        causes.append("journalctl -u automation says why")
    return (
        f"no cycle recorded for {_span(age)} (one is due every "
        f"{format_duration(poll_interval)}): " + "; ".join(causes)
    )


def disk_text(disk: DiskSpace | None) -> str | None:
    """The full disk, and the fix, as the engine's log words it; None while it has room."""
    if disk is None or not disk.almost_full:
        return None
    share = 100 * disk.free / disk.total if disk.total else 0.0
    folder = shown_path(disk.directory)
    return (
        f"{folder} has {size_text(disk.free)} free ({share:.1f} % of its disk): the"
        " engine records nothing until space is freed there"
        f" (df -h {folder}); what was recorded is kept"
    )


def _span(seconds: float) -> str:
    """``42m``, ``3h30m``, ``2d5h``: a silence to the minute, in its two largest units."""
    minutes = round(seconds / 60)
    if minutes < 60:
        return age_text(seconds)
    parts = [(minutes // 1440, "d"), (minutes // 60 % 24, "h"), (minutes % 60, "m")]
    first = next(i for i, (n, _) in enumerate(parts) if n)
    return "".join(f"{n}{unit}" for n, unit in parts[first : first + 2] if n)

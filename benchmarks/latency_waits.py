"""Where bench_latency's wall time goes besides the process's CPU, and which cycles cost most.

Everything the run does (the engine, the in-process sandbox, the harness) runs on one
thread, and the simulated clock moves without sleeping, so the cycles' wall time is that
thread's CPU, its waits for a CPU while others use the machine's cores, and the rest:
waits for the disk (the state database's flushes) and anything else it blocks on. Linux
says how long a thread waited on a run queue (``/proc/thread-self/schedstat``); elsewhere
that part is unknown and left in the rest.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from automation.engine.events import CycleEvent

_SCHEDSTAT = Path("/proc/thread-self/schedstat")


def cpu_wait() -> float | None:
    """Seconds this thread has waited for a CPU so far; None where the kernel does not say."""
    try:
        return int(_SCHEDSTAT.read_text().split()[1]) / 1e9
    except (OSError, IndexError, ValueError):
        return None


def wall_split(wall: float, cpu: float, waited: float | None) -> dict[str, float | None]:
    """The cycles' wall time as the process's CPU, waits for a CPU, and the rest."""
    rest = wall - cpu - (waited or 0.0)
    return {"wall": wall, "cpu": cpu, "cpu_wait": waited, "rest": rest}


def costliest(cycles: list[dict[str, Any]], most: int = 3) -> list[dict[str, Any]]:
    """The cycles that took the engine the most CPU, with what they did."""
    timed = [(n, c) for n, c in enumerate(cycles, 1) if "cpu" in c]
    top = sorted(timed, key=lambda nc: nc[1]["cpu"], reverse=True)[:most]
    out = []
    for number, cycle in top:
        event: CycleEvent = cycle["event"]
        out.append(
            {
                "cycle": number,
                "at": event.at,
                "cpu": cycle["cpu"],
                "wall": cycle.get("wall"),
                "refreshed": event.refreshed,
                "requests": event.requests,
                "seeded": event.seeded,
                "fired": event.fired,
                "actions_sent": event.actions_sent,
            }
        )
    return out

"""Where a cycle's memory goes, step by step (``bench_cycle.py --top N``).

Wraps the engine's steps while ``tracemalloc`` runs: after each step it prints the memory
traced then and the step's own peak above what it started with, and the ``N`` largest
holders still alive, grouped by the allocating line with the engine's frames that led
there (the standard library's and the interpreter's frames are left out). The larger
calls within the steps (planning, facts, decisions, the store's reads and writes, the
refresh bookkeeping) print their own peaks and what they leave held.
"""

from __future__ import annotations

import sys
import tracemalloc
from collections.abc import Callable
from typing import Any

import automation.engine.cycle as cycle

FRAMES = 12  # frames kept per allocation: enough to reach the engine's own code
_OURS = "/automation/"
# the store's calls a cycle makes once (rule_states, once a rule, would say too much)
STORE_CALLS = (
    "posts",
    "snapshots",
    "record_totals",
    "record_hourly_totals",
    "missing_hours",
    "record_hourly_counts",
    "commit_cycle",
)


def watch_steps(engine: Any, top: int) -> None:
    """Report each step of ``engine``'s cycles to stderr (``tracemalloc`` must be on)."""
    step = engine._step

    def traced(name: str, result: Any, fn: Callable[[], Any]) -> Any:
        before = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        out = step(name, result, fn)
        current, peak = tracemalloc.get_traced_memory()
        print(
            f"  {name:<9} traced {current / 1e6:7.1f} MB after, peak {peak / 1e6:7.1f} MB"
            f" (+{(peak - before) / 1e6:.1f} over its start)",
            file=sys.stderr,
        )
        if top:
            print_holders(tracemalloc.take_snapshot(), top)
        return out

    engine._step = traced
    watch_calls(cycle, ["plan_fetch", "plan_owned_requests", "CycleFacts", "decide_cycle"], 0)
    watch_calls(engine._store, list(STORE_CALLS), 0)
    watch_calls(engine._refresh, ["choose", "remember"], 0)


def watch_calls(owner: Any, names: list[str], top: int) -> None:
    """Report, like a step, each call of ``owner``'s functions ``names`` (a module's, or
    an object's methods): the parts of a step, whose own peaks a step's figures hide."""
    for name in names:
        setattr(owner, name, _traced(getattr(owner, name), name, top))


def _traced(fn: Callable[..., Any], name: str, top: int) -> Callable[..., Any]:
    def traced(*args: Any, **kwargs: Any) -> Any:
        before = tracemalloc.get_traced_memory()[0]
        peak_before = tracemalloc.get_traced_memory()[1]
        tracemalloc.reset_peak()
        out = fn(*args, **kwargs)
        current, peak = tracemalloc.get_traced_memory()
        print(
            f"    {name:<16} peak +{(peak - before) / 1e6:6.1f} MB, holds +"
            f"{(current - before) / 1e6:6.1f} MB after",
            file=sys.stderr,
        )
        if top:
            print_holders(tracemalloc.take_snapshot(), top)
        # the step's own peak must still count this call's
        if peak_before > tracemalloc.get_traced_memory()[1]:
            _keep_peak(peak_before)
        return out

    return traced


def _keep_peak(peak: int) -> None:
    """Raise tracemalloc's peak back to ``peak`` after a reset (by allocating that much
    above the current memory for a moment)."""
    current = tracemalloc.get_traced_memory()[0]
    if peak > current:
        bytearray(peak - current)


def print_holders(snapshot: tracemalloc.Snapshot, top: int) -> None:
    """The ``top`` largest holders, by allocating line and the engine frames above it."""
    sizes: dict[tuple[str, ...], list[int]] = {}
    for stat in snapshot.statistics("traceback"):
        key = _where(stat.traceback)
        found = sizes.setdefault(key, [0, 0])
        found[0] += stat.size
        found[1] += stat.count
    for key, (size, count) in sorted(sizes.items(), key=lambda kv: -kv[1][0])[:top]:
        print(f"    {size / 1e6:7.1f} MB {count:>9,} blocks  {' < '.join(key)}", file=sys.stderr)


def _where(traceback: tracemalloc.Traceback) -> tuple[str, ...]:
    frames = list(reversed(traceback))  # innermost first
    first = f"{_short(frames[0].filename)}:{frames[0].lineno}"
    ours = [f"{_short(f.filename)}:{f.lineno}" for f in frames[1:] if _OURS in f.filename]
    return (first, *ours[:4])


def _short(filename: str) -> str:
    at = filename.rfind(_OURS)
    return filename[at + 1 :] if at >= 0 else filename.rsplit("/", 1)[-1]

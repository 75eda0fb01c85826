"""Pausing Python's cyclic garbage collector around a burst of allocation-heavy work."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["collector_paused"]


@contextmanager
def collector_paused() -> Iterator[None]:
    """Hold off Python's cyclic garbage collector for one cycle.

    A cycle keeps hundreds of thousands of objects alive at once (parsed answers, facts,
    records for 10,000 posts), so the collector's allocation thresholds set off three or
    four full collections a cycle, each walking all of them, to find almost nothing: the
    cycle's data is freed by reference counting as soon as it ends. Collection resumes
    afterwards as before; a caller that had the collector off keeps it off.

    Worth it (benchmarks/bench_cycle.py --cpu-only, steady cycles, alternating runs on a
    shared 2-core machine): at 10,000 posts 0.69-0.73 s CPU paused against 0.90-0.92 s
    not, about 21 % of a cycle; at 100,000 posts 3.60-3.65 s against 4.41-4.48 s, about
    18 %. ``automation metrics`` holds it off too: an export of 100,000 posts keeps over a
    million objects, and collecting them cost 0.27 s of its 2.2 s (benchmarks/bench_metrics.py).
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()

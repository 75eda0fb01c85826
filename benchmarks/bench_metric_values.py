"""What a cycle's MetricValues cost at 100,000 posts x 7 metrics, apart from the cycle.

Run: python benchmarks/bench_metric_values.py [--rounds N] [--posts N] [--no-gc]
Prints a table of CPU milliseconds, best of the rounds: converting the posts' values
(``compact_totals``, as the engine does each cycle: without its last values, then with
them, all unchanged, then all changed), comparing each post's values with its last ones
three times (the store's two plans and the refresh bookkeeping, mostly equal: equal
objects, then the same object, identity first as they ask), and reading one metric of
every post (a rule's test). ``--no-gc`` turns the garbage
collector off, to show its share.
"""

from __future__ import annotations

import argparse
import gc
import time
from collections.abc import Callable

from automation.core.metric_names import API_METRICS
from automation.core.metric_values import compact_totals

METRICS = API_METRICS[:7]  # impressions ... video_views, the engine's usual reading


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--posts", type=int, default=100_000)
    parser.add_argument("--no-gc", action="store_true")
    args = parser.parse_args()
    if args.no_gc:
        gc.disable()
    totals = {str(p): {m: float(p + i) for i, m in enumerate(METRICS)} for p in range(args.posts)}
    last = compact_totals(totals)
    now = compact_totals(totals)
    changed = compact_totals({p: {m: v + 1 for m, v in vs.items()} for p, vs in totals.items()})

    def compare() -> None:
        for _ in range(3):
            for pid, values in now.items():
                values == last[pid]  # noqa: B015 - the comparison is what is timed

    def compare_kept() -> None:
        for _ in range(3):
            for pid, values in last.items():
                before = last[pid]
                before is values or before == values  # noqa: B018 - as the stores ask

    def read() -> None:
        for values in now.values():
            values.get("favorites")

    steps: dict[str, Callable[[], object]] = {
        "compact_totals": lambda: compact_totals(totals),
        "  with the last, unchanged": lambda: compact_totals(totals, last.get),
        "  with the last, all changed": lambda: compact_totals(totals, changed.get),
        "3 comparisons a post, equal": compare,
        "  the same object": compare_kept,
        "1 get a post": read,
    }
    print(f"{args.posts:,} posts x {len(METRICS)} metrics, CPU ms, best of {args.rounds}")
    print(f"{'step':<30}{'ms':>8}")
    for name, step in steps.items():
        best = float("inf")
        for _ in range(args.rounds):
            start = time.process_time()
            step()
            best = min(best, time.process_time() - start)
        print(f"{name:<30}{best * 1000:>8.1f}")


if __name__ == "__main__":
    main()

"""CPU cost of the refresh scheduler's own steps when the budget cannot read every post.

Run: ``python benchmarks/bench_schedule.py [--posts N] [--seed S] [--repeat R]``. The 20
typical rules of ``bench_evaluate`` watch synthetic posts up to a week old (6 in 10 owned by
the watched account; the others are public posts no rule watches, left out of the plan),
read twice five minutes apart; a third of each rule's posts have fired already and one in
fifty holds a state the cycle decided. Timed (``time.process_time``, best of ``--repeat``):
``plan_cost`` (asked every cycle), ``outlooks`` (the projections after a cycle, through the
engine's ``StatesSeen``) and ``schedule_refresh`` with 60 requests a minute over 5 minutes.
"""

from __future__ import annotations

import argparse
import random
import time
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any

from bench_evaluate import NOW, typical_rules

from automation.core.evaluate import compile_rules
from automation.core.facts import RuleState
from automation.core.fetch_plan import FetchPlan, plan_fetch
from automation.core.records import CycleWrite, WatchedPostRecord
from automation.core.refresh_outlook import Recent, outlooks
from automation.core.refresh_schedule import plan_cost, schedule_refresh
from automation.engine.refresh import StatesSeen

INTERVAL = timedelta(minutes=5)


def _posts(n: int, rng: random.Random) -> list[WatchedPostRecord]:
    posts = []
    for i in range(n):
        created = NOW - timedelta(seconds=rng.uniform(60, 7 * 86400))
        account = "brand" if i % 10 < 6 else None
        posts.append(WatchedPostRecord(str(10**9 + i), account, created, "timeline", created))
    return posts


def _values(rng: random.Random) -> dict[str, float]:
    likes = rng.randint(0, 2000)
    return {
        "favorites": float(likes),
        "retweets": float(likes // 10),
        "replies": float(likes // 50),
        "impressions": float(likes * 40 + 1),
        "quote_tweets": float(likes // 100),
    }


def _states(plan: FetchPlan) -> Any:
    """The states the engine hands the projections (whichever interface it has)."""
    stored = {
        r.rule.id: {p.post_id: RuleState(done=True) for p in ps[::3]} for r, ps in plan.watched
    }
    seen = StatesSeen(lambda rule_id: stored[rule_id])
    for compiled, _ in plan.watched:
        seen(compiled.rule.id)
    decided = tuple(
        (r.rule.id, p.post_id, RuleState(last_truth=True))
        for r, ps in plan.watched
        for p in ps[1::50]
    )
    seen.decided(CycleWrite(at=NOW, states=decided))
    return getattr(seen, "states_after", None) or getattr(seen, "state_of")  # noqa: B009


def _best(fn: Callable[[], object], repeat: int) -> tuple[float, object]:
    best, got = float("inf"), None
    for _ in range(repeat):
        started = time.process_time()
        got = fn()
        best = min(best, time.process_time() - started)
    return best, got


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    plan = plan_fetch(compile_rules(typical_rules()), _posts(args.posts, rng), NOW)
    before: Mapping[str, Recent] = {
        pid: Recent((NOW - 2 * INTERVAL).timestamp(), _values(rng)) for pid in plan.posts
    }
    totals = {pid: _values(rng) for pid in plan.posts}
    states = _states(plan)
    pairs = sum(len(posts) for _, posts in plan.watched)
    cost_s, full = _best(lambda: plan_cost(plan), args.repeat)
    project_s, recent = _best(
        lambda: outlooks(plan.watched, totals, states, before, NOW - INTERVAL),
        args.repeat,
    )
    assert isinstance(recent, dict)
    choose_s, refresh = _best(
        lambda: schedule_refresh(
            plan, recent, budget=300, interval=INTERVAL, max_staleness=timedelta(hours=1), now=NOW
        ),
        args.repeat,
    )
    chosen = len(refresh.plan.posts)
    print(
        f"watched posts {len(plan.posts):,}, rule-and-post pairs {pairs:,}, "
        f"full cost {full} requests"
    )
    print(
        "| plan_cost s | outlooks s | µs per pair | schedule_refresh s "
        "| posts chosen for 300 requests |"
    )
    print(
        "|------------:|-----------:|------------:|-------------------:"
        "|------------------------------:|"
    )
    print(
        f"| {cost_s:.3f} | {project_s:.3f} | {project_s / pairs * 1e6:.2f} | {choose_s:.3f} "
        f"| {chosen:,} |"
    )


if __name__ == "__main__":
    main()

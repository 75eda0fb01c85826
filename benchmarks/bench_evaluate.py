"""CPU cost of evaluating rules: 20 typical rules over 100,000 posts through ``evaluate``.

Run: ``python benchmarks/bench_evaluate.py [--posts N] [--seed S]``. Posts, totals and
states are synthetic but shaped like a real deployment: a mix of owned and public posts
up to eight days old, long-tailed counts, /28hr series for recent owned posts, snapshots
for public ones, and the states an earlier poll five minutes before left behind. Only the
second poll is timed (``time.process_time``), as the engine's steady state.
"""

from __future__ import annotations

import argparse
import random
import time
from datetime import UTC, datetime, timedelta
from types import MappingProxyType

from automation.core.evaluate import CompiledRule, compile_rules
from automation.core.facts import HourlySeries, PostFacts, RuleState, Snapshot
from automation.core.rules import AllOf, AnyOf, Every, Leaf, Not, Once, Rearm, Rule, Watch

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
EARLIER = NOW - timedelta(minutes=5)
HOUR = timedelta(hours=1)


def _leaf(metric: str, op: str, threshold: float, over: int | None = None, written: str = ""):
    return Leaf(metric, op, threshold, over=over, written=written or metric)


def typical_rules() -> list[Rule]:
    likes = "favorites"
    brand = Watch(accounts=("brand",))
    rules = [
        ("likes-100", _leaf(likes, "gte", 100, written="likes"), Once(), 0, brand),
        ("likes-1000", _leaf(likes, "gte", 1000, written="likes"), Once(), 0, brand),
        ("reposts-50", _leaf("retweets", "gte", 50, written="reposts"), Once(), 0, brand),
        ("replies-20", _leaf("replies", "gt", 20), Once(), 0, brand),
        ("impressions-10k", _leaf("impressions", "gte", 10_000), Once(), 0, brand),
        ("rate-5pct", _leaf("engagement_rate", "gte", 0.05), Once(), 0, brand),
        (
            "likes-and-reposts",
            AllOf((_leaf(likes, "gte", 200, written="likes"), _leaf("retweets", "gte", 20))),
            Once(),
            0,
            brand,
        ),
        (
            "likes-or-quotes",
            AnyOf((_leaf(likes, "gte", 500, written="likes"), _leaf("quote_tweets", "gte", 10))),
            Once(),
            0,
            brand,
        ),
        (
            "quality",
            AllOf(
                (
                    _leaf(likes, "gte", 100, written="likes"),
                    Not(_leaf("impressions", "lt", 1000)),
                    _leaf("engagement_rate", "gte", 0.02),
                )
            ),
            Once(),
            0,
            brand,
        ),
        ("like-milestones", None, Every(1000, likes, "likes"), 0, brand),
        ("repost-milestones", None, Every(100, "retweets", "reposts"), 0, brand),
        ("impression-milestones", None, Every(10_000, "impressions"), 0, brand),
        ("rate-rearm", _leaf("engagement_rate", "gte", 0.08), Rearm(6 * 3600), 0, brand),
        ("replies-rearm", _leaf("replies", "gte", 50), Rearm(3600), 0, brand),
        (
            "viral-hour",
            _leaf("retweets", "gte", 50, over=3600, written="retweets"),
            Rearm(6 * 3600),
            900,
            Watch(accounts=("brand",), max_age=2 * 86400),
        ),
        ("likes-held", _leaf(likes, "gte", 300, written="likes"), Once(), 1800, brand),
        ("video-5k", _leaf("video_views", "gte", 5000), Once(), 0, brand),
        ("likes-1d", _leaf(likes, "gte", 100, written="likes"), Once(), 0, Watch(max_age=86400)),
        (
            "replies-or-both",
            AnyOf(
                (
                    _leaf("replies", "gte", 100),
                    AllOf((_leaf(likes, "gte", 50, written="likes"), _leaf("retweets", "gte", 50))),
                )
            ),
            Once(),
            0,
            brand,
        ),
    ]
    out = [Rule(id=i, watch=w, when=c, fire=f, for_=d) for i, c, f, d, w in rules]
    out.append(
        Rule(id="paused", watch=brand, when=_leaf(likes, "gte", 10, written="likes"), enabled=False)
    )
    return out


def _totals(rng: random.Random, owned: bool, growth: float) -> dict[str, float]:
    likes = int(rng.lognormvariate(4.0, 1.6) * growth)
    totals = {
        "favorites": likes,
        "retweets": int(likes * rng.uniform(0.05, 0.4)),
        "replies": int(likes * rng.uniform(0.02, 0.2)),
        "quote_tweets": int(likes * rng.uniform(0.0, 0.05)),
    }
    if rng.random() < 0.3:
        totals["video_views"] = int(likes * rng.uniform(5, 40))
    if owned:
        impressions = int(likes * rng.uniform(20, 80))
        totals["impressions"] = impressions
        totals["engagements"] = int(impressions * rng.uniform(0.005, 0.12))
    return totals


def _hourly(rng: random.Random, total: float, starts: list[datetime]) -> HourlySeries:
    weights = [rng.random() for _ in starts]
    scale = total / (sum(weights) or 1.0)
    return HourlySeries(tuple(starts), tuple(w * scale for w in weights), NOW)


def make_posts(count: int, rng: random.Random) -> tuple[list[PostFacts], list[PostFacts]]:
    """(earlier poll, current poll) facts for ``count`` posts."""
    top = NOW.replace(minute=0)
    starts = [top - HOUR * i for i in range(27, -1, -1)]
    before, current = [], []
    for i in range(count):
        owned = rng.random() < 0.6
        created = NOW - timedelta(seconds=rng.uniform(600, 8 * 86400))
        state = rng.getstate()
        old = _totals(rng, owned, 0.97)
        rng.setstate(state)
        new = _totals(rng, owned, 1.0)
        hourly = {}
        snapshots: tuple[Snapshot, ...] = ()
        if owned and NOW - created < timedelta(days=2):
            hourly = {"retweets": _hourly(rng, new["retweets"] * 0.3, starts)}
        elif not owned:
            snapshots = (
                Snapshot(NOW - timedelta(hours=2), {k: v * 0.8 for k, v in new.items()}),
                Snapshot(NOW - timedelta(minutes=50), {k: v * 0.95 for k, v in new.items()}),
            )
        account = "brand" if owned else None
        pid = str(1_800_000_000_000_000_000 + i)
        before.append(PostFacts(pid, account, created, MappingProxyType(old), hourly, snapshots))
        current.append(PostFacts(pid, account, created, MappingProxyType(new), hourly, snapshots))
    return before, current


def earlier_states(
    compiled: tuple[CompiledRule, ...], posts: list[PostFacts]
) -> list[dict[str, RuleState]]:
    """What the store would hold before the timed poll: the rules were added an hour
    earlier (a seeding cycle), then polled as usual until five minutes ago."""
    states: list[dict[str, RuleState]] = []
    cycles = [(EARLIER - timedelta(minutes=60 - 5 * i), i == 0) for i in range(12)]
    for rule in compiled:
        held: dict[str, RuleState] = {}
        for at, seeding in cycles:
            for facts in posts:
                decision = rule.evaluate(facts, held.get(facts.post_id), at, seeding=seeding)
                if decision is not None:
                    held[facts.post_id] = decision.state
        states.append(held)
    return states


def run(count: int, seed: int) -> None:
    rng = random.Random(seed)
    compiled = compile_rules(typical_rules())
    before, current = make_posts(count, rng)
    states = earlier_states(compiled, before)
    outcomes: dict[str, int] = {}
    start = time.process_time()
    for rule, held in zip(compiled, states, strict=True):
        evaluate, get = rule.evaluate, held.get
        for facts in current:
            decision = evaluate(facts, get(facts.post_id), NOW, seeding=False)
            if decision is not None:
                outcomes[decision.outcome.value] = outcomes.get(decision.outcome.value, 0) + 1
    cpu = time.process_time() - start
    evaluations = len(compiled) * len(current)
    rows = [
        ("rules", f"{len(compiled)}"),
        ("posts", f"{len(current):,}"),
        ("evaluations", f"{evaluations:,}"),
        ("CPU seconds", f"{cpu:.3f}"),
        ("µs per evaluation", f"{cpu / evaluations * 1e6:.3f}"),
        ("decisions (not None)", ", ".join(f"{k}={v:,}" for k, v in sorted(outcomes.items()))),
    ]
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        print(f"{key:<{width}}  {value}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    run(args.posts, args.seed)


if __name__ == "__main__":
    main()

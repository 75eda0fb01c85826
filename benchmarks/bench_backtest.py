"""A backtest's own cost: 20 rules over 1,000 owned posts and 28 days, history stored.

The posts (500 brand, 500 support) are written over the 28 days and the 7 before them, and
grow as the sandbox's posts do (``sandbox.curves``: most engagement in the first hours, a
few taking off late). Their hourly history is in a SQLite file beforehand, as the engine
and ``/historical`` would have left it: hourly counts of every metric the rules read, and
the engine's polled totals (``quote_tweets`` is known only from those). So the backtest
sends no request, and ``time.process_time()`` counts what it does itself: finding the
posts, planning, reading the history, the replay at a 5-minute poll interval, the
summary. The rules are bench_cycle's 16 owned-post rules and 4 more of the same kinds.
Target: at most 10 s CPU.

    python benchmarks/bench_backtest.py               # 1,000 posts, 28 days, 20 rules
    python benchmarks/bench_backtest.py --posts 200   # smaller
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench_cycle import OWNED_RULES

from automation.backtest import BacktestSpec, plan_backtest, run_backtest
from automation.backtest.job import load_readings
from automation.backtest.replay import replay
from automation.core.evaluate import compile_rules
from automation.core.metric_names import HOURLY_METRICS, TOTALS_METRICS
from automation.core.periods import Period
from automation.rulefiles.rule_parser import load_rules
from automation.sandbox.curves import Profile, draw_profile
from automation.sandbox.world import snowflake
from automation.store.sqlite import SqliteStore
from automation.x.v2_client import DiscoveredPost, Discovery

END = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
CPU_TARGET = 10.0
MORE_RULES = """\
  - id: brand-likes-50
    watch: {accounts: [brand]}
    when: likes >= 50
    actions: [{log: {message: "{post.url} liked"}}]
  - id: support-reposts-hour
    watch: {accounts: [support], max_age: 2d}
    when: reposts over 1h >= 5
    fire: {rearm: true, cooldown: 6h}
    actions: [{log: {message: "{post.url} reposted"}}]
  - id: replies-milestones
    watch: {accounts: [brand, support]}
    fire: {every: 10, metric: replies}
    actions: [{log: {message: "{post.url} passed {milestone} replies"}}]
  - id: profile-clicks
    watch: {accounts: [brand, support], max_age: 3d}
    when: {all: [impressions >= 1000, engagement_rate >= 0.03]}
    for: 30m
    actions: [{log: {message: "{post.url} draws clicks"}}]
"""


@dataclass(frozen=True)
class Written:
    post_id: str
    account: str
    created_at: datetime
    profile: Profile


def posts(count: int, period: Period, seed: int) -> list[Written]:
    rng = random.Random(seed)
    first = period.start - timedelta(days=7)
    span = (period.end - first).total_seconds()
    out = []
    for i in range(count):
        created = first + timedelta(seconds=rng.uniform(0, span))
        account = "brand" if i % 2 == 0 else "support"
        audience = 20_000.0 if account == "brand" else 3_000.0
        profile = draw_profile(rng, audience=audience, has_video=rng.random() < 0.2, has_media=True)
        out.append(Written(str(snowflake(created, i)), account, created, profile))
    return out


def fill(store: SqliteStore, written: list[Written], period: Period, metrics: set[str]) -> int:
    """Counts of the hourly metrics and polled totals, from creation to the period's end,
    written an hour at a time for all posts, as the engine and a fetch would."""
    hourly = sorted(metrics & HOURLY_METRICS)
    polled = sorted(metrics & TOTALS_METRICS)
    values = 0
    readings: dict[datetime, dict[str, dict[str, float]]] = {}
    batch: dict[str, dict[str, list[tuple[datetime, float]]]] = {}
    first = period.end
    for post in written:
        born = post.created_at.replace(minute=0, second=0, microsecond=0)
        hours = int((period.end - born) / HOUR)
        fractions = [
            post.profile.fraction((born + h * HOUR - post.created_at) / HOUR)
            for h in range(hours + 1)
        ]
        totals = {m: [int(post.profile.finals[m] * f) for f in fractions] for m in metrics}
        counts = {
            m: [(born + h * HOUR, float(totals[m][h + 1] - totals[m][h])) for h in range(hours)]
            for m in hourly
        }
        batch[post.post_id] = counts
        first = min(first, born)
        if len(batch) >= 100:  # one transaction for many posts
            store.record_hourly_counts(first, period.end, batch)
            batch, first = {}, period.end
        values += sum(1 for pairs in counts.values() for _, c in pairs if c)
        for h in range(1, hours + 1):
            reading = readings.setdefault(born + h * HOUR, {})
            reading[post.post_id] = {m: float(totals[m][h]) for m in polled}
    if batch:
        store.record_hourly_counts(first, period.end, batch)
    for at in sorted(readings):
        values += store.record_hourly_totals(at, readings[at])
    return values


class Timeline:
    def __init__(self, written: list[Written]) -> None:
        self._written = written

    def discover(self, account: str, *, since_id=None, start_time=None, end_time=None, **_):  # type: ignore[no-untyped-def]
        found = [
            DiscoveredPost(p.post_id, p.created_at, "")
            for p in self._written
            if p.account == account
            and (start_time is None or p.created_at >= start_time)
            and (end_time is None or p.created_at < end_time)
        ]
        return Discovery(tuple(sorted(found, key=lambda p: p.created_at, reverse=True)), None)


class NoApi:
    def fetch(self, requests, compact=None):  # type: ignore[no-untyped-def]
        raise AssertionError("the history is stored: no request should be needed")


def rules_file(folder: Path) -> Path:
    path = folder / "rules.yaml"
    path.write_text("version: 1\nrules:\n" + OWNED_RULES + MORE_RULES)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=1_000)
    parser.add_argument("--days", type=int, default=28)
    parser.add_argument("--poll", type=int, default=300, help="poll interval, seconds")
    parser.add_argument("--seed", type=int, default=5)
    args = parser.parse_args(argv)
    period = Period(END - timedelta(days=args.days), END)
    with tempfile.TemporaryDirectory() as tmp:
        ruleset = load_rules([rules_file(Path(tmp))])
        assert not ruleset.errors, ruleset.errors
        rules = compile_rules(ruleset.rules)
        spec = BacktestSpec(rules, period, args.poll)
        written = posts(args.posts, period, args.seed)
        with SqliteStore.open(Path(tmp) / "bench.db") as store:
            started = time.perf_counter()
            needs = plan_backtest(spec, store=store, timeline=Timeline(written), now=END)
            stored = fill(store, written, period, set(needs.metrics))
            print(
                f"history stored: {stored:,} values for {len(written):,} posts in"
                f" {time.perf_counter() - started:.1f} s (not counted)",
                file=sys.stderr,
            )
            cpu = time.process_time()
            plan = plan_backtest(spec, store=store, timeline=Timeline(written), now=END)
            planned = time.process_time() - cpu
            cpu = time.process_time()
            readings = load_readings(store, plan)
            loaded = time.process_time() - cpu
            cpu = time.process_time()
            replay(rules, readings, period.start, period.end, args.poll)
            replayed = time.process_time() - cpu
            cpu = time.process_time()
            result = run_backtest(plan, store=store, engagement=NoApi())
            whole = time.process_time() - cpu
    fired = sum(r.would_fire for r in result.rules)
    seeded = sum(r.would_seed for r in result.rules)
    print(
        f"{'rules':>5} {'posts':>6} {'days':>4} {'poll':>5} {'requests':>8}"
        f" {'plan s':>7} {'read s':>7} {'replay s':>9} {'run_backtest s':>15}"
        f" {'total s':>8} {'fired':>6} {'seeded':>6}"
    )
    print(
        f"{len(rules):>5} {len(written):>6,} {args.days:>4} {args.poll:>4}s"
        f" {len(plan.history.requests):>8} {planned:>7.2f} {loaded:>7.2f} {replayed:>9.2f}"
        f" {whole:>15.2f} {planned + whole:>8.2f} {fired:>6,} {seeded:>6,}"
    )
    print(
        f"\ntarget: at most {CPU_TARGET:.0f} s CPU for plan + run_backtest"
        f" ({'met' if planned + whole <= CPU_TARGET else 'NOT met'})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

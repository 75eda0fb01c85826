"""The large database of ``bench_dashboard.py --scale large``: months of a busy team.

Built through the store's own write functions, as the engine records: 1,000 posts polled
hourly for a year (``record_hourly_totals``) with the last 48 hours of snapshots, 300 rules
in 30 files, 100,000 firings (fired, seeded, capped) committed by cycles with their actions,
the actions' attempts (mostly sent, 500 dead with long errors, some pending), and one post
with 2,000 firings whose impressions reach 10 million.
"""

from __future__ import annotations

import math
import random
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import yaml

from automation.core.records import ActionRecord, CycleWrite, FiringRecord, WatchedPostRecord
from automation.store import SqliteStore

__all__ = ["END", "HOT", "build", "pages", "write_rules"]

POSTS = 1_000
RULES = 300
RULE_FILES = 30
FIRINGS = 100_000
HOT_FIRINGS = 2_000
DEAD = 500
PENDING = 1_000
METRICS = {
    "impressions": 40_000,
    "engagements": 2_000,
    "favorites": 600,
    "retweets": 90,
    "replies": 40,
}
START = datetime(2025, 8, 1, tzinfo=UTC)
HOUR = timedelta(hours=1)
END = START + timedelta(days=365)
HOT = str(1_900_000_000_000_000_000)  # the post with 2,000 firings and 10 million impressions


def _post_id(i: int) -> str:
    return str(1_900_000_000_000_000_000 + i * 4_194_304)


def _rule_id(n: int) -> str:
    return f"rule-{n:03d}"


def build(path: Path, days: int, seed: int) -> None:
    """Fill ``path`` with ``days`` of hourly history ending at ``END`` (365: a year)."""
    rng = random.Random(seed)
    posts = [_post_id(i) for i in range(POSTS)]
    first = END - timedelta(days=days)
    finals = {p: {m: top * rng.uniform(0.05, 2.0) for m, top in METRICS.items()} for p in posts}
    finals[HOT] = {m: top * 250 for m, top in METRICS.items()}  # impressions: 10 million
    taus = {p: rng.uniform(3, 300) for p in posts}
    with SqliteStore.open(path) as store:
        store.upsert_posts(WatchedPostRecord(p, "brand", first, "explicit", first) for p in posts)
        _history(store, posts, finals, taus, first)
        _firings(store, rng, posts, first)
        store.set_meta(
            "last_cycle",
            f'{{"at": "{END.strftime("%Y-%m-%dT%H:%M:%SZ")}", "posts": {POSTS}, "requests": 4,'
            f' "fired": 0, "seeded": 0, "actions_sent": 0, "errors": [], "rules": {RULES}}}',
        )


def _history(
    store: SqliteStore,
    posts: list[str],
    finals: dict[str, dict[str, float]],
    taus: dict[str, float],
    first: datetime,
) -> None:
    hours = int((END - first) / HOUR)
    for h in range(hours):
        now = first + (h + 1) * HOUR
        live = {
            p: {m: float(int(top * (1 - math.exp(-(h + 1) / taus[p])))) for m, top in f.items()}
            for p, f in finals.items()
        }
        store.record_hourly_totals(now, live)
        if END - now < timedelta(hours=48):
            store.record_totals(now, live)
        if h % 720 == 0:
            print(f"  filled {h}/{hours} hours", file=sys.stderr)


def _firings(store: SqliteStore, rng: random.Random, posts: list[str], first: datetime) -> None:
    span = (END - first).total_seconds()
    chosen = [HOT] * HOT_FIRINGS + [rng.choice(posts[1:]) for _ in range(FIRINGS - HOT_FIRINGS)]
    times = sorted(first + timedelta(seconds=rng.uniform(0, span)) for _ in chosen)
    rng.shuffle(chosen)
    firings = []
    for n, (post, at) in enumerate(zip(chosen, times, strict=True)):
        kind = rng.choices(("fired", "seeded", "capped"), (70, 25, 5))[0]
        actions = (ActionRecord(0, "log", '{"message": "x"}'),) if kind == "fired" else ()
        metric = rng.choice(tuple(METRICS))
        firings.append(
            FiringRecord(
                id=f"{n:016x}",
                rule_id=_rule_id(n % RULES),
                post_id=post,
                key=f"k{n}",
                kind=kind,
                at=at,
                metrics={metric: round(_recorded(post, metric, rng))},
                actions=actions,
            )
        )
    for i in range(0, len(firings), 500):
        batch = tuple(firings[i : i + 500])
        store.commit_cycle(CycleWrite(at=batch[-1].at, firings=batch))
        if i % 20_000 == 0:
            print(f"  committed {i}/{len(firings)} firings", file=sys.stderr)
    _attempts(store, rng)


def _recorded(post: str, metric: str, rng: random.Random) -> float:
    """A firing's recorded total: up to 10 million on the hot post."""
    top = METRICS[metric] * (250 if post == HOT else 2)
    return rng.uniform(0, top)


def _attempts(store: SqliteStore, rng: random.Random) -> None:
    items = store.actions(limit=1_000_000)
    rng.shuffle(items)
    dead = set(range(DEAD))
    error = "HTTP 400 from https://api.x.com/2/tweets: " + "invalid request; " * 90
    for n, item in enumerate(items[PENDING:]):
        store.record_attempt(
            item.id,
            at=item.created_at + timedelta(seconds=5),
            outcome="dead" if n in dead else "sent",
            error=error if n in dead else None,
            next_attempt_at=None,
        )


def write_rules(folder: Path) -> list[Path]:
    """300 rules in 30 files, each a threshold on one metric and a log action."""
    files = []
    per_file = RULES // RULE_FILES
    for f in range(RULE_FILES):
        rules = [
            {
                "id": _rule_id(n),
                "watch": {"accounts": ["brand"]},
                "when": f"{'likes' if n % 2 else 'impressions'} >= {100 * (n + 1)}",
                "actions": [{"log": {"message": "{post.id}"}}],
            }
            for n in range(f * per_file, (f + 1) * per_file)
        ]
        path = folder / f"rules-{f:02d}.yaml"
        path.write_text(yaml.safe_dump({"version": 1, "rules": rules}))
        files.append(path)
    return files


def pages() -> list[tuple[str, str]]:
    """Every page and its common filters, by name and path."""
    rule = _rule_id(7)
    other = _post_id(500)
    middle = (START + timedelta(days=182)).timestamp()
    return [
        ("overview", "/"),
        ("rules", "/rules"),
        ("a rule's page", f"/rules/{rule}"),
        ("hot post's page", f"/posts/{HOT}"),
        ("hot post's chart data", f"/api/posts/{HOT}/charts"),
        ("a post's page", f"/posts/{other}"),
        ("a post's chart data", f"/api/posts/{other}/charts"),
        ("history", "/history"),
        ("history by rule", f"/history?rule={rule}"),
        ("history by hot post", f"/history?post={HOT}"),
        ("history by post", f"/history?post={other}"),
        ("history, seeded", "/history?status=seeded"),
        ("history, capped", "/history?status=capped"),
        ("history, deep page", f"/history?before={middle}"),
        ("history by rule, deep", f"/history?rule={rule}&before={middle}"),
        ("history, one day", "/history?from=2026-02-01&to=2026-02-01"),
        ("actions", "/actions"),
        ("actions, pending", "/actions?status=pending"),
        ("actions, sent", "/actions?status=sent"),
        ("actions, dead", "/actions?status=dead"),
        ("actions by rule", f"/actions?rule={rule}"),
        ("actions by post", f"/actions?post={HOT}"),
        ("actions, deep page", f"/actions?before={middle}"),
    ]

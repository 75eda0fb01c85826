"""The simulated world and the rules of ``bench_latency.py``: 100,000 watched posts.

Half the posts are public (NASA's and National Geographic's, named in rules by ID); the
other half belong to the sandbox's four owned accounts: the newest 3,200 of each, which
is as far back as an X timeline reaches, are found by timeline discovery, and the older
ones are named by ID with their owner. The owned accounts keep posting through the day at
the rate that made those 3,200, so young posts keep arriving. Every post follows the
sandbox's own curves (``automation.sandbox.curves``): most engagement within the first
hours, a slow tail, and one post in twenty taking off late, 4 to 30 hours after it was
posted.

Twenty rules of the shipped examples' kinds watch them: thresholds, milestones, an
``any``, a ``for``, rates, windows over /28hr series and over snapshots, rearming.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from automation.sandbox import Options, Sandbox
from automation.sandbox import credentials as cred
from automation.sandbox.curves import draw_profile

__all__ = ["PUBLIC_AUTHORS", "TIMELINE_REACH", "World", "build_world", "rules_files"]

TIMELINE_REACH = 3_200  # an X timeline serves an account's newest 3,200 posts
PUBLIC_AUTHORS = (("11348282", 150_000.0), ("17471979", 90_000.0))  # nasa, natgeo
OWNED_AUDIENCE = {"brand": 20_000.0, "support": 3_000.0, "news": 8_000.0, "careers": 1_500.0}
WEEK = timedelta(days=7)
TIMELINE_SPAN = timedelta(days=2)  # the newest 3,200 posts of an account span two days
PUBLIC_SHARE = 0.5


@dataclass
class World:
    """The sandbox and the posts the rules name (by owner, and public)."""

    sandbox: Sandbox
    named_owned: dict[str, list[str]] = field(default_factory=dict)
    public: list[str] = field(default_factory=list)


def build_world(posts: int, start: datetime, run_for: timedelta, seed: int) -> World:
    """``posts`` watched posts at ``start``, and the owned accounts' posts until
    ``start + run_for``; the sandbox counts its per-minute limit (60) on simulated time."""
    sandbox = Sandbox(
        seed=seed,
        start=start,
        speed=0,
        options=Options(per_minute_limit=60),
        simulated_limits=True,
    )
    world = World(sandbox)
    rng = random.Random(seed)
    posting = [a for a in cred.ACCOUNTS if a.name in OWNED_AUDIENCE]  # not the one that only acts
    owned = len(posting)
    per_timeline = min(TIMELINE_REACH, round(posts * (1 - PUBLIC_SHARE) * 0.256 / owned))
    per_named = round(posts * (1 - PUBLIC_SHARE) / owned) - per_timeline
    rate = per_timeline / TIMELINE_SPAN.total_seconds()  # posts a second, per account
    later = int(rate * run_for.total_seconds())
    for account in posting:
        audience = OWNED_AUDIENCE[account.name]
        named = _add(
            world, rng, account.user_id, audience, start - WEEK, start - TIMELINE_SPAN, per_named
        )
        world.named_owned[account.name] = named
        _add(world, rng, account.user_id, audience, start - TIMELINE_SPAN, start, per_timeline)
        _add(world, rng, account.user_id, audience, start, start + run_for, later)
    public = round(posts * PUBLIC_SHARE)
    for i, (author, audience) in enumerate(PUBLIC_AUTHORS):
        count = public // len(PUBLIC_AUTHORS) + (i < public % len(PUBLIC_AUTHORS))
        world.public += _add(world, rng, author, audience * 0.05, start - WEEK, start, count)
    return world


def _add(
    world: World,
    rng: random.Random,
    author: str,
    audience: float,
    since: datetime,
    until: datetime,
    count: int,
) -> list[str]:
    """``count`` posts spread evenly over [since, until), each with a drawn curve."""
    span = until - since
    ids = []
    for i in range(count):
        at = since + span * ((i + rng.random()) / count)
        video = rng.random() < 0.15
        profile = draw_profile(
            rng, audience=audience, has_video=video, has_media=video or rng.random() < 0.3
        )
        post = world.sandbox.world.add_post(
            author,
            created_at=at.replace(microsecond=at.microsecond // 1000 * 1000),
            has_video=video,
            profile=profile,
        )
        ids.append(post.id)
    return ids


# --- rules -------------------------------------------------------------------------------

_TIMELINE_RULES = """\
  - id: repost-at-100-likes
    watch: {accounts: [brand, news]}
    when: likes >= 100
    actions:
      - repost: {as: support}
      - log: {message: "{post.url} reached {metrics.likes} likes"}
  - id: like-milestones
    watch: {accounts: [brand, support, news, careers]}
    fire: {every: 1000, metric: likes}
    actions: [{log: {message: "{post.url} passed {milestone} likes"}}]
  - id: viral-hour
    watch: {accounts: [brand], max_age: 2d}
    when:
      all:
        - retweets over 1h >= 50
        - {metric: engagement_rate, gte: 0.05}
        - not: {metric: impressions, lt: 1000}
    for: 15m
    fire: {rearm: true, cooldown: 6h}
    actions: [{log: {message: "{post.url} is taking off"}}]
  - id: impressions-10k
    watch: {accounts: [brand, support, news, careers]}
    when: impressions >= 10000
    actions: [{log: {message: "{post.url}: {metrics.impressions} impressions"}}]
  - id: many-replies
    watch: {accounts: [support], max_age: 3d}
    when: replies >= 20
    actions: [{log: {message: "{post.url} has {metrics.replies} replies"}}]
  - id: engaging
    watch: {accounts: [brand, support, news, careers], max_age: 3d}
    when: {all: [engagement_rate >= 0.08, impressions >= 500]}
    actions: [{log: {message: "{post.url} engages"}}]
  - id: clicks-hour
    watch: {accounts: [brand, news], max_age: 1d}
    when: url_clicks over 1h >= 20
    fire: {rearm: true, cooldown: 3h}
    actions: [{log: {message: "{post.url} is clicked"}}]
  - id: impression-milestones
    watch: {accounts: [brand, news]}
    fire: {every: 10000, metric: impressions}
    actions: [{log: {message: "{post.url} passed {milestone} impressions"}}]
  - id: video-1k
    watch: {accounts: [brand, support, news, careers]}
    when: video_views >= 1000
    actions: [{log: {message: "{post.url} video seen {metrics.video_views} times"}}]
  - id: popular
    watch: {accounts: [brand, support, news, careers]}
    when: {any: [likes >= 500, reposts >= 100]}
    actions: [{log: {message: "{post.url} is popular"}}]
  - id: reposted-steadily
    watch: {accounts: [brand], max_age: 2d}
    when: reposts >= 20
    for: 10m
    actions: [{log: {message: "{post.url} keeps being reposted"}}]
  - id: likes-surge
    watch: {accounts: [brand, support, news, careers], max_age: 2d}
    when: likes over 30m >= 30
    fire: {rearm: true, cooldown: 1h}
    actions: [{log: {message: "{post.url} likes surge"}}]
"""

_NAMED_OWNED_RULES = {
    "brand": "    fire: {every: 500, metric: likes}\n",
    "support": "    when: replies >= 25\n",
    "news": "    when: impressions >= 20000\n",
    "careers": "    when: retweets over 1h >= 10\n    fire: {rearm: true, cooldown: 6h}\n",
}

_PUBLIC_RULES = (
    ("public-likes", "    when: likes >= 50\n"),
    (
        "public-reposts-hour",
        "    when: reposts over 1h >= 10\n    fire: {rearm: true, cooldown: 6h}\n",
    ),
    ("public-like-milestones", "    fire: {every: 100, metric: likes}\n"),
    ("public-replies", "    when: replies >= 10\n"),
)


def rules_files(world: World) -> dict[str, str]:
    """The twenty rules by file name (a rule file may hold at most 1 MB): twelve over the
    owned timelines, four over each owner's older posts named by ID, four over a quarter
    each of the public posts."""
    head = "version: 1\nrules:\n"
    files = {"timelines.yaml": head + _TIMELINE_RULES}
    for account, body in _NAMED_OWNED_RULES.items():
        ids = world.named_owned[account]
        files[f"archive-{account}.yaml"] = head + _named_rule(
            f"archive-{account}", ids, body, owner=account
        )
    quarter = -(-len(world.public) // len(_PUBLIC_RULES))
    for n, (rule_id, body) in enumerate(_PUBLIC_RULES):
        ids = world.public[n * quarter : (n + 1) * quarter]
        files[f"{rule_id}.yaml"] = head + _named_rule(rule_id, ids, body)
    return files


def _named_rule(rule_id: str, ids: Sequence[str], body: str, owner: str | None = None) -> str:
    listed = ", ".join(f'"{i}"' for i in ids)
    owned = f", owner: {owner}" if owner else ""
    return (
        f"  - id: {rule_id}\n    watch: {{posts: [{listed}]{owned}}}\n{body}"
        f'    actions: [{{log: {{message: "{{post.url}} {rule_id}"}}}}]\n'
    )

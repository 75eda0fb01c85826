"""A scripted month of hourly values, fed both to ``automation test`` and to a backtest.

Five posts over 720 hourly polls: three brand posts (one already past the thresholds
when the month starts, one written five days in), a public post named by ID that has
bursts of reposts and a few polls nobody made, and a quiet public post. The rules cover
seeding, ``once``, ``every``, ``for``, rearm with a cooldown, a cap (``limit``), windows over
/28hr series and over snapshots, and ``max_age``.

``write_rule_test`` writes the rule file and a rule-test file scripting the posts;
``fill_history`` stores the same values as hourly history, as the engine's polls and
``/historical`` would have left them: owned posts as hourly counts (growing steadily
between polls, from zero when written, as the rule tests' /28hr series assume), public
posts as the readings of the polls that happened.
"""

from __future__ import annotations

import itertools
import random
import textwrap
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from automation.core.facts import post_created_at
from automation.store.base import Store

__all__ = ["POLLS", "START", "Post", "fill_history", "posts", "write_rule_test"]

START = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
POLLS = 720
HOUR = timedelta(hours=1)
_TWITTER_EPOCH_MS = 1288834974657


def _id_written_at(moment: datetime) -> str:
    return str((int(moment.timestamp() * 1000) - _TWITTER_EPOCH_MS) << 22)


PUBLIC = _id_written_at(START - timedelta(hours=20))
QUIET = _id_written_at(START - timedelta(hours=30))

RULES = f"""\
version: 1
rules:
  - id: at-100
    watch: {{accounts: [brand], max_age: 30d}}
    when: likes >= 100
    actions: [{{log: {{message: "{{post.id}} reached {{metrics.likes}}"}}}}]
  - id: milestones
    watch: {{accounts: [brand], max_age: 30d}}
    fire: {{every: 50, metric: likes}}
    actions: [{{log: {{message: "{{milestone}}"}}}}]
  - id: two-a-day
    watch: {{accounts: [brand], max_age: 30d}}
    fire: {{every: 20, metric: likes}}
    limit: {{max: 2, per: 1d}}
    actions: [{{log: {{message: "{{milestone}}"}}}}]
  - id: held-2h
    watch: {{accounts: [brand], max_age: 30d}}
    when: reposts >= 20
    for: 2h
    actions: [{{log: {{message: held}}}}]
  - id: busy-hour
    watch: {{accounts: [brand], max_age: 8d}}
    when: likes over 1h >= 10
    fire: {{rearm: true, cooldown: 6h}}
    actions: [{{log: {{message: busy}}}}]
  - id: public-burst
    watch: {{posts: ["{PUBLIC}", "{QUIET}"], max_age: 30d}}
    when: retweets over 2h >= 5
    fire: {{rearm: true, cooldown: 3h}}
    actions: [{{log: {{message: burst}}}}]
"""


@dataclass(frozen=True)
class Post:
    post_id: str
    account: str | None
    created: timedelta  # from START
    series: dict[str, list[int | None]]  # API metric -> value at each poll (None: missed)


def _growth(rng: random.Random, first: int, steps: int, bursts: int) -> list[int]:
    values, value = [], first
    burst_at = set(rng.sample(range(steps), bursts))
    for i in range(steps):
        value += rng.choice((0, 0, 1, 1, 2)) + (rng.randint(10, 16) if i in burst_at else 0)
        values.append(value)
    return values


def posts() -> list[Post]:
    rng = random.Random(9)
    late = 5 * 24  # polls before the late post is written
    retweets = list(itertools.accumulate(rng.choice((0, 0, 0, 1, 3)) for _ in range(POLLS)))
    public: list[int | None] = [v + 30 * (i // 100) for i, v in enumerate(retweets)]
    for i in (50, 51, 333, 600):  # polls nobody made
        public[i] = None
    reposts = [min(30, i // 5) if i < 200 else 15 for i in range(POLLS)]
    return [
        Post(
            "1001",
            "brand",
            -2 * HOUR,
            {"favorites": _growth(rng, 5, POLLS, 6), "retweets": list(reposts)},
        ),
        Post("1002", "brand", -30 * HOUR, {"favorites": _growth(rng, 150, POLLS, 3)}),
        Post(
            "1003",
            "brand",
            late * HOUR,
            {"favorites": [None] * late + _growth(rng, 0, POLLS - late, 4)},
        ),
        Post(PUBLIC, None, post_created_at(PUBLIC) - START, {"retweets": public}),
        Post(QUIET, None, post_created_at(QUIET) - START, {"retweets": [3] * POLLS}),
    ]


def _notation(values: list[int | None]) -> str:
    return " ".join("_" if v is None else str(v) for v in values)


def write_rule_test(folder: Path) -> Path:
    """The rule file and a test file playing the month; returns the test file."""
    (folder / "rules.yaml").write_text(RULES)
    lines = []
    for post in posts():
        fields = [f'id: "{post.post_id}"']
        if post.account is not None:
            hours = int(post.created / HOUR)
            fields += [f"account: {post.account}", f"created: {hours}h"]
        else:
            fields.append("account: public")
        fields += [f"{metric}: {_notation(v)}" for metric, v in post.series.items()]
        lines.append("      - {" + ", ".join(fields) + "}")
    test = (
        textwrap.dedent(f"""\
        version: 1
        rules: [rules.yaml]
        start: {START:%Y-%m-%dT%H:%M:%SZ}
        poll_interval: 1h
        tests:
          - name: a scripted month
            posts:
        """)
        + "\n".join(lines)
        + '\n    expect:\n      - {not_fired: at-100, post: "1001"}\n'
    )
    path = folder / "month.test.yaml"
    path.write_text(test)
    return path


def fill_history(store: Store, metrics: tuple[str, ...] = ("favorites", "retweets")) -> None:
    """The month as hourly history: counts for owned posts, polled totals for public."""
    times = [START + i * HOUR for i in range(POLLS)]
    for post in posts():
        written = START + post.created
        if post.account is None:
            for i, at in enumerate(times):
                values = {m: float(v[i]) for m, v in post.series.items() if v[i] is not None}
                if values:
                    store.record_hourly_totals(at, {post.post_id: values})
            continue
        first = written.replace(minute=0, second=0, microsecond=0)
        counts: dict[str, list[tuple[datetime, float]]] = {}
        for metric in metrics:
            points = [(written, 0.0)] + [
                (at, float(v))
                for at, v in zip(times, post.series.get(metric, [0] * POLLS), strict=True)
                if v is not None and at >= written
            ]
            hours = int((times[-1] - first) / HOUR)
            counts[metric] = [
                (
                    first + h * HOUR,
                    _at(points, first + (h + 1) * HOUR) - _at(points, first + h * HOUR),
                )
                for h in range(hours)
            ]
        store.record_hourly_counts(first, times[-1], {post.post_id: counts})


def _at(points: list[tuple[datetime, float]], moment: datetime) -> float:
    """The value at ``moment`` on the line through ``points`` (flat outside them)."""
    if moment <= points[0][0]:
        return 0.0
    for (t0, v0), (t1, v1) in itertools.pairwise(points):
        if moment <= t1:
            return v1 if t1 == t0 else v0 + (v1 - v0) * ((moment - t0) / (t1 - t0))
    return points[-1][1]

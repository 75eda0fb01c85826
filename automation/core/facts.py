"""What the engine knows about a post, and what the evaluator decides: plain frozen values.

These are the seam between the pure core (``evaluate``) and the shell: the engine builds
``PostFacts`` from the API and the store, passes the stored ``RuleState``, and persists the
``Decision``'s new state. All times are timezone-aware UTC datetimes.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import MappingProxyType

__all__ = [
    "EMPTY",
    "Decision",
    "HourlySeries",
    "LeafTrace",
    "Outcome",
    "PostFacts",
    "RuleState",
    "Snapshot",
    "Truth",
    "post_created_at",
    "post_url",
]

EMPTY: Mapping[str, float] = MappingProxyType({})
_TWITTER_EPOCH_MS = 1288834974657


def post_created_at(post_id: str) -> datetime:
    """The creation time encoded in a snowflake post ID (every post since late 2010)."""
    ms = (int(post_id) >> 22) + _TWITTER_EPOCH_MS
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def post_url(post_id: str) -> str:
    return f"https://x.com/i/status/{post_id}"


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Totals as read at ``at``. The store keeps one only when a value changed."""

    at: datetime
    values: Mapping[str, float]


@dataclass(frozen=True, slots=True)
class HourlySeries:
    """Per-hour counts from ``/28hr`` for one metric: ``counts[i]`` is the count of the
    hour starting at ``starts[i]``, oldest first, one per hour with zeros present.
    ``read_at`` is when it was fetched.

    Two columns rather than a (start, count) pair per hour: a poll holds about 2,000,000
    buckets, and the series of one answer share a single ``starts`` tuple."""

    starts: tuple[datetime, ...]
    counts: tuple[float, ...]
    read_at: datetime

    def __post_init__(self) -> None:
        if len(self.starts) != len(self.counts):
            raise ValueError(f"{len(self.starts)} hour starts for {len(self.counts)} counts")

    @classmethod
    def of(cls, buckets: Iterable[tuple[datetime, float]], read_at: datetime) -> HourlySeries:
        """The series of (hour start, count) ``buckets``, oldest first."""
        pairs = tuple(buckets)
        return cls(tuple(s for s, _ in pairs), tuple(c for _, c in pairs), read_at)

    @property
    def buckets(self) -> tuple[tuple[datetime, float], ...]:
        """(hour start, count) pairs, oldest first, made on each call."""
        return tuple(zip(self.starts, self.counts, strict=True))


@dataclass(frozen=True, slots=True)
class PostFacts:
    """Everything the evaluator may use about one post.

    ``account`` is the owned account name that wrote it, or None for a public post.
    ``totals`` maps canonical metric names to current values; a missing name is unknown.
    ``hourly`` maps metric names to their /28hr series (owned posts a windowed rule needs).
    ``snapshots`` are earlier totals, oldest first, for windows on other posts.
    """

    post_id: str
    account: str | None
    created_at: datetime
    totals: Mapping[str, float] = field(default_factory=lambda: EMPTY)
    hourly: Mapping[str, HourlySeries] = field(default_factory=lambda: MappingProxyType({}))
    snapshots: tuple[Snapshot, ...] = ()

    @property
    def url(self) -> str:
        """The post's address, made when asked: a cycle builds facts for 100,000 posts
        and few of them fire."""
        return post_url(self.post_id)

    @property
    def owned(self) -> bool:
        return self.account is not None

    def age(self, now: datetime) -> timedelta:
        return now - self.created_at


@dataclass(frozen=True, slots=True)
class RuleState:
    """What the evaluator remembers between polls for one (rule, post).

    ``fingerprint`` is the rule version this state belongs to; ``holding_since`` starts
    a ``for`` period; ``last_truth`` is the last known result (for rearm transitions);
    ``last_fired_at`` bounds rearm cooldowns; ``milestone`` is the highest multiple already
    fired or seeded for ``every``; ``done`` is set once a ``once`` rule fired or seeded;
    ``fires`` counts firings, making rearm firing keys unique.
    """

    fingerprint: str = ""
    holding_since: datetime | None = None
    last_truth: bool | None = None
    last_fired_at: datetime | None = None
    milestone: int = 0
    done: bool = False
    fires: int = 0


class Truth(enum.Enum):
    TRUE = "true"
    FALSE = "false"
    UNKNOWN = "unknown"


class Outcome(enum.Enum):
    NOTHING = "nothing"  # condition false or unknown, or already fired
    PENDING = "pending"  # holds, but not yet for the whole ``for`` period
    SEED = "seed"  # would fire, but the rule is new or changed: recorded as seen
    FIRE = "fire"


@dataclass(frozen=True)
class LeafTrace:
    """One leaf as evaluated: its value, threshold, result, and why when unknown."""

    description: str
    metric: str
    value: float | None
    threshold: float
    truth: Truth
    reason: str = ""


@dataclass(frozen=True)
class Decision:
    """The evaluator's answer for one (rule, post) at one poll.

    ``key`` is the firing key (unique per rule and post in the ledger) for SEED and FIRE;
    ``milestone`` is set for ``every`` rules; ``metrics`` are the values used, by the name
    the rule wrote, for templates and webhooks; ``reason`` is a sentence for ``explain``.
    ``windows``: each windowed leaf's value by its label (``retweets over 1h``), for a FIRE
    or SEED and for ``explain`` (when ``trace`` is built): what decided it, for people to
    read beside the totals, never in a payload (``metrics`` is what templates see).
    """

    outcome: Outcome
    state: RuleState
    truth: Truth
    trace: tuple[LeafTrace, ...] = ()
    key: str | None = None
    milestone: int | None = None
    metrics: Mapping[str, float] = field(default_factory=lambda: EMPTY)
    reason: str = ""
    windows: Mapping[str, float] = field(default_factory=lambda: EMPTY)

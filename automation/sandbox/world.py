"""The simulated X: accounts, posts with real snowflake IDs, metrics that grow over time.

Posts are generated per (account, UTC day) from ``random.Random(f"{seed}/{user}/{day}")``,
lazily as simulated time reaches each day, so the same seed gives the same posts whatever
the order of questions, and new posts keep appearing while the simulation runs (which is
why timeline discovery matters). Metrics are computed from a post's ``Profile`` at any
moment; explicit changes (``set_metric``, reposts and likes from owned accounts) are kept
as dated adjustments so hourly series show them in the hour they happened.
"""

from __future__ import annotations

import bisect
import itertools
import random
import threading
from array import array
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from automation.core.metric_names import API_METRICS
from automation.sandbox.clock import Growth, SimClock
from automation.sandbox.credentials import ACCOUNTS
from automation.sandbox.curves import Profile, draw_profile
from automation.sandbox.post_text import TAGS, TOPICS

__all__ = ["TWITTER_EPOCH_MS", "Action", "Post", "User", "World", "snowflake"]

TWITTER_EPOCH_MS = 1288834974657
# Ages (days before the clock's start) of a few old brand posts: past the 90-day
# impressions limit, and past the 1800-day video limit.
_ARCHIVE_AGES = ((100, False), (150, False), (400, True), (1500, True), (1850, True), (2100, True))
# How long X refuses the same text again from one account (403 duplicate content).
_DUPLICATE_WITHIN = timedelta(days=1)


def snowflake(at: datetime, sequence: int = 0) -> int:
    """A post ID whose top bits encode ``at`` exactly as X's IDs do."""
    ms = int(at.timestamp() * 1000) - TWITTER_EPOCH_MS
    return (ms << 22) | (sequence & 0x3FFFFF)


@dataclass(frozen=True)
class User:
    user_id: str
    username: str
    name: str
    owned: bool = False
    protected: bool = False
    posts_per_day: float = 1.0
    audience: float = 5000.0
    reply_share: float = 0.1
    repost_share: float = 0.05


@dataclass(slots=True)
class Post:
    id: str
    author_id: str
    created_at: datetime
    text: str
    profile: Profile
    kind: str = "post"  # post | reply | repost | quote
    referenced_id: str | None = None
    has_video: bool = False
    protected: bool = False
    deleted_at: datetime | None = None
    # A tuple, replaced whole on a change: most posts never get one, and an empty tuple is
    # shared where a list would be one more object per post.
    adjustments: tuple[tuple[datetime, str, int], ...] = ()

    def exists_at(self, at: datetime) -> bool:
        return self.created_at <= at and (self.deleted_at is None or at < self.deleted_at)

    def age_hours(self, at: datetime) -> float:
        return (at - self.created_at).total_seconds() / 3600.0


@dataclass(frozen=True)
class Action:
    """Something an owned account did through the v2 API."""

    kind: str  # repost | unrepost | like | unlike | reply | quote | post
    user_id: str
    post_id: str
    at: datetime
    text: str = ""


_PUBLIC = (
    User("11348282", "nasa", "NASA", posts_per_day=2, audience=150_000, repost_share=0.1),
    User("17471979", "natgeo", "National Geographic", posts_per_day=1.5, audience=90_000),
    User("1500000001", "quiet_fan", "Quiet Fan", protected=True, posts_per_day=0.5, audience=300),
)
_OWNED_SHAPE = {
    "brand": (3.0, 20_000.0, 0.1, 0.1),
    "support": (4.0, 3_000.0, 0.7, 0.05),
    "news": (5.0, 8_000.0, 0.05, 0.1),
    "careers": (1.0, 1_500.0, 0.05, 0.02),
    "events": (0.0, 2_000.0, 0.0, 0.0),  # only acts: spreads writes over a fifth account
}


class World:
    """All simulated state. Thread-safe: the HTTP server asks from many threads."""

    def __init__(
        self,
        seed: int = 0,
        clock: SimClock | None = None,
        *,
        history_days: int = 120,
        growth: Growth | None = None,
    ):
        self.seed = seed
        self.clock = clock or SimClock()
        self.growth = growth  # the world's pace, faster than the clock's (``sandbox --speed``)
        self._lock = threading.RLock()
        self._posts: dict[str, Post] = {}
        self._by_author: dict[str, array[int]] = {}  # post IDs in order: 8 bytes each
        self._users: dict[str, User] = {}
        self.actions: list[Action] = []
        self._reposts: set[tuple[str, str]] = set()
        self._likes: set[tuple[str, str]] = set()
        self._repost_posts: dict[tuple[str, str], str] = {}
        for acct in ACCOUNTS:
            per_day, audience, replies, reposts = _OWNED_SHAPE[acct.name]
            self._add_user(
                User(
                    acct.user_id,
                    acct.username,
                    acct.name.title(),
                    True,
                    False,
                    per_day,
                    audience,
                    replies,
                    reposts,
                )
            )
        for user in _PUBLIC:
            self._add_user(user)
        start = self.clock.now()
        self._generated_through = start.date() - timedelta(days=history_days + 1)
        self._add_archive(start)
        self._ensure(start)

    # ----- accounts ------------------------------------------------------------------
    def _add_user(self, user: User) -> None:
        self._users[user.user_id] = user
        self._by_author.setdefault(user.user_id, array("q"))

    def user(self, user_id: str) -> User | None:
        return self._users.get(user_id)

    def owned_user_ids(self) -> frozenset[str]:
        return frozenset(u.user_id for u in self._users.values() if u.owned)

    # ----- posts ---------------------------------------------------------------------
    def now(self) -> datetime:
        return self.clock.now()

    def get(self, post_id: str, at: datetime | None = None) -> Post | None:
        """The post if it exists at ``at`` (default now): created and not deleted."""
        at = at or self.now()
        with self._lock:
            self._ensure(at)
            post = self._posts.get(post_id)
        return post if post is not None and post.exists_at(at) else None

    def get_many(self, post_ids: Iterable[str], at: datetime) -> list[Post | None]:
        """``get`` of each ID as of ``at``, in order, under one lock."""
        with self._lock:
            self._ensure(at)
            found = [self._posts.get(pid) for pid in post_ids]
        return [p if p is not None and p.exists_at(at) else None for p in found]

    def find(self, post_id: str) -> Post | None:
        """The post whatever its state (deleted, not yet created)."""
        with self._lock:
            return self._posts.get(post_id)

    def timeline(
        self,
        user_id: str,
        at: datetime | None = None,
        *,
        limit: int | None = None,
        after: int | None = None,
    ) -> list[Post]:
        """The author's existing posts at ``at``, newest first; the newest ``limit`` only
        when given (an X timeline reaches 3,200 back, so the rest need not be looked at),
        and only those with an ID above ``after`` when given (a ``since_id``)."""
        at = at or self.now()
        out: list[Post] = []
        with self._lock:
            self._ensure(at)
            ids = self._by_author.get(user_id, array("q"))
            end = bisect.bisect_right(ids, snowflake(at, 0x3FFFFF))
            first = 0 if after is None else bisect.bisect_right(ids, after)
            for i in range(end - 1, first - 1, -1):
                post = self._posts[str(ids[i])]
                if post.exists_at(at):
                    out.append(post)
                    if len(out) == limit:
                        break
        return out

    def add_post(
        self,
        author_id: str,
        *,
        text: str | None = None,
        created_at: datetime | None = None,
        kind: str = "post",
        referenced_id: str | None = None,
        has_video: bool = False,
        finals: Mapping[str, int] | None = None,
        tau_hours: float = 6.0,
        profile: Profile | None = None,
    ) -> Post:
        """Add a post (tests, benchmarks, and posts created through the v2 API). ``finals``
        fixes the eventual totals, ``profile`` the whole curve; without either they are
        drawn like a generated post's, without late take-offs."""
        user = self._users[author_id]
        with self._lock:
            at = created_at or self.now()
            if profile is None and finals is None:
                rng = random.Random(f"{self.seed}/added/{len(self._posts)}")
                profile = draw_profile(
                    rng,
                    audience=user.audience * 0.3,
                    has_video=has_video,
                    has_media=has_video,
                    viral_chance=0.0,
                )
            elif profile is None:
                full = {m: int((finals or {}).get(m, 0)) for m in API_METRICS}
                profile = Profile(full, tau_hours=tau_hours)
            return self._insert(
                user,
                at,
                text or f"Post {len(self._posts) + 1}",
                profile,
                kind,
                referenced_id,
                has_video,
            )

    def delete_post(self, post_id: str) -> None:
        with self._lock:
            self._posts[post_id].deleted_at = self.now()

    # ----- metrics -------------------------------------------------------------------
    def values(self, post: Post, metrics: Iterable[str], at: datetime) -> dict[str, int]:
        """Totals of ``metrics`` for ``post`` as of ``at``."""
        out = post.profile.totals(metrics, self.age_hours(post, at))
        if post.adjustments:
            for when, metric, delta in post.adjustments:
                if metric in out and when <= at:
                    out[metric] = max(out[metric] + delta, 0)
        return out

    def age_hours(self, post: Post, at: datetime) -> float:
        """How old ``post`` is at ``at`` for its metrics."""
        if self.growth is None:
            return post.age_hours(at)
        return self.growth.age_hours(post.created_at, at)

    def value(self, post: Post, metric: str, at: datetime) -> int:
        return self.values(post, (metric,), at)[metric]

    def hourly(self, post: Post, metric: str, start: datetime, hours: int) -> list[int]:
        """Per-hour increments of ``metric`` over ``hours`` hours from ``start``."""
        totals = [self.value(post, metric, start + timedelta(hours=h)) for h in range(hours + 1)]
        return [max(b - a, 0) for a, b in itertools.pairwise(totals)]

    def series(
        self, post: Post, metrics: Iterable[str], start: datetime, hours: int
    ) -> dict[str, list[int]]:
        """Per-hour increments of several metrics at once: the curve is evaluated once per
        hour boundary, not once per metric."""
        metrics = tuple(metrics)
        if post.adjustments:
            return {m: self.hourly(post, m, start, hours) for m in metrics}
        if self.growth is None:
            age0 = post.age_hours(start)
            fracs = [post.profile.fraction(age0 + h) for h in range(hours + 1)]
        else:
            ages = (self.age_hours(post, start + timedelta(hours=h)) for h in range(hours + 1))
            fracs = [post.profile.fraction(age) for age in ages]
        out: dict[str, list[int]] = {}
        for m in metrics:
            final = post.profile.finals[m]
            totals = [int(final * f) for f in fracs]
            out[m] = [b - a for a, b in itertools.pairwise(totals)]
        return out

    def set_metric(self, post_id: str, metric: str, value: int) -> None:
        """Make ``metric`` read ``value`` from now on (it keeps growing with the curve)."""
        if metric not in API_METRICS:
            raise ValueError(f"unknown metric {metric!r}")
        with self._lock:
            post = self._posts[post_id]
            now = self.now()
            current = self.value(post, metric, now)
            post.adjustments += ((now, metric, int(value) - current),)

    def set_metrics(self, post_id: str, values: Mapping[str, int]) -> None:
        for metric, value in values.items():
            self.set_metric(post_id, metric, value)

    # ----- what owned accounts do ----------------------------------------------------
    def repost(self, user_id: str, post_id: str) -> bool:
        """Record a repost (it shows in the user's timeline); False when already reposted."""
        with self._lock:
            if not self._toggle(self._reposts, "repost", "retweets", user_id, post_id, on=True):
                return False
            target = self._posts[post_id]
            author = self._users[target.author_id].username
            rt = self.add_post(
                user_id,
                text=f"RT @{author}: {target.text}"[:280],
                kind="repost",
                referenced_id=post_id,
                finals={},
            )
            self._repost_posts[(user_id, post_id)] = rt.id
            return True

    def unrepost(self, user_id: str, post_id: str) -> bool:
        with self._lock:
            if not self._toggle(self._reposts, "unrepost", "retweets", user_id, post_id, on=False):
                return False
            rt = self._repost_posts.pop((user_id, post_id), None)
            if rt:
                self.delete_post(rt)
            return True

    def like(self, user_id: str, post_id: str) -> bool:
        return self._toggle(self._likes, "like", "favorites", user_id, post_id, on=True)

    def unlike(self, user_id: str, post_id: str) -> bool:
        return self._toggle(self._likes, "unlike", "favorites", user_id, post_id, on=False)

    def has_reposted(self, user_id: str, post_id: str) -> bool:
        return (user_id, post_id) in self._reposts

    def has_liked(self, user_id: str, post_id: str) -> bool:
        return (user_id, post_id) in self._likes

    def create_post(
        self, user_id: str, text: str, *, reply_to: str | None = None, quote_of: str | None = None
    ) -> Post:
        """A post written through POST /2/tweets; replies and quotes count on the target."""
        kind = "reply" if reply_to else "quote" if quote_of else "post"
        target = reply_to or quote_of
        with self._lock:
            post = self.add_post(user_id, text=text, kind=kind, referenced_id=target)
            if target:
                metric = "replies" if reply_to else "quote_tweets"
                self._posts[target].adjustments += ((post.created_at, metric, 1),)
            self.actions.append(Action(kind, user_id, post.id, post.created_at, text))
        return post

    def recent_text(self, user_id: str, text: str) -> bool:
        """Whether the user already posted this exact text within a day (duplicate content)."""
        now = self.now()
        for post in self.timeline(user_id, now):
            if now - post.created_at > _DUPLICATE_WITHIN:
                return False
            if post.text == text:
                return True
        return False

    def actions_by(self, user_id: str, kind: str | None = None) -> list[Action]:
        with self._lock:
            return [a for a in self.actions if a.user_id == user_id and kind in (None, a.kind)]

    def _toggle(
        self,
        store: set[tuple[str, str]],
        kind: str,
        metric: str,
        user_id: str,
        post_id: str,
        *,
        on: bool,
    ) -> bool:
        with self._lock:
            key = (user_id, post_id)
            if (key in store) == on:
                return False
            now = self.now()
            (store.add if on else store.discard)(key)
            self._posts[post_id].adjustments += ((now, metric, 1 if on else -1),)
            self.actions.append(Action(kind, user_id, post_id, now))
            return True

    # ----- generation ----------------------------------------------------------------
    def _ensure(self, at: datetime) -> None:
        """Generate every day up to ``at``'s day (posts later that day appear on time);
        with ``growth``, the days of the world's time at ``at``."""
        target = (at if self.growth is None else self.growth.grown(at)).date()
        while self._generated_through < target:
            day = self._generated_through + timedelta(days=1)
            for user in self._users.values():  # public accounts first: owned ones reply
                if user.posts_per_day > 0:
                    self._generate_day(user, day)
            self._generated_through = day

    def _generate_day(self, user: User, day: date) -> None:
        rng = random.Random(f"{self.seed}/{user.user_id}/{day.toordinal()}")
        count = int(user.posts_per_day * rng.uniform(0.4, 1.6) + rng.random())
        midnight = datetime(day.year, day.month, day.day, tzinfo=UTC)
        times = sorted(midnight + timedelta(seconds=rng.randrange(86_400)) for _ in range(count))
        for at in times:
            self._generate_post(user, at, rng)

    def _dated(self, grown: datetime) -> datetime:
        """The clock's time of a moment of the world's time (``growth``)."""
        return grown if self.growth is None else self.growth.clock_time(grown)

    def _generate_post(self, user: User, at: datetime, rng: random.Random) -> None:
        roll, kind, ref = rng.random(), "post", None
        targets = self._public_targets(self._dated(at)) if user.owned else []
        if targets and roll < user.reply_share:
            kind, ref = "reply", rng.choice(targets)
        elif targets and roll < user.reply_share + user.repost_share:
            kind, ref = "repost", rng.choice(targets)
        has_video = rng.random() < 0.15
        audience = user.audience * (0.02 if kind == "repost" else 0.2 if kind == "reply" else 1.0)
        profile = draw_profile(
            rng, audience=audience, has_video=has_video, has_media=rng.random() < 0.3
        )
        text = self._text(rng, kind, ref)
        post = self._insert(user, self._dated(at), text, profile, kind, ref, has_video)
        if rng.random() < 0.01:
            post.deleted_at = self._dated(at + timedelta(hours=rng.uniform(1, 48)))

    def _public_targets(self, at: datetime) -> list[str]:
        out: list[str] = []
        for user in _PUBLIC:
            if user.protected:
                continue
            ids = self._by_author[user.user_id]
            end = bisect.bisect_right(ids, snowflake(at))
            out.extend(str(i) for i in ids[max(0, end - 3) : end])
        return out

    def _text(self, rng: random.Random, kind: str, ref: str | None) -> str:
        topic, tag = rng.choice(TOPICS), rng.choice(TAGS)
        if kind == "repost" and ref:
            author = self._users[self._posts[ref].author_id].username
            return f"RT @{author}: {self._posts[ref].text}"[:280]
        if kind == "reply" and ref:
            author = self._users[self._posts[ref].author_id].username
            return f"@{author} Thanks for sharing! We love {topic}."
        return f"{rng.choice(('New:', 'Did you know?', 'Today:', 'Update:'))} {topic} #{tag}"

    def _add_archive(self, start: datetime) -> None:
        rng = random.Random(f"{self.seed}/archive")
        brand = self._users[ACCOUNTS[0].user_id]
        for days, video in _ARCHIVE_AGES:
            at = (start - timedelta(days=days, seconds=rng.randrange(86_400))).replace(
                microsecond=0
            )
            profile = draw_profile(rng, audience=brand.audience, has_video=video, has_media=video)
            self._insert(
                brand,
                at,
                f"From the archive ({days} days): {rng.choice(TOPICS)}",
                profile,
                "post",
                None,
                video,
            )

    def _insert(
        self,
        user: User,
        at: datetime,
        text: str,
        profile: Profile,
        kind: str,
        ref: str | None,
        has_video: bool,
    ) -> Post:
        seq = 0
        while str(snowflake(at, seq)) in self._posts:
            seq += 1
        pid = snowflake(at, seq)
        post = Post(str(pid), user.user_id, at, text, profile, kind, ref, has_video, user.protected)
        self._posts[post.id] = post
        bisect.insort(self._by_author[user.user_id], pid)
        return post

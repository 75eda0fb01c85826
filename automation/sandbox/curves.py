"""How a simulated post's metrics grow: eventual totals and a growth curve over its age.

Every metric of a post follows the same curve scaled by its own eventual total, and each
value is ``floor(total × fraction(age))``. Because the curve never decreases, totals never
shrink and every hourly increment is a non-negative difference of two totals; because the
ratios are fixed, impressions ≥ engagements ≥ favorites ≥ ... hold at every moment.
"""

from __future__ import annotations

import math
import random
from array import array
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass

from automation.core.metric_names import API_METRICS

__all__ = ["Finals", "Profile", "draw_profile", "metric_indices"]

_INDEX = {m: i for i, m in enumerate(API_METRICS)}
_INT32 = 2**31


class Finals(Mapping[str, int]):
    """A post's eventual total of every API metric (absent ones are 0), held in one array:
    a world of 100,000 posts keeps 100,000 of these, a quarter the size of a dict each."""

    __slots__ = ("_values",)

    def __init__(self, values: Mapping[str, float]) -> None:
        totals = [int(values.get(m, 0)) for m in API_METRICS]  # floats are floored
        small = all(-_INT32 <= v < _INT32 for v in totals)
        self._values = array("i" if small else "q", totals)

    def __getitem__(self, metric: str) -> int:
        return self._values[_INDEX[metric]]

    def __iter__(self) -> Iterator[str]:
        return iter(API_METRICS)

    def __len__(self) -> int:
        return len(API_METRICS)

    def __repr__(self) -> str:
        return f"Finals({dict(self)!r})"

    def scaled(self, metrics: Iterable[str], fraction: float) -> dict[str, int]:
        """``floor(total × fraction)`` of each metric: its value at that point of the curve."""
        values = self._values
        return {m: int(values[_INDEX[m]] * fraction) for m in metrics}

    def scaled_at(self, indices: Sequence[int], fraction: float) -> tuple[int, ...]:
        """``scaled`` of the metrics at ``indices`` (``metric_indices``), in that order."""
        values = self._values
        return tuple([int(values[i] * fraction) for i in indices])


def metric_indices(metrics: Iterable[str]) -> tuple[int, ...]:
    """Where each of ``metrics`` sits in a post's ``Finals`` (for ``Profile.counts``)."""
    return tuple(_INDEX[m] for m in metrics)


@dataclass(frozen=True, slots=True)
class Profile:
    """``finals``: totals approached as the post ages (kept as ``Finals``); ``tau_hours``:
    how fast a normal post saturates; viral posts follow a logistic that takes off at
    ``midpoint_hours``."""

    finals: Mapping[str, int]
    tau_hours: float
    viral: bool = False
    midpoint_hours: float = 0.0
    width_hours: float = 1.0

    def __post_init__(self) -> None:
        if not isinstance(self.finals, Finals):
            object.__setattr__(self, "finals", Finals(self.finals))

    def totals(self, metrics: Iterable[str], age_hours: float) -> dict[str, int]:
        """Each metric's value at ``age_hours``: ``floor(total × fraction(age))``."""
        finals = self.finals
        assert isinstance(finals, Finals)  # __post_init__ made it one
        return finals.scaled(metrics, self.fraction(age_hours))

    def counts(self, indices: Sequence[int], age_hours: float) -> tuple[int, ...]:
        """``totals`` of the metrics at ``indices`` (``metric_indices``), in that order."""
        finals = self.finals
        assert isinstance(finals, Finals)
        return finals.scaled_at(indices, self.fraction(age_hours))

    def fraction(self, age_hours: float) -> float:
        """Share of the eventual totals reached at ``age_hours`` (0 before creation)."""
        if age_hours <= 0:
            return 0.0
        fast = 1.0 - math.exp(-age_hours / self.tau_hours)
        slow = 1.0 - math.exp(-age_hours / (self.tau_hours * 25.0))
        if not self.viral:
            return 0.85 * fast + 0.15 * slow
        z0 = 1.0 / (1.0 + math.exp(self.midpoint_hours / self.width_hours))
        z = 1.0 / (1.0 + math.exp(-(age_hours - self.midpoint_hours) / self.width_hours))
        boom = (z - z0) / (1.0 - z0)
        return 0.03 * fast + 0.92 * boom + 0.05 * slow


def _u(rng: random.Random, lo: float, hi: float) -> float:
    return rng.uniform(lo, hi)


def draw_profile(
    rng: random.Random,
    *,
    audience: float,
    has_video: bool,
    has_media: bool,
    viral_chance: float = 0.05,
) -> Profile:
    """A plausible profile for one post; ``audience`` scales impressions."""
    viral = rng.random() < viral_chance
    impressions = audience * rng.lognormvariate(0.0, 0.7) * (rng.uniform(15, 60) if viral else 1)
    engagements = impressions * (_u(rng, 0.04, 0.09) if viral else _u(rng, 0.01, 0.05))
    favorites = engagements * _u(rng, 0.3, 0.5)
    retweets = favorites * _u(rng, 0.08, 0.25)
    profile_clicks = engagements * _u(rng, 0.02, 0.08)
    media_views = impressions * _u(rng, 0.1, 0.35) if (has_media or has_video) else 0.0
    app_card = rng.random() < 0.1
    values = {
        "impressions": impressions,
        "engagements": engagements,
        "favorites": favorites,
        "retweets": retweets,
        "quote_tweets": retweets * _u(rng, 0.05, 0.2),
        "replies": favorites * _u(rng, 0.03, 0.12),
        "video_views": impressions * _u(rng, 0.2, 0.5) if has_video else 0.0,
        "media_views": media_views,
        "media_engagements": media_views * _u(rng, 0.02, 0.08),
        "url_clicks": engagements * _u(rng, 0.02, 0.1),
        "hashtag_clicks": engagements * _u(rng, 0.0, 0.04),
        "detail_expands": engagements * _u(rng, 0.1, 0.25),
        "permalink_clicks": engagements * _u(rng, 0.005, 0.02),
        "app_install_attempts": engagements * _u(rng, 0.001, 0.01) if app_card else 0.0,
        "app_opens": engagements * _u(rng, 0.005, 0.02) if app_card else 0.0,
        "email_tweet": engagements * _u(rng, 0.0, 0.003),
        "user_follows": profile_clicks * _u(rng, 0.02, 0.1),
        "user_profile_clicks": profile_clicks,
    }
    finals = Finals(values)
    if viral:
        return Profile(
            finals,
            tau_hours=_u(rng, 2, 8),
            viral=True,
            midpoint_hours=_u(rng, 4, 30),
            width_hours=_u(rng, 1.5, 5),
        )
    return Profile(finals, tau_hours=_u(rng, 1.5, 12))

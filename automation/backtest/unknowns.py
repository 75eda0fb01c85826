"""What a backtest cannot know, per rule, in words: metrics public posts do not have, and
the hours of the period for which a watched post has no history (nobody polled a public
post then, or the API gave nothing for an owned one)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from automation.backtest.posts import watched_until
from automation.backtest.readings import PostReadings
from automation.core.evaluate import CompiledRule
from automation.core.hours import hour_index, reading_hour
from automation.core.metric_names import USER_CONTEXT_METRICS
from automation.core.periods import Period
from automation.core.records import WatchedPostRecord
from automation.core.rules import Watch
from automation.core.wording import counted

__all__ = ["unknowns"]

_GAPS = (
    (False, "public posts nobody polled"),
    (True, "owned posts the API gave no history for"),
)


def unknowns(
    rules: Sequence[CompiledRule],
    readings: Mapping[str, PostReadings],
    watched: Mapping[str, Sequence[WatchedPostRecord]],
    period: Period,
) -> dict[str, list[str]]:
    """Per rule (by id), a sentence for each kind of thing it could not know."""
    out: dict[str, list[str]] = {}
    for compiled in rules:
        watch = compiled.rule.watch
        posts = watched.get(compiled.rule.id, ())
        notes: list[str] = []
        public = [p for p in posts if p.account is None]
        private = sorted((compiled.totals_metrics | compiled.window_metrics) & USER_CONTEXT_METRICS)
        if public and private:
            notes.append(
                f"{counted(len(public), 'public post')}: {', '.join(private)} known only for"
                " owned posts"
            )
        for owned, words in _GAPS:
            missing = sum(
                _hours_unknown(readings[p.post_id], p, watch, period)
                for p in posts
                if (p.account is not None) is owned and p.post_id in readings
            )
            if missing:
                notes.append(f"{counted(missing, 'post-hour')} of {words}")
        if notes:
            out[compiled.rule.id] = notes
    return out


def _hours_unknown(
    readings: PostReadings, post: WatchedPostRecord, watch: Watch, period: Period
) -> int:
    lo = max(hour_index(post.created_at), hour_index(period.start))
    last = reading_hour(period.end)  # the polls of the period see the hours before it
    hi = watched_until(watch, post, last)
    return sum(1 for h in range(lo, hi) if readings.totals_at(h) is None)

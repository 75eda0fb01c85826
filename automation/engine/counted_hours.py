"""The hour up to which each post's ``/28hr`` counts of a metric are stored, as the
recorder remembers it between cycles.

Keyed by (post, metric) as ``whole_hours`` reads it, but held as one map of posts per
metric: a metric is one of a few names, so a (post, metric) tuple per entry (about 60
bytes, and 66,000 entries in the day benchmark) is not kept, only the post's entry in its
metric's map.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping

__all__ = ["CountedHours"]

Key = tuple[str, str]  # (post, metric)


class CountedHours(Mapping[Key, int]):
    """(post, metric) -> the hour its stored counts reach."""

    __slots__ = ("_by_metric",)

    def __init__(self) -> None:
        self._by_metric: dict[str, dict[str, int]] = {}

    def __getitem__(self, key: Key) -> int:
        post_id, metric = key
        return self._by_metric[metric][post_id]

    def get(self, key: Key, default: int | None = None) -> int | None:  # type: ignore[override]
        posts = self._by_metric.get(key[1])
        return default if posts is None else posts.get(key[0], default)

    def __contains__(self, key: object) -> bool:
        if not isinstance(key, tuple) or len(key) != 2:
            return False
        posts = self._by_metric.get(key[1])
        return posts is not None and key[0] in posts

    def __iter__(self) -> Iterator[Key]:
        for metric, posts in self._by_metric.items():
            for post_id in posts:
                yield post_id, metric

    def __len__(self) -> int:
        return sum(map(len, self._by_metric.values()))

    def update(self, items: Iterable[tuple[Key, int]]) -> None:
        """Set each (post, metric)'s hour."""
        by_metric = self._by_metric
        for (post_id, metric), hour in items:
            posts = by_metric.get(metric)
            if posts is None:
                posts = by_metric[metric] = {}
            posts[post_id] = hour

    def forget_to(self, first: int) -> None:
        """Forget the entries whose hour is ``first`` or earlier; a metric's map is made
        again only when it has any."""
        for metric, posts in list(self._by_metric.items()):
            if any(hour <= first for hour in posts.values()):
                kept = {post_id: hour for post_id, hour in posts.items() if hour > first}
                if kept:
                    self._by_metric[metric] = kept
                else:
                    del self._by_metric[metric]

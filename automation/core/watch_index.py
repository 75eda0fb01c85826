"""Which watched posts each rule covers, indexed once per cycle instead of scanned per rule.

A rule watches the available timeline posts of its accounts plus the posts it names. The
engine asks this for every rule several times a cycle (which posts to poll, which need
/28hr series, which need snapshots, which to evaluate); with 10,000 posts and 20 rules a
scan of every post per question costs more than the evaluation itself. The index groups
the posts by account once and answers each watch from the groups, keeping the order of
the posts it was built from.

A watch that only names posts covers the same posts, in the same order, as long as none of
them was added, changed or went unavailable: ``KeptCovers`` hands such lists from one
cycle's index to the next, with the IDs written since, so that the large named watches are
not looked up and checked for order every cycle.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from automation.core.records import WatchedPostRecord
from automation.core.rules import Watch

__all__ = ["NOTHING_KEPT", "Covers", "KeptCovers", "WatchIndex"]

Covers = Mapping[tuple[str, ...], list[WatchedPostRecord]]  # named posts -> the available ones


@dataclass(frozen=True)
class KeptCovers:
    """What an earlier index's watches naming posts only covered (``covers``, by the
    posts they name), and the IDs of the posts added, changed or gone since (``changed``).
    The index's posts must be the earlier one's in the same order, bar ``changed``."""

    covers: Covers = field(default_factory=dict)
    changed: frozenset[str] = frozenset()


NOTHING_KEPT = KeptCovers()


class WatchIndex:
    """Answers ``covered(watch)`` for one mapping of post id to record (one cycle's posts).

    The lists it returns are shared between rules with the same watch: do not change them.
    """

    def __init__(
        self, posts: Mapping[str, WatchedPostRecord], kept: KeptCovers = NOTHING_KEPT
    ) -> None:
        self.posts = posts
        self._kept = kept
        self._by_account: dict[str | None, list[WatchedPostRecord]] = {}
        for rec in posts.values():
            if rec.source == "timeline" and not rec.unavailable_at:
                self._by_account.setdefault(rec.account, []).append(rec)
        self._position: dict[str, int] | None = None
        self._covered: dict[tuple[tuple[str, ...], tuple[str, ...]], list[WatchedPostRecord]] = {}

    def covered(self, watch: Watch) -> list[WatchedPostRecord]:
        """The available posts ``watch`` covers, in the order of the index's posts."""
        key = (watch.accounts, watch.posts)
        found = self._covered.get(key)
        if found is None:
            found = self._covered[key] = self._still_covered(watch) or self._collect(watch)
        return found

    def named_covers(self) -> Covers:
        """What the watches naming posts only covered, to keep for the next index."""
        return {posts: found for (accounts, posts), found in self._covered.items() if not accounts}

    def _still_covered(self, watch: Watch) -> list[WatchedPostRecord] | None:
        """A named watch's kept posts, when none of the posts it names changed."""
        found = None if watch.accounts else self._kept.covers.get(watch.posts)
        if found is None or not watch.named.isdisjoint(self._kept.changed):
            return None
        return found

    def _collect(self, watch: Watch) -> list[WatchedPostRecord]:
        groups = [self._by_account.get(a, []) for a in dict.fromkeys(watch.accounts)]
        named = [
            rec
            for pid in dict.fromkeys(watch.posts)
            if (rec := self.posts.get(pid)) is not None and not rec.unavailable_at
        ]
        if not named and len(groups) <= 1:
            return list(groups[0]) if groups else []
        chosen = named  # each post once already
        if groups:
            merged = {rec.post_id: rec for group in groups for rec in group}
            merged.update((rec.post_id, rec) for rec in named)
            chosen = list(merged.values())
        if self._position is None:
            self._position = {pid: i for i, pid in enumerate(self.posts)}
        position = self._position
        places = [position[rec.post_id] for rec in chosen]
        if places == sorted(places):  # named in the order they were found, mostly
            return chosen
        return [rec for _, rec in sorted(zip(places, chosen, strict=True))]

"""Which watched posts each rule covers, indexed once per cycle instead of scanned per rule.

A rule watches the available timeline posts of its accounts plus the posts it names. The
engine asks this for every rule several times a cycle (which posts to poll, which need
/28hr series, which need snapshots, which to evaluate); with 10,000 posts and 20 rules a
scan of every post per question costs more than the evaluation itself. The index groups
the posts by account once and answers each watch from the groups, keeping the order of
the posts it was built from.

What a watch covered changes from one cycle to the next only by the posts added, changed or
gone since: ``KeptCovers`` hands every watch's list from one cycle's index to the next,
with the IDs written since, so that the next takes the earlier list less those posts plus
the ones it covers now, instead of looking up and ordering every post of the large watches
again (a watch naming posts none of which changed keeps its list as it is).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from automation.core.post_discovery import insert_posts
from automation.core.records import WatchedPostRecord
from automation.core.rules import Watch

__all__ = ["NOTHING_KEPT", "Covers", "KeptCovers", "WatchIndex"]

# (accounts, named posts) -> the available posts covered, in the index's order
Covers = Mapping[tuple[tuple[str, ...], tuple[str, ...]], tuple[WatchedPostRecord, ...]]


@dataclass(frozen=True)
class KeptCovers:
    """What an earlier index's watches covered (``covers``), and the IDs of the posts
    added, changed or gone since (``changed``). The index's posts must be the earlier
    one's bar ``changed``, in the store's order (``post_order``)."""

    covers: Covers = field(default_factory=dict)
    changed: frozenset[str] = frozenset()


NOTHING_KEPT = KeptCovers()


class WatchIndex:
    """Answers ``covered(watch)`` for one mapping of post id to record (one cycle's posts;
    the unavailable are skipped).

    The tuples it returns are shared between rules with the same watch, and kept for the
    next index: the plan takes a watch's tuple as it is when max_age does not cut it (the
    watches naming posts), no copy of every named post held through the cycle.
    """

    def __init__(
        self, posts: Mapping[str, WatchedPostRecord], kept: KeptCovers = NOTHING_KEPT
    ) -> None:
        self.posts = posts
        self._kept = kept
        self._by_account: dict[str | None, list[WatchedPostRecord]] | None = None
        self._position: dict[str, int] | None = None
        self._covered: dict[
            tuple[tuple[str, ...], tuple[str, ...]], tuple[WatchedPostRecord, ...]
        ] = {}

    def covered(self, watch: Watch) -> tuple[WatchedPostRecord, ...]:
        """The available posts ``watch`` covers, in the order of the index's posts."""
        key = (watch.accounts, watch.posts)
        found = self._covered.get(key)
        if found is None:
            found = self._covered[key] = self._still_covered(watch) or self._collect(watch)
        return found

    def covers(self) -> Covers:
        """What the watches covered, to keep for the next index."""
        return dict(self._covered)

    def _grouped(self) -> dict[str | None, list[WatchedPostRecord]]:
        """The available timeline posts by account, grouped the first time a watch has
        no kept list to start from."""
        if self._by_account is None:
            self._by_account = {}
            for post in self.posts.values():
                if post.source == "timeline" and not post.unavailable_at:
                    self._by_account.setdefault(post.account, []).append(post)
        return self._by_account

    def _still_covered(self, watch: Watch) -> tuple[WatchedPostRecord, ...] | None:
        """A watch's kept posts less those changed since, plus those it covers of them."""
        found = self._kept.covers.get((watch.accounts, watch.posts))
        changed = self._kept.changed
        if found is None or len(changed) * 2 > len(self.posts):  # most changed: look up afresh
            return None
        if not changed or (not watch.accounts and watch.named.isdisjoint(changed)):
            return found
        kept = [rec for rec in found if rec.post_id not in changed]
        accounts = watch.accounts
        insert_posts(
            kept,
            [
                rec
                for pid in changed
                if (rec := self.posts.get(pid)) is not None
                and not rec.unavailable_at
                and ((rec.source == "timeline" and rec.account in accounts) or pid in watch.named)
            ],
        )
        return tuple(kept)

    def _collect(self, watch: Watch) -> tuple[WatchedPostRecord, ...]:
        by_account = self._grouped()
        groups = [by_account.get(a, []) for a in dict.fromkeys(watch.accounts)]
        named = [
            rec
            for pid in dict.fromkeys(watch.posts)
            if (rec := self.posts.get(pid)) is not None and not rec.unavailable_at
        ]
        if not named and len(groups) <= 1:
            return tuple(groups[0]) if groups else ()
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
            return tuple(chosen)
        return tuple(rec for _, rec in sorted(zip(places, chosen, strict=True)))

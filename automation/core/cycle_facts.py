"""The facts the evaluator sees for each polled post, assembled from one cycle's readings.

Pure: the engine passes what the API answered (totals, /28hr series, the posts it refused
as owned) and the snapshots the store holds. ``CycleFacts`` maps each post read to its
``PostFacts``, built the first time a rule asks for them: a cycle that evaluates only the
pairs whose inputs changed builds only their posts' facts. ``totals`` holds every read
post's totals as the evaluator sees them, at once.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping
from datetime import datetime
from types import MappingProxyType

from automation.core.facts import HourlySeries, PostFacts, Snapshot
from automation.core.records import WatchedPostRecord
from automation.core.windows import young_post_totals

__all__ = ["CycleFacts", "Totals", "assemble_facts", "read_totals"]

Totals = Mapping[str, float]
_NO_SERIES: Mapping[str, HourlySeries] = MappingProxyType({})


class CycleFacts(Mapping[str, PostFacts]):
    """Facts for every post of ``posts`` the API reported totals for, in the order of
    ``totals``. A post listed in ``forbidden`` was fetched as public after all (its owner
    turned out not to be ours), so it is judged as public."""

    def __init__(
        self,
        posts: Mapping[str, WatchedPostRecord],
        totals: Mapping[str, Totals],
        hourly: Mapping[str, Mapping[str, HourlySeries]],
        forbidden: Collection[str],
        snapshots: Mapping[str, tuple[Snapshot, ...]],
        now: datetime,
    ) -> None:
        self._posts, self._hourly, self._forbidden = posts, hourly, forbidden
        self._snapshots, self._now = snapshots, now
        self._built: dict[str, PostFacts] = {}
        self.totals: dict[str, Totals] = {
            pid: values for pid, values in totals.items() if pid in posts
        }
        for pid, series in hourly.items():
            values = self.totals.get(pid)
            if values is not None and series:
                self.totals[pid] = young_post_totals(values, series, posts[pid].created_at, now)

    def __getitem__(self, pid: str) -> PostFacts:
        found = self._built.get(pid)
        if found is None:
            found = self._built[pid] = self._build(pid, self.totals[pid])
        return found

    def __iter__(self) -> Iterator[str]:
        return iter(self.totals)

    def __len__(self) -> int:
        return len(self.totals)

    def __contains__(self, pid: object) -> bool:
        return pid in self.totals

    def _build(self, pid: str, totals: Totals) -> PostFacts:
        rec = self._posts[pid]
        return PostFacts(
            post_id=pid,
            account=None if pid in self._forbidden else rec.account,
            created_at=rec.created_at,
            totals=totals,
            hourly=self._hourly.get(pid, _NO_SERIES),
            snapshots=tuple(self._snapshots.get(pid, ())),
        )


def assemble_facts(
    posts: Mapping[str, WatchedPostRecord],
    totals: Mapping[str, Totals],
    hourly: Mapping[str, Mapping[str, HourlySeries]],
    forbidden: Collection[str],
    snapshots: Mapping[str, tuple[Snapshot, ...]],
    now: datetime,
) -> dict[str, PostFacts]:
    """Every post's facts at once (see ``CycleFacts``)."""
    return dict(CycleFacts(posts, totals, hourly, forbidden, snapshots, now))


def read_totals(facts: Mapping[str, PostFacts]) -> Mapping[str, Totals]:
    """The totals of every post of ``facts``, without building any facts not built yet."""
    if isinstance(facts, CycleFacts):
        return facts.totals
    return {pid: found.totals for pid, found in facts.items()}

"""``top`` over stored metrics, and over engagement_rate, which is computed, not stored."""

from __future__ import annotations

from datetime import UTC, datetime

from automation.cli.top import top_values
from automation.core.records import WatchedPostRecord
from automation.store.memory import MemoryStore

T0 = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def store_with(totals: dict[str, dict[str, float]]) -> MemoryStore:
    store = MemoryStore()
    store.upsert_posts(WatchedPostRecord(pid, "brand", T0, "timeline", T0) for pid in totals)
    store.record_totals(T0, totals)
    return store


def test_engagement_rate_is_ranked_from_its_parts() -> None:
    store = store_with(
        {
            "1": {"engagements": 50, "impressions": 1000, "favorites": 9},
            "2": {"engagements": 30, "impressions": 100, "favorites": 3},
            "3": {"engagements": 5, "impressions": 0},  # no rate without impressions
            "4": {"favorites": 7},  # not owned: no engagements known
        }
    )
    assert top_values(store, "engagement_rate", 5) == [("2", 0.3), ("1", 0.05)]
    assert top_values(store, "engagement_rate", 1) == [("2", 0.3)]


def test_stored_metrics_come_from_the_store() -> None:
    store = store_with({"1": {"favorites": 9}, "2": {"favorites": 30}})
    assert top_values(store, "favorites", 2) == [("2", 30), ("1", 9)]

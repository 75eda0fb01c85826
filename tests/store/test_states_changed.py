"""The store's count of rule-state changes made outside a cycle's commit (a rearm): an
engine keeps the states it committed only while this count stays."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from automation.core.facts import RuleState
from automation.core.records import FiringRecord
from automation.store import CycleWrite, Store
from automation.store.base import STATES_CHANGED

T0 = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
DONE = RuleState(fingerprint="f", done=True, fires=1)


def _fired(fid: str, post_id: str) -> FiringRecord:
    return FiringRecord(
        id=fid, rule_id="r1", post_id=post_id, key="once", kind="fired", at=T0, metrics={}
    )


def test_a_rearm_moves_the_count_and_a_commit_or_a_dry_run_does_not(store: Store) -> None:
    store.commit_cycle(
        CycleWrite(
            at=T0,
            states=(("r1", "p1", DONE), ("r1", "p2", DONE)),
            firings=(_fired("a", "p1"), _fired("b", "p2")),
        )
    )
    counts = [store.meta(STATES_CHANGED)]
    store.rearm("r1", "p1", T0 + timedelta(minutes=1), dry_run=True)
    counts.append(store.meta(STATES_CHANGED))
    store.rearm("r1", "p1", T0 + timedelta(minutes=2))
    counts.append(store.meta(STATES_CHANGED))
    store.commit_cycle(CycleWrite(at=T0 + timedelta(minutes=3), states=(("r1", "p1", DONE),)))
    counts.append(store.meta(STATES_CHANGED))
    store.rearm("r1", None, T0 + timedelta(minutes=4))
    counts.append(store.meta(STATES_CHANGED))
    assert counts[0] == counts[1] != counts[2] == counts[3] != counts[4]
    assert len(set(counts)) == 3

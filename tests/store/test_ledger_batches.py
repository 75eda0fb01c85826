"""A cycle's many firings are written as one batch: every store records exactly the firings
a one-by-one ledger would, in order, each live (rule, post, key) once, never twice."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from automation.core.errors import StoreError
from automation.core.records import ActionRecord, CycleWrite, FiringRecord
from automation.store import Store
from automation.store.rows import firing_rows

T0 = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def _firing(n: int, rule: str, post: str, key: str, kind: str) -> FiringRecord:
    actions = (ActionRecord(0, "log", "{}"),) if kind == "fired" else ()
    return FiringRecord(
        id=f"f{n}",
        rule_id=rule,
        post_id=post,
        key=key,
        kind=kind,  # type: ignore[arg-type]
        at=T0 + timedelta(seconds=n),
        milestone=n % 3 or None,
        metrics={"likes": float(n)},
        actions=actions,
    )


def _batch(rng: random.Random, start: int, size: int) -> list[FiringRecord]:
    """Firings over few rules, posts and keys, so that keys repeat within the batch and
    against earlier ones."""
    return [
        _firing(
            start + i,
            rng.choice(("r1", "r2", "r3")),
            f"p{rng.randrange(40)}",
            rng.choice(("once", "m1", "m2")),
            rng.choice(("fired", "seeded", "seeded")),
        )
        for i in range(size)
    ]


def _one_by_one(live: set[tuple[str, str, str]], firings: list[FiringRecord]) -> list[str]:
    """The ids a ledger checking each firing before inserting it would record."""
    new = []
    for f in firings:
        if (key := (f.rule_id, f.post_id, f.key)) not in live:
            live.add(key)
            new.append(f.id)
    return new


def test_batched_firings_are_recorded_as_one_by_one_would(store: Store) -> None:
    rng = random.Random(12)
    live: set[tuple[str, str, str]] = set()
    recorded: list[str] = []
    given: dict[str, FiringRecord] = {}
    for cycle in range(4):
        firings = _batch(rng, cycle * 200, 200)
        expected = _one_by_one(live, firings)
        result = store.commit_cycle(CycleWrite(at=T0 + timedelta(minutes=cycle), firings=firings))
        assert list(result.new) == expected
        assert set(result.duplicate) == {f.id for f in firings} - set(expected)
        fired = [f for f in firings if f.id in set(expected) and f.kind == "fired"]
        assert list(result.queued) == [f"{f.id}.0" for f in fired]
        recorded += expected
        if cycle == 1:  # rearmed keys are free again; the rest still block
            rearmed = store.rearm("r1", None, T0 + timedelta(minutes=1), include_seeded=True)
            live -= {(f.rule_id, f.post_id, f.key) for f in rearmed}
        given.update((f.id, f) for f in firings)
    history = store.history(limit=len(recorded) + 1)
    assert [e.firing.id for e in reversed(history)] == recorded
    for entry in history:
        assert _fields(entry.firing) == _fields(given[entry.firing.id])


def _fields(f: FiringRecord) -> tuple[object, ...]:
    return (f.rule_id, f.post_id, f.key, f.kind, f.at, f.milestone, dict(f.metrics))


def test_a_batch_reusing_an_id_records_nothing(store: Store) -> None:
    firings = [_firing(i, "r1", f"p{i}", "once", "seeded") for i in range(50)]
    store.commit_cycle(CycleWrite(at=T0, firings=firings[:10]))
    clash = [*firings[10:], _firing(3, "r2", "p3", "once", "seeded")]
    with pytest.raises(StoreError):
        store.commit_cycle(CycleWrite(at=T0 + timedelta(minutes=5), firings=clash))
    assert len(store.history(limit=100)) == 10


def test_firing_rows_are_made_one_by_one_as_they_are_written() -> None:
    """A first cycle's 31,765 seeds were 8 MB of rows held at once at its peak: each row
    is made as the database takes it, the firings after it not read yet."""
    firings = iter(
        [_firing(1, "r1", "p1", "once", "seeded"), _firing(2, "r1", "p2", "m1", "fired")]
    )
    rows = firing_rows(firings)
    assert next(rows)[:5] == ("f1", "r1", "p1", "once", "seeded")
    assert [f.id for f in firings] == ["f2"]  # the second firing is still to be read

"""The engine records a long rate-limit wait as it begins (``status`` then says the engine
waits instead of asking whether it runs); a store that cannot take it does not stop it."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from automation.core.errors import StoreError
from automation.core.recording import WAITING_KEY, Waiting
from automation.service import runtime
from automation.store.memory import MemoryStore

NOW = datetime(2026, 11, 20, 14, 4, 2, tzinfo=UTC)


def wiring(store: object) -> runtime.Wiring:
    return runtime.Wiring(
        store=store,
        http=None,  # type: ignore[arg-type]
        emit=lambda event: None,
        clock=lambda: NOW,
        sleep=lambda seconds: None,
        should_stop=lambda: False,
        chance=runtime.Chance(),
        outbox=None,
    )


def test_a_wait_is_recorded_with_its_end_and_its_cause() -> None:
    store = MemoryStore()
    runtime._recording_waits(wiring(store))(70.0, "429")
    until = datetime(2026, 11, 20, 14, 5, 12, tzinfo=UTC)
    assert store.meta(WAITING_KEY) == Waiting(NOW, until, "429").to_json()


class FullStore(MemoryStore):
    def set_meta(self, key: str, value: str) -> None:
        raise StoreError("state database x: database or disk is full")


def test_a_store_that_refuses_the_record_does_not_stop_the_wait(
    caplog: pytest.LogCaptureFixture,
) -> None:
    runtime._recording_waits(wiring(FullStore()))(70.0, "budget")
    assert "could not record the wait for the API: state database x" in caplog.text


def test_a_wait_is_told_to_health_and_metrics_even_when_the_store_refuses_it() -> None:
    heard: list[Waiting] = []
    wired = replace(wiring(FullStore()), on_wait=heard.append)
    runtime._recording_waits(wired)(70.0, "429")
    assert heard == [Waiting(NOW, datetime(2026, 11, 20, 14, 5, 12, tzinfo=UTC), "429")]

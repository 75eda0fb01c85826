"""Spec section 13: an engine that loses its database connection logs one line for it.
That line is the election's ("lost the lead on ..."): the dispatcher, which asks the
outbox about once a second between cycles, says nothing while the server is gone, and
sends what is queued once it is back, nothing lost."""

from __future__ import annotations

import json
import logging
import random
from datetime import UTC, datetime

import psycopg
import pytest
from pg_cluster import Cluster

from automation.config.model import ActionSettings
from automation.core.records import ActionRecord, CycleWrite, FiringRecord
from automation.engine.dispatch import Dispatcher
from automation.engine.performers import Performers
from automation.store import postgres_schema
from automation.store.postgres import PostgresStore

T0 = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def test_the_outbox_out_of_reach_is_left_to_the_election_and_nothing_is_lost(
    postgres_own_server: Cluster, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="automation.actions")
    database = postgres_own_server.create_database("outbox")
    with psycopg.connect(database.url, autocommit=True) as conn:
        postgres_schema.apply(conn)
    store = PostgresStore.open(database)
    delivered: list[str] = []
    dispatcher = Dispatcher(
        store=store,
        performers=Performers(
            x_write=lambda kind, account, post, text: "done",
            webhook=lambda action_id, payload: delivered.append(action_id) or "delivered",
            log_message=lambda message: None,
        ),
        settings=ActionSettings(first_retry=600, max_attempts=5),
        clock=lambda: T0,
        emit=lambda event: None,
        rng=random.Random(1),
    )
    webhook = json.dumps(
        {"kind": "webhook", "url": "https://h.example", "body": "{}", "post_id": "1"}
    )
    firing = FiringRecord(
        id="f1",
        rule_id="r",
        post_id="1",
        key="once",
        kind="fired",
        at=T0,
        actions=(ActionRecord(0, "webhook", webhook),),
    )
    store.commit_cycle(CycleWrite(at=T0, firings=(firing,)))
    postgres_own_server.pause()
    try:
        assert dispatcher.run_due() == 0
        assert dispatcher.run_due() == 0
    finally:
        postgres_own_server.resume()
    said = [(r.levelno, r.getMessage()) for r in caplog.records]
    assert said and all(level == logging.DEBUG for level, _ in said), said
    assert "could not read the outbox: lost the connection to the database" in said[0][1]

    assert dispatcher.run_due() == 1
    assert delivered == ["f1.0"]
    store.close()

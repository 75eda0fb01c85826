"""The crash audit, short: SIGKILL a real engine at one moment of each kind, then check.

``tests/crash_audit.py`` places each kill by counting events, never by sleeping: the
sandbox kills the engine while handling its n-th request of a kind (before doing what
was asked, or after: the repost done, the engine never told), the receiver after taking
a webhook. Between kills one more post crosses every rule's threshold (a repost, a like,
a reply and webhooks; a milestone passed twice; a window; a ``for``). Then the last engine
runs until every firing is recorded and every action sent, and nothing may be missing or
twice: ``benchmarks/crash_audit.py`` runs the long, random version.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import pytest
from crash_audit import Audit, Kill, open_audit, run_audit

KILLS = (
    Kill("metrics", after=False, count=1),
    Kill("repost-like", after=True, count=1),  # reposted; the engine never heard
    Kill("reply", after=True, count=1),
    Kill("webhook", after=True, count=2),  # delivered; the engine never heard
    Kill("repost-like", after=False, count=2),  # the like: the repost done, recorded or not
)


@pytest.fixture
def audit(tmp_path: Path) -> Iterator[Audit]:
    a = open_audit(tmp_path, seed=20)
    try:
        yield a
    finally:
        a.scene.close()


def test_sigkill_at_each_kind_of_moment_loses_nothing_and_does_nothing_twice(
    audit: Audit,
) -> None:
    planned = iter(KILLS)

    problems = run_audit(audit, random.Random(20), len(KILLS), choose=lambda rng: next(planned))

    assert problems == []
    assert audit.kills == list(KILLS)  # each kill came at its event, none at a deadline

"""Pause and resume end to end: the real command line, the engine's cycles against the
sandbox and a signature-checking receiver. A paused rule is evaluated but records and
performs nothing; resuming seeds what crossed meanwhile, or fires it with --catch-up."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest
from cli_helpers import Cli, Project, make_project

from automation.core.records import ActionRecord, CycleWrite, FiringRecord
from automation.sandbox import Sandbox
from automation.sandbox.webhook_receiver import Receiver
from automation.store.sqlite import SqliteStore

RULES = """\
version: 1
rules:
  - id: likes-100
    watch: {{posts: [{ids}], owner: brand}}
    when: likes >= 100
    actions:
      - webhook: {{url: "{url}/likes", secret: team-chat}}
  - id: likes-50
    watch: {{posts: [{ids}], owner: brand}}
    when: likes >= 50
    actions:
      - webhook: {{url: "{url}/fifty", secret: team-chat}}
"""


pytestmark = pytest.mark.usefixtures("process_state")


@pytest.fixture
def project(tmp_path: Path, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> Project:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("AUTOMATION_CONFIG", raising=False)
    monkeypatch.setenv("LOGNAME", "alice")
    return make_project(tmp_path / "project", sandbox)


def cycle(cli: Cli) -> list[dict]:
    result = cli("run", "--once", "--json")
    assert result.code == 0, result.err
    return result.json_lines()


def named(events: list[dict], name: str) -> list[tuple[str, str]]:
    return [(e["rule"], e["post"]) for e in events if e["event"] == name]


def paths(receiver: Receiver) -> list[str]:
    return [d.path for d in receiver.deliveries()]


def start(
    project: Project, cli: Cli, receiver: Receiver, *likes: int
) -> tuple[datetime, list[str]]:
    """New posts with ``likes`` and the rules watching them after their first cycle, and
    the time that cycle began as the engine read it."""
    posts = [project.new_post(favorites=n) for n in likes]
    ids = ", ".join(f'"{p}"' for p in posts)
    project.write_rules(RULES.format(ids=ids, url=receiver.url))
    first = cycle(cli)  # a new rule's first cycle: nothing below the thresholds is seeded
    assert named(first, "seeded") == [] and named(first, "fired") == []
    (began,) = [datetime.fromisoformat(e["at"]) for e in first if e["event"] == "cycle"]
    return began, posts


def test_a_paused_rule_holds_crossings_and_resuming_seeds_them(
    project: Project, cli: Cli, receiver: Receiver
) -> None:
    _, (a, b) = start(project, cli, receiver, 20, 20)
    assert cli("pause", "likes-100", "--reason", "launch freeze").code == 0
    project.set_metric(a, "favorites", 150)
    held = cycle(cli)
    assert named(held, "fired") == [("likes-50", a)]  # the other rule goes on
    paused = [e for e in held if e["event"] == "paused"]
    assert paused == [
        {
            "event": "paused",
            "rule": "likes-100",
            "by": "alice",
            "reason": "launch freeze",
            "at": paused[0]["at"],
        }
    ]
    assert named(held, "held") == [("likes-100", a)]
    with SqliteStore.open(project.database) as store:
        assert [e.firing.rule_id for e in store.history(limit=10)] == ["likes-50"]
        assert store.rule_states("likes-100") == {}  # it records nothing at all
    assert paths(receiver) == ["/fifty"]

    assert cli("resume", "likes-100").code == 0
    project.set_metric(b, "favorites", 120)  # crosses in the cycle that resumes
    resumed = cycle(cli)
    assert sorted(named(resumed, "seeded")) == sorted([("likes-100", a), ("likes-100", b)])
    assert named(resumed, "fired") == [("likes-50", b)]
    [event] = [e for e in resumed if e["event"] == "resumed"]
    assert (event["rule"], event["by"], event["catch_up"]) == ("likes-100", "alice", False)
    with SqliteStore.open(project.database) as store:
        assert store.pauses() == []  # settled
    assert paths(receiver) == ["/fifty", "/fifty"]  # no flood

    project.set_metric(a, "favorites", 151)
    later = cycle(cli)
    assert named(later, "fired") == [] and named(later, "seeded") == []


def test_resuming_with_catch_up_fires_what_crossed_while_paused(
    project: Project, cli: Cli, receiver: Receiver
) -> None:
    _, (a,) = start(project, cli, receiver, 20)
    assert cli("pause", "--all").code == 0
    project.set_metric(a, "favorites", 150)
    held = cycle(cli)
    assert named(held, "fired") == []
    assert sorted(named(held, "held")) == [("likes-100", a), ("likes-50", a)]
    assert [e["rule"] for e in held if e["event"] == "paused"] == ["*"]
    assert receiver.deliveries() == []

    assert cli("resume", "--all", "--catch-up").code == 0
    caught_up = cycle(cli)
    assert sorted(named(caught_up, "fired")) == [("likes-100", a), ("likes-50", a)]
    assert sorted(paths(receiver)) == ["/fifty", "/likes"]
    assert all(d.verified for d in receiver.deliveries())


def test_queued_actions_of_a_paused_rule_wait_until_it_resumes(
    project: Project, cli: Cli, receiver: Receiver
) -> None:
    began, (a,) = start(project, cli, receiver, 20)
    queued = {"kind": "webhook", "post_id": a, "url": f"{receiver.url}/queued", "body": "{}"}
    firing = FiringRecord(
        "0123456789abcdef",
        "likes-100",
        a,
        "once",
        "fired",
        began,  # the engine's own time, so the action is due at its next cycles
        actions=(ActionRecord(0, "webhook", json.dumps(queued)),),
    )
    with SqliteStore.open(project.database) as store:  # recorded before the pause
        store.commit_cycle(CycleWrite(at=firing.at, firings=(firing,)))
    assert cli("pause", "likes-100").code == 0
    cycle(cli)
    with SqliteStore.open(project.database) as store:
        [pending] = store.actions(status="pending")
    assert pending.rule_id == "likes-100"
    assert receiver.deliveries() == []

    assert cli("resume", "likes-100").code == 0
    cycle(cli)
    with SqliteStore.open(project.database) as store:
        assert store.actions(status="pending") == []
    assert paths(receiver) == ["/queued"]

"""``automation actions retry --all [--rule RULE_ID]``: after a receiver's outage every dead
action (or every one of a rule) is re-queued at once, in one transaction, instead of one
``actions retry ID`` at a time (spec §3, §6, §7); ``automation actions --rule RULE_ID``
lists that rule's actions only, before and after."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cli_helpers import Cli, Project, Result, assert_no_traceback, make_project

from automation.cli.pause import operator
from automation.core.pauses import ALL_RULES
from automation.core.records import ActionRecord, CycleWrite, FiringRecord
from automation.sandbox import Sandbox
from automation.store.sqlite import SqliteStore

pytestmark = pytest.mark.usefixtures("process_state")
AT = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
RULES = """
version: 1
rules:
  - id: likes-100
    watch: {posts: ["1000"], owner: brand}
    when: likes >= 100
    actions: [{log: {message: hi}}]
  - id: reposts-10
    watch: {posts: ["1000"], owner: brand}
    when: reposts >= 10
    actions: [{log: {message: hi}}]
"""


@pytest.fixture
def project(tmp_path: Path, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> Project:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("AUTOMATION_CONFIG", raising=False)
    made = make_project(tmp_path / "project", sandbox)
    made.write_rules(RULES)
    return made


def _dead(project: Project, per_rule: dict[str, int]) -> None:
    """Firings of each rule whose one action went dead, and one that was sent."""
    n = 0
    firings = []
    for rule_id, count in per_rule.items():
        for _ in range(count + 1):
            firings.append(
                FiringRecord(
                    id=f"f{n:02d}", rule_id=rule_id, post_id=str(1000 + n), key="once",
                    kind="fired", at=AT + timedelta(minutes=n), metrics={"likes": 120.0},
                    actions=(ActionRecord(0, "log", json.dumps({"kind": "log", "message": "hi"})),),
                )
            )  # fmt: skip
            n += 1
    with SqliteStore.open(project.database) as store:
        store.commit_cycle(CycleWrite(at=AT, firings=tuple(firings)))
        sent = {f.rule_id: f"{f.id}.0" for f in firings}  # the last of each rule
        for item in store.claim_actions(AT + timedelta(hours=1), 100):
            outcome = "sent" if item.id in sent.values() else "dead"
            store.record_attempt(
                item.id,
                at=AT + timedelta(hours=1),
                outcome=outcome,
                error=None if outcome == "sent" else "503 Service Unavailable",
                next_attempt_at=None,
            )


def _counts(project: Project) -> dict[str, int]:
    with SqliteStore.open(project.database) as store:
        return store.action_counts()


def _refused(result: Result, says: str) -> None:
    assert result.code == 2, result
    assert says in result.err, result.err
    assert_no_traceback(result.err, result.out)


def test_retry_all_requeues_every_dead_action_at_once(project: Project, cli: Cli) -> None:
    _dead(project, {"likes-100": 7, "reposts-10": 5})
    assert _counts(project) == {"pending": 0, "sent": 2, "dead": 12}
    done = cli("actions", "retry", "--all")
    assert (done.code, done.out, done.err) == (0, "re-queued 12 dead actions\n", "")
    assert _counts(project) == {"pending": 12, "sent": 2, "dead": 0}
    with SqliteStore.open(project.database) as store:  # who re-queued them, and when
        [change] = store.changes()
    assert (change.what, change.target, change.by) == ("retry", ALL_RULES, operator())
    assert change.detail == "12 dead actions"
    again = cli("actions", "retry", "--all")
    assert (again.code, again.out) == (0, "no dead actions\n")


def test_retry_all_of_one_rule_leaves_the_others_dead(project: Project, cli: Cli) -> None:
    _dead(project, {"likes-100": 3, "reposts-10": 1})
    done = cli("actions", "retry", "--all", "--rule", "reposts-10")
    assert (done.code, done.out) == (0, "re-queued 1 dead action of reposts-10\n")
    assert _counts(project) == {"pending": 1, "sent": 2, "dead": 3}
    none = cli("actions", "retry", "--all", "--rule", "reposts-10")
    assert (none.code, none.out) == (0, "no dead actions of reposts-10\n")


def test_retry_all_of_an_unknown_rule_says_which_it_meant(project: Project, cli: Cli) -> None:
    _dead(project, {"likes-100": 2})
    typo = cli("actions", "retry", "--all", "--rule", "likes-10O")
    _refused(typo, "no rule 'likes-10O' (did you mean 'likes-100'? rules: likes-100, reposts-10)")
    assert _counts(project)["dead"] == 2


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("actions", "retry"), "give the action ID to re-queue, or --all for every dead action"),
        (("actions", "retry", "f00.0", "--all"), "give the action ID or --all, not both"),
        (("actions", "retry", "f00.0", "--rule", "likes-100"), "--rule goes with --all"),
        (("actions", "--all"), "--all goes with retry"),
    ],
)
def test_retry_refuses_both_an_id_and_all_or_neither(
    project: Project, cli: Cli, args: tuple[str, ...], says: str
) -> None:
    _dead(project, {"likes-100": 1})
    _refused(cli(*args), says)
    assert _counts(project)["dead"] == 1


def _ids(result: Result) -> list[str]:
    assert result.code == 0, result
    return [item["id"] for item in json.loads(result.out)]


def test_actions_of_one_rule_lists_only_that_rules(project: Project, cli: Cli) -> None:
    _dead(project, {"likes-100": 2, "reposts-10": 1})
    assert _ids(cli("actions", "--rule", "reposts-10", "--json")) == ["f04.0", "f03.0"]
    assert _ids(cli("actions", "--rule", "likes-100", "--dead", "--json")) == ["f01.0", "f00.0"]
    newest = cli("actions", "--rule", "likes-100", "--limit", "1", "--json")
    assert _ids(newest) == ["f02.0"]
    assert "there are more: --limit N lists more" in newest.err
    table = cli("actions", "--rule", "reposts-10")
    assert table.code == 0 and "f03.0" in table.out and "f04.0" in table.out
    assert "likes-100" not in table.out and "f00.0" not in table.out
    assert len(_ids(cli("actions", "--json"))) == 5  # without --rule: every rule's, as before


def test_actions_of_a_rule_without_any_say_so(project: Project, cli: Cli) -> None:
    _dead(project, {"likes-100": 1})
    none = cli("actions", "--rule", "reposts-10")
    assert (none.code, none.out) == (0, "no actions of reposts-10\n")
    dead = cli("actions", "--rule", "reposts-10", "--dead")
    assert (dead.code, dead.out) == (0, "no dead actions of reposts-10\n")


def test_actions_of_an_unknown_rule_says_which_it_meant(project: Project, cli: Cli) -> None:
    _dead(project, {"likes-100": 1})
    typo = cli("actions", "--rule", "likes-10O")
    _refused(typo, "no rule 'likes-10O' (did you mean 'likes-100'? rules: likes-100, reposts-10)")
    assert typo.out == ""


def test_the_help_says_actions_lists_one_rules() -> None:
    from automation.cli.main import build_parsers

    _, commands = build_parsers()
    shown = " ".join(commands["actions"].format_help().split())
    assert "--rule RULE_ID only this rule's actions (with retry --all: only its dead ones)" in shown

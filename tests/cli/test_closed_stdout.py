"""Every command that changes something, run with standard output closed (``>&-``, so
Python's ``sys.stdout`` is None, as in ``tests/cli/test_bad_input.py``): what it prints is
a report, so it acts, once; its exit code says whether all went well; no traceback; and
run again it does not act twice. The commands whose product is what they print refuse
instead (``test_bad_input``)."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cli_helpers import Cli, Project, assert_no_traceback, database_dump, make_project

from automation.core.records import ActionRecord, CycleWrite, FiringRecord, WatchedPostRecord
from automation.sandbox import Sandbox
from automation.sandbox.webhook_receiver import Receiver
from automation.store.sqlite import SqliteStore

pytestmark = pytest.mark.usefixtures("process_state")

AT = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
R = "likes-100"
RULES = """\
version: 1
rules:
  - id: likes-100
    watch: {{posts: ["1000"], owner: brand}}
    when: likes >= 100
    actions:
      - log: {{message: "{{post.id}} at {{metrics.likes}}"}}
      - webhook:
          url: "{url}/hooks/T0KEN"
          secret: team-chat
          body: {{text: "{{post.url}}"}}
"""


class _Terminal(io.StringIO):
    """Standard input on a terminal, where the operator answers yes."""

    def isatty(self) -> bool:
        return True


@dataclass(frozen=True)
class Case:
    args: tuple[str, ...]
    codes: tuple[int, int]  # the first run's exit code, then the second's
    changes: Callable[[Project, Receiver], object]  # what the command changes, read back
    terminal: bool = False  # standard input is a terminal, answering yes
    new: bool = False  # the database does not exist yet


def _pauses(project: Project, receiver: Receiver) -> object:
    with SqliteStore.open(project.database) as store:
        return [(p.rule_id, p.paused_by, p.reason, p.resumed_at is None) for p in store.pauses()]


def _firings(project: Project, receiver: Receiver) -> object:
    return [line for line in database_dump(project.database) if "firings" in line]


def _outbox(project: Project, receiver: Receiver) -> object:
    with SqliteStore.open(project.database) as store:
        return sorted((i.id, i.status) for i in store.actions())


def _schema(project: Project, receiver: Receiver) -> object:
    if not project.database.exists():
        return None
    return [line for line in database_dump(project.database) if "_sqlite_migrations" in line]


def _copy(name: str) -> Callable[[Project, Receiver], object]:
    def copied(project: Project, receiver: Receiver) -> object:
        path = project.root / name
        return database_dump(path) == database_dump(project.database) if path.exists() else None

    return copied


def _deliveries(project: Project, receiver: Receiver) -> object:
    return len(receiver.deliveries())


CASES = {
    "pause": Case(("pause", R, "--reason", "launch"), (0, 0), _pauses),
    "pause --all": Case(("pause", "--all", "--for", "2h"), (0, 0), _pauses),
    "resume": Case(("resume", R), (0, 1), _pauses),
    "rearm": Case(("rearm", R, "--yes"), (0, 1), _firings),
    "rearm, asked on a terminal": Case(("rearm", R), (0, 1), _firings, terminal=True),
    "actions retry": Case(("actions", "retry", "f0.0"), (0, 1), _outbox),
    "actions retry --all": Case(("actions", "retry", "--all"), (0, 0), _outbox),
    "migrate": Case(("migrate",), (0, 0), _schema, new=True),
    "backup": Case(("backup", "backup.db"), (0, 0), _copy("backup.db")),
    "copy-store": Case(("copy-store", "state.db", "copy.db"), (0, 2), _copy("copy.db")),
    "try-action": Case(("try-action", R, "--action", "2"), (0, 0), _deliveries),
    "run --once": Case(("run", "--once"), (0, 0), _firings),
}


@pytest.fixture
def project(
    tmp_path: Path, sandbox: Sandbox, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> Project:
    """A rule with a log action and a webhook; a firing of it whose log action went dead
    and whose webhook waits; a post over the rule's threshold for ``run`` to fire."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("AUTOMATION_CONFIG", raising=False)
    project = make_project(tmp_path / "project", sandbox)
    project.write_rules(RULES.format(url=receiver.url))
    monkeypatch.chdir(project.root)
    log = ActionRecord(0, "log", json.dumps({"kind": "log", "message": "hi"}))
    firing = FiringRecord(
        id="f0", rule_id=R, post_id="1000", key="once", kind="fired", at=AT,
        metrics={"likes": 120.0}, actions=(log,),
    )  # fmt: skip
    with SqliteStore.open(project.database) as store:
        store.commit_cycle(CycleWrite(at=AT, firings=(firing,)))
        store.upsert_posts([WatchedPostRecord("1000", "brand", AT, "timeline", AT)])
        [item] = store.claim_actions(AT, 10)
        store.record_attempt(item.id, at=AT, outcome="dead", error="503", next_attempt_at=None)
    return project


@pytest.mark.parametrize("name", list(CASES))
def test_a_command_that_acts_acts_once_with_stdout_closed(
    name: str,
    project: Project,
    receiver: Receiver,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    case = CASES[name]
    cli = Cli(capsys, project.config)
    if case.args[0] == "resume":
        assert cli("pause", R).code == 0
    if case.new:
        project.database.unlink()
    post = project.new_post(favorites=150)
    project.write_rules(RULES.format(url=receiver.url).replace('"1000"', f'"1000", "{post}"'))
    before = case.changes(project, receiver)
    monkeypatch.setattr("sys.stdout", None)
    runs = []
    for _ in range(2):
        if case.terminal:
            monkeypatch.setattr("sys.stdin", _Terminal("y\n"))
        done = cli(*case.args)
        assert_no_traceback(done.err)
        runs.append((done.code, case.changes(project, receiver)))
        assert done.code == case.codes[len(runs) - 1], done.err

    (_, once), (_, twice) = runs
    assert once != before  # the change was made
    if name == "try-action":
        assert (once, twice) == (1, 2)  # each run sends the one webhook it shows
    else:
        assert twice == once  # and not made again

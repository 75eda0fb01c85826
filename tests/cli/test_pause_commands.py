"""``automation pause`` and ``resume`` set and lift pauses in the database, with who did it,
and ``status`` and ``explain`` show them; all without any secret set (spec §3, §4)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cli_helpers import SECRET_ENV, Cli, Result, write_env_config

from automation.core.payloads import iso
from automation.core.records import CycleWrite
from automation.store.sqlite import SqliteStore

RULES = """\
version: 1
rules:
  - id: likes-100
    watch: {accounts: [brand]}
    when: likes >= 100
    actions: [{log: {message: "{post.id}"}}]
  - id: reposts-10
    watch: {accounts: [brand]}
    when: reposts >= 10
    actions: [{log: {message: "{post.id}"}}]
"""


pytestmark = pytest.mark.usefixtures("process_state")


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Cli:
    monkeypatch.chdir(tmp_path)
    for name in [*SECRET_ENV, "AUTOMATION_CONFIG", "CREDENTIALS_DIRECTORY"]:
        monkeypatch.delenv(name, raising=False)  # no secret is set in this shell
    monkeypatch.setenv("LOGNAME", "alice")
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "rules.yaml").write_text(RULES, encoding="utf-8")
    config = write_env_config(tmp_path / "automation.yaml", "http://127.0.0.1:9")
    SqliteStore.open(tmp_path / "state.db").close()
    return Cli(capsys, config)


def status_rows(result: Result) -> list[tuple[str, str]]:
    rows = []
    for line in result.out.splitlines():
        key, _, value = line.partition("  ")
        rows.append((key.strip(), value.strip()))
    return rows


def test_pause_shows_in_status_and_explain_and_resume_lifts_it(cli: Cli) -> None:
    paused = cli("pause", "likes-100", "--for", "2h", "--reason", "launch  day\nfreeze")
    assert paused.code == 0, paused.err
    assert "rule likes-100 paused by alice since" in paused.out
    assert paused.out.splitlines()[0].endswith(": launch day freeze")

    data = cli("status", "--json").json()
    [record] = data["paused"]
    assert record["rule"] == "likes-100" and record["by"] == "alice"
    assert record["reason"] == "launch day freeze"
    assert record["until"] is not None and record["until"] > record["since"]
    rows = [v for k, v in status_rows(cli("status")) if k == "paused"]
    assert len(rows) == 1 and rows[0].startswith("rule likes-100 paused by alice since")

    explained = cli("explain", "likes-100", "1260294888811347969")
    assert explained.code == 0, explained.err
    assert "paused by alice" in explained.out and "records and performs nothing" in explained.out
    assert "paused" not in cli("explain", "reposts-10", "1260294888811347969").out

    resumed = cli("resume", "likes-100")
    assert resumed.code == 0, resumed.err
    assert "resumed rule likes-100" in resumed.out and "seeds" in resumed.out
    assert cli("status", "--json").json()["paused"] == []
    assert "settles next cycle" not in cli("status").out  # status lists active pauses only
    assert "next cycle seeds" in cli("explain", "likes-100", "1260294888811347969").out

    again = cli("resume", "likes-100")
    assert again.code == 1 and "not paused" in again.err
    # kept among the changes made by hand, as the dashboard's own are: after the engine
    # settles the pause record, who paused and resumed it, and when, is still known
    with SqliteStore.open(cli.config.parent / "state.db") as store:
        changes = [(c.by, c.what, c.target, c.detail) for c in store.changes()]
    assert changes == [
        ("alice", "resume", "likes-100", ""),
        ("alice", "pause", "likes-100", "for 2h: launch day freeze"),
    ]


def test_explain_says_whether_a_resumed_rule_seeds_or_catches_up(cli: Cli) -> None:
    """Resumed with --catch-up, a rule's next cycle fires what meets it, unless the rule
    seeds anyway (new and without backfill): the note follows ``seeding_reason``."""
    post = "1260294888811347969"
    backfills = RULES.replace("id: reposts-10", "id: replies-5").replace(
        "when: reposts >= 10", "when: replies >= 5\n    backfill: true"
    )
    (cli.config.parent / "rules" / "rules.yaml").write_text(backfills, encoding="utf-8")
    assert cli("pause", "--all").code == 0
    assert cli("resume", "--all", "--catch-up").code == 0
    caught_up = cli("explain", "replies-5", post).out
    assert "resumed with --catch-up: the engine's next cycle fires what meets it" in caught_up
    assert "seeds" not in caught_up
    new = cli("explain", "likes-100", post).out  # new, so its first cycle seeds all the same
    assert "resumed: the engine's next cycle seeds what crossed while it was paused" in new
    assert "fires what meets it" not in new


def test_pausing_all_rules_and_resuming_one_says_what_still_holds_it(cli: Cli) -> None:
    assert cli("pause", "--all", "--reason", "incident").code == 0
    one = cli("resume", "likes-100")
    assert one.code == 1
    assert "stays paused: every rule paused by alice" in one.err
    assert "resume --all" in one.err
    everything = cli("resume", "--all", "--catch-up")
    assert everything.code == 0 and "fires for the posts" in everything.out
    with SqliteStore.open(cli.config.parent / "state.db") as store:
        [record] = store.pauses()
    assert (record.rule_id, record.resumed_by, record.catch_up) == ("*", "alice", True)
    nothing = cli("resume", "--all")  # "every rule is not paused" read as a contradiction
    assert (nothing.code, nothing.err) == (1, "automation: no rule is paused\n")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("pause",), "give a RULE_ID or --all"),
        (("pause", "likes-100", "--all"), "give a RULE_ID or --all"),
        (("pause", "no-such-rule"), "no rule 'no-such-rule' (rules: likes-100, reposts-10)"),
        (("pause", "likes-100", "--for", "soon"), "--for: expected a duration"),
        (("pause", "likes-100", "--for", "0m"), "--for: expected a duration"),
        (("pause", "likes-100", "--for", "2hours"), "got '2hours': write 2h"),
        (("pause", "likes-100", "--for", "90"), "got '90': 90 what? write 90m for minutes"),
        (("resume",), "give a RULE_ID or --all"),
        # as pause says it: not "rule no-such-rule is not paused" with exit 1
        (("resume", "likes-10O"), "no rule 'likes-10O' (did you mean 'likes-100'? rules: "),
        (("resume", "no-such-rule"), "use --all to resume every rule"),
    ],
)
def test_mistakes_are_usage_errors_that_say_how_to_fix_them(
    cli: Cli, args: tuple[str, ...], message: str
) -> None:
    result = cli(*args)
    assert result.code == 2
    assert message in result.err
    assert "Traceback" not in result.err
    assert cli("status", "--json").json()["paused"] == []


def test_a_rule_the_engine_ran_can_be_paused_when_no_file_names_it_any_more(cli: Cli) -> None:
    from datetime import UTC, datetime

    with SqliteStore.open(cli.config.parent / "state.db") as store:
        at = datetime(2026, 1, 1, tzinfo=UTC)
        store.commit_cycle(CycleWrite(at=at, rule_versions=(("old-rule", "fp"),)))
    assert cli("pause", "old-rule").code == 0


def test_a_paused_rule_whose_file_is_gone_can_still_be_resumed(cli: Cli) -> None:
    assert cli("pause", "likes-100").code == 0
    rules = cli.config.parent / "rules" / "rules.yaml"
    rules.write_text(RULES.replace("likes-100", "likes-200"), encoding="utf-8")
    resumed = cli("resume", "likes-100")
    assert resumed.code == 0, resumed.err
    assert "resumed rule likes-100" in resumed.out


def test_pause_resume_and_status_write_times_as_history_does(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every command writes a moment one way, ``payloads.iso`` (``history``'s "when",
    ``status``'s "last cycle"); only the dashboard writes a pause's times its own way."""
    at = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
    for command in ("pause", "resume", "status"):
        monkeypatch.setattr(f"automation.cli.{command}.now", lambda: at)
    pause = "every rule paused by alice since 2026-11-26T12:00:00Z until 2026-11-26T14:00:00Z"
    assert pause.endswith(f" since {iso(at)} until {iso(at + timedelta(hours=2))}")

    paused = cli("pause", "--all", "--for", "2h", "--reason", "launch")
    assert paused.out.splitlines()[0] == f"{pause}: launch"
    assert ["paused", f"{pause}: launch"] in [list(r) for r in status_rows(cli("status"))]
    [record] = cli("status", "--json").json()["paused"]
    assert (record["since"], record["until"]) == ("2026-11-26T12:00:00Z", "2026-11-26T14:00:00Z")
    one = cli("resume", "likes-100")
    assert one.code == 1
    assert f"rule likes-100 stays paused: {pause}: launch; lift that" in one.err

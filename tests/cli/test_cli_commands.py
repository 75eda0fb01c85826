"""The inspection commands, driven through the real command line against the sandbox.

Each scenario writes its own rules, runs ``automation run --once`` cycles in this process
(the sandbox runs in real time, like the CLI's clock) and then reads the results back with
``history``, ``status``, ``top``, ``actions``, ``rearm`` and ``explain``.
"""

from __future__ import annotations

import io
import json
import os
import re
import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from cli_helpers import (
    SUPPORT_ID,
    Cli,
    Project,
    Result,
    assert_no_traceback,
    database_dump,
    make_project,
    run_subprocess,
    table_rows,
)
from jsonschema import Draft202012Validator

from automation.cli.main import main
from automation.cli.pause import operator
from automation.config.loader import load_config
from automation.core.records import ActionRecord, CycleWrite, FiringRecord, WatchedPostRecord
from automation.sandbox import Sandbox
from automation.sandbox.webhook_receiver import Receiver
from automation.service.runtime import open_runtime
from automation.store.sqlite import SqliteStore

pytestmark = pytest.mark.usefixtures("process_state")


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver(None) as rec:
        yield rec


@pytest.fixture
def project(tmp_path: Path, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> Project:
    # No stray ./automation.yaml or $AUTOMATION_CONFIG may stand in for the one under test.
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("AUTOMATION_CONFIG", raising=False)
    return make_project(tmp_path / "project", sandbox)


def status_a_minute_after(monkeypatch: pytest.MonkeyPatch, cycle: dict[str, Any]) -> None:
    """``status`` reads its now as a minute after ``cycle`` began, not from the wall clock:
    the budget's last minute then holds every request made since, however long the test
    took and wherever the wall clock's minutes fall."""
    at = datetime.fromisoformat(cycle["at"]) + timedelta(minutes=1)
    monkeypatch.setattr("automation.cli.status.now", lambda: at)


def assert_clean_failure(result: Result, code: int) -> None:
    assert result.code == code, result
    assert result.err.strip(), "a failure must say why"
    assert_no_traceback(result.err, result.out)


def run_once(cli: Cli, *extra: str) -> list[dict]:
    """One cycle with ``--json``; returns its events."""
    result = cli("run", "--once", "--json", *extra)
    assert result.code == 0, result
    return result.json_lines()


def two_rules(posts: list[str], webhook_url: str) -> str:
    ids = ", ".join(f'"{p}"' for p in posts)
    return f"""
        version: 1
        rules:
          - id: likes-100
            description: Repost a brand post at 100 likes
            watch: {{posts: [{ids}], owner: brand}}
            when: likes >= 100
            actions:
              - repost: {{as: support}}
              - webhook: {{url: "{webhook_url}/likes", secret: team-chat}}
          - id: reposts-10
            watch: {{posts: [{ids}], owner: brand}}
            when:
              all:
                - reposts >= 10
                - likes >= 25
            actions:
              - log: {{message: "{{post.id}} has {{metrics.reposts}} reposts"}}
        """


class Scenario:
    """Four explicit brand posts: A starts past the likes threshold (seeded), then B
    crosses it (fires likes-100), then C crosses the reposts threshold (fires reposts-10)."""

    def __init__(self, project: Project, cli: Cli, receiver: Receiver) -> None:
        self.project, self.cli = project, cli
        self.a = project.new_post(favorites=500, retweets=1)
        self.b = project.new_post(favorites=20)
        self.c = project.new_post(favorites=30, retweets=2)
        self.d = project.new_post(favorites=40)
        project.write_rules(two_rules([self.a, self.b, self.c, self.d], receiver.url))
        self.events = [run_once(cli)]
        project.set_metric(self.b, "favorites", 150)
        self.events.append(run_once(cli))
        project.set_metric(self.c, "retweets", 12)
        self.events.append(run_once(cli))

    @property
    def likes(self) -> dict[str, int]:
        return {self.a: 500, self.b: 150, self.c: 30, self.d: 40}


@pytest.fixture
def scenario(project: Project, cli: Cli, receiver: Receiver) -> Scenario:
    return Scenario(project, cli, receiver)


# --- check and schema ------------------------------------------------------------------

GOOD_RULES = """
    version: 1
    rules:
      - id: good
        watch: {accounts: [brand]}
        when: likes >= 100
        actions:
          - repost: {as: support}
          - webhook: {url: "https://chat.example.com/hooks/1", secret: team-chat}
    """


def test_check_passes_good_rules_with_and_without_a_config(project: Project, cli: Cli) -> None:
    project.write_rules(GOOD_RULES)
    alone = cli("check", str(project.rules_dir), config=False)
    assert alone.code == 0, alone
    assert "checked 1 rule in 1 file: 0 errors" in alone.err
    with_config = cli("check")  # the config's `rules` are the default paths
    assert with_config.code == 0, with_config
    assert "checked 1 rule in 1 file: 0 errors" in with_config.err
    assert with_config.out == ""


def _line_of(path: Path, needle: str) -> int:
    lines = path.read_text().splitlines()
    return next(i for i, line in enumerate(lines, 1) if needle in line)


def test_check_reports_each_problem_at_its_line(project: Project, cli: Cli) -> None:
    path = project.write_rules(
        """
        version: 1
        rules:
          - id: bad-metric
            watch: {accounts: [brand]}
            when: lieks >= 100
            actions: [{log: {message: hi}}]
          - id: bad-post
            watch: {posts: [1260294888811347969]}
            when: likes >= 1
            actions: [{log: {message: "{post.nope}"}}]
        """
    )
    result = cli("check", str(path), config=False)
    assert_clean_failure(result, 1)
    errors = [line for line in result.err.splitlines() if ": error: " in line]
    pattern = re.compile(rf"^{re.escape(str(path))}:(\d+):(\d+): error: (.+)$")
    found = {}
    for line in errors:
        match = pattern.match(line)
        assert match, line
        found[int(match.group(1))] = match.group(3)
    assert "likes" in found[_line_of(path, "lieks")]  # did you mean likes
    assert "quote" in found[_line_of(path, "1260294888811347969")]
    assert "post.nope" in found[_line_of(path, "post.nope")]
    assert re.search(r"\b3 errors\b", result.err)


def test_check_with_config_cross_checks_accounts_and_secrets(project: Project, cli: Cli) -> None:
    path = project.write_rules(
        """
        version: 1
        rules:
          - id: unknown-names
            watch: {accounts: [brand]}
            when: likes >= 100
            actions:
              - repost: {as: marketing}
              - webhook: {url: "https://chat.example.com/x", secret: crm-hook}
        """
    )
    alone = cli("check", str(path), config=False)
    assert alone.code == 0, alone  # without a config the names cannot be known
    result = cli("check", str(path))
    assert_clean_failure(result, 1)
    by_line = {
        int(line.split(":")[1]): line for line in result.err.splitlines() if ": error: " in line
    }
    assert "marketing" in by_line[_line_of(path, "marketing")]
    assert "crm-hook" in by_line[_line_of(path, "crm-hook")]


def test_check_needs_a_usable_config_when_one_is_named(
    project: Project, cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project.write_rules(GOOD_RULES)
    missing = cli("--config", str(tmp_path / "nope.yaml"), "check", config=False)
    assert_clean_failure(missing, 2)
    assert "nope.yaml" in missing.err

    broken = tmp_path / "broken.yaml"
    broken.write_text(project.config.read_text() + "pol_interval: 5m\n")
    invalid = cli("check", "--config", str(broken), str(project.rules_dir), config=False)
    assert_clean_failure(invalid, 2)
    assert "pol_interval" in invalid.err and "poll_interval" in invalid.err  # did you mean
    assert re.search(rf"{re.escape(str(broken))}:\d+", invalid.err)

    # No paths and no config: the default ./automation.yaml is required.
    default = cli("check", config=False)
    assert_clean_failure(default, 2)
    assert "automation.yaml" in default.err


def test_schema_is_a_draft_2020_12_schema_for_rule_files(cli: Cli) -> None:
    result = cli("schema", config=False)
    assert result.code == 0
    schema = json.loads(result.out)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(schema)
    validator = Draft202012Validator(schema)
    good = yaml.safe_load(GOOD_RULES.replace("\n    ", "\n"))
    assert list(validator.iter_errors(good)) == []
    bad = {**good, "rules": [{**good["rules"][0], "colour": "red"}]}
    assert list(validator.iter_errors(bad))


# --- history ---------------------------------------------------------------------------


def test_history_lists_firings_newest_first_with_action_statuses(
    scenario: Scenario, cli: Cli
) -> None:
    s = scenario
    fired = [e for batch in s.events for e in batch if e["event"] in ("fired", "seeded")]
    assert [(e["event"], e["rule"], e["post"]) for e in fired] == [
        ("seeded", "likes-100", s.a),
        ("fired", "likes-100", s.b),
        ("fired", "reposts-10", s.c),
    ]

    table = cli("history")
    assert table.code == 0, table
    rows = table_rows(table.out)
    assert [(r[1], r[2], r[3]) for r in rows] == [
        ("reposts-10", s.c, "fired"),
        ("likes-100", s.b, "fired"),
        ("likes-100", s.a, "seeded"),
    ]
    assert rows[0][5] == "log:sent"
    assert rows[1][5] == "repost:sent, webhook:sent"

    entries = cli("history", "--json").json()
    assert [e["at"] for e in entries] == sorted((e["at"] for e in entries), reverse=True)
    assert [(e["rule"], e["post"], e["kind"]) for e in entries] == [
        (r[1], r[2], r[3]) for r in rows
    ]
    newest, middle, oldest = entries
    assert newest["metrics"] == {"reposts": 12, "likes": 30}
    # as in run --json and webhook payloads: 30 likes, not 30.0
    assert all(type(v) is int for v in newest["metrics"].values()), newest["metrics"]
    assert [(a["kind"], a["status"]) for a in middle["actions"]] == [
        ("repost", "sent"),
        ("webhook", "sent"),
    ]
    assert all(a["attempts"] == 1 and a["last_error"] is None for a in middle["actions"])
    assert oldest["actions"] == []  # a seeded firing queues nothing
    assert {e["id"] for e in entries} == {e["id"] for e in fired}


def test_history_filters_by_rule_post_and_limit(scenario: Scenario, cli: Cli) -> None:
    s = scenario
    by_rule = cli("history", "--json", "--rule", "likes-100").json()
    assert [(e["rule"], e["post"]) for e in by_rule] == [("likes-100", s.b), ("likes-100", s.a)]
    by_post = cli("history", "--json", "--post", s.c).json()
    assert [(e["rule"], e["post"]) for e in by_post] == [("reposts-10", s.c)]
    both = cli("history", "--json", "--rule", "likes-100", "--post", s.a).json()
    assert [e["kind"] for e in both] == ["seeded"]
    limited = cli("history", "--json", "--limit", "1").json()
    assert [(e["rule"], e["post"]) for e in limited] == [("reposts-10", s.c)]
    nothing = cli("history", "--rule", "likes-100", "--post", s.c)  # a typo: see below
    assert nothing.code == 0
    assert nothing.out.strip() == "no firings recorded"


# --- status ----------------------------------------------------------------------------


def test_status_reports_last_cycle_posts_rules_actions_and_budget(
    scenario: Scenario, cli: Cli, project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    cycles = [e for batch in scenario.events for e in batch if e["event"] == "cycle"]
    status_a_minute_after(monkeypatch, cycles[0])
    with SqliteStore.open(project.database) as store:  # a post no rule watches any more
        last_at = datetime.fromisoformat(cycles[-1]["at"])
        old = WatchedPostRecord("1", "brand", last_at - timedelta(days=30), "timeline", last_at)
        store.upsert_posts([old])
    data = cli("status", "--json").json()
    last = cycles[-1]
    assert data["last_cycle"]["at"] == last["at"]
    assert (data["last_cycle"]["fired"], data["last_cycle"]["seeded"]) == (1, 0)
    assert data["last_cycle"]["posts"] == last["posts"] == 4
    assert data["posts_watched"] == 4
    assert data["rules_loaded"] == 2
    assert data["rule_errors"] == [] and data["reload_error"] is None
    assert (data["actions"]["pending"], data["actions"]["dead"]) == (0, 0)
    assert data["actions"]["sent"] == 3
    # The budget is kept in the database: it holds every request the three runs made.
    assert data["api_budget"] == {
        "requests_last_minute": sum(c["requests"] for c in cycles),
        "limit_per_minute": 600,
    }

    table = cli("status")
    assert table.code == 0
    rows = {}
    for line in table.out.splitlines():
        key, _, value = line.partition("  ")
        rows[key.strip()] = value.strip()
    assert rows["last cycle"].startswith(last["at"])
    assert "1 fired" in rows["last cycle"]
    assert rows["posts watched"] == "4"
    assert rows["rules loaded"] == "2"
    assert rows["actions pending"] == "0"
    assert rows["actions dead"] == "0"
    used = data["api_budget"]["requests_last_minute"]
    assert rows["API budget"] == f"{used} of 600 requests in the last minute"


def test_status_shows_a_failed_reload_until_a_good_one(
    project: Project, cli: Cli, receiver: Receiver
) -> None:
    post = project.new_post(favorites=5)
    path = project.write_rules(two_rules([post], receiver.url))
    runtime = open_runtime(load_config(project.config), emit=lambda event: None)
    try:
        runtime.engine.cycle()
        _edit(path, "likes >= 100", "lieks >= 100")
        runtime.engine.cycle()  # notices the edit, refuses it, keeps the running rules
        broken = cli("status", "--json").json()
        table = cli("status").out
        _edit(path, "lieks >= 100", "likes >= 100")
        runtime.engine.cycle()
    finally:
        runtime.close()

    failed = broken["reload_error"]
    line = _line_of(path, "likes >= 100")
    assert failed["at"] == broken["last_cycle"]["at"]
    assert re.search(rf"{re.escape(str(path))}:{line}:\d+: error: .*lieks", failed["errors"])
    assert broken["rule_errors"] and "lieks" in broken["rule_errors"][0]
    row = next(r for r in table.splitlines() if r.startswith("failed reload"))
    assert failed["at"] in row and f"{path.name}:{line}:" in row
    assert cli("status", "--json").json()["reload_error"] is None
    assert "failed reload" not in cli("status").out

    # A failed config reload is recorded as plain text; it is shown the same way.
    with SqliteStore.open(project.database) as store:
        store.set_meta("reload_error", "automation.yaml:3: poll_interval: expected a duration")
    assert cli("status", "--json").json()["reload_error"] == {
        "at": None,
        "errors": "automation.yaml:3: poll_interval: expected a duration",
    }
    assert "poll_interval: expected a duration" in cli("status").out


def _edit(path: Path, old: str, new: str) -> None:
    """Change a rule file so that its modification time moves on, as an editor's save."""
    text = path.read_text()
    assert old in text
    before = path.stat().st_mtime
    path.write_text(text.replace(old, new))
    os.utime(path, (before + 2, before + 2))


# --- top -------------------------------------------------------------------------------


def test_top_orders_watched_posts_by_value(scenario: Scenario, cli: Cli) -> None:
    result = cli("top", "--metric", "likes", "-n", "3")
    assert result.code == 0, result
    rows = table_rows(result.out)
    expected = sorted(scenario.likes.items(), key=lambda kv: -kv[1])[:3]
    assert [(r[0], int(r[1].replace(",", ""))) for r in rows] == expected
    assert all(r[2] == f"https://x.com/i/status/{r[0]}" for r in rows)
    # The API name and the alias are the same metric.
    assert table_rows(cli("top", "--metric", "favorites", "-n", "3").out) == [
        [r[0], r[1], r[2]] for r in rows
    ]


def test_top_unknown_metric_suggests_the_right_one(scenario: Scenario, cli: Cli) -> None:
    result = cli("top", "--metric", "lieks")
    assert_clean_failure(result, 2)
    assert "lieks" in result.err and "did you mean 'likes'" in result.err
    assert result.out == ""


def test_top_metric_with_no_near_name_lists_those_it_can_rank(scenario: Scenario, cli: Cli) -> None:
    result = cli("top", "--metric", "zzzzzz")
    assert_clean_failure(result, 2)
    head, _, listed = result.err.strip().partition("; use any of: ")
    assert head.endswith("unknown metric 'zzzzzz'")
    names = listed.split(", ")
    assert {"likes", "favorites", "engagement_rate"} <= set(names)
    for name in names[:3]:  # each one listed is one top ranks by
        assert cli("top", "--metric", name, "-n", "1").code == 0


def test_top_before_the_engine_watched_a_post_says_what_to_run(project: Project, cli: Cli) -> None:
    """A database made by ``metrics`` or ``backtest`` holds no watched post until the
    engine runs: "no watched post has a recorded value for likes" named no way out."""
    project.write_rules(GOOD_RULES)
    with SqliteStore.open(project.database):
        pass

    result = cli("top", "--metric", "likes")

    assert result.code == 0 and result.err == ""
    assert result.out == (
        "no watched post yet: the engine records the posts its rules watch as it polls; run "
        "'automation run --once' first ('automation metrics --ids FILE' reads any list of "
        "posts from the API now)\n"
    )


# --- actions ---------------------------------------------------------------------------


def test_actions_says_when_it_shows_only_the_newest_and_lists_more_with_limit(
    project: Project, cli: Cli
) -> None:
    # The outbox listed its newest 100 and said nothing of the others: 65 pending reposts
    # among 367 actions showed as 44, and nothing listed the rest.
    at = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
    firings = tuple(
        FiringRecord(
            id=f"f{n}", rule_id="likes-100", post_id=str(1000 + n), key="once", kind="fired",
            at=at + timedelta(minutes=n), metrics={"likes": 120.0},
            actions=(ActionRecord(0, "log", json.dumps({"kind": "log", "message": "hi"})),),
        )
        for n in range(3)
    )  # fmt: skip
    with SqliteStore.open(project.database) as store:
        store.commit_cycle(CycleWrite(at=at, firings=firings))
    newest = cli("actions", "--limit", "2", "--json")
    assert [a["id"] for a in newest.json()] == ["f2.0", "f1.0"]
    assert newest.err == "the newest 2 actions; there are more: --limit N lists more\n"
    whole = cli("actions", "--limit", "3")
    assert [r[0] for r in table_rows(whole.out)] == ["f2.0", "f1.0", "f0.0"]
    assert whole.err == ""
    assert cli("actions", "--limit", "0").code == 2


def test_dead_action_is_listed_retried_and_then_delivered(project: Project, cli: Cli) -> None:
    with Receiver(None, fail_first=1, fail_status=404) as hook:
        post = project.new_post(favorites=5)
        project.write_rules(two_rules([post], hook.url))
        run_once(cli)
        project.set_metric(post, "favorites", 120)
        events = run_once(cli)
        action_events = {e["kind"]: e for e in events if e["event"] == "action"}
        assert action_events["webhook"]["status"] == "dead"
        assert action_events["repost"]["status"] == "sent"

        listed = cli("actions", "--json").json()
        by_kind = {a["kind"]: a for a in listed}
        dead = by_kind["webhook"]
        assert (dead["status"], dead["attempts"]) == ("dead", 1)
        assert "404" in dead["last_error"]
        assert by_kind["repost"]["status"] == "sent"

        table = cli("actions")
        rows = [r for r in table_rows(table.out.split("\n\n")[0])]
        assert {r[0]: r[4] for r in rows} == {a["id"]: a["status"] for a in listed}
        only_dead = cli("actions", "--dead")
        assert [r[0] for r in table_rows(only_dead.out.split("\n\n")[0])] == [dead["id"]]
        assert cli("actions", "--dead", "--json").json() == [dead]
        assert cli("status", "--json").json()["actions"]["dead"] == 1

        retried = cli("actions", "retry", dead["id"])
        assert retried.code == 0, retried
        assert dead["id"] in retried.out
        again = {a["id"]: a for a in cli("actions", "--json").json()}[dead["id"]]
        assert again["status"] == "pending"
        assert again["attempts"] == 1  # attempts are kept
        status = cli("status", "--json").json()["actions"]
        assert (status["pending"], status["dead"]) == (1, 0)
        assert cli("actions", "--dead").out.strip() == "no dead actions"
        with SqliteStore.open(project.database) as store:  # who re-queued it, and when
            [change] = store.changes()
        assert (change.what, change.target, change.by) == ("retry", dead["id"], operator())

        # The next cycle delivers it, with the same idempotency key as the first try.
        events = run_once(cli)
        assert [(e["id"], e["status"]) for e in events if e["event"] == "action"] == [
            (dead["id"], "sent")
        ]
        keys = [d.idempotency_key for d in hook.deliveries()]
        assert [d.status for d in hook.deliveries()] == [404, 200]
        assert keys == [keys[0], keys[0]]

        # Only a dead action can be re-queued.
        sent = cli("actions", "retry", dead["id"])
        assert_clean_failure(sent, 1)
        assert sent.err == (
            f"automation: action {dead['id']} is sent, not dead: only a dead action is"
            " re-queued; automation actions --dead lists them\n"
        )


def test_actions_show_rule_and_post_and_whole_errors(
    project: Project, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket() as probe:  # a port nothing listens on: every delivery is refused
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}/a-rather-long-hook-path"
    post = project.new_post(favorites=5)
    project.write_rules(two_rules([post], closed))
    run_once(cli)
    project.set_metric(post, "favorites", 120)
    run_once(cli)
    listed = {a["id"]: a for a in cli("actions", "--json").json()}
    assert {(a["rule"], a["post"]) for a in listed.values()} == {("likes-100", post)}
    [failed] = [a for a in listed.values() if a["last_error"]]
    assert len(failed["last_error"]) > 60  # longer than the column that used to cut it

    monkeypatch.setenv("COLUMNS", "60")
    out = cli("actions").out
    table, errors = out.split("\n\nlast errors\n")
    rows = {r[0]: r for r in table_rows(table)}
    assert {i: (r[1], r[2]) for i, r in rows.items()} == {i: ("likes-100", post) for i in listed}
    lines = errors.splitlines()
    assert len(lines) > 1 and all(len(line) <= 60 or " " not in line.strip() for line in lines)
    assert lines[0].startswith(f"{failed['id']}  ")
    assert " ".join(errors.split()) == f"{failed['id']} {failed['last_error']}"


def test_retry_of_an_unknown_action_is_a_usage_error(scenario: Scenario, cli: Cli) -> None:
    """A mistyped ID exits 2, as an unknown rule does to ``rearm`` and ``pause`` (spec
    section 3); it exited 1, the code of an action that is known but not dead."""
    before = cli("actions", "--json").json()
    result = cli("actions", "retry", "0123456789abcdef.9")
    assert_clean_failure(result, 2)
    assert result.err == (
        "automation: no action 0123456789abcdef.9 in the outbox; give the ID of a dead"
        " action: automation actions --dead lists them\n"
    )
    assert cli("actions", "--json").json() == before  # the outbox is as it was
    no_id = cli("actions", "retry")
    assert_clean_failure(no_id, 2)


# --- rearm -----------------------------------------------------------------------------


def test_rearm_lets_a_rule_fire_again_for_the_post(scenario: Scenario, cli: Cli) -> None:
    s = scenario
    quiet = run_once(cli)
    assert not [e for e in quiet if e["event"] in ("fired", "seeded")]

    result = cli("rearm", "likes-100", s.b)
    assert result.code == 0, result
    assert (
        "re-armed likes-100 on post" in result.out and "1 firing of 1 post forgotten" in result.out
    )

    events = run_once(cli)
    assert [(e["event"], e["rule"], e["post"]) for e in events if e["event"] == "fired"] == [
        ("fired", "likes-100", s.b)
    ]
    entries = cli("history", "--json", "--rule", "likes-100", "--post", s.b).json()
    assert [e["kind"] for e in entries] == ["fired", "fired"]
    assert entries[0]["id"] != entries[1]["id"]
    # The other rule and the other posts were left alone.
    assert len(cli("history", "--json", "--rule", "reposts-10").json()) == 1
    assert len(cli("history", "--json", "--post", s.a).json()) == 1


def test_rearm_of_a_whole_rule_forgets_its_firings_but_keeps_its_seeds(
    scenario: Scenario, cli: Cli
) -> None:
    s = scenario
    result = cli("rearm", "likes-100")
    assert result.code == 0, result
    assert "1 firing of 1 post forgotten" in result.out  # B's firing; A stays seeded
    assert "1 post stay seeded" in result.out
    events = run_once(cli)
    assert [e["post"] for e in events if e["event"] == "fired"] == [s.b]


def test_rearm_include_seeded_forgets_the_seeds_too(scenario: Scenario, cli: Cli) -> None:
    s = scenario
    result = cli("rearm", "likes-100", "--include-seeded")
    assert result.code == 0, result
    assert "2 firings of 2 posts forgotten" in result.out  # B's firing and A's seed
    events = run_once(cli)
    fired = sorted(e["post"] for e in events if e["event"] == "fired")
    assert fired == sorted([s.a, s.b])


def test_rearm_dry_run_lists_what_would_fire_again_and_changes_nothing(
    scenario: Scenario, cli: Cli
) -> None:
    s = scenario
    before = cli("history", "--json").json()
    result = cli("rearm", "likes-100", "--dry-run", "--include-seeded")
    assert result.code == 0, result
    assert "the rule may fire again for 2 posts" in result.out
    rows = [r for r in table_rows(result.out) if len(r) == 4]
    assert sorted((r[0], r[1]) for r in rows) == sorted([(s.a, "seeded"), (s.b, "fired")])
    assert "dry run: nothing was changed" in result.out
    assert cli("history", "--json").json() == before
    assert not [e for e in run_once(cli) if e["event"] == "fired"]


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(("answer", "code", "fires"), [("n\n", 1, False), ("y\n", 0, True)])
def test_rearm_asks_first_on_a_terminal(
    scenario: Scenario,
    cli: Cli,
    monkeypatch: pytest.MonkeyPatch,
    answer: str,
    code: int,
    fires: bool,
) -> None:
    s = scenario
    monkeypatch.setattr("sys.stdin", _Terminal(answer))
    result = cli("rearm", "likes-100")
    assert result.code == code, result
    assert "re-arm likes-100? [y/N]" in result.out
    assert "the rule may fire again for 1 post" in result.out
    fired = [e["post"] for e in run_once(cli) if e["event"] == "fired"]
    assert fired == ([s.b] if fires else [])


def test_rearm_yes_does_not_ask(
    scenario: Scenario, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdin", _Terminal(""))
    result = cli("rearm", "likes-100", "--yes")
    assert result.code == 0, result
    assert "[y/N]" not in result.out and "1 firing of 1 post forgotten" in result.out


def test_rearm_of_a_rule_no_file_or_record_knows_names_the_rules(
    scenario: Scenario, cli: Cli
) -> None:
    result = cli("rearm", "likes-10O")
    assert_clean_failure(result, 2)
    assert "no rule 'likes-10O'" in result.err
    assert "likes-100" in result.err and "reposts-10" in result.err


def test_a_misspelt_rule_id_gets_a_did_you_mean_from_each_command(
    scenario: Scenario, cli: Cli
) -> None:
    """history printed 'no firings recorded' (exit 0) for a typo, and explain named the
    rule folder instead of the rules."""
    said = "no rule 'likes-10O' (did you mean 'likes-100'? rules: likes-100, reposts-10)"
    for command in (
        ("history", "--rule", "likes-10O"),
        ("history", "--rule", "likes-10O", "--json"),
        ("explain", "likes-10O", "1"),
        ("try-action", "likes-10O"),
        ("rearm", "likes-10O"),
        ("pause", "likes-10O"),
    ):
        result = cli(*command)
        assert_clean_failure(result, 2)
        assert said in result.err, (command, result.err)
    quiet = cli("history", "--rule", "reposts-10", "--post", "1")  # known: not an error
    assert quiet.code == 0 and "no firings recorded" in quiet.out, quiet


def test_rearm_of_a_known_rule_with_nothing_fired_says_so(scenario: Scenario, cli: Cli) -> None:
    s = scenario
    result = cli("rearm", "likes-100", s.d)
    assert_clean_failure(result, 1)
    assert "nothing to rearm: no firings of likes-100 on post" in result.err


# --- explain ---------------------------------------------------------------------------


def test_explain_shows_each_condition_and_the_firing_state(scenario: Scenario, cli: Cli) -> None:
    s = scenario
    before = cli("explain", "reposts-10", s.d)
    assert before.code == 0, before
    rows = {r[0]: r for r in table_rows(before.out)}
    assert rows["reposts >= 10"][1:4] == ["0", "10", "false"]
    assert rows["likes >= 25"][1:4] == ["40", "25", "true"]
    assert "result: false" in before.out
    assert "not fired" in before.out
    assert "recorded:" not in before.out

    after = cli("explain", "reposts-10", s.c)
    assert after.code == 0, after
    rows = {r[0]: r for r in table_rows(after.out)}
    assert rows["reposts >= 10"][1:4] == ["12", "10", "true"]
    assert rows["likes >= 25"][1:4] == ["30", "25", "true"]
    assert "already fired" in after.out
    assert re.search(r"^recorded: fired once at \S+", after.out, re.M)

    seeded = cli("explain", "likes-100", s.a)
    assert "recorded: seeded once" in seeded.out


def test_a_post_the_api_reports_unavailable_is_shown_in_status_and_explain(
    project: Project, cli: Cli, receiver: Receiver
) -> None:
    gone, kept = project.new_post(favorites=5), project.new_post(favorites=5)
    project.write_rules(two_rules([gone, kept], receiver.url))
    run_once(cli)
    project.sandbox.world.delete_post(gone)
    at = next(e["at"] for e in run_once(cli) if e["event"] == "cycle")
    assert cli("status", "--json").json()["posts_unavailable"] == 1
    rows = {}
    for line in cli("status").out.splitlines():
        key, _, value = line.partition("  ")
        rows[key.strip()] = value.strip()
    assert rows["posts unavailable"] == "1"
    explained = cli("explain", "likes-100", gone)
    assert explained.code == 0
    assert f"the API reports this post unavailable since {at} (deleted" in explained.out
    assert "unavailable" not in cli("explain", "likes-100", kept).out


def test_status_counts_unavailable_only_the_posts_a_rule_still_watches(
    project: Project, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A deleted post past its rule's max_age is no longer watched, so not missing now;
    a deleted post its rule still watches (named, no max_age) is."""
    aged, watched = project.new_post(favorites=5), project.new_post(favorites=5)
    project.write_rules(
        f"""
        version: 1
        rules:
          - id: two-days
            watch: {{posts: ["{aged}"], owner: brand, max_age: 2d}}
            when: likes >= 100
            actions:
              - log: {{message: "{{{{post.id}}}}"}}
          - id: named
            watch: {{posts: ["{watched}"], owner: brand}}
            when: likes >= 100
            actions:
              - log: {{message: "{{{{post.id}}}}"}}
        """
    )
    run_once(cli)
    project.sandbox.world.delete_post(aged)
    project.sandbox.world.delete_post(watched)
    cycle = next(e for e in run_once(cli) if e["event"] == "cycle")
    at = datetime.fromisoformat(cycle["at"]) + timedelta(days=3)
    monkeypatch.setattr("automation.cli.status.now", lambda: at)
    assert cli("status", "--json").json()["posts_unavailable"] == 1
    shown = [line for line in cli("status").out.splitlines() if "posts unavailable" in line]
    assert shown == ["posts unavailable  1"]


def test_explain_unknown_rule_or_unwatched_post(scenario: Scenario, cli: Cli) -> None:
    unknown = cli("explain", "no-such-rule", scenario.a)
    assert_clean_failure(unknown, 2)
    assert "no-such-rule" in unknown.err
    unwatched = cli("explain", "likes-100", "1260294888811347969")
    assert unwatched.code == 0
    assert "no metrics recorded" in unwatched.out
    assert "result: unknown" in unwatched.out


@pytest.mark.parametrize("post_id", ["abc", "12345678901234567890123", "-5"])
def test_explain_refuses_what_is_not_a_post_id(scenario: Scenario, cli: Cli, post_id: str) -> None:
    result = cli("explain", "likes-100", post_id)
    assert_clean_failure(result, 2)
    assert f"not a post ID: {post_id!r}" in result.err


# --- before any database, and bad usage ------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["history"],
        ["status", "--json"],
        ["top", "--metric", "likes"],
        ["actions"],
        ["actions", "retry", "abc.0"],
        ["rearm", "likes-100"],
        ["explain", "likes-100", "1"],
    ],
)
def test_commands_before_any_database_say_what_to_do(
    project: Project, cli: Cli, args: list[str]
) -> None:
    project.write_rules(GOOD_RULES.replace("good", "likes-100"))
    result = cli(*args)
    assert_clean_failure(result, 2)
    assert "no database" in result.err and "automation run --once" in result.err
    assert result.out == ""
    assert not project.database.exists()


@pytest.mark.parametrize(
    ("args", "mentions"),
    [
        (["frobnicate"], "frobnicate"),
        (["history", "--bogus"], "--bogus"),
        (["history", "--limit", "many"], "many"),
        (["top"], "--metric"),
        (["top", "--metric"], "--metric"),
        (["actions", "resend", "x"], "resend"),
        ([], "COMMAND"),
        (["--log-format", "xml", "status"], "xml"),
    ],
)
def test_bad_usage_exits_2_with_a_message(cli: Cli, args: list[str], mentions: str) -> None:
    result = cli(*args, config=False)
    assert_clean_failure(result, 2)
    assert mentions in result.err
    assert "usage:" in result.err or "try 'automation --help'" in result.err
    assert result.out == ""


def test_a_date_and_its_time_given_apart_are_shown_joined(cli: Cli) -> None:
    """``--from 2026-11-01 10:00`` said only "unrecognized arguments: 10:00"."""
    result = cli("metrics", "--from", "2026-11-01", "10:00", "--to", "2026-11-02", config=False)
    assert_clean_failure(result, 2)
    assert result.err.startswith(
        "automation metrics: unrecognized arguments: 10:00 (a date and its time are one "
        "argument: 2026-11-01T10:00)\n"
    )


def test_missing_config_for_an_inspection_command(cli: Cli, tmp_path: Path) -> None:
    result = cli("--config", str(tmp_path / "absent.yaml"), "status", config=False)
    assert_clean_failure(result, 2)
    assert "absent.yaml" in result.err
    assert result.err.startswith("automation: ")


# --- dry run ---------------------------------------------------------------------------


def recorded_status(cli: Cli) -> dict[str, Any]:
    """``status --json`` without what the file system says now (the disk's free bytes):
    what the database holds, read at the now ``status_a_minute_after`` gives."""
    data: dict[str, Any] = cli("status", "--json").json()
    del data["database_disk"]
    return data


def test_dry_run_reports_but_records_and_does_nothing(
    project: Project, cli: Cli, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    seeded = project.new_post(favorites=300)
    post = project.new_post(favorites=10)
    project.write_rules(two_rules([seeded, post], receiver.url))
    (first,) = [e for e in run_once(cli) if e["event"] == "cycle"]
    status_a_minute_after(monkeypatch, first)  # the same budget's minute before and after
    project.set_metric(post, "favorites", 250)
    before = database_dump(project.database)
    status_before = recorded_status(cli)

    events = run_once(cli, "--dry-run")
    assert [(e["event"], e["rule"], e["post"]) for e in events if "rule" in e] == [
        ("would_fire", "likes-100", post)
    ]
    assert not [e for e in events if e["event"] in ("fired", "seeded", "action")]
    tally = {r["rule"]: r for r in events[-1]["rules"]}
    assert (tally["likes-100"]["would_fire"], tally["likes-100"]["would_seed"]) == (1, 0)

    assert database_dump(project.database) == before
    assert recorded_status(cli) == status_before
    assert project.sandbox.world.actions_by(SUPPORT_ID) == []
    assert not project.sandbox.world.has_reposted(SUPPORT_ID, post)
    assert receiver.deliveries() == []

    # The real run afterwards does fire: the dry run did not use the firing up.
    real = run_once(cli)
    assert [(e["event"], e["post"]) for e in real if e["event"] == "fired"] == [("fired", post)]
    assert project.sandbox.world.has_reposted(SUPPORT_ID, post)


def test_dry_run_without_a_database_leaves_none_behind(
    project: Project, cli: Cli, receiver: Receiver
) -> None:
    seeded = project.new_post(favorites=300)
    project.write_rules(two_rules([seeded, project.new_post(favorites=1)], receiver.url))
    events = run_once(cli, "--dry-run")
    assert [(e["event"], e["post"]) for e in events if "rule" in e] == [("would_seed", seeded)]
    assert sorted(p.name for p in project.root.iterdir()) == ["automation.yaml", "rules"]
    assert_clean_failure(cli("status"), 2)


def test_a_dry_run_ends_with_what_each_rule_would_do_and_could_not_know(
    project: Project, cli: Cli, receiver: Receiver
) -> None:
    seeded, post = project.new_post(favorites=300), project.new_post(favorites=10)
    public = project.sandbox.world.add_post("11348282").id  # a public account's post
    rules = (
        two_rules([seeded, post], receiver.url)
        + f"""
          - id: seen-a-lot
            watch: {{posts: ["{public}"]}}
            when: impressions >= 1000
            actions: [{{log: {{message: seen}}}}]
        """
    )
    project.write_rules(rules)
    result = cli("run", "--once", "--dry-run")
    assert result.code == 0, result
    assert result.out.startswith("dry run, per rule")
    rows = {r[0]: r[1:] for r in table_rows(result.out.split("\n", 1)[1])}
    assert rows["likes-100"][:3] == ["0", "1", "0"]
    assert rows["seen-a-lot"] == ["0", "0", "1", "impressions are known only for owned posts"]

    events = run_once(cli, "--dry-run")
    summary = events[-1]
    assert summary["event"] == "summary"
    assert summary["rules"][-1] == {
        "rule": "seen-a-lot",
        "would_fire": 0,
        "would_seed": 0,
        "unknown": 1,
        "reason": "impressions are known only for owned posts",
    }


def test_a_dry_run_without_rules_says_so_instead_of_an_empty_table(
    project: Project, cli: Cli
) -> None:
    for path in project.rules_dir.iterdir():
        path.unlink()
    result = cli("run", "--once", "--dry-run")
    assert result.code == 0, result
    assert result.out.startswith("dry run: no rules are loaded, so nothing was evaluated;")
    assert "automation check" in result.out and "would fire" not in result.out


# --- as a separate process -------------------------------------------------------------


def test_subprocess_run_and_inspect(project: Project, receiver: Receiver) -> None:
    post = project.new_post(favorites=50)
    project.write_rules(two_rules([post], receiver.url))
    args = ["--config", str(project.config)]
    first = run_subprocess([*args, "run", "--once", "--json"], cwd=project.root)
    assert first.code == 0, first
    assert [e["event"] for e in first.json_lines()] == ["cycle"]  # stdout holds only events
    assert "engine started" in first.err  # logs go to stderr

    project.set_metric(post, "favorites", 101)
    second = run_subprocess([*args, "--log-format", "json", "run", "--once"], cwd=project.root)
    assert second.code == 0, second
    assert second.out == ""
    logs = [json.loads(line) for line in second.err.splitlines()]
    assert any(line["event"].startswith("fired rule=likes-100") for line in logs)

    history = run_subprocess([*args, "history", "--json"], cwd=project.root)
    assert [(e["kind"], e["post"]) for e in history.json()] == [("fired", post)]
    assert [a["status"] for a in history.json()[0]["actions"]] == ["sent", "sent"]

    bad = run_subprocess(["frobnicate"], cwd=project.root)
    assert_clean_failure(bad, 2)


def test_an_error_in_the_default_config_says_automation_first_like_every_other(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # ./automation.yaml: the message begins with the file's name, which begins with
    # "automation", and was taken for one that said "automation:" already.
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("AUTOMATION_CONFIG", raising=False)
    Path("automation.yaml").write_text("poll_interval: soon\n", encoding="utf-8")
    assert main(["status"]) == 2
    first = capsys.readouterr().err.splitlines()[0]
    assert first.startswith("automation: automation.yaml:"), first


@pytest.mark.parametrize("options", [["--debug"], ["--log-format", "json"], ["--log-format=json"]])
def test_the_global_options_are_taken_after_the_command_too(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, options: list[str]
) -> None:
    # "internal error: ... (run with --debug for details)" is answered by adding --debug at
    # the end of the command line, as --config already may be.
    absent = str(tmp_path / "absent.yaml")
    assert main(["status", "--config", absent, *options]) == 2
    last = capsys.readouterr().err.splitlines()[-1]  # after --debug's traceback
    if "--debug" not in options:  # under --log-format json, a JSON record like every line
        record = json.loads(last)
        assert (record["level"], record["logger"]) == ("error", "automation"), record
        last = record["event"]
    assert last.startswith(f"automation: no config file at {absent}"), last


def test_a_failure_under_json_logs_is_a_json_record_and_text_stays_text(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # An engine refused at start (its lock held, its config broken) says why in the one
    # line that whatever reads its JSON log must be able to read.
    absent = str(tmp_path / "absent.yaml")
    assert main(["--log-format", "json", "run", "--once", "--config", absent]) == 2
    (line,) = capsys.readouterr().err.splitlines()
    record = json.loads(line)
    assert set(record) == {"time", "level", "event", "logger"}
    assert record["level"] == "error"
    assert record["event"].startswith(f"automation: no config file at {absent}: give --config")
    assert main(["run", "--once", "--config", absent]) == 2
    assert capsys.readouterr().err.startswith(f"automation: no config file at {absent}: ")


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (
            ["run", "--onse"],
            "automation run: unrecognized arguments: --onse (did you mean --once?)",
        ),
        (
            ["metrics", "--output=x.csv", "--outptu", "y"],
            "arguments: --outptu y (did you mean --output?)",
        ),
        (["status", "--zzz"], "automation status: unrecognized arguments: --zzz\n"),
        (["--bogus"], "automation: unrecognized option before the command: --bogus\n"),
        (
            ["-c", "my.yaml", "status"],
            "automation: unrecognized option before the command: -c (did you mean --config?)",
        ),
        (
            ["--log-format", "json", "--confg=my.yaml", "status"],
            "automation: unrecognized option before the command: --confg (did you mean --config?)",
        ),
    ],
)
def test_an_unknown_option_is_named_by_its_command_with_the_nearest_one(
    capsys: pytest.CaptureFixture[str], argv: list[str], said: str
) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert said in err and "Traceback" not in err
    command = argv[0] if not argv[0].startswith("-") else ""
    assert f"usage: automation {command}".rstrip() in err


def test_every_option_says_in_help_what_it_does() -> None:
    """'automation top --help' listed '--metric METRIC' and '-n N' and nothing more."""
    from automation.cli.main import build_parsers

    _, commands = build_parsers()
    silent = [
        f"{name} {'/'.join(action.option_strings)}"
        for name, parser in sorted(commands.items())
        for action in parser._actions
        if action.option_strings and not action.help
    ]
    assert silent == []


@pytest.mark.parametrize("args", [["check"], ["run", "--once"]])
def test_a_remote_plain_http_api_base_is_a_config_error(
    project: Project, cli: Cli, args: list[str]
) -> None:
    """Reference §1.1: "It is HTTPS only." ``check`` and ``run`` both refuse a remote
    http:// base as they refuse any config error: exit 2, what to write, no traceback."""
    doc = yaml.safe_load(project.config.read_text())
    doc["engagement_api"]["base_url"] = "http://data-api.x.com"
    project.config.write_text(yaml.safe_dump(doc))
    result = cli(*args)
    assert_clean_failure(result, 2)
    assert "engagement_api.base_url" in result.err
    assert "write https://data-api.x.com instead" in result.err
    assert not project.database.exists()

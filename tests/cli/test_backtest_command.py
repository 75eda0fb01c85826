"""``automation backtest`` through the real command line against the sandbox.

The sandbox stands still at a fixed time and its world has four months of posts with
hourly history; the command's clock is the sandbox's, so every period is the same run to
run.
"""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest
from cli_helpers import BRAND_ID, Cli, assert_no_traceback, database_dump
from sandbox_api import SandboxTarget

from automation.backtest import job
from automation.core.records import ActionRecord, CycleWrite, FiringRecord
from automation.sandbox import write_config
from automation.store.sqlite import SqliteStore

RULES = """\
version: 1
rules:
  - id: popular
    watch: {accounts: [brand, support]}
    when: likes >= 40
    actions: [{repost: {as: support}}]
  - id: quick-burst
    watch: {accounts: [brand], max_age: 2d}
    when: likes over 1h >= 5
    fire: {rearm: true, cooldown: 6h}
    actions: [{log: {message: "{post.id} took off"}}]
"""
LEDGER = ("firings", "outbox", "attempts", "rule_states", "rule_versions", "posts", "meta")


pytestmark = pytest.mark.usefixtures("in_own_directory")


@pytest.fixture
def target(target: SandboxTarget, monkeypatch: pytest.MonkeyPatch) -> SandboxTarget:
    """The standing sandbox, its clock the command's now."""
    monkeypatch.setattr("automation.cli.backtest.now", target.sandbox.clock.now)
    return target


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], tmp_path: Path, target: SandboxTarget) -> Cli:
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "rules.yaml").write_text(RULES)
    config = write_config(
        tmp_path / "automation.yaml",
        target.base_url,
        requests_per_minute=6000,
        poll_interval="5m",
        database="s.db",
        rules=["rules/"],
    )
    return Cli(capsys, config)


def historical(target: SandboxTarget) -> list[object]:
    return [r for r in target.received if r.path.endswith("/historical")]


def test_a_backtest_fetches_once_and_a_second_one_sends_nothing(
    cli: Cli, target: SandboxTarget, tmp_path: Path
) -> None:
    first = cli("backtest", "--since", "7d", "--json", "--yes")
    assert first.code == 0, first.err
    *events, summary = first.json_lines()
    assert summary["event"] == "summary"
    planned = summary["requests"]["planned"]
    assert planned == len(historical(target)) > 0
    assert {e["event"] for e in events} <= {"would_fire", "would_seed"}
    # spec section 11: "would_fire / would_seed (rule, post, key, at, metrics)"
    assert all({"rule", "post", "key", "at", "metrics"} <= set(e) for e in events)
    fired = [e for e in events if e["event"] == "would_fire"]
    assert fired and all(e["at"].endswith("Z") and e["metrics"] for e in fired)
    rules = {r["rule"]: r for r in summary["rules"]}
    assert rules["popular"]["would_fire"] == sum(e["rule"] == "popular" for e in fired)
    assert sum(rules["popular"]["per_day"].values()) == rules["popular"]["would_fire"]
    assert summary["poll_interval"] == 300  # the config's poll_interval: 5m
    with SqliteStore.open(tmp_path / "s.db") as store:  # the budget a running engine shares
        assert len(store.budget_load("engagement", 0)) == planned

    again = cli("backtest", "--since", "7d", "--json", "--yes")
    assert again.code == 0, again.err
    assert len(historical(target)) == planned  # not one more request
    assert "no /historical request" in again.err
    assert again.json_lines()[:-1] == events


def test_a_backtest_leaves_the_ledger_and_outbox_as_they_were(
    cli: Cli, target: SandboxTarget, tmp_path: Path
) -> None:
    with SqliteStore.open(tmp_path / "s.db") as store:
        now = target.sandbox.clock.now()
        store.commit_cycle(
            CycleWrite(
                at=now - timedelta(days=2),
                firings=(
                    FiringRecord(
                        "f1",
                        "popular",
                        "123",
                        "once",
                        "fired",
                        now - timedelta(days=2),
                        actions=(ActionRecord(0, "repost", '{"as": "support"}'),),
                    ),
                ),
                rule_versions=(("popular", "old-fingerprint"),),
            )
        )
        store.set_meta("last_cycle", '{"posts": 1}')
    before = ledger_rows(tmp_path / "s.db")
    result = cli("backtest", "--since", "3d", "--yes")
    assert result.code == 0, result.err
    assert ledger_rows(tmp_path / "s.db") == before
    writes = [r for r in target.received if r.method != "GET" and "/insights/" not in r.path]
    assert writes == []  # nothing performed: no repost, like or reply reached X
    assert "the live engine fired 1" in result.out


def ledger_rows(path: Path) -> list[str]:
    return [
        line
        for line in database_dump(path)
        if line.startswith(tuple(f'INSERT INTO "{t}"' for t in LEDGER))
    ]


def test_the_table_shows_each_rule_beside_the_live_engine(cli: Cli) -> None:
    result = cli("backtest", "popular", "--from", "2026-11-13", "--to", "2026-11-19")
    assert result.code == 0, result.err
    assert result.out.startswith("backtest 2026-11-13 00:00 .. 2026-11-20 00:00 UTC (7 days)")
    assert "popular: would fire" in result.out and "quick-burst" not in result.out
    assert "per day  Nov 13 " in result.out
    assert "the live engine fired 0" in result.out


class Terminal:
    """A terminal whose user types ``answers``, one a line."""

    def __init__(self, *answers: str) -> None:
        self.answers = list(answers)

    def isatty(self) -> bool:
        return True

    def readline(self) -> str:
        return self.answers.pop(0) + "\n"


def test_a_large_plan_is_asked_about_on_a_terminal(
    cli: Cli, target: SandboxTarget, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdin", Terminal("n"))
    target.add_posts(BRAND_ID, 600, age=timedelta(days=3))  # 24 requests of 25 posts
    result = cli("backtest", "--since", "2d")
    assert result.code == 1
    assert "/historical requests for" in result.err and "nothing fetched" in result.err
    assert historical(target) == []

    monkeypatch.setattr("sys.stdin", Terminal("y"))
    accepted = cli("backtest", "--since", "2d", "--json")
    assert accepted.code == 0, accepted.err
    planned = accepted.json_lines()[-1]["requests"]["planned"]
    assert planned > 20 and len(historical(target)) == planned


@pytest.mark.parametrize(("posts", "asks"), [(440, False), (455, True)])
def test_a_terminal_is_asked_above_20_requests_and_not_at_20(
    cli: Cli, target: SandboxTarget, monkeypatch: pytest.MonkeyPatch, posts: int, asks: bool
) -> None:
    monkeypatch.setattr("sys.stdin", Terminal("n"))
    target.add_posts(BRAND_ID, posts, age=timedelta(days=3))  # 20, 21 requests
    result = cli("backtest", "--since", "2d", "--json")
    assert ("fetch that history now?" in result.err) is asks
    assert result.code == (1 if asks else 0), result.err
    assert len(historical(target)) == (0 if asks else 20)


def test_yes_fetches_a_large_plan_without_asking(
    cli: Cli, target: SandboxTarget, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdin", Terminal())  # reading an answer would fail
    target.add_posts(BRAND_ID, 600, age=timedelta(days=3))
    result = cli("backtest", "--since", "2d", "--yes", "--json")
    assert result.code == 0, result.err
    assert "fetch that history now?" not in result.out + result.err
    assert result.json_lines()[-1]["requests"]["sent"] == len(historical(target)) > 20


def test_ctrl_c_keeps_the_history_fetched_so_far(
    cli: Cli, target: SandboxTarget, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = job.fetch_history

    def interrupted(plan, client, store, *, progress=None, should_stop=lambda: False):
        def after_two(done: int, planned: int) -> None:
            if done == 2:
                raise KeyboardInterrupt

        return real(plan, client, store, progress=after_two, should_stop=should_stop)

    target.add_posts(BRAND_ID, 100, age=timedelta(days=3))
    monkeypatch.setattr(job, "fetch_history", interrupted)
    stopped = cli("backtest", "--since", "2d", "--yes")
    assert stopped.code == 130
    assert "interrupted; the history fetched so far is kept" in stopped.err
    assert_no_traceback(stopped.out, stopped.err)
    assert len(historical(target)) == 2
    monkeypatch.setattr(job, "fetch_history", real)
    rest = cli("backtest", "--since", "2d", "--yes", "--json")
    assert rest.code == 0, rest.err
    assert rest.json_lines()[-1]["requests"]["planned"] == len(historical(target)) - 2 > 0


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["nope"], 2, "no rule 'nope' in the rules loaded (they are: popular, quick-burst)"),
        (["--since", "a while"], 2, "--since 'a while': expected a duration"),
        (["--since", "2d", "--from", "2026-11-01"], 2, "either --since or --from/--to"),
        (["--rules", "missing.yaml"], 1, "missing.yaml:1:1: error: no such file or directory"),
        (
            ["--rules", "rules/rules.yaml", "rules/more.yaml"],
            2,
            "'rules/more.yaml' is not a rule ID: give each rule file its own --rules"
            " (--rules rules/rules.yaml --rules rules/more.yaml)",
        ),
    ],
)
def test_mistakes_are_told_without_a_traceback(
    cli: Cli, args: list[str], code: int, message: str
) -> None:
    result = cli("backtest", *args)
    assert result.code == code, result.err
    assert message in result.err
    assert_no_traceback(result.out, result.err)


def test_rule_files_not_deployed_yet_can_be_backtested(cli: Cli, tmp_path: Path) -> None:
    draft = tmp_path / "draft.yaml"
    draft.write_text(RULES.replace("popular", "draft-rule").replace("40", "400"))
    result = cli("backtest", "--rules", str(draft), "--since", "2d", "--json", "--yes")
    assert result.code == 0, result.err
    names = [r["rule"] for r in result.json_lines()[-1]["rules"]]
    assert names == ["draft-rule", "quick-burst"]
    connection = sqlite3.connect(tmp_path / "s.db")
    try:
        assert connection.execute("SELECT count(*) FROM rule_versions").fetchone() == (0,)
    finally:
        connection.close()


def test_a_post_named_by_id_is_replayed_however_old_unless_the_rule_sets_max_age(
    cli: Cli, target: SandboxTarget, tmp_path: Path
) -> None:
    now = target.sandbox.clock.now()
    old = target.world.add_post(
        BRAND_ID, created_at=now - timedelta(days=30), finals={"favorites": 500}
    ).id
    draft = tmp_path / "named.yaml"
    draft.write_text(
        "version: 1\nrules:\n"
        + "".join(
            f"  - id: {name}\n"
            f'    watch: {{posts: ["{old}"], owner: brand{max_age}}}\n'
            "    when: likes >= 10\n"
            "    actions: [{log: {message: x}}]\n"
            for name, max_age in (("named", ""), ("named-7d", ", max_age: 7d"))
        )
    )
    result = cli("backtest", "--rules", str(draft), "--since", "2d", "--json", "--yes")
    assert result.code == 0, result.err
    rules = {r["rule"]: r for r in result.json_lines()[-1]["rules"]}
    # spec section 5: named posts age out only if max_age is set; section 11: the backtest
    # replays the posts each rule would have watched, among them the posts named by ID
    assert (rules["named"]["posts"], rules["named"]["would_seed"]) == (1, 1)
    assert (rules["named-7d"]["posts"], rules["named-7d"]["would_seed"]) == (0, 0)

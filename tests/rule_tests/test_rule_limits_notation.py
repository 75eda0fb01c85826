"""Caps and quiet hours in ``automation test`` notation, played through the real engine with
a frozen clock: capped firings, actions held until quiet hours end (in local time), a
webhook that opts out, and a restart in the middle of quiet hours that loses nothing and
performs nothing twice."""

from __future__ import annotations

from pathlib import Path

from automation.rule_tests import load_test_file, run_test
from automation.rule_tests.report import judge

RULES = """\
version: 1
rules:
  - id: capped
    watch: {accounts: [brand]}
    when: likes >= 100
    limit: {max: 2, per: 1h}
    actions:
      - log: {message: "{post.id} passed 100"}
  - id: night-log
    watch: {accounts: [support]}
    when: likes >= 100
    quiet: {from: "22:00", to: "07:00", tz: Europe/Berlin}
    actions:
      - log: {message: "{post.id} in the morning"}
  - id: night-hook
    watch: {accounts: [support]}
    when: likes >= 100
    quiet: {from: "22:00", to: "07:00", tz: Europe/Berlin}
    actions:
      - webhook: {url: "https://oncall.example.com/page", quiet: false}
"""


def play(tmp_path: Path, tests: str) -> tuple[list, list[str], object]:
    (tmp_path / "rules.yaml").write_text(RULES)
    path = tmp_path / "t.test.yaml"
    path.write_text("version: 1\nrules: [rules.yaml]\ntests:\n" + tests)
    (test,) = load_test_file(path).tests
    run = run_test(test)
    outcome = judge(run)
    return list(run.firings), list(outcome.findings), run


CAPS = """\
  - name: a rule acts on at most two firings an hour; the third is capped
    posts:
      - {id: "1001", account: brand, created: 1m, likes: _ 120}
      - {id: "1002", account: brand, created: 6m, likes: _ _ 130}
      - {id: "1003", account: brand, created: 11m, likes: _ _ _ 140}
      - {id: "1004", account: brand, created: 12m, likes: _ _ _ 50x10 150}
    expect:
      - {fired: capped, post: "1001", at: 5m}
      - {fired: capped, post: "1002", at: 10m}
      - {capped: capped, post: "1003", at: 15m}
      - {fired: capped, post: "1004", at: 65m}    # the firing at +5m has left the hour
"""


def test_firings_over_the_limit_are_capped_and_perform_nothing(tmp_path: Path) -> None:
    firings, findings, run = play(tmp_path, CAPS)
    assert findings == []
    capped = [f for f in firings if f.kind == "capped"]
    assert [(f.post, f.actions) for f in capped] == [("1003", ())]
    logged = [p.detail["message"] for p in run.performed if p.kind == "log"]
    assert logged == ["1001 passed 100", "1002 passed 100", "1004 passed 100"]


def test_a_capped_firing_listed_as_fired_fails_and_says_why(tmp_path: Path) -> None:
    tests = CAPS.replace('{capped: capped, post: "1003"', '{fired: capped, post: "1003"')
    _, findings, _ = play(tmp_path, tests)
    assert len(findings) == 2
    assert "it was capped at poll 4 (+15m)" in findings[0]
    assert findings[1].startswith("unexpected: capped capped for post 1003 at poll 4 (+15m)")


QUIET = """\
  - name: a firing at night acts in the morning, across a restart
    start: 2026-01-05T21:00:00Z          # 22:00 in Berlin: quiet hours begin
    posts:
      - {id: "2001", account: support, created: 1m, likes: _ 120x4}
    steps:
      - {after_poll: 2, restart: true}
      - {after_poll: 3, advance: 525m}   # poll 4 at 06:55 Berlin, poll 5 at 07:00
    expect:
      - {fired: night-log, post: "2001", at: 5m, performed_at: 9h}
      - {fired: night-hook, post: "2001", at: 5m, performed_at: 5m}   # quiet: false
"""


def test_actions_wait_for_quiet_hours_to_end_and_are_performed_once(tmp_path: Path) -> None:
    _, findings, run = play(tmp_path, QUIET)
    assert findings == []
    logs = [p for p in run.performed if p.kind == "log"]
    hooks = [p for p in run.performed if p.kind == "webhook"]
    assert len(logs) == 1 and len(hooks) == 1  # nothing lost, nothing twice


def test_performed_at_says_when_an_action_was_really_performed(tmp_path: Path) -> None:
    tests = QUIET.replace("performed_at: 9h", "performed_at: 10m")
    _, findings, _ = play(tmp_path, tests)
    assert findings == [
        "night-log for post 2001 at poll 2 (+5m): expected its actions to be performed by "
        f"poll 3 (+10m) ({tmp_path / 't.test.yaml'}:12:10); the last was performed at poll 5 "
        "(+9h)"
    ]


def test_an_action_still_held_when_the_test_ends_is_named(tmp_path: Path) -> None:
    tests = QUIET.replace("likes: _ 120x4", "likes: _ 120x3").replace(
        "performed_at: 9h", "performed_at: 10m"
    )
    _, findings, _ = play(tmp_path, tests)
    assert len(findings) == 1
    assert findings[0].endswith(
        "action 1 (log) was still waiting in the outbox when the test ended"
    )


DIGEST_RULES = """\
version: 1
rules:
  - id: roundup
    description: Every post past 100 likes, a quarter of an hour at a time
    watch: {accounts: [brand]}
    when: likes >= 100
    actions:
      - webhook: {url: "https://chat.example.com/hooks/{rule.id}", digest: 15m}
      - log: {message: "{post.id}"}
"""

DIGEST = """\
  - name: a digest sends one request per window, listing its firings, across a restart
    posts:
      - {id: "3001", account: brand, created: 1m, likes: _ 120}
      - {id: "3002", account: brand, created: 6m, likes: _ _ 130}
      - {id: "3003", account: brand, created: 16m, likes: _ _ _ _ 140 140x3}
    steps:
      - {after_poll: 2, restart: true}      # in the middle of the first window
    expect:
      - {fired: roundup, post: "3001", at: 5m, performed_at: 15m}
      - {fired: roundup, post: "3002", at: 10m, performed_at: 15m}
      - {fired: roundup, post: "3003", at: 20m, performed_at: 30m}
"""


def test_a_digest_sends_one_request_per_window_and_nothing_twice(tmp_path: Path) -> None:
    (tmp_path / "rules.yaml").write_text(DIGEST_RULES)
    path = tmp_path / "t.test.yaml"
    path.write_text("version: 1\nrules: [rules.yaml]\ntests:\n" + DIGEST)
    (test,) = load_test_file(path).tests
    run = run_test(test)
    assert judge(run).findings == ()
    hooks = [p.detail for p in run.performed if p.kind == "webhook"]
    assert [h["key"] for h in hooks] == [
        "digest.roundup.0.20260105T120000Z",
        "digest.roundup.0.20260105T121500Z",
    ]
    first = hooks[0]["body"]
    assert first["event"] == "rule.digest" and first["count"] == 2
    assert first["rule"] == {
        "id": "roundup",
        "description": "Every post past 100 likes, a quarter of an hour at a time",
    }
    assert first["window"] == {"from": "2026-01-05T12:00:00Z", "to": "2026-01-05T12:15:00Z"}
    assert [f["post"]["id"] for f in first["firings"]] == ["3001", "3002"]
    assert first["firings"][0]["event"] == "rule.fired"
    assert hooks[0]["url"] == "https://chat.example.com/hooks/roundup"
    assert [f["post"]["id"] for f in hooks[1]["body"]["firings"]] == ["3003"]
    logs = [p.detail["message"] for p in run.performed if p.kind == "log"]
    assert logs == ["3001", "3002", "3003"]  # the rule's other actions are not batched

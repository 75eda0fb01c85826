"""A cap (``limit: {max: N, per: 1d}``) over midnight and over a restart, played through the
real engine with a frozen clock: the window slides (a firing counts for 24 hours from when
it was recorded), so neither midnight in UTC nor midnight in a quiet-hours zone gives a
rule a fresh allowance, and a restart counts what was recorded before it."""

from __future__ import annotations

from pathlib import Path

from automation.rule_tests import load_test_file, run_test
from automation.rule_tests.report import judge
from automation.rule_tests.runner import Run

RULES = """\
version: 1
rules:
  - id: twice-a-day
    watch: {accounts: [brand]}
    when: likes >= 100
    limit: {max: 2, per: 1d}
    actions:
      - log: {message: "{post.id}"}
  - id: once-a-day-by-day
    watch: {accounts: [support]}
    when: likes >= 100
    limit: {max: 1, per: 1d}
    quiet: {from: "22:00", to: "07:00", tz: Europe/Berlin}
    actions:
      - log: {message: "{post.id}"}
"""


def play(tmp_path: Path, tests: str) -> Run:
    (tmp_path / "rules.yaml").write_text(RULES)
    path = tmp_path / "t.test.yaml"
    path.write_text("version: 1\nrules: [rules.yaml]\ntests:\n" + tests)
    (test,) = load_test_file(path).tests
    return run_test(test)


# polls every 5 minutes from 23:40 UTC: poll 2 at 23:45, poll 6 at 00:05 the next day;
# poll 7 comes 23 h 41 min after poll 6 (23:46, a minute past a day after poll 2), poll 8
# five minutes later (23:51, a minute past a day after poll 3)
UTC_MIDNIGHT = """\
  - name: midnight in UTC does not renew the cap, a restart does not forget it
    start: 2026-01-05T23:40:00Z
    posts:
      - {id: "1001", account: brand, created: 1m, likes: _ 120}
      - {id: "1002", account: brand, created: 6m, likes: _ _ 130}
      - {id: "1003", account: brand, created: 21m, likes: _x5 140}
      - {id: "1004", account: brand, created: 26m, likes: _x6 150}
      - {id: "1005", account: brand, created: 27m, likes: _x7 160}
      - {id: "1006", account: brand, created: 28m, likes: _x7 170}
    steps:
      - {after_poll: 3, restart: true}
      - {after_poll: 6, advance: 1421m}
    expect:
      - {fired: twice-a-day, post: "1001", at: 5m}
      - {fired: twice-a-day, post: "1002", at: 10m}
      - {capped: twice-a-day, post: "1003", at: 25m}    # 00:05: both still count
      - {fired: twice-a-day, post: "1004", at: 1446m}   # 1001 has left the day
      - {fired: twice-a-day, post: "1005", at: 1451m}   # 1002 has left the day
      - {capped: twice-a-day, post: "1006", at: 1451m}  # 1004 and 1005 count
"""


def test_a_cap_slides_over_midnight_in_utc_and_counts_across_a_restart(
    tmp_path: Path,
) -> None:
    run = play(tmp_path, UTC_MIDNIGHT)
    assert judge(run).findings == ()
    logged = [p.detail["message"] for p in run.performed if p.kind == "log"]
    assert logged == ["1001", "1002", "1004", "1005"]
    assert [(f.post, f.kind) for f in run.firings if f.kind == "capped"] == [
        ("1003", "capped"),
        ("1006", "capped"),
    ]


# 22:50 UTC is 23:50 in Berlin (quiet hours); 23:05 UTC is 00:05, a new day there; the
# quiet hours end at 07:00 Berlin, 06:00 UTC: poll 5 comes 6 h 55 min after poll 4
BERLIN_MIDNIGHT = """\
  - name: midnight in the quiet hours' zone does not renew the cap either
    start: 2026-01-05T22:50:00Z
    posts:
      - {id: "2001", account: support, created: 1m, likes: _ 120x4}
      - {id: "2002", account: support, created: 11m, likes: _ _ _ 130 130}
    steps:
      - {after_poll: 2, restart: true}
      - {after_poll: 4, advance: 415m}
    expect:
      - {fired: once-a-day-by-day, post: "2001", at: 5m, performed_at: 430m}
      - {capped: once-a-day-by-day, post: "2002", at: 15m}
"""


def test_a_cap_slides_over_midnight_in_the_quiet_hours_zone_across_a_restart(
    tmp_path: Path,
) -> None:
    run = play(tmp_path, BERLIN_MIDNIGHT)
    assert judge(run).findings == ()
    logged = [p.detail["message"] for p in run.performed if p.kind == "log"]
    assert logged == ["2001"]  # performed once, when the quiet hours ended

"""``automation test``: test files load with exact error positions, tests play through the
real engine, and failures read as a diff of expected and actual firings."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from cli_helpers import assert_no_traceback

from automation.cli.main import main
from automation.core.errors import RuleError
from automation.rule_tests import load_test_file, run_test
from automation.rule_tests.report import judge

REPO = Path(__file__).resolve().parents[2]

RULES = """\
version: 1
rules:
  - id: at-100
    description: Repost at 100 likes
    watch: {accounts: [brand]}
    when: likes >= 100
    actions:
      - repost: {as: support}
      - webhook:
          url: https://chat.example.com/hooks/T1
          secret: team-chat
          body: {text: "{post.url} reached {metrics.likes} likes", rule: "{rule.id}"}
  - id: thousands
    watch: {accounts: [brand]}
    fire: {every: 1000, metric: likes}
    actions:
      - log: {message: "{post.id} passed {milestone}"}
"""


def write(tmp_path: Path, tests: str, rules: str = RULES) -> Path:
    (tmp_path / "rules.yaml").write_text(rules)
    path = tmp_path / "t.test.yaml"
    path.write_text("version: 1\nrules: [rules.yaml]\ntests:\n" + tests)
    return path


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["test", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def problems(path: Path) -> list[str]:
    with pytest.raises(RuleError) as info:
        load_test_file(path)
    return [str(p) for p in info.value.problems]


# --- the starter file and the command line ---------------------------------------------------


def test_the_starter_rule_tests_pass_through_the_command_line(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(REPO)
    code, out, err = cli(capsys, "rule-tests/starter.test.yaml")
    assert code == 0, out + err
    lines = out.splitlines()
    assert len([line for line in lines if line.startswith("PASS ")]) == 7
    assert not [line for line in lines if line.startswith("FAIL ")]
    assert lines[-1].startswith("7 passed, 0 failed (7 tests in 1 file")


def test_without_files_the_rule_tests_folder_next_to_the_config_is_used(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path, "  - name: quiet\n    posts: [{id: '1', likes: 5}]\n")
    (tmp_path / "rule-tests").mkdir()
    test_file = (tmp_path / "t.test.yaml").read_text().replace("rules.yaml", "../rules.yaml")
    (tmp_path / "rule-tests" / "quiet.yaml").write_text(test_file)
    monkeypatch.delenv("AUTOMATION_CONFIG", raising=False)
    code, out, _ = cli(capsys, "--config", str(tmp_path / "automation.yaml"))
    assert (code, out.splitlines()[0]) == (0, "PASS quiet")
    monkeypatch.chdir(tmp_path / "rule-tests")
    code, _, err = cli(capsys)
    assert code == 2
    assert "no rule test files (*.yaml) in rule-tests" in err


# --- loading errors, at their exact places ------------------------------------------------------


ONE = "  - name: a\n    posts: [{id: '1', likes: 5x3}]\n"
BROKEN = "  - name: a\n    posts: [{id: '1', likes: 80+5 90}]\n"
BROKEN_BESIDE = "  - name: a\n    posts: [{id: '1', likes: 80+5 90, reposts: 1}]\n"
STEP = "a step needs a count: '80+5x6' is 80 then 6 steps of +5"


@pytest.mark.parametrize(
    ("tests", "marker", "message"),
    [
        (
            "  - name: a\n    posts: [{id: '1', lieks: 5}]\n",
            "lieks",
            "unknown key 'lieks' in post (did you mean 'likes'?)",
        ),
        (
            "  - name: a\n    posts: [{id: '1', likes: 80+5 90}]\n",
            " 90}",
            "a step needs a count: '80+5x6' is 80 then 6 steps of +5",
        ),
        (
            "  - name: a\n    posts: [{id: '1', likes: '80 85_'}]\n",
            "_'}",
            "unexpected '_': separate values with spaces",
        ),
        ("  - name: a\n    posts: [{id: 1, likes: 5}]\n", "1, likes", 'quote post IDs: write "1"'),
        (
            ONE + "    expect:\n      - {fired: at-10, post: '1'}\n",
            "at-10,",
            "rule 'at-10' is not in the rules under test (did you mean 'at-100'?)",
        ),
        (
            ONE + "    expect:\n      - {fired: at-100, post: '2'}\n",
            "'2'",
            "post '2' is not in this test (1)",
        ),
        (
            ONE + "    expect:\n      - {fired: at-100, post: '1', at: 7m}\n",
            "7m",
            "no poll at +7m: the polls are at +0s, +5m, +10m",
        ),
        (
            ONE + "    expect:\n      - {fired: at-100, poll: 2}\n",
            "{fired",
            "missing 'post' in expectation (which post fired)",
        ),
        (
            ONE + "    expect:\n      - {seeded: at-100, post: '1', actions: []}\n",
            "actions",
            "only a firing has actions",
        ),
        (
            ONE + "    steps:\n      - {after_poll: 4, restart: true}\n",
            "4,",
            "the test runs only 3 polls (after_poll 4)",
        ),
        (
            ONE
            + "    steps:\n      - {after_poll: 1, edit: {rule: at-100, when: 'likes >== 5'}}\n",
            "{rule",
            "this edit makes rule 'at-100' invalid: ",
        ),
        (
            ONE + "    steps:\n      - {after_poll: 1, edit: {rule: at100, when: 'likes > 5'}}\n",
            "at100",
            "rule 'at100' is not in the rules under test (did you mean 'at-100'?)",
        ),
        (
            ONE + "    steps:\n      - {after_poll: 1, restart: true, advance: 1h}\n",
            "{after",
            "a step does one thing: restart: true, advance: DURATION, or edit:",
        ),
        (
            "  - name: a\n    posts: [{id: '1', account: brnad, likes: 5}]\n",
            "brnad",
            "account 'brnad' is not in the rules under test (did you mean 'brand'?)",
        ),
        (
            "  - name: a\n    posts: [{id: '1', account: brand, created: 7m, likes: 1 2 3}]\n",
            "1 2 3",
            "poll 1 comes before this post is created (+7m): write _ for the polls before it",
        ),
        (ONE + "    colour: red\n", "colour", "unknown key 'colour' in test (known: name, "),
        ("  - name: a\n    posts: []\n", "name", "no polls: give a post metric values"),
        (
            ONE + "  - name: a\n    posts: [{id: '1'}]\n",
            "a\n    posts: [{id: '1'}]",
            "duplicate test name (first used at line 4)",
        ),
        (
            "  - name: a\n    poll_interval: 0s\n" + ONE[12:],
            "0s",
            "'poll_interval' must be longer than 0s",
        ),
        (
            "  - name: a\n    start: 2026-01-05T12:00\n" + ONE[12:],
            "2026",
            "expected a UTC time such as 2026-01-05T12:00:00Z, got '2026-01-05T12:00'",
        ),
        (
            "  - name: a\n    posts: [{id: '1', engagement_rate: 5}]\n",
            "engagement_rate",
            "engagement_rate is computed (engagements / impressions)",
        ),
        (
            "  - name: a\n    posts: [{id: '1', likes: 5, favorites: 6}]\n",
            "favorites",
            "'favorites' and 'likes' are the same metric: keep one",
        ),
        ("  - name: a\n    polls: 2\n" + ONE[12:], "2\n", "a post has values for 3 polls"),
        # a broken series leaves the poll count unknown: its error alone, no follow-on
        (BROKEN + "    expect:\n      - {fired: at-100, post: '1', poll: 3}\n", " 90", STEP),
        (BROKEN_BESIDE + "    expect:\n      - {fired: at-100, post: '1', poll: 3}\n", " 90", STEP),
        (BROKEN_BESIDE + "    expect:\n      - {fired: at-100, post: '1', at: 10m}\n", " 90", STEP),
        (BROKEN_BESIDE + "    steps:\n      - {after_poll: 2, restart: true}\n", " 90", STEP),
    ],
)
def test_mistakes_in_a_test_file_are_reported_at_their_line_and_column(
    tmp_path: Path, tests: str, marker: str, message: str
) -> None:
    path = write(tmp_path, tests)
    text = path.read_text()
    before = text[: text.index(marker)]
    line, column = before.count("\n") + 1, len(before) - before.rfind("\n")
    found = problems(path)
    assert len(found) == 1, found
    assert found[0].startswith(f"{path}:{line}:{column}: error: {message}"), found


def test_a_missing_rule_file_and_broken_rule_files_are_reported(tmp_path: Path) -> None:
    path = tmp_path / "t.yaml"
    path.write_text("version: 1\nrules: [nope.yaml]\ntests: []\n")
    assert problems(path) == [
        f"{path}:2:9: error: no such file or directory: {tmp_path / 'nope.yaml'} "
        "(rule paths are relative to this test file)"
    ]
    write(
        tmp_path, "  - name: a\n    posts: [{id: '1', likes: 5}]\n", rules=RULES + "    when: x\n"
    )
    found = problems(tmp_path / "t.test.yaml")
    assert found[0].startswith(f"{tmp_path / 'rules.yaml'}:")
    assert found[-1].endswith("the rule files under test have errors (listed above)")


def test_an_invalid_file_exits_2_with_its_problems_on_stderr_and_others_still_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = write(tmp_path, "  - name: fine\n    posts: [{id: '1', likes: 5}]\n")
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "version: 1\nrules: [rules.yaml]\ntests:\n  - name: x\n    posts: [{id: '1', likes: 5+}]\n"
    )
    code, out, err = cli(capsys, str(bad), str(good))
    assert code == 2
    assert err.splitlines() == [
        f"{bad}:5:32: error: expected the step after '+', e.g. '5+5x6' is 5 then 6 steps of +5"
    ]
    assert "PASS fine" in out
    assert "1 passed, 0 failed, 1 invalid file (1 test in 2 files" in out


@pytest.mark.parametrize(
    "text",
    [
        "",
        "- - -\n",
        "version: 1\nrules: [rules.yaml]\ntests: 5\n",
        "version: 2\nrules: rules.yaml\ntests: [{name: [1]}]\n",
        "version: 1\nrules: [rules.yaml]\ntests: [{name: a, posts: [{id: '1', likes: {a: 1}}]}]\n",
        "version: 1\nrules: [rules.yaml]\n"
        "tests: [{name: a, posts: [5], steps: [{}], expect: [7]}]\n",
        "version: 1\nrules: [rules.yaml]\ntests: [{name: a, posts: [{id: '1'}], "
        "expect: [{fired: at-100, not_fired: at-100}, {}, {seeded: at-100, actions: []}]}]\n",
        "version: 1\nrules: [rules.yaml]\nstart: yesterday\n"
        "tests: [{name: a, posts: [{id: '1'}]}]\n",
        "version: 1\nrules: [rules.yaml]\ntests: [{name: a, posts: [{id: '1', likes: 1}],"
        " steps: [{after_poll: 1, edit: {rule: at-100}}, {after_poll: 1, restart: false}]}]\n",
        "\x00\x01",
        "tests: &a [*a]\n",
    ],
)
def test_garbage_never_crashes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str
) -> None:
    write(tmp_path, "")
    path = tmp_path / "garbage.yaml"
    path.write_text(text)
    code, out, err = cli(capsys, str(path))
    assert code == 2
    assert_no_traceback(out, err)
    assert err.startswith(f"{path}:")


# --- playing tests -----------------------------------------------------------------------------

PASSING = """\
  - name: reposts once at 100 likes, with the rendered payloads
    posts:
      - {id: "11", account: brand, created: -1h, likes: 80+10x3 _ 130}
    expect:
      - fired: at-100
        post: "11"
        poll: 3
        actions:
          - repost: {as: support}
          - webhook:
              url: https://chat.example.com/hooks/T1
              body: {text: "https://x.com/i/status/11 reached 100 likes"}
              secret: team-chat
      - {not_fired: thousands}
  - name: a post past 100 likes at the first poll is seeded
    posts:
      - {id: "12", account: brand, created: -1h, likes: 150x3}
    expect:
      - {seeded: at-100, post: "12", poll: 1}
      - {not_fired: at-100, post: "12"}
"""


def test_a_passing_file_prints_pass_lines_and_a_summary(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, PASSING)
    code, out, err = cli(capsys, str(path))
    assert (code, err) == (0, "")
    assert out.splitlines()[:2] == [
        "PASS reposts once at 100 likes, with the rendered payloads",
        "PASS a post past 100 likes at the first poll is seeded",
    ]
    assert out.splitlines()[2].startswith("2 passed, 0 failed (2 tests in 1 file, ")


FAILING = """\
  - name: wrong poll and wrong text
    posts:
      - {id: "11", account: brand, created: -1h, likes: 80+10x3}
    expect:
      - fired: at-100
        post: "11"
        poll: 2
        actions:
          - webhook: {body: {text: "https://x.com/i/status/11 reached 90 likes"}}
"""


def test_a_failing_test_shows_what_differs_and_the_timeline(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, FAILING)
    code, out, _ = cli(capsys, str(path))
    assert code == 1
    late = "poll 3 (+10m) instead"
    assert out == textwrap.dedent(f"""\
        FAIL wrong poll and wrong text
          at {path}:4:5
          - expected at-100 to fire for post 11 at poll 2 (+5m) ({path}:8:9); it did at {late}
          timeline:
            poll  time      values         expected         actual
               1  +0s       11: likes=80   -                -
               2  +5m       11: likes=90   at-100 fires 11  -
               3  +10m      11: likes=100  -                at-100 fired 11
               4  +15m      11: likes=110  -                -
        0 passed, 1 failed (1 test in 1 file, {out.rsplit(", ", 1)[1]}""")


def test_payload_differences_are_shown_field_by_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, FAILING.replace("poll: 2", "poll: 3"))
    code, out, _ = cli(capsys, str(path))
    assert code == 1
    lines = out.splitlines()
    start = lines.index(
        f"  - at-100 for post 11 at poll 3 (+10m), action 2 (webhook) body.text ({path}:12:13):"
    )
    assert lines[start + 1 : start + 4] == [
        '    expected: "https://x.com/i/status/11 reached 90 likes"',
        '    actual:   "https://x.com/i/status/11 reached 100 likes"',
        " " * 49 + "^",
    ]


def test_a_missing_field_and_a_missing_action_are_named(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
  - name: a
    posts: [{id: "11", account: brand, created: -1h, likes: 90 100}]
    expect:
      - fired: at-100
        post: "11"
        actions:
          - webhook: {body: {colour: red}, headers: {X-A: b}}
          - like: {as: support}
""",
    )
    [test] = load_test_file(path).tests
    outcome = judge(run_test(test))
    assert not outcome.passed
    text = "\n".join(outcome.findings)
    assert "body.colour" in text and "(not in the payload)" in text
    assert "headers.X-A" in text
    assert "no like action" in text and "its actions: repost, webhook" in text


def test_a_not_fired_expectation_fails_when_the_rule_fires(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(
        tmp_path,
        """\
  - name: must not fire
    posts: [{id: "11", account: brand, created: -1h, likes: 50 150}]
    expect:
      - {not_fired: at-100, post: "11"}
""",
    )
    code, out, _ = cli(capsys, str(path))
    assert code == 1
    findings = [line for line in out.splitlines() if line.startswith("  - ")]
    assert findings == [
        f"  - expected at-100 not to fire for post 11 ({path}:7:10); it fired for post 11 "
        "at poll 2 (+5m)"
    ]


def test_an_unlisted_firing_fails_the_test(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(
        tmp_path, "  - name: quiet?\n    posts: [{id: '11', account: brand, likes: 5 1500}]\n"
    )
    code, out, _ = cli(capsys, str(path))
    assert code == 1
    assert (
        "  - unexpected: thousands fired for post 11 at poll 2 (+5m) (key every:favorites:1000); "
        "list it under expect: if it is right" in out
    )
    assert "  - unexpected: at-100 fired for post 11 at poll 2 (+5m)" in out


def test_a_missing_firing_explains_seeding(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "  - name: a\n    posts: [{id: '11', account: brand, likes: 150}]\n"
        "    expect: [{fired: at-100, post: '11'}]\n",
    )
    [test] = load_test_file(path).tests
    [finding] = judge(run_test(test)).findings
    assert "it did not (it was seeded at poll 1 (+0s)" in finding
    assert "backfill: true" in finding


def test_backfill_on_the_rule_fires_posts_already_past_the_threshold(tmp_path: Path) -> None:
    rules = RULES.replace(
        "    when: likes >= 100\n", "    when: likes >= 100\n    backfill: true\n"
    )
    path = write(
        tmp_path, "  - name: a\n    posts: [{id: '11', account: brand, likes: 150}]\n", rules
    )
    [test] = load_test_file(path).tests
    assert [(f.kind, f.rule, f.poll) for f in run_test(test).firings] == [("fired", "at-100", 1)]


def test_a_missed_poll_reads_nothing_and_the_rule_fires_at_the_next_one(tmp_path: Path) -> None:
    path = write(
        tmp_path, "  - name: a\n    posts: [{id: '11', account: brand, likes: 90 _ 120}]\n"
    )
    [test] = load_test_file(path).tests
    run = run_test(test)
    assert [(f.kind, f.poll) for f in run.firings] == [("fired", 3)]
    assert run.errors == ()


# --- steps -------------------------------------------------------------------------------------


def test_a_restart_keeps_what_the_engine_recorded(tmp_path: Path) -> None:
    rules = RULES.replace("    when: likes >= 100\n", "    when: likes >= 100\n    for: 10m\n")
    path = write(
        tmp_path,
        """\
  - name: a
    posts: [{id: "11", account: brand, created: -1h, likes: 50 100x5}]
    steps:
      - {after_poll: 3, restart: true}
      - {after_poll: 4, restart: true}
    expect:
      - {fired: at-100, post: "11", poll: 4}
""",
        rules,
    )
    [test] = load_test_file(path).tests
    run = run_test(test)
    # the `for` period that began at poll 2 survives the restart; the firing happens once
    assert [(f.kind, f.rule, f.poll) for f in run.firings] == [("fired", "at-100", 4)]
    assert [p.kind for p in run.performed] == ["repost", "webhook"]


def test_editing_a_rule_reseeds_it_and_later_crossings_fire(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
  - name: lowering the threshold
    posts:
      - {id: "11", account: brand, created: -1h, likes: 70x4}
      - {id: "12", account: brand, created: -1h, likes: 40 45 45 60}
    steps:
      - after_poll: 2
        edit: {rule: at-100, when: "likes >= 50"}
    expect:
      - {seeded: at-100, post: "11", poll: 3}
      - {fired: at-100, post: "12", poll: 4}
""",
    )
    [test] = load_test_file(path).tests
    assert [s.text for s in test.steps] == ['edit rule at-100 (when: "likes >= 50")']
    run = run_test(test)
    assert [(f.kind, f.post, f.poll) for f in run.firings] == [
        ("seeded", "11", 3),
        ("fired", "12", 4),
    ]
    assert judge(run).passed


def test_editing_only_the_actions_never_refires(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
  - name: a
    posts: [{id: "11", account: brand, created: -1h, likes: 90 150 150}]
    steps:
      - {after_poll: 2, edit: {rule: at-100, actions: [{like: {as: brand}}]}}
""",
    )
    [test] = load_test_file(path).tests
    run = run_test(test)
    assert [(f.kind, f.poll) for f in run.firings] == [("fired", 2)]


EXPONENT_RULES = """\
version: 1
rules:
  - id: big
    watch: {accounts: [brand]}
    when: {all: [{metric: likes, gte: 1e2}, "likes >= 1e1"]}
    actions:
      - log: {message: "{post.id}"}
"""


def test_an_edit_keeps_a_plain_1e5_a_number_and_a_quoted_one_text(tmp_path: Path) -> None:
    """As in a rule file (the rule loader reads a comparison's plain 1e5 as a number, a
    quoted '1e5' is an error), in the edit and in the rule it edits."""
    path = write(
        tmp_path,
        """\
  - name: a plain exponent in the edit is the threshold
    posts: [{id: "11", account: brand, created: -1h, likes: 90 90 90}]
    steps:
      - {after_poll: 1, edit: {rule: big, when: {metric: likes, gte: 5e1}, description: x}}
    expect: [{seeded: big, post: "11", poll: 2}]
  - name: the rule's own plain exponent stays a number through an edit of something else
    posts: [{id: "11", account: brand, created: -1h, likes: 90 120 130}]
    steps: [{after_poll: 1, edit: {rule: big, description: only words}}]
    expect: [{fired: big, post: "11", poll: 2}]
""",
        EXPONENT_RULES,
    )
    plain, other = load_test_file(path).tests
    assert [s.text for s in plain.steps] == [
        'edit rule big (when: {"metric": "likes", "gte": 50.0}, description: "x")'
    ]
    assert judge(run_test(plain)).passed
    assert judge(run_test(other)).passed  # a description edit keeps the fingerprint
    quoted = write(
        tmp_path,
        """\
  - name: a quoted exponent in the edit is text, as in a rule file
    posts: [{id: "11", account: brand, created: -1h, likes: 90}]
    steps: [{after_poll: 1, edit: {rule: big, when: {metric: likes, gte: '1e2'}}}]
""",
        EXPONENT_RULES,
    )
    assert any(
        "this edit makes rule 'big' invalid: expected a number for 'gte', got '1e2'" in p
        for p in problems(quoted)
    )


def test_advance_moves_the_next_poll_and_at_follows_it(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
  - name: a
    posts: [{id: "11", account: brand, created: -1h, likes: 1 2 3}]
    steps: [{after_poll: 1, advance: 2h}]
    expect: [{not_fired: at-100, at: 5m}]
""",
    )
    with pytest.raises(RuleError) as info:
        load_test_file(path)
    assert "no poll at +5m: the polls are at +0s, +2h, +2h5m" in str(info.value)
    path.write_text(path.read_text().replace("at: 5m", "at: 125m"))
    [test] = load_test_file(path).tests
    assert [(t - test.start).total_seconds() for t in test.times] == [0, 7200, 7500]
    assert test.expectations[0].poll == 3


# --- posts watched by ID -------------------------------------------------------------------------


def test_posts_watched_by_id_take_their_time_from_the_id(tmp_path: Path) -> None:
    rules = """\
version: 1
rules:
  - id: public-hit
    watch: {posts: ["1260294888811347969"]}
    when: likes >= 10
    actions: [{log: {message: "{post.id} at {post.created_at}"}}]
"""
    path = write(
        tmp_path,
        """\
  - name: a public post watched by ID
    posts: [{id: "1260294888811347969", likes: 5 10}]
    expect:
      - fired: public-hit
        post: "1260294888811347969"
        poll: 2
        actions: [{log: {message: "1260294888811347969 at 2020-05-12T19:44:51Z"}}]
""",
        rules,
    )
    [test] = load_test_file(path).tests
    assert test.start.isoformat() == "2020-05-12T19:45:00+00:00"
    assert judge(run_test(test)).passed
    path.write_text(
        path.read_text().replace(
            '"1260294888811347969", likes', '"1260294888811347969", created: -1h, likes'
        )
    )
    assert any("holds its creation time: remove 'created'" in p for p in problems(path))


def test_public_posts_are_read_as_the_api_allows_so_private_metrics_stay_unknown(
    tmp_path: Path,
) -> None:
    """A scripted value the real API would not give for a public post is not used either."""
    rules = """\
version: 1
rules:
  - id: seen-a-lot
    watch: {posts: ["1260294888811347969"]}
    when: impressions >= 10
    actions: [{log: {message: "{post.id}"}}]
"""
    path = write(
        tmp_path,
        "  - name: a\n    posts: [{id: '1260294888811347969', impressions: 5 100}]\n",
        rules,
    )
    [test] = load_test_file(path).tests
    assert run_test(test).firings == ()


def test_the_timeline_shows_the_window_that_decided_a_firing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A window rule's firing shows its window's value as ``history`` does; a firing
    without a window shows what it always did."""
    rules = RULES + (
        "  - id: burst\n    watch: {accounts: [brand]}\n    when: likes over 10m >= 50\n"
        "    actions: [{log: {message: '{post.id} took off'}}]\n"
    )
    tests = (
        "  - name: takes off\n    posts: [{id: '11', account: brand, likes: 5 10 20 120}]\n"
        "    expect:\n      - {fired: burst, post: '11', poll: 3}\n"
    )
    code, out, _ = cli(capsys, str(write(tmp_path, tests, rules)))
    assert code == 1
    [row] = [line for line in out.splitlines() if line.lstrip().startswith("4 ")]
    actual = row.split("  -  ")[-1].strip()
    assert actual == "at-100 fired 11; burst fired 11 (likes over 10m = 110)"


MILESTONE = """\
  - name: the wrong milestone
    posts:
      - {id: "11", account: brand, created: -1h, likes: 500 1005 1100}
    expect:
      - {fired: thousands, post: "11", milestone: 2000, poll: 2}
      - {fired: thousands, post: "11", milestone: 1000, poll: 3}
"""


def test_a_wrong_milestone_shows_the_expected_one_beside_the_fired_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, MILESTONE)
    code, out, _ = cli(capsys, str(path))
    assert code == 1
    lines = out.splitlines()
    assert lines[2].endswith(f"({path}:8:10); it did not (it fired milestone 1000 at poll 2 (+5m))")
    assert lines[6:9] == [
        "       1  +0s       11: likes=500   -                                    at-100 seeded 11",
        "       2  +5m       11: likes=1005  thousands fires 11 (milestone 2000)  "
        "thousands fired 11 (milestone 1000)",
        "       3  +10m      11: likes=1100  thousands fires 11 (milestone 1000)  -",
    ]

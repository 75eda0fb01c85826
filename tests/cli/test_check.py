from __future__ import annotations

import dataclasses
import io
import os
import random
import textwrap
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cli_helpers import assert_no_traceback
from config_helpers import make_config

from automation.cli.check import format_problems, run_check
from automation.config.model import Config, WebhookSettings
from automation.core.errors import Problem

ROOT = Path(__file__).resolve().parents[2]
NOT_CROSS_CHECKED = (
    "account and webhook-secret names were not cross-checked (no config): "
    "add --config automation.yaml to check them too"
)
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def check(paths: list[Path], config: Config | None = None) -> tuple[int, list[str]]:
    err = io.StringIO()
    code = run_check(paths, config=config, err=err, now=NOW)
    return code, err.getvalue().splitlines()


def test_shipped_rule_files_are_clean() -> None:
    files = [ROOT / "rules.example.yaml", ROOT / "rules"]
    code, lines = check(files, make_config())
    assert lines == ["checked 8 rules in 4 files: 0 errors, 0 warnings"]
    assert code == 0


def test_shipped_files_point_editors_at_the_schema() -> None:
    example = (ROOT / "rules.example.yaml").read_text().splitlines()[0]
    assert example == "# yaml-language-server: $schema=automation/rulefiles/rule_schema.json"
    for path in sorted((ROOT / "rules").glob("*.yaml")):
        first = path.read_text().splitlines()[0]
        assert first == "# yaml-language-server: $schema=../automation/rulefiles/rule_schema.json"
        assert (path.parent / first.split("=", 1)[1]).resolve().is_file()


def test_example_shows_every_feature() -> None:
    text = (ROOT / "rules.example.yaml").read_text()
    for feature in (
        "accounts:",
        "posts:",
        "owner:",
        "max_age:",
        " over ",
        "gte:",
        "gt:",
        "lt:",
        "eq:",
        ">=",
        " > ",
        "<=",
        "all:",
        "any:",
        "not:",
        "for:",
        "fire: once",
        "every:",
        "rearm: true",
        "cooldown:",
        "repost:",
        "like:",
        "reply:",
        "quote:",
        "webhook:",
        "log:",
        "secret:",
        "headers:",
        "body:",
        "timeout:",
        "enabled: false",
        "backfill: true",
        "limit: {max:",
        "quiet: {from:",
        "quiet: false",
        "digest:",
        "description:",
        "{{",
        "{post.id}",
        "{post.url}",
        "{post.account}",
        "{post.created_at}",
        "{rule.id}",
        "{rule.description}",
        "{metrics.",
        "{milestone}",
        "{fired_at}",
        "engagement_rate",
        "likes",
        "reposts",
        "quotes",
    ):
        assert feature in text, feature


def test_example_uses_post_account_only_where_an_owned_account_wrote_the_post() -> None:
    # {post.account} names the owned account; for a public post it renders empty, so a
    # reply "Thanks for sharing, {post.account}!" would read "Thanks for sharing, !".
    from automation.rulefiles.rule_parser import load_rules

    for rule in load_rules([ROOT / "rules.example.yaml"]).rules:
        if rule.watch.accounts or rule.watch.owner:
            continue
        texts = [getattr(a, "text", None) or getattr(a, "message", None) for a in rule.actions]
        names = {n for t in texts if t is not None for n in t.names}
        assert "post.account" not in names, rule.id


def test_problems_are_printed_sorted_with_a_summary(tmp_path: Path) -> None:
    bad = tmp_path / "b.yaml"
    bad.write_text(
        textwrap.dedent("""\
            version: 1
            rules:
              - id: one
                watch: {posts: ["1"]}
                when: impressions >= 5
                actions: [{repost: {as: brnd}}]
              - id: two
                whn: likes > 1
                watch: {accounts: [brand]}
                actions: [{log: {message: hi}}]
            """)
    )
    code, lines = check([bad], make_config())
    assert lines == [
        f"{bad}:5:11: warning: 'impressions' is known only for posts of owned accounts, "
        "and this rule watches public posts only: set watch.owner if an owned account "
        "wrote them",
        f"{bad}:6:29: error: unknown account 'brnd' (did you mean 'brand'?)",
        f"{bad}:8:5: error: unknown key 'whn' in rule (did you mean 'when'?)",
        "checked 0 rules in 1 file: 2 errors, 1 warning",
    ]
    assert code == 1


def test_every_unknown_name_in_a_template_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "t.yaml"
    path.write_text(
        "version: 1\nrules:\n  - id: t\n    watch: {accounts: [brand]}\n"
        "    when: likes >= 5\n"
        "    actions: [{log: {message: '{post.idd} at {likes} by {acount}: {post.url}'}}]\n"
    )
    code, lines = check([path], make_config())
    assert lines == [
        f"{path}:6:32: error: unknown template name '{{post.idd}}' (did you mean "
        "'{post.id}'? known: {fired_at}, {milestone}, {post.account}, {post.created_at}, "
        "{post.id}, {post.url}, {rule.description}, {rule.id}, and {metrics.NAME} such as "
        "{metrics.likes})",
        f"{path}:6:46: error: unknown template name '{{likes}}' "
        "(did you mean '{metrics.likes}'?)",
        f"{path}:6:57: error: unknown template name '{{acount}}' (did you mean "
        "'{post.account}'? known: {fired_at}, {milestone}, {post.account}, "
        "{post.created_at}, {post.id}, {post.url}, {rule.description}, {rule.id}, and "
        "{metrics.NAME} such as {metrics.likes})",
        "checked 0 rules in 1 file: 3 errors, 0 warnings",
    ]
    assert code == 1


def test_warnings_alone_exit_zero(tmp_path: Path) -> None:
    path = tmp_path / "w.yaml"
    path.write_text(
        "version: 1\nrules:\n  - id: w\n    watch: {accounts: [brand]}\n"
        "    when: url_clicks >= 5\n    actions: [{log: {message: x}}]\n"
    )
    code, lines = check([path])
    assert code == 0
    assert lines[-2:] == ["checked 1 rule in 1 file: 0 errors, 1 warning", NOT_CROSS_CHECKED]
    assert lines[0].startswith(f"{path}:5:11: warning: 'url_clicks' is known only")


def test_the_summary_says_when_names_were_not_cross_checked(tmp_path: Path) -> None:
    path = tmp_path / "r.yaml"
    path.write_text(
        "version: 1\nrules:\n  - id: r\n    watch: {accounts: [brnd]}\n"
        "    when: likes >= 5\n    actions: [{repost: {as: nobody}}]\n"
    )
    assert check([path]) == (
        0,
        ["checked 1 rule in 1 file: 0 errors, 0 warnings", NOT_CROSS_CHECKED],
    )
    code, lines = check([path], make_config())
    assert code == 1 and NOT_CROSS_CHECKED not in lines
    assert "unknown account 'brnd'" in lines[0]


RISKY = """\
version: 1
rules:
  - id: r
    watch: {accounts: [brand]}
    when:
      all:
        - engagement_rate > 5
        - {metric: engagement_rate, gte: 2.5}
        - engagement_rate >= 0.05
        - likes > 5
    actions:
      - webhook: {url: "http://hooks.example.com/in", secret: team-chat}
      - webhook: {url: "http://{post.account}.example.com/in"}
      - webhook: {url: "https://hooks.example.com/in"}
      - webhook: {url: "http://127.0.0.1:8099/hooks"}
      - webhook: {url: "http://localhost/hooks"}
"""


def test_check_warns_about_a_rate_written_as_a_percentage_and_webhooks_in_clear(
    tmp_path: Path,
) -> None:
    path = tmp_path / "risky.yaml"
    path.write_text(RISKY)
    loopback = WebhookSettings(allow_hosts=("*.example.com", "127.0.0.1", "localhost"))
    code, lines = check([path], dataclasses.replace(make_config(), webhooks=loopback))
    assert code == 0
    assert lines == [
        f"{path}:7:11: warning: engagement_rate is a fraction (engagements / impressions), so "
        "5 means 500%: did you mean 0.05 for 5%?",
        f"{path}:8:20: warning: engagement_rate is a fraction (engagements / impressions), so "
        "2.5 means 250%: did you mean 0.025 for 2.5%?",
        f"{path}:12:24: warning: webhook url uses http://: its body and signature travel in "
        "clear, so anyone on the way can read them and replay the request; use https://",
        f"{path}:13:24: warning: webhook url uses http://: its body and signature travel in "
        "clear, so anyone on the way can read them and replay the request; use https://",
        "checked 1 rule in 1 file: 0 errors, 4 warnings",
    ]


def test_a_named_post_older_than_the_rules_own_max_age_is_a_warning(tmp_path: Path) -> None:
    path = tmp_path / "named.yaml"
    path.write_text(
        "version: 1\nrules:\n"
        "  - id: set\n"
        '    watch: {posts: ["1260294888811347969", "20", "2123204606161846272"], max_age: 30d}\n'
        "    when: likes >= 5\n    actions: [{log: {message: x}}]\n"
        "  - id: default\n"
        '    watch: {posts: ["1260294888811347969"]}\n'
        "    when: likes >= 5\n    actions: [{log: {message: x}}]\n"
    )
    code, lines = check([path], make_config())
    assert code == 0
    assert lines == [
        f"{path}:4:21: warning: post 1260294888811347969 was written on 2020-05-12 (its ID"
        " says so), longer ago than max_age 30d: this rule never watches it; remove max_age"
        " to watch a named post whatever its age",
        f"{path}:4:44: warning: post 20 was written before 2010-11-04 (its ID says so), longer"
        " ago than max_age 30d: this rule never watches it; remove max_age to watch a named"
        " post whatever its age",
        "checked 2 rules in 1 file: 0 errors, 2 warnings",
    ]


def test_missing_path_is_a_message(tmp_path: Path) -> None:
    code, lines = check([tmp_path / "nope"])
    assert lines == [
        f"{tmp_path / 'nope'}:1:1: error: no such file or directory",
        "checked 0 rules in 0 files: 1 error, 0 warnings",
        NOT_CROSS_CHECKED,
    ]
    assert code == 1


def test_a_file_named_in_latin_1_is_shown_with_its_bytes_escaped(tmp_path: Path) -> None:
    """A rule file named in Latin-1 on a UTF-8 system: its name is shown as a terminal
    would, not with the surrogate ``\\udce9`` that ``os.fsdecode`` holds it in."""
    bad = Path(os.fsdecode(bytes(tmp_path) + b"/caf\xe9.yaml"))
    bad.write_text("version: 1\nrules:\n  - id: one\n    whn: likes > 1\n", encoding="utf-8")
    lines = check([bad])[1] + check([bad.with_name("r\udcf6les")])[1]
    said = "\n".join(lines)
    assert f"{tmp_path}/caf\\xe9.yaml:4:5: error: unknown key 'whn'" in said
    assert f"{tmp_path}/r\\xf6les:1:1: error: no such file or directory" in said
    assert not any(0xDC80 <= ord(c) <= 0xDCFF for c in said)  # no surrogate shown


def test_format_problems_orders_by_file_given_then_line() -> None:
    problems = [
        Problem("b.yaml", 9, 1, "late"),
        Problem("a.yaml", 2, 5, "x"),
        Problem("b.yaml", 3, 7, "early"),
        Problem("a.yaml", 2, 1, "first"),
    ]
    assert format_problems(problems) == [
        "b.yaml:3:7: error: early",
        "b.yaml:9:1: error: late",
        "a.yaml:2:1: error: first",
        "a.yaml:2:5: error: x",
    ]


# --- garbage in, clean problems out --------------------------------------------------------

VALID = (ROOT / "rules.example.yaml").read_text()

# ruff: noqa: E501 - one garbage file per line reads best
GARBAGE: list[tuple[str, bytes]] = [
    ("binary", bytes(range(256)) * 4),
    ("png header", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"),
    ("latin-1", "version: 1\nrules: [caf\xe9]\n".encode("latin-1")),
    ("utf-16", "version: 1\n".encode("utf-16")),
    ("nul byte", b"version: 1\x00\n"),
    ("deep list", b"[" * 50_000 + b"]" * 50_000),
    ("deep mapping", b"a: " + b"{a: " * 5_000 + b"1" + b"}" * 5_000),
    ("deep rule", b"version: 1\nrules:\n  - when: " + b"{not: " * 40 + b"likes > 1" + b"}" * 40),
    (
        "huge numbers",
        b"version: 1e999999\nrules:\n  - id: 9"
        + b"9" * 5000
        + b"\n    when: {metric: likes, gte: 1"
        + b"0" * 400
        + b"}\n    fire: {every: -.inf, metric: 0x1F}\n",
    ),
    (
        "wrong types",
        b"version: [1]\nrules:\n  - id: {a: 1}\n    watch: [accounts]\n    when: [likes]\n    for: {}\n    fire: [once]\n    actions: {log: x}\n    enabled: []\n    description: {}\n",
    ),
    ("wrong types 2", b"version: true\nrules: 5\n"),
    (
        "wrong types 3",
        b"version: 1\nrules:\n  - id: a\n    watch: {accounts: [[1]], posts: [{}], owner: [], max_age: []}\n    when: {all: [[], 5, null, {not: []}, {any: {}}]}\n    actions: [[], null, 5, {webhook: []}, {webhook: {url: 5, headers: [], body: {a: {b: [{}]}}, secret: 1, timeout: 'x'}}, {reply: {as: 1, text: 2}}]\n",
    ),
    ("nulls", b"version:\nrules:\n  -\n  - id:\n    watch:\n    when:\n    actions:\n"),
    (
        "keys of every type",
        b"version: 1\nrules:\n  - 1: a\n    null: b\n    yes: c\n    1.5: d\n    ~: e\n",
    ),
    ("tags", b"version: !!str 1\nrules: !!set {a, b}\n"),
    (
        "anchors everywhere",
        b"version: &v 1\nrules:\n  - &r {id: a, watch: {accounts: [brand]}, when: likes > 1, actions: [{log: {message: x}}]}\n  - *r\n  - {<<: *r, id: b}\n",
    ),
    ("only a scalar", b"hello"),
    ("only a document marker", b"---\n...\n"),
    ("comments and spaces", b"   \n# x\n\n"),
    (
        "template madness",
        b"version: 1\nrules:\n  - id: a\n    watch: {accounts: [brand]}\n    when: likes > 1\n    actions: [{log: {message: '{{{}}}{{{'}}, {log: {message: '{'}}, {log: {message: '}'}}, {log: {message: '{a.b.c}'}}]\n",
    ),
    (
        "condition madness",
        b"version: 1\nrules:\n  - id: a\n    watch: {accounts: [brand]}\n    when: {any: ['', '>=', 'likes >= >= 1', 'likes over over', 'over 1h', '1 >= likes', 'likes >= 1 1', '\\t', 'likes over 0s > 1', 'likes >= -0', 'likes>=+.5e-3']}\n    actions: [{log: {message: x}}]\n",
    ),
]


@pytest.mark.parametrize("content", [g[1] for g in GARBAGE], ids=[g[0] for g in GARBAGE])
def test_garbage_gives_clean_problems(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "g.yaml"
    path.write_bytes(content)
    code, lines = check([path], make_config())
    assert lines[-1].startswith("checked ")
    for line in lines[:-1]:
        assert line.startswith(f"{path}:"), line
        assert ": error: " in line or ": warning: " in line, line
    assert_no_traceback(*lines)
    assert code in (0, 1)


def test_random_mutations_of_a_valid_file_never_crash(tmp_path: Path) -> None:
    rng = random.Random(20261126)
    alphabet = list(":{}[]-,'\"#&*!|>%@`\t\n 0123456789abcxyz.")
    path = tmp_path / "m.yaml"
    for _ in range(300):
        text = list(VALID)
        for _ in range(rng.randint(1, 8)):
            at = rng.randrange(len(text))
            choice = rng.random()
            if choice < 0.4:
                text[at] = rng.choice(alphabet)
            elif choice < 0.7:
                del text[at]
            else:
                text.insert(at, rng.choice(alphabet))
        path.write_text("".join(text), encoding="utf-8")
        code, lines = check([path], make_config())
        assert lines[-1].startswith("checked ")
        assert code in (0, 1)

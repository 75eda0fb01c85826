from __future__ import annotations

import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from config_helpers import make_config

from automation.config.model import Config
from automation.core.errors import Problem, RuleError
from automation.core.rules import (
    AllOf,
    AnyOf,
    Every,
    JsonObject,
    Leaf,
    LikeAction,
    LogAction,
    Not,
    Once,
    QuoteAction,
    Rearm,
    ReplyAction,
    RepostAction,
    Rule,
    WebhookAction,
)
from automation.core.templates import Template
from automation.rulefiles.rule_parser import RuleSet, load_rules, parse_rule_file
from automation.rulefiles.yaml_loader import parse_document


def parse(text: str, *, config: Config | None = None) -> tuple[tuple, tuple[Problem, ...]]:
    doc = parse_document(textwrap.dedent(text).lstrip("\n"), "r.yaml")
    return parse_rule_file(doc, names=config.rule_names() if config else None)


def one_rule(body: str, *, config: Config | None = None):
    rules, problems = parse(
        "version: 1\nrules:\n" + textwrap.indent(textwrap.dedent(body), "  "), config=config
    )
    assert problems == ()
    (rule,) = rules
    return rule


GOOD = """
version: 1
rules:
  - id: repost-at-100-likes
    description: Repost at 100 likes
    watch:
      accounts: [brand]
      posts: ["1260294888811347969"]
      owner: brand
      max_age: 2d
    when: likes >= 100
    for: 15m
    actions:
      - repost: {as: support}
      - like: {as: brand}
      - reply: {as: support, text: "Nice, {post.account}"}
      - quote: {as: brand, text: "{metrics.likes} likes"}
      - webhook:
          url: https://chat.example.com/hooks/{rule.id}
          secret: team-chat
          timeout: 3
          headers: {X-Rule: "{rule.id}"}
          body: {text: "{post.url}", n: [1, 2.5, true, null, "{{x}}"], deep: {a: "{post.id}"}}
      - log: {message: "fired {fired_at}"}
    enabled: false
    backfill: true
"""


def test_every_field_of_a_good_rule() -> None:
    rules, problems = parse(GOOD, config=make_config())
    assert problems == ()
    (rule,) = rules
    assert rule.id == "repost-at-100-likes"
    assert rule.description == "Repost at 100 likes"
    assert rule.watch.accounts == ("brand",)
    assert rule.watch.posts == ("1260294888811347969",)
    assert rule.watch.owner == "brand"
    assert rule.watch.max_age == 2 * 86400
    assert rule.when == Leaf("favorites", "gte", 100.0, None, "likes")
    assert rule.when.written == "likes"
    assert (rule.when.pos.line, rule.when.pos.column) == (10, 11)
    assert (rule.pos.path, rule.pos.line, rule.pos.column) == ("r.yaml", 3, 9)
    assert rule.for_ == 900
    assert rule.fire == Once()
    assert rule.enabled is False and rule.backfill is True
    repost, like, reply, quote, webhook, log = rule.actions
    assert repost == RepostAction("support")
    assert like == LikeAction("brand")
    assert isinstance(reply, ReplyAction) and reply.text.names == ("post.account",)
    assert isinstance(quote, QuoteAction) and quote.as_account == "brand"
    assert isinstance(webhook, WebhookAction)
    assert webhook.url.names == ("rule.id",)
    assert webhook.secret == "team-chat" and webhook.timeout == 3.0
    assert [(name, t.source) for name, t in webhook.headers] == [("X-Rule", "{rule.id}")]
    assert isinstance(log, LogAction) and log.message.names == ("fired_at",)


@pytest.mark.parametrize(
    ("written", "seconds"), [("5s", 5.0), ("1m", 60.0), ("5m", 300.0), ("2.5", 2.5), ("7", 7.0)]
)
def test_a_webhook_timeout_is_a_duration_or_a_number_of_seconds(
    written: str, seconds: float
) -> None:
    text = _rule(f"actions: [{{webhook: {{url: 'https://x', timeout: {written}}}}}]")
    rules, problems = parse(text)
    assert problems == ()
    (webhook,) = rules[0].actions
    assert isinstance(webhook, WebhookAction) and webhook.timeout == seconds


def test_max_age_is_known_to_be_set_only_when_written() -> None:
    def watch(text: str) -> Rule:
        (rule,), problems = parse(_rule(text))
        assert problems == ()
        return rule

    written = watch('watch: {posts: ["1260294888811347969"], max_age: 2d}')
    assert (written.watch.max_age, written.watch.max_age_set) == (2 * 86400, True)
    default = watch('watch: {posts: ["1260294888811347969"]}')
    assert (default.watch.max_age, default.watch.max_age_set) == (7 * 86400, False)
    # not part of what decides firing: writing the default re-seeds nothing
    seven = watch('watch: {posts: ["1260294888811347969"], max_age: 7d}')
    assert seven.watch.max_age_set and seven.fingerprint == default.fingerprint


def test_webhook_body_is_an_immutable_json_of_templates() -> None:
    rules, _ = parse(GOOD)
    body = rules[0].actions[4].body
    assert isinstance(body, JsonObject)
    as_dict = dict(body.items)
    assert isinstance(as_dict["text"], Template) and as_dict["text"].names == ("post.url",)
    numbers = as_dict["n"]
    assert numbers[:4] == (1, 2.5, True, None)
    assert numbers[4].render({}) == "{x}"
    assert dict(as_dict["deep"].items)["a"].names == ("post.id",)
    hash(body)  # immutable all the way down


def test_defaults() -> None:
    rule = one_rule("""
        - id: a
          watch: {accounts: [brand]}
          when: likes > 1
          actions: [{log: {message: hi}}]
        """)
    assert rule.watch.max_age == 7 * 86400
    assert rule.fire == Once() and rule.for_ == 0
    assert rule.enabled is True and rule.backfill is False
    assert rule.description == ""


def test_conditions_all_forms() -> None:
    rule = one_rule("""
        - id: a
          watch: {accounts: [brand]}
          when:
            all:
              - retweets over 1h >= 50
              - {metric: engagement_rate, gte: 0.05}
              - not: {metric: impressions, lt: 1000}
              - any: ["quotes == 3", {metric: reposts, over: 30m, gt: 2}, "replies<=4"]
          actions: [{log: {message: hi}}]
        """)
    when = rule.when
    assert isinstance(when, AllOf)
    first, second, third, fourth = when.items
    assert first == Leaf("retweets", "gte", 50.0, 3600, "retweets")
    assert second == Leaf("engagement_rate", "gte", 0.05, None, "engagement_rate")
    assert isinstance(third, Not) and third.item == Leaf(
        "impressions", "lt", 1000.0, None, "impressions"
    )
    assert isinstance(fourth, AnyOf)
    assert fourth.items == (
        Leaf("quote_tweets", "eq", 3.0, None, "quotes"),
        Leaf("retweets", "gt", 2.0, 1800, "reposts"),
        Leaf("replies", "lte", 4.0, None, "replies"),
    )
    assert (third.item.pos.line, third.item.pos.column) == (10, 16)


def test_a_number_with_an_exponent_reads_alike_in_a_mapping_and_in_text() -> None:
    """YAML 1.1 reads a plain 1e5 as text (1.0e+5 as a number); the condition string reads
    it as a number, and so do editors (YAML 1.2), so a comparison's value does too. A quoted
    '1e5' stays an error."""
    rule = one_rule("""
        - id: a
          watch: {accounts: [brand]}
          when:
            all:
              - "likes >= 1e5"
              - {metric: likes, gte: 1e5}
              - {metric: reposts, over: 1h, lt: 2.5E3}
              - not: {metric: impressions, eq: -1e-2}
          actions: [{log: {message: hi}}]
        """)
    text, mapping, window, negated = rule.when.items
    assert text == mapping == Leaf("favorites", "gte", 100000.0, None, "likes")
    assert window == Leaf("retweets", "lt", 2500.0, 3600, "reposts")
    assert negated.item == Leaf("impressions", "eq", -0.01, None, "impressions")
    _, problems = parse(_rule("when: {metric: likes, gte: '1e5'}"))
    assert [p.message for p in problems] == [
        "expected a number for 'gte', got '1e5': write 1e5 without quotes"
    ]


def test_fire_policies() -> None:
    every = one_rule("""
        - id: a
          watch: {accounts: [brand]}
          fire: {every: 1000, metric: likes}
          actions: [{log: {message: "{milestone}"}}]
        """)
    assert every.when is None
    assert every.fire == Every(1000, "favorites", "likes")
    rearm = one_rule("""
        - id: a
          watch: {accounts: [brand]}
          when: likes > 1
          fire: {rearm: true, cooldown: 6h}
          actions: [{log: {message: x}}]
        """)
    assert rearm.fire == Rearm(6 * 3600)
    bare = one_rule("""
        - id: a
          watch: {accounts: [brand]}
          when: likes > 1
          fire: {rearm: true}
          actions: [{log: {message: x}}]
        """)
    assert bare.fire == Rearm(0)


def test_merge_keys_share_actions() -> None:
    rules, problems = parse("""
        version: 1
        rules:
          - id: a
            watch: &w {accounts: [brand]}
            when: likes > 1
            actions: &acts [{log: {message: x}}]
          - id: b
            watch: {<<: *w, max_age: 1d}
            when: likes > 2
            actions: *acts
        """)
    assert problems == ()
    assert rules[1].watch.max_age == 86400 and rules[1].watch.accounts == ("brand",)


def _rule(extra: str) -> str:
    """A one-rule file. Each top-level line of ``extra`` (with its indented continuation)
    replaces the default field it names or is added after them; a bare ``key:`` removes it."""
    fields = {
        "id": "id: r1",
        "watch": "watch: {accounts: [brand]}",
        "when": "when: likes >= 100",
        "actions": "actions: [{log: {message: hi}}]",
    }
    blocks: list[list[str]] = []
    for line in textwrap.dedent(extra).strip("\n").splitlines():
        if line.startswith(" ") and blocks:
            blocks[-1].append(line)
        else:
            blocks.append([line])
    for block in blocks:
        key, _, value = block[0].partition(":")
        fields[key] = "" if not value.strip() and len(block) == 1 else "\n    ".join(block)
    return "version: 1\nrules:\n  - " + "\n    ".join(v for v in fields.values() if v) + "\n"


# fmt: off
# (case id, rule-file text, line, column, message substring, severity)
E, W = "error", "warning"
SECOND_RULE = "  - id: a\n    watch: {accounts: [brand]}\n    when: likes > 1\n    actions: [{log: {message: x}}]\n"
# ruff: noqa: E501
BAD: list[tuple[str, str, int, int, str, str]] = [
    # --- structure (schema) ---
    ("unknown key", _rule("whn: likes > 1"), 7, 5, "unknown key 'whn' in rule (did you mean 'when'?)", E),
    ("missing version", "rules: []\n", 1, 1, "missing 'version'", E),
    ("wrong version", "version: 2\nrules: []\n", 1, 10, "write 'version: 1', not 2", E),
    ("top-level list", "- id: a\n", 1, 1, "expected a mapping (key: value lines), got a list", E),
    ("rules not a list", "version: 1\nrules: {id: a}\n", 2, 8, "expected a list for 'rules'", E),
    ("rule not a mapping", "version: 1\nrules:\n  - likes > 1\n", 3, 5, "expected a mapping", E),
    ("missing watch", _rule("watch:"), 3, 5, "missing 'watch' in rule", E),
    ("missing when", _rule("when:"), 3, 5, "missing 'when' in rule", E),
    ("when in capitals", _rule("when:\nWHEN: likes > 1"), 6, 5, "unknown key 'WHEN' in rule (did you mean 'when'?)", E),
    ("misspelt when", _rule("when:\nwen: likes > 1"), 6, 5, "unknown key 'wen' in rule (did you mean 'when'?)", E),
    ("bad id", _rule("id: Repost 100"), 3, 9, "expected a rule id of lowercase letters", E),
    ("id too long", _rule("id: " + "a" * 65), 3, 9, "at most 64", E),
    ("empty actions", _rule("actions: []"), 6, 14, "a rule needs at least one action", E),
    ("unknown action", _rule("actions: [{repst: {as: brand}}]"), 6, 16, "unknown key 'repst' in action (did you mean 'repost'?)", E),
    ("two actions in one item", _rule("actions:\n  - repost: {as: brand}\n    like: {as: brand}"), 7, 9, "one action per list item", E),
    ("missing as", _rule("actions: [{repost: {}}]"), 6, 24, "missing 'as' in repost action", E),
    ("missing reply text", _rule("actions: [{reply: {as: brand}}]"), 6, 23, "missing 'text' in reply action", E),
    ("unknown action field", _rule("actions: [{log: {message: a, level: info}}]"), 6, 34, "unknown key 'level' in log action", E),
    ("webhook url scheme", _rule("actions: [{webhook: {url: ftp://x}}]"), 6, 31, "expected a URL starting with https:// or http://, got 'ftp://x'", E),
    ("webhook timeout", _rule("actions: [{webhook: {url: 'https://x', timeout: 0}}]"), 6, 53, "'timeout' must be more than 0, got 0", E),
    ("webhook timeout 0s", _rule("actions: [{webhook: {url: 'https://x', timeout: 0s}}]"), 6, 53, "'timeout' must be longer than 0s", E),
    ("webhook timeout long", _rule("actions: [{webhook: {url: 'https://x', timeout: 10m}}]"), 6, 53, "'timeout' must be at most 5m, got 10m", E),
    ("webhook timeout words", _rule("actions: [{webhook: {url: 'https://x', timeout: 5 secs}}]"), 6, 53, "expected a duration such as 5s or 1m, or a number of seconds, got '5 secs': write 5s", E),
    ("duration words", _rule("for: 15 minutes"), 7, 10, "expected a duration like 30s, 15m, 1h or 7d, got '15 minutes'", E),
    ("duration number", _rule("for: 15"), 7, 10, "expected a duration like 30s, 15m, 1h or 7d, got 15", E),
    ("enabled text", _rule("enabled: 'no'"), 7, 14, "expected true or false for 'enabled', got 'no'", E),
    ("accounts not a list", _rule("watch: {accounts: brand}"), 4, 23, "expected a list for 'accounts', got 'brand'", E),
    ("watch empty", _rule("watch: {max_age: 1d}"), 4, 12, "watch needs 'accounts' or 'posts'", E),
    ("owner without posts", _rule("watch: {accounts: [brand], owner: brand}"), 4, 32, "'owner' names the owned account that wrote 'posts'", E),
    ("unquoted post id", _rule("watch: {posts: [1260294888811347969]}"), 4, 21, 'quote post IDs: write "1260294888811347969" (IDs above 2^53', E),
    ("post id not digits", _rule("watch: {posts: ['12a']}"), 4, 21, "expected a post ID in quotes", E),
    ("unknown metric in mapping", _rule("when: {metric: likse, gte: 1}"), 5, 20, "unknown metric 'likse' (did you mean 'likes'?)", E),
    ("two comparisons", _rule("when: {metric: likes, gte: 1, lt: 5}"), 5, 35, "use only one of gte, lt", E),
    ("no comparison", _rule("when: {metric: likes}"), 5, 11, "condition needs one of: gte, gt, lte, lt, eq", E),
    ("boolean threshold", _rule("when: {metric: likes, gte: true}"), 5, 32, "expected a number for 'gte', got true", E),
    ("condition number", _rule("when: 100"), 5, 11, "expected a condition (text like 'likes >= 100'", E),
    ("empty all", _rule("when: {all: []}"), 5, 17, "'all' must not be empty", E),
    ("all of a string", _rule("when: {all: likes > 1}"), 5, 17, "expected a list for 'all'", E),
    ("fire word", _rule("fire: twice"), 7, 11, "expected a firing policy: once, {every: N, metric: M} or {rearm: true, cooldown: D}, got 'twice'", E),
    ("every without metric", _rule("when:\nfire: {every: 10}"), 6, 11, "missing 'metric' in fire", E),
    ("every zero", _rule("fire: {every: 0, metric: likes}"), 7, 19, "'every' must be at least 1, got 0", E),
    ("every fraction", _rule("fire: {every: 2.5, metric: likes}"), 7, 19, "expected a whole number for 'every', got 2.5", E),
    ("rearm false", _rule("fire: {rearm: false}"), 7, 19, "'rearm' must be true, got false", E),
    # --- semantics (rule parser) ---
    ("condition text metric", _rule("when: likse >= 100"), 5, 11, "unknown metric 'likse' (did you mean 'likes'?)", E),
    ("condition text op", _rule("when: likes = 100"), 5, 17, "use '==' to compare for equality", E),
    ("condition text number", _rule("when: likes >= lots"), 5, 20, "expected a number after '>=', got 'lots'", E),
    ("condition text quoted", _rule("when: 'likes >= lots'"), 5, 21, "expected a number after '>=', got 'lots'", E),
    ("condition text and", _rule("when: likes >= 1 and replies > 2"), 5, 22, "'and' cannot join conditions here", E),
    ("condition text window", _rule("when: likes over 2d >= 1"), 5, 22, "'over' can look back at most 28h, got 2d", E),
    ("condition text empty", _rule("when: ''"), 5, 12, "empty condition", E),
    ("condition text spaced op", _rule("when: likes > = 100"), 5, 17, "write '>=' without a space between '>' and '='", E),
    ("condition text 1k", _rule("when: likes >= 1k"), 5, 20, "got '1k': write 1000 (numbers take no k or m)", E),
    ("condition text quoted number", _rule('when: likes >= "100"'), 5, 20, "got '\"100\"': write 100 without quotes", E),
    ("mapping 2.5k", _rule("when: {metric: likes, gte: 2.5k}"), 5, 32, "got '2.5k': write 2500 (numbers take no k or m)", E),
    ("condition text long window", _rule("when: likes over 30h >= 1"), 5, 22, "at most 28h, got 30h: write 28h or less", E),
    ("mapping window", _rule("when: {metric: likes, gte: 1, over: 29h}"), 5, 41, "'over' can look back at most 28h, got 29h", E),
    ("infinite threshold", _rule("when: {metric: likes, gte: .inf}"), 5, 32, "the number must be finite", E),
    ("nan threshold", _rule("when: {metric: likes, gte: .nan}"), 5, 32, "the number must be finite", E),
    ("huge threshold", _rule("when: {metric: likes, gte: 99999999999999999999}"), 5, 32, "must fit in 64 bits", E),
    ("huge every", _rule("fire: {every: 99999999999999999999, metric: likes}"), 7, 19, "must fit in 64 bits", E),
    ("zero max_age", _rule("watch: {accounts: [brand], max_age: 0s}"), 4, 41, "'max_age' must be longer than 0s", E),
    ("quoted threshold", _rule("when: {metric: likes, gte: '100'}"), 5, 32, "expected a number for 'gte', got '100': write 100 without quotes", E),
    ("threshold with commas", _rule("when: {metric: likes, gte: '1,000'}"), 5, 32, "got '1,000': write 1000, without separators or quotes", E),
    ("for without unit", _rule("for: 15"), 7, 10, "got 15: 15 what? write 15m for minutes (units: s, m, h, d)", E),
    ("for in words", _rule("for: 15 minutes"), 7, 10, "got '15 minutes': write 15m", E),
    ("max_age in weeks", _rule("watch: {accounts: [brand], max_age: 1w}"), 4, 41, "got '1w': write 7d", E),
    ("max_age in two units", _rule("watch: {accounts: [brand], max_age: 1d12h}"), 4, 41, "got '1d12h': write 36h", E),
    ("for in a fraction", _rule("for: 1.5h"), 7, 10, "got '1.5h': write 90m", E),
    ("over in two units", _rule("when: retweets over 1h30m >= 50"), 5, 25, "got '1h30m': write 90m", E),
    ("over in words", _rule("when: retweets over 1 hour >= 50"), 5, 25, "after 'over', got '1': write 1h", E),
    ("over without unit", _rule("when: retweets over 60 >= 50"), 5, 25, "got '60': 60 what? write 60m", E),
    ("template name", _rule("actions: [{log: {message: 'at {post.idd}'}}]"), 6, 35, "unknown template name '{post.idd}'", E),
    ("template plain", _rule("actions:\n  - log:\n      message: at {post.idd}"), 8, 23, "unknown template name", E),
    ("template metric", _rule("actions: [{log: {message: 'at {metrics.likse}'}}]"), 6, 35, "unknown template name '{metrics.likse}' (did you mean '{metrics.likes}'?)", E),
    ("template name in capitals", _rule("actions: [{log: {message: '{post.URL}'}}]"), 6, 32, "unknown template name '{post.URL}' (did you mean '{post.url}'?", E),
    ("template metric without s", _rule("actions: [{log: {message: '{metric.likes}'}}]"), 6, 32, "unknown template name '{metric.likes}' (did you mean '{metrics.likes}'?", E),
    ("template metric in capitals", _rule("actions: [{log: {message: '{Likes}'}}]"), 6, 32, "unknown template name '{Likes}' (did you mean '{metrics.likes}'?)", E),
    ("template brace", _rule('actions: [{reply: {as: brand, text: "a {b"}}]'), 6, 44, "unclosed '{'", E),
    ("template format spec", _rule("actions: [{log: {message: '{post.id:>10}'}}]"), 6, 32, "templates substitute plain names only", E),
    ("template in body", _rule("actions: [{webhook: {url: 'https://x', body: {a: [1, '{zz}']}}}]"), 6, 59, "unknown template name '{zz}'", E),
    ("template in header", _rule("actions: [{webhook: {url: 'https://x', headers: {X-A: '{rule}'}}}]"), 6, 60, "unknown template name '{rule}'", E),
    ("template in url", _rule("actions: [{webhook: {url: 'https://x/{post}'}}]"), 6, 42, "unknown template name '{post}'", E),
    ("template bare metric", _rule("actions: [{log: {message: 'at {likes}'}}]"), 6, 35, "unknown template name '{likes}' (did you mean '{metrics.likes}'?)", E),
    ("template names metrics", _rule("actions: [{log: {message: '{post.link}'}}]"), 6, 32, "{rule.id}, and {metrics.NAME} such as {metrics.likes})", E),
    ("bad header name", _rule("actions: [{webhook: {url: 'https://x', headers: {'X A': b}}}]"), 6, 54, "'X A' is not a valid HTTP header name", E),
    ("body nan", _rule("actions: [{webhook: {url: 'https://x', body: {a: .nan}}}]"), 6, 54, "must be finite", E),
    ("duplicate id", _rule("id: a") + SECOND_RULE, 7, 9, "duplicate rule id 'a' (first used at r.yaml:3)", E),
    # --- warnings ---
    ("private metric on public posts", _rule("watch: {posts: ['1']}\nwhen: impressions >= 5"), 5, 11, "'impressions' is known only for posts of owned accounts", W),
    ("engagement rate on public posts", _rule("watch: {posts: ['1']}\nwhen: {metric: engagement_rate, gt: 0.1}"), 5, 20, "'engagement_rate' is known only for posts of owned", W),
    ("private every metric", _rule("watch: {posts: ['1']}\nwhen:\nfire: {every: 5, metric: url_clicks}"), 6, 30, "'url_clicks' is known only for posts of owned accounts", W),
    ("hourly-only metric", _rule("when: url_clicks >= 5"), 5, 11, "'url_clicks' is known only for owned posts younger than 28h", W),
]
# fmt: on


@pytest.mark.parametrize(
    ("text", "line", "column", "message", "severity"),
    [case[1:] for case in BAD],
    ids=[case[0] for case in BAD],
)
def test_each_mistake_is_one_precise_problem(
    request: pytest.FixtureRequest, text: str, line: int, column: int, message: str, severity: str
) -> None:
    rules, problems = parse(text)
    assert len(problems) == 1, "\n".join(map(str, problems))
    (problem,) = problems
    assert (problem.line, problem.column) == (line, column), str(problem)
    assert message in problem.message
    assert problem.severity == severity
    kept = {"duplicate id": 1}.get(request.node.callspec.id, 0)
    assert len(rules) == (kept if severity == "error" else 1)


def test_an_empty_rules_list_is_a_warning_naming_what_to_do() -> None:
    rules, problems = parse("version: 1\nrules: []\n")
    assert rules == ()
    assert [(p.line, p.column, p.severity) for p in problems] == [(2, 8, "warning")]
    assert problems[0].message.startswith("no rules in this file: list them under 'rules:'")


NO_WARNING = [
    ("public metric on public posts", "watch: {posts: ['1']}\nwhen: likes >= 5"),
    ("private metric with owner", "watch: {posts: ['1'], owner: brand}\nwhen: impressions >= 5"),
    ("hourly-only metric with over", "when: url_clicks over 1h >= 5"),
    (
        "hourly-only metric on young posts",
        "watch: {accounts: [brand], max_age: 1d}\nwhen: url_clicks >= 5",
    ),
]


@pytest.mark.parametrize("extra", [c[1] for c in NO_WARNING], ids=[c[0] for c in NO_WARNING])
def test_knowable_values_are_not_warned_about(extra: str) -> None:
    rules, problems = parse(_rule(extra))
    assert problems == ()
    assert len(rules) == 1


CONFIG_BAD = [
    (
        "unknown watch account",
        _rule("watch: {accounts: [brnd]}"),
        4,
        24,
        "unknown account 'brnd' (did you mean 'brand'?)",
    ),
    (
        "unknown owner",
        _rule("watch: {posts: ['1'], owner: marketing}"),
        4,
        34,
        "unknown account 'marketing' (the config has: brand, support)",
    ),
    (
        "unknown actor",
        _rule("actions: [{repost: {as: suport}}]"),
        6,
        29,
        "unknown account 'suport' (did you mean 'support'?)",
    ),
    (
        "account in capitals",
        _rule("watch: {accounts: [BRAND]}"),
        4,
        24,
        "unknown account 'BRAND' (did you mean 'brand'?)",
    ),
    (
        "unknown secret",
        _rule("actions: [{webhook: {url: 'https://x', secret: teamchat}}]"),
        6,
        52,
        "unknown webhook secret 'teamchat' (did you mean 'team-chat'?)",
    ),
]


@pytest.mark.parametrize(
    ("text", "line", "column", "message"),
    [case[1:] for case in CONFIG_BAD],
    ids=[case[0] for case in CONFIG_BAD],
)
def test_names_are_checked_against_the_config(
    text: str, line: int, column: int, message: str
) -> None:
    rules, problems = parse(text, config=make_config())
    (problem,) = problems
    assert (problem.line, problem.column) == (line, column), str(problem)
    assert message in problem.message
    assert rules == ()
    assert parse(text)[1] == ()  # without a config the names cannot be checked


def test_all_problems_of_a_file_at_once() -> None:
    text = _rule("whn: likes > 1\nfor: soon\nactions: [{log: {message: '{x}'}}]")
    _, problems = parse(text)
    assert sorted((p.line, p.column) for p in problems) == [(6, 32), (7, 5), (8, 10)]


def test_a_broken_rule_does_not_hide_good_ones() -> None:
    text = (
        _rule("id: good")
        + "  - id: bad\n    watch: {accounts: [brand]}\n    when: likes >>= 1\n    actions: [{log: {message: x}}]\n"
    )
    rules, problems = parse(text)
    assert [r.id for r in rules] == ["good"]
    assert len(problems) == 1 and problems[0].line == 9


def test_file_level_error_drops_every_rule() -> None:
    rules, problems = parse(_rule("").replace("version: 1", "version: 1\nextra: x"))
    assert rules == ()
    assert problems[0].message.startswith("unknown key 'extra' in rule file")


def test_empty_file_is_a_warning() -> None:
    rules, problems = parse("# nothing yet\n")
    assert rules == ()
    (problem,) = problems
    assert problem.severity == "warning" and "empty file" in problem.message


# --- load_rules ------------------------------------------------------------------------


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def test_load_rules_expands_directories_sorted(tmp_path: Path) -> None:
    write(tmp_path / "rules" / "b.yml", _rule("id: from-b"))
    write(tmp_path / "rules" / "a.yaml", _rule("id: from-a"))
    write(tmp_path / "rules" / "notes.txt", "not a rule file")
    extra = write(tmp_path / "extra.yaml", _rule("id: extra"))
    ruleset = load_rules([tmp_path / "rules", extra, tmp_path / "rules" / "a.yaml"])
    assert isinstance(ruleset, RuleSet)
    assert [r.id for r in ruleset.rules] == ["from-a", "from-b", "extra"]
    assert [p.name for p in ruleset.files] == ["a.yaml", "b.yml", "extra.yaml"]
    assert ruleset.problems == ()


def test_duplicate_ids_across_files(tmp_path: Path) -> None:
    first = write(tmp_path / "a.yaml", _rule("id: same"))
    second = write(tmp_path / "b.yaml", "# the second file\n" + _rule("id: same"))
    ruleset = load_rules([tmp_path])
    assert [r.pos.path for r in ruleset.rules] == [str(first)]
    (problem,) = ruleset.errors
    assert (problem.path, problem.line, problem.column) == (str(second), 4, 9)
    assert f"duplicate rule id 'same' (first used at {first}:3)" in problem.message


def test_duplicate_of_a_broken_rule_is_still_a_duplicate(tmp_path: Path) -> None:
    write(tmp_path / "a.yaml", _rule("id: same\nfor: soon"))
    write(tmp_path / "b.yaml", _rule("id: same"))
    ruleset = load_rules([tmp_path])
    assert ruleset.rules == ()
    assert [p.message.split(" (")[0] for p in ruleset.errors] == [
        "expected a duration like 30s, 15m, 1h or 7d, got 'soon'",
        "duplicate rule id 'same'",
    ]


def test_missing_paths_and_empty_directories(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    ruleset = load_rules([tmp_path / "nope.yaml", tmp_path / "empty"])
    assert [(p.path, p.severity, p.message) for p in ruleset.problems] == [
        (str(tmp_path / "nope.yaml"), "error", "no such file or directory"),
        (str(tmp_path / "empty"), "warning", "no rule files (*.yaml, *.yml) here"),
    ]
    assert len(ruleset.errors) == 1 and len(ruleset.warnings) == 1
    with pytest.raises(RuleError):
        ruleset.raise_for_errors()


def test_an_unreadable_directory_is_a_problem_not_a_crash(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # chmod 000 stops no root user, so the refusal is made where the directory is listed.
    locked = tmp_path / "rules"
    locked.mkdir()
    write(locked / "a.yaml", _rule("id: a"))
    listing = Path.iterdir

    def refuse(path: Path) -> Iterator[Path]:
        if path == locked:
            raise PermissionError(13, "Permission denied", str(path))
        return listing(path)

    monkeypatch.setattr(Path, "iterdir", refuse)
    ruleset = load_rules([locked])
    assert [(p.path, p.line, p.severity, p.message) for p in ruleset.problems] == [
        (str(locked), 1, "error", "cannot read directory: Permission denied"),
    ]


def test_yaml_errors_become_problems(tmp_path: Path) -> None:
    path = write(tmp_path / "a.yaml", "version: 1\nrules:\n  - id: a\n    id: b\n")
    ruleset = load_rules([path])
    (problem,) = ruleset.problems
    assert (problem.line, problem.column) == (4, 5)
    assert "duplicate key 'id'" in problem.message


def test_a_rule_file_linked_to_a_file_that_is_gone_is_an_error(tmp_path: Path) -> None:
    # Rules linked in from a checkout that moved would otherwise vanish unseen: check
    # would pass, and a reload would drop them from the running engine.
    rules = tmp_path / "rules"
    write(rules / "a.yaml", _rule("id: a"))
    (rules / "b.yaml").symlink_to(tmp_path / "checkout" / "b.yaml")
    (rules / "notes.yaml").mkdir()
    ruleset = load_rules([rules])
    assert [r.id for r in ruleset.rules] == ["a"]
    assert [(p.path, p.line, p.severity, p.message) for p in ruleset.problems] == [
        (
            str(rules / "b.yaml"),
            1,
            "error",
            f"symbolic link to {tmp_path / 'checkout' / 'b.yaml'}, which does not exist:"
            " restore it or remove it",
        ),
    ]

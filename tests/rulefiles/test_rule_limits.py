"""Caps, quiet hours and digests in rule files: parsed into the model, every mistake at its
line and column with a way to fix it."""

from __future__ import annotations

import textwrap
from zoneinfo import ZoneInfo

import pytest

from automation.core.errors import Problem
from automation.core.rules import Limit, Quiet, WebhookAction
from automation.rulefiles.rule_parser import parse_rule_file
from automation.rulefiles.schema import schema
from automation.rulefiles.yaml_loader import parse_document


def parse(rule_body: str) -> tuple[tuple, tuple[Problem, ...]]:
    text = "version: 1\nrules:\n  - id: r\n    watch: {accounts: [brand]}\n" + textwrap.indent(
        textwrap.dedent(rule_body).strip("\n") + "\n", "    "
    )
    return parse_rule_file(parse_document(text, "r.yaml"))


def problems_of(rule_body: str) -> list[str]:
    _rules, problems = parse(rule_body)
    return [f"{p.line}:{p.column}: {p.severity}: {p.message}" for p in problems]


def test_a_cap_and_quiet_hours_are_read_into_the_rule() -> None:
    (rule,), problems = parse("""
        when: likes >= 100
        limit: {max: 5, per: 1d}
        quiet: {from: "22:00", to: "07:30", tz: Europe/Berlin}
        actions:
          - webhook: {url: "https://h.example.com/{rule.id}", digest: 15m, quiet: false}
          - webhook: {url: "https://h.example.com/x"}
    """)
    assert problems == ()
    assert rule.limit == Limit(5, 86400)
    assert rule.quiet == Quiet(22 * 60, 7 * 60 + 30, "Europe/Berlin", ZoneInfo("Europe/Berlin"))
    assert rule.quiet.zone is ZoneInfo("Europe/Berlin")
    digest, plain = rule.actions
    assert isinstance(digest, WebhookAction) and (digest.digest, digest.quiet) == (900, False)
    assert isinstance(plain, WebhookAction) and (plain.digest, plain.quiet) == (None, True)


def test_a_cap_or_quiet_hours_do_not_change_the_fingerprint() -> None:
    (plain,), _ = parse("when: likes >= 100\nactions: [{log: {message: x}}]")
    (capped,), _ = parse("""
        when: likes >= 100
        limit: {max: 1, per: 1h}
        quiet: {from: "22:00", to: "07:00", tz: UTC}
        actions: [{log: {message: x}}]
    """)
    assert plain.fingerprint == capped.fingerprint  # adding a cap never re-seeds the rule


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            "limit: {max: 0, per: 1d}",
            "6:18: error: 'max' must be at least 1, got 0",
        ),
        (
            "limit: {max: 2, per: 0s}",
            "6:26: error: 'per' must be longer than 0s",
        ),
        (
            "limit: {max: 2}",
            "6:12: error: missing 'per' in limit",
        ),
        (
            "limit: {max: 2, per: 1d, every: 3}",
            "6:30: error: unknown key 'every' in limit (known: max, per)",
        ),
        (
            'quiet: {from: "22:00", to: "22:00", tz: UTC}',
            "6:32: error: quiet hours from 22:00 to 22:00 are empty: 'to' must differ from "
            """'from' (from: "22:00", to: "07:00" spans the night)""",
        ),
        (
            'quiet: {from: "22:00", to: "07:00", tz: Europe/Berln}',
            "6:45: error: unknown time zone 'Europe/Berln': use an IANA name "
            "(did you mean 'Europe/Berlin'?)",
        ),
        (
            'quiet: {from: "22:00", to: "07:00", tz: Nowhere}',
            "6:45: error: unknown time zone 'Nowhere': use an IANA name "
            "(e.g. Europe/Berlin or America/New_York)",
        ),
        (
            'quiet: {from: 22:00, to: "07:00", tz: UTC}',
            '6:19: error: quote times of day: write "22:00" (unquoted, YAML reads it as a number)',
        ),
        (
            'quiet: {from: "24:00", to: "07:00", tz: UTC}',
            """6:19: error: expected a time of day in quotes, like "22:00", got '24:00'""",
        ),
        (
            'quiet: {from: "22:00", to: "07:00"}',
            "6:12: error: missing 'tz' in quiet",
        ),
    ],
)
def test_mistakes_in_a_cap_or_quiet_hours_say_how_to_fix_them(body: str, expected: str) -> None:
    found = problems_of(f"when: likes >= 100\n{body}\nactions: [{{log: {{message: x}}}}]")
    assert found == [expected]


@pytest.mark.parametrize(
    ("hook", "expected"),
    [
        (
            "{url: 'https://h.example.com/x', digest: 30s}",
            "7:59: error: 'digest' must be from 1m to 1d, got 30s",
        ),
        (
            "{url: 'https://h.example.com/x', digest: 2d}",
            "7:59: error: 'digest' must be from 1m to 1d, got 2d",
        ),
        (
            "{url: 'https://h.example.com/x', digest: soon}",
            "7:59: error: expected a duration like 30s, 15m, 1h or 7d, got 'soon'",
        ),
        (
            "{url: 'https://h.example.com/{post.id}', digest: 15m}",
            "7:47: error: a digest sends one request for many firings, so its url cannot use "
            "{post.id}: only {rule.id} and {rule.description} (put what each firing says in "
            "the body)",
        ),
        (
            "{url: 'https://h.example.com/x', digest: 15m, headers: {X-Post: '{post.id}'}}",
            "7:83: error: a digest sends one request for many firings, so its headers.X-Post "
            "cannot use {post.id}: only {rule.id} and {rule.description} (put what each "
            "firing says in the body)",
        ),
        (
            "{url: 'https://h.example.com/x', quiet: 'off'}",
            "7:58: error: expected true or false for 'quiet', got 'off'",
        ),
    ],
)
def test_mistakes_in_a_digest_webhook_are_errors(hook: str, expected: str) -> None:
    found = problems_of(f"when: likes >= 100\nactions:\n  - webhook: {hook}")
    assert found == [expected]


def test_quiet_false_without_quiet_hours_is_a_warning() -> None:
    (_rule,), problems = parse("""
        when: likes >= 100
        actions:
          - webhook: {url: "https://h.example.com/x", quiet: false}
    """)
    assert [(p.line, p.column, p.severity) for p in problems] == [(7, 51, "warning")]
    assert "'quiet: false' has no effect: this rule has no quiet hours" in problems[0].message


def test_the_schema_describes_caps_quiet_hours_and_digests_for_editors() -> None:
    defs = schema()["$defs"]
    assert set(defs["rule"]["properties"]) >= {"limit", "quiet"}
    assert defs["limit"]["required"] == ["max", "per"]
    assert defs["quiet"]["required"] == ["from", "to", "tz"]
    assert set(defs["action"]["properties"]["webhook"]["properties"]) >= {"digest", "quiet"}

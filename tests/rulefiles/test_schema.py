from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from automation.core.durations import parse_duration
from automation.core.metric_names import all_names
from automation.core.templates import read_template
from automation.rulefiles.condition_text import SyntaxProblem, check_window, parse_condition
from automation.rulefiles.schema import schema, schema_text
from automation.rulefiles.yaml_loader import load_document, parse_document

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = [ROOT / "rules.example.yaml", *sorted((ROOT / "rules").glob("*.yaml"))]


def test_schema_is_valid_draft_2020_12() -> None:
    document = schema()
    Draft202012Validator.check_schema(document)
    assert document["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_schema_text_is_the_schema() -> None:
    text = schema_text()
    assert text.endswith("}\n")
    assert json.loads(text) == schema()


def test_schema_returns_a_copy() -> None:
    first = schema()
    first["$defs"].clear()
    assert schema()["$defs"]


def test_metric_names_match_the_metric_table() -> None:
    defs = schema()["$defs"]
    assert defs["metric"]["enum"] == list(all_names())
    alternatives = re.search(r"\((.*?)\)", defs["condition_text"]["pattern"]).group(1)
    assert alternatives.split("|") == list(all_names())


def _walk(node: Any, where: str = "#") -> list[tuple[str, dict[str, Any]]]:
    found = []
    if isinstance(node, dict):
        for name, sub in node.get("properties", {}).items():
            found.append((f"{where}/{name}", sub))
        for key, value in node.items():
            found.extend(_walk(value, f"{where}/{key}"))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found.extend(_walk(value, f"{where}/{index}"))
    return found


def test_every_property_is_described_for_editors() -> None:
    missing = [
        where
        for where, sub in _walk(schema())
        # a $ref shows the description of what it refers to; "if" only tests, never shows
        if "description" not in sub and "$ref" not in sub and "/if/" not in where
    ]
    assert missing == []


@pytest.mark.parametrize("path", SHIPPED, ids=[p.name for p in SHIPPED])
def test_shipped_files_are_valid_for_editors(path: Path) -> None:
    data = load_document(path).data
    assert list(Draft202012Validator(schema()).iter_errors(data)) == []


EDITOR_SHOULD_FLAG = {
    "unknown key": "whn: likes > 1",
    "bad duration": "for: 15 minutes",
    "unquoted post": "watch: {posts: [1260294888811347969]}",
    "two comparisons": "when: {metric: likes, gte: 1, lt: 2}",
    "bad condition text": "when: likes >= lots",
    "unknown metric": "when: {metric: likse, gt: 1}",
    "every without metric": "fire: {every: 5}",
    "two actions in an item": "actions: [{log: {message: a}, repost: {as: b}}]",
    "owner without posts": "watch: {accounts: [brand], owner: brand}",
    "window over 28h": "when: likes over 30h >= 100",
    "mapping window over 28h": "when: {metric: likes, gte: 1, over: 2d}",
    "template in other case": "actions: [{log: {message: '{post.URL}'}}]",
    "template metric without s": "actions: [{reply: {as: a, text: '{metric.likes}'}}]",
    "template in a body": "actions: [{webhook: {url: 'https://x', body: {a: ['{postid}']}}}]",
    "template in a header": "actions: [{webhook: {url: 'https://x', headers: {X-A: '{rule}'}}}]",
    "template in a url": "actions: [{webhook: {url: 'https://x/{post}'}}]",
    "unclosed template": "actions: [{quote: {as: a, text: 'a {b'}}]",
}


def _rule_data(line: str) -> Any:
    base = {
        "id": "id: r",
        "watch": "watch: {accounts: [brand]}",
        "when": "when: likes >= 1",
        "actions": "actions: [{log: {message: hi}}]",
    }
    key = line.split(":", 1)[0]
    base[key] = line
    text = "version: 1\nrules:\n  - " + "\n    ".join(base.values()) + "\n"
    return parse_document(text, "r.yaml").data


@pytest.mark.parametrize("line", EDITOR_SHOULD_FLAG.values(), ids=EDITOR_SHOULD_FLAG.keys())
def test_editors_flag_common_mistakes(line: str) -> None:
    assert not Draft202012Validator(schema()).is_valid(_rule_data(line))


def test_when_may_be_left_out_only_with_every() -> None:
    validator = Draft202012Validator(schema())
    with_every = _rule_data("fire: {every: 5, metric: likes}")
    del with_every["rules"][0]["when"]
    assert validator.is_valid(with_every)
    with_rearm = _rule_data("fire: {rearm: true}")
    del with_rearm["rules"][0]["when"]
    assert not validator.is_valid(with_rearm)


CONDITION_TEXTS = [
    "likes >= 100",
    "retweets over 1h >= 50",
    "likes>=1",
    " quotes == 3 ",
    "engagement_rate > 0.05",
    "replies < -1.5e3",
    "impressions <= .5",
    "likes => 1",
    "likes = 1",
    "likes >= ",
    "likes over 1 h >= 1",
    "likes over 28h >= 1",
    "likes over 29h >= 1",
    "likes over 1d >= 1",
    "likes over 2d >= 1",
    "likes over 1680m >= 1",
    "likes over 1681m >= 1",
    "likes over 0h >= 1",
    "likse >= 1",
    "likes >= 1 and replies > 1",
    ">= 1",
    "",
]


@pytest.mark.parametrize("text", CONDITION_TEXTS)
def test_editor_pattern_agrees_with_the_parser_on_syntax(text: str) -> None:
    pattern = re.compile(schema()["$defs"]["condition_text"]["pattern"])
    assert bool(pattern.search(text)) == (not isinstance(parse_condition(text), SyntaxProblem))


def test_editor_window_pattern_agrees_with_the_parser_on_every_length() -> None:
    pattern = re.compile(schema()["$defs"]["window"]["pattern"])
    for unit, most in (("s", 28 * 3600), ("m", 28 * 60), ("h", 28), ("d", 1)):
        for n in range(most + 3):
            for written in (f"{n}{unit}", f"0{n}{unit}"):
                seconds = parse_duration(written)
                usable = seconds is not None and check_window(seconds) is None
                assert bool(pattern.search(written)) == usable, written


TEMPLATES = [
    "plain text",
    "{post.url} reached {metrics.likes} likes",
    "{ post.id }",
    "{{literal}} and {{ {milestone} }}",
    "{fired_at}{rule.id}{rule.description}{post.account}{post.created_at}",
    "{metrics.engagement_rate}",
    "{post.URL}",
    "{metric.likes}",
    "{metrics.likse}",
    "{likes}",
    "{post.id:>10}",
    "{post.id",
    "a } b",
    "{{post.id}",
    "{post.id}}",
    "{}",
]


@pytest.mark.parametrize("text", TEMPLATES)
def test_editor_template_pattern_agrees_with_the_parser(text: str) -> None:
    pattern = re.compile(schema()["$defs"]["template"]["pattern"])
    assert bool(pattern.search(text)) == (read_template(text)[0] is not None)


def test_template_pattern_names_every_metric() -> None:
    pattern = schema()["$defs"]["template"]["pattern"]
    assert f"metrics\\.({'|'.join(all_names())})" in pattern


EMPTY_FILES = {
    "empty": "",
    "only comments": "# every rule commented out for now\n# rules:\n#   - id: r\n",
    "every rule commented out": "version: 1\nrules:\n#  - id: r\n#    when: likes >= 1\n",
    "document start only": "---\n",
}


@pytest.mark.parametrize("text", EMPTY_FILES.values(), ids=EMPTY_FILES.keys())
def test_editors_accept_an_empty_file_as_check_does(text: str) -> None:
    """``check`` only warns about a file with no rules yet; editors must not mark it."""
    from automation.rulefiles.rule_parser import parse_rule_file

    doc = parse_document(text, "r.yaml")
    rules, problems = parse_rule_file(doc)
    assert rules == () and [p.severity for p in problems] == ["warning"]
    assert Draft202012Validator(schema()).is_valid(doc.data)

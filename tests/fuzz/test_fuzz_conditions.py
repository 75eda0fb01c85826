"""The condition parser on generated conditions, alone and inside a rule file: a Leaf that
compiles, or a problem at the condition's line and a column inside it; never a traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fuzz.located import assert_located
from fuzz.strategies import INPUTS, fuzz_settings
from fuzz.text_strategies import condition_mappings, condition_texts
from hypothesis import given

from automation.core.conditions import compile_condition, describe
from automation.core.rules import Leaf
from automation.rulefiles.condition_text import SyntaxProblem, parse_condition
from automation.rulefiles.rule_parser import load_rules

TEXT_EXAMPLES = 2000  # condition texts per run
MAPPING_EXAMPLES = 500  # condition mappings per run

RULE = """version: 1
rules:
  - id: fuzzed
    watch: {{posts: ["1260294888811347969"], owner: brand}}
    when: {when}
    actions:
      - log: {{message: "{{post.id}}"}}
"""


@pytest.fixture(scope="module")
def rule_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz") / "rules.yaml"


def _load(file: Path, when: object) -> tuple[object, ...]:
    text = RULE.format(when=json.dumps(when))  # JSON is YAML: any string, any mapping
    file.write_text(text, "utf-8")
    ruleset = load_rules([file])
    for problem in ruleset.problems:
        assert_located(problem, str(file), text)
    return ruleset.rules


@fuzz_settings(TEXT_EXAMPLES)
@given(text=condition_texts)
def test_generated_condition_texts_parse_or_point_at_a_character(
    rule_file: Path, text: str
) -> None:
    INPUTS["condition texts"] += 1
    parsed = parse_condition(text)
    if isinstance(parsed, SyntaxProblem):
        assert 0 <= parsed.offset <= len(text), parsed
        assert parsed.message
    else:
        assert isinstance(parsed, Leaf)
        compile_condition(parsed)
        assert describe(parsed)
    rules = _load(rule_file, text)
    assert bool(rules) == isinstance(parsed, Leaf)


@fuzz_settings(MAPPING_EXAMPLES)
@given(mapping=condition_mappings)
def test_generated_condition_mappings_load_or_point_at_a_line(
    rule_file: Path, mapping: dict[str, object]
) -> None:
    INPUTS["condition mappings"] += 1
    for rule in _load(rule_file, mapping):
        compile_condition(rule.when)

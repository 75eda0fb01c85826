"""The rule loader on generated rule files: every file loads, or every problem in it is a
``file:line:col`` Problem (a RuleError for callers that need a clean set); never a traceback.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from config_helpers import make_config
from fuzz.located import assert_located
from fuzz.strategies import INPUTS, file_bytes, fuzz_settings, shipped_rule_texts
from hypothesis import given

from automation.core.errors import RuleError
from automation.core.evaluate import compile_rules
from automation.rulefiles.rule_parser import load_rules

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)
EXAMPLES = 3000  # generated rule files per run


@pytest.fixture(scope="module")
def rule_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz") / "rules.yaml"


def load_and_check(file: Path, raw: bytes) -> None:
    file.write_bytes(raw)
    ruleset = load_rules([file], names=make_config().rule_names(), now=NOW)
    text = raw.decode("utf-8", "replace")
    for problem in ruleset.problems:
        assert_located(problem, str(file), text)
    compile_rules(ruleset.rules)  # what loaded cleanly can run
    for rule in ruleset.rules:
        assert rule.fingerprint
    if ruleset.errors:
        with pytest.raises(RuleError) as raised:
            ruleset.raise_for_errors()
        assert raised.value.problems == ruleset.errors
    else:
        ruleset.raise_for_errors()


def test_shipped_rule_files_load_cleanly(rule_file: Path) -> None:
    """The starting points of the generator are valid: mutations start from a good file."""
    for text in shipped_rule_texts():
        rule_file.write_text(text, "utf-8")
        assert load_rules([rule_file], names=make_config().rule_names(), now=NOW).errors == ()


@fuzz_settings(EXAMPLES)
@given(raw=file_bytes(shipped_rule_texts()))
def test_generated_rule_files_end_in_located_problems(rule_file: Path, raw: bytes) -> None:
    INPUTS["rule files"] += 1
    load_and_check(rule_file, raw)

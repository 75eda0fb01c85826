"""The README's YAML examples are what people copy: each loads with the loader of its kind.

A block whose top-level keys are all the config's (``dashboard:``, ``history:``, ...) is
checked by the config loader, added to a minimal config with its ``${NAME}``s set, so it is
written as a config takes it (``dashboard: {password: ${DASHBOARD_PASSWORD}}``); a rule
file (``version:`` and a list of rules) loads by the rule loader without an error; any
other block (a rule test file, part of a rule, Prometheus' rules), and the one-line
examples in the text (`history: {keep: 90d}`), must be YAML the rule files' reader takes.
A command in the text that names a rule names one the sandbox's starter rules hold, so it
runs as written against ``automation sandbox --write-config``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from automation.config.loader import load_config
from automation.config.schema import config_schema
from automation.rulefiles.rule_parser import parse_rule_file
from automation.rulefiles.shipped import starter_rules
from automation.rulefiles.yaml_loader import load_document, parse_document

README = Path(__file__).resolve().parents[1] / "README.md"
TEXT = README.read_text(encoding="utf-8")
BLOCKS = re.findall(r"```yaml\n(.*?)```", TEXT, re.S)
INLINE = re.findall(r"`([a-z_]+: [{\[].*?)`", TEXT)
# `automation pause likes-100 ...`: a command naming a rule (a placeholder is upper case)
NAMED_RULES = re.findall(
    r"`automation\s+(?:pause|resume|rearm|try-action|explain)\s+([a-z0-9][a-z0-9_-]*)", TEXT
)

# what a config block is added to: the settings a config requires, and a webhook secret
BASE = """\
database: automation.db
rules: [rules/]
engagement_api: {base_url: https://data-api.x.com}
x_api: {base_url: https://api.x.com}
app: {consumer_key: key, consumer_secret: secret, bearer_token: token}
webhook_secrets: {team-chat: chat-secret}
"""


def kind(block: str, folder: Path) -> str:
    """``config``, ``rules`` or ``yaml``, by the block's top-level keys as a config reads
    them (the config's reader also takes ``{password: ${NAME}}``)."""
    path = folder / "block.yaml"
    path.write_text(block, encoding="utf-8")
    data: Any = load_document(path, variables=True).data
    if not isinstance(data, dict) or not data:
        return "yaml"
    rules = data.get("rules")
    if "version" in data and isinstance(rules, list) and all(isinstance(r, dict) for r in rules):
        return "rules"
    return "config" if set(data) <= set(config_schema()["properties"]) else "yaml"


def test_the_readme_has_config_and_rule_blocks_and_one_line_examples(tmp_path: Path) -> None:
    kinds = [kind(block, tmp_path) for block in BLOCKS]
    assert {"config", "rules", "yaml"} <= set(kinds), kinds
    assert any("listen" in example for example in INLINE)


@pytest.mark.parametrize("n", range(len(BLOCKS)))
def test_every_yaml_block_in_the_readme_loads_as_its_kind(
    n: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    block, name = BLOCKS[n], f"README example {n + 1}"
    found = kind(block, tmp_path)
    if found == "config":
        monkeypatch.chdir(tmp_path)
        path = tmp_path / "automation.yaml"
        path.write_text(BASE + block, encoding="utf-8")
        env = {var: f"value-of-{var}" for var in re.findall(r"\$\{(\w+)\}", block)}
        load_config(path, env=env)
        return
    doc = parse_document(block, name)  # people copy these: plain YAML
    if found == "rules":
        rules, problems = parse_rule_file(doc)
        assert rules and not [p for p in problems if p.is_error], problems


def test_every_one_line_example_in_the_readme_is_valid_yaml() -> None:
    for n, example in enumerate(INLINE):
        parse_document(example, f"README one-line example {n + 1}")


def test_every_rule_a_readme_command_names_is_a_starter_rule() -> None:
    ids = set(re.findall(r"- id: ([a-z0-9_-]+)", "".join(starter_rules().values())))
    assert NAMED_RULES and set(NAMED_RULES) <= ids, (NAMED_RULES, ids)
